package dev.switchboard.webhooks;

import dev.switchboard.events.EventFilter;
import java.util.List;

/**
 * Everything a node needs to deliver one webhook stream, read when it takes the stream's lease: the
 * endpoint, the event stream it follows, the tenant (null for lifecycle streams) and what the
 * integration may receive.
 */
record DeliveryTarget(
        long webhookStreamPk,
        long eventStreamPk,
        Long connectionPk,
        WebhookEndpoint endpoint,
        String tenantId,
        List<String> integrationEventTypes,
        List<String> readableCollections) {

    boolean lifecycle() {
        return endpoint.kind() == WebhookEndpoint.Kind.lifecycle;
    }

    /** What the stream carries: lifecycle streams all connection events the endpoint asks for; events streams what the integration may receive, narrowed by the endpoint. */
    EventFilter filter() {
        return filter(endpoint, integrationEventTypes, readableCollections);
    }

    static EventFilter filter(
            WebhookEndpoint endpoint, List<String> integrationEventTypes, List<String> readableCollections) {
        return endpoint.kind() == WebhookEndpoint.Kind.lifecycle
                ? EventFilter.ALL.narrowedTo(endpoint.eventTypes())
                : new EventFilter(integrationEventTypes, readableCollections, endpoint.eventTypes());
    }

    /** An integration's {@code read_collections} as a filter takes them: null for all ({@code *}). */
    static List<String> readable(List<String> readCollections) {
        return readCollections.contains("*") ? null : readCollections;
    }

    /** Lifecycle events travel one per request. */
    int batchSize() {
        return lifecycle() ? 1 : endpoint.maxBatchSize();
    }
}
