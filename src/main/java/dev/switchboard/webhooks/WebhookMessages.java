package dev.switchboard.webhooks;

import dev.switchboard.support.Ids;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Optional;

/**
 * What the API does with an endpoint's messages: list them with their attempts, read one, send an
 * abandoned one again, replay a stretch of the log, and send a {@code webhook.test}.
 */
public final class WebhookMessages {
    private final MessageLog log;

    /**
     * {@code log} writes through the main pool: what the API acknowledges must be durable. A message due
     * now reaches the dispatchers, this node's included, through the control channel.
     */
    public WebhookMessages(MessageLog log) {
        this.log = log;
    }

    public MessagePage list(WebhookEndpoint endpoint, MessageFilter filter, String afterId, int limit) {
        return log.list(endpoint.pk(), filter, afterId, limit);
    }

    /**
     * Retries up to {@code max} failed messages {@code filter} picks after the cursor, among as many of the
     * endpoint's messages as one request looks through.
     */
    public BulkRetry retryAll(WebhookEndpoint endpoint, MessageFilter filter, String cursor, int max) {
        return log.retryAll(endpoint.pk(), filter, cursor, max);
    }

    public Optional<WebhookMessage> get(WebhookEndpoint endpoint, String messageId) {
        return log.get(endpoint.pk(), messageId);
    }

    public WebhookMessage retry(WebhookEndpoint endpoint, String messageId) {
        return log.retry(endpoint.pk(), messageId);
    }

    /** Replays after {@code fromSeq - 1}, or from the first event at or after {@code since}; returns the streams affected. */
    public int replay(WebhookEndpoint endpoint, Long tenantPk, Long fromSeq, Instant since) {
        return log.replay(endpoint.pk(), tenantPk, fromSeq, since);
    }

    /** Sends a {@code webhook.test} message now; returns its id. */
    public String test(WebhookEndpoint endpoint, InstantSource clock) {
        String body = MessageBody.test(
                endpoint, Ids.newId("evt"), clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MICROS));
        return log.createTest(endpoint.pk(), body);
    }
}
