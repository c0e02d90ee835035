package dev.switchboard.webhooks;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * What one webhook request came to: the outcome, the final HTTP status (when an answer arrived), an
 * error description, the first 1 KiB of the response body, any {@code Retry-After}, and its timing.
 */
public record Attempt(
        Outcome outcome,
        Integer status,
        String error,
        String responseBody,
        Optional<Duration> retryAfter,
        Instant startedAt,
        long durationMillis) {

    /**
     * The receiver's words are stored as they came, but for U+0000, which PostgreSQL's text cannot hold:
     * an answer with a NUL byte (a binary body, a non-HTTP service's greeting) failed every statement
     * recording it, and its stream sent the same message again and again.
     */
    public Attempt {
        error = storable(error);
        responseBody = storable(responseBody);
    }

    private static String storable(String text) {
        return text == null || text.indexOf('\u0000') < 0 ? text : text.replace('\u0000', '\uFFFD');
    }

    /** How an attempt ended; everything but {@code delivered} is a failure. */
    public enum Outcome {
        /** A 2xx answer. */
        delivered,
        /** A non-2xx answer (other than 410), or a redirect that is not followed. */
        http_error,
        /** 410 Gone: the receiver says the endpoint no longer exists; it is disabled. */
        gone,
        /** No complete answer within the timeout. */
        timeout,
        /** The connection could not be made or broke (refused, reset, DNS, TLS). */
        connection_error,
        /** Every address of the host is one webhooks may not call (private, loopback, metadata…). */
        blocked_address,
        /** A 307/308 whose Location is not a URL webhooks may call, or too many redirects. */
        redirect_error
    }

    public boolean delivered() {
        return outcome == Outcome.delivered;
    }
}
