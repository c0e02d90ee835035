package dev.switchboard.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The requests one WebSocket connection has sent and not yet had answered. Each future completes exactly
 * once: whichever of its response, its timeout, or the end of the connection comes first removes it
 * from the table and completes it; the others find it gone.
 */
final class PendingRequests {
    /** The server's limit of requests in flight per socket. */
    static final int MAX_IN_FLIGHT = 64;

    private record Pending(String method, CompletableFuture<SocketResponse> future) {}

    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    private volatile String ended;

    /**
     * Registers a request about to be sent, failing {@code future} after {@code timeout}; false (and
     * {@code future} failed) when the connection has ended or {@value #MAX_IN_FLIGHT} await responses, in
     * which case the request must not be sent.
     */
    boolean register(String id, String method, CompletableFuture<SocketResponse> future, Duration timeout) {
        if (pending.size() >= MAX_IN_FLIGHT) {
            future.completeExceptionally(new SwitchboardException(MAX_IN_FLIGHT
                    + " requests already await their responses on this socket (the server's limit); "
                    + "wait for some before sending more"));
            return false;
        }
        Pending entry = new Pending(method, future);
        pending.put(id, entry);
        // failAll sets ended before it empties the table: one of the two sees the other.
        String reason = ended;
        if (reason != null && pending.remove(id, entry)) {
            future.completeExceptionally(
                    new SwitchboardException("the request was not sent: the connection ended (" + reason + ")"));
            return false;
        }
        CompletableFuture.delayedExecutor(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .execute(() -> {
                    if (pending.remove(id, entry)) {
                        future.completeExceptionally(new UnansweredRequestException(
                                "no response to " + method + " (" + id + ") within " + timeout.toMillis()
                                        + " ms; it may or may not have been performed",
                                null));
                    }
                });
        return true;
    }

    /** Fails one request whose sending failed. */
    void unsent(String id, Throwable cause) {
        Pending entry = pending.remove(id);
        if (entry != null) {
            entry.future.completeExceptionally(new UnansweredRequestException(
                    "sending " + entry.method + " (" + id + ") failed; it may or may not have reached the server",
                    cause));
        }
    }

    /**
     * Completes the request a {@code response} frame answers: normally with a {@link SocketResponse}, or
     * exceptionally with the {@link ApiException} HTTP would have thrown. Responses to nothing pending
     * (already timed out, or without an id) are dropped.
     */
    void complete(JsonNode response) {
        JsonNode id = response.get("id");
        Pending entry = id == null || !id.isTextual() ? null : pending.remove(id.asText());
        if (entry == null) {
            return;
        }
        if (response.has("error")) {
            JsonNode retryAfter = response.get("retryAfter");
            entry.future.completeExceptionally(ApiException.of(
                    response.path("status").asInt(),
                    response,
                    null,
                    retryAfter != null && retryAfter.canConvertToLong()
                            ? Duration.ofSeconds(Math.max(0, retryAfter.asLong()))
                            : null));
        } else {
            entry.future.complete(SocketResponse.from(response));
        }
    }

    /** True when no request awaits a response. */
    boolean isEmpty() {
        return pending.isEmpty();
    }

    /** The connection ended: fails every request awaiting a response, and refuses later ones. */
    void failAll(String reason, Throwable cause) {
        if (ended == null) {
            ended = reason;
        }
        for (String id : pending.keySet()) {
            Pending entry = pending.remove(id);
            if (entry != null) {
                entry.future.completeExceptionally(new UnansweredRequestException(
                        "no response to " + entry.method + " (" + id + "): the connection ended (" + reason
                                + ") before it came; it may or may not have been performed",
                        cause));
            }
        }
    }
}
