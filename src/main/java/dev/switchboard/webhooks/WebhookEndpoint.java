package dev.switchboard.webhooks;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.time.Instant;
import java.util.List;

/**
 * Where an integration receives webhooks. {@code kind} is {@code events} (its connected tenants'
 * events, batched) or {@code lifecycle} (its connections' {@code connection.*} events, one per
 * request). {@code eventTypes} narrows what the integration may receive; {@code retryDelays} (null:
 * the server's) overrides the retry schedule. {@code state} is {@code enabled}, {@code failing}
 * (its last attempt failed; {@code failingSince} says since when) or {@code disabled}.
 * {@code streamsInError} counts its streams held back by a worker error (not a receiver's answer: a
 * stored URL the server's settings now refuse, say), each claimed again after a growing wait: non-zero
 * means a stuck stream. {@code lastStreamError} and {@code lastStreamErrorAt} keep the latest such error,
 * also after the stream recovers.
 */
@JsonPropertyOrder({
    "id",
    "integrationId",
    "url",
    "kind",
    "eventTypes",
    "maxBatchSize",
    "retryDelays",
    "state",
    "stateReason",
    "failingSince",
    "streamsInError",
    "lastStreamError",
    "lastStreamErrorAt",
    "createdAt",
    "updatedAt"
})
public record WebhookEndpoint(
        @JsonIgnore long pk,
        String id,
        @JsonIgnore long integrationPk,
        String integrationId,
        String url,
        Kind kind,
        List<String> eventTypes,
        int maxBatchSize,
        List<String> retryDelays,
        State state,
        String stateReason,
        Instant failingSince,
        int streamsInError,
        String lastStreamError,
        Instant lastStreamErrorAt,
        Instant createdAt,
        Instant updatedAt) {

    public enum Kind {
        events,
        lifecycle
    }

    /** Spelled as in the database and the JSON. {@code failing}: sending, with failures since {@code failingSince}. */
    public enum State {
        enabled,
        failing,
        disabled
    }

    public static final int DEFAULT_BATCH_SIZE = 100;
    public static final int MAX_BATCH_SIZE = 1000;

    public WebhookEndpoint {
        eventTypes = List.copyOf(eventTypes);
        retryDelays = retryDelays == null ? null : List.copyOf(retryDelays);
    }

    public boolean disabled() {
        return state == State.disabled;
    }
}
