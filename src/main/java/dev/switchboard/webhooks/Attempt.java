package dev.switchboard.webhooks;

import dev.switchboard.support.Tokens;
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
     * The response body is stored as it came, but for U+0000, which PostgreSQL's text cannot hold: an
     * answer with a NUL byte (a binary body, a non-HTTP service's greeting) failed every statement
     * recording it, and its stream sent the same message again and again. The error is made printable
     * ({@link #printable}), and a token in it masked as in the body: it may quote what a receiver sent where
     * an answer was expected (a status line, a chunk size), and the messages API shows it.
     */
    public Attempt {
        error = Tokens.masked(printable(error));
        responseBody = storable(responseBody);
    }

    private static String storable(String text) {
        return text == null || text.indexOf('\u0000') < 0 ? text : text.replace('\u0000', '\uFFFD');
    }

    /** The most of an error description kept: it may quote the receiver (a status line, a Location). */
    static final int MAX_ERROR = 1000;

    /**
     * An error description goes into the operator's log line and the endpoint's state, and may quote what
     * the receiver sent (a status line, a redirect's Location, up to 8 KiB): control characters (carriage
     * returns, terminal escapes, C1 line breaks that log shippers split on) become U+FFFD, and it is cut
     * at {@value #MAX_ERROR} characters, so a receiver cannot forge or hide lines of the server's log.
     */
    private static String printable(String text) {
        if (text == null) {
            return null;
        }
        StringBuilder kept = new StringBuilder(Math.min(text.length(), MAX_ERROR));
        for (int i = 0; i < text.length() && kept.length() < MAX_ERROR; i++) {
            char c = text.charAt(i);
            kept.append(Character.isISOControl(c) ? '\uFFFD' : c);
        }
        if (!kept.isEmpty() && Character.isHighSurrogate(kept.charAt(kept.length() - 1))) {
            kept.setLength(kept.length() - 1); // cut inside a character
        }
        return kept.toString();
    }

    /** How an attempt ended; everything but {@code delivered} is a failure. */
    public enum Outcome {
        /** A 2xx answer. */
        delivered,
        /** A non-2xx answer (other than 410), a 2xx whose body runs past 1 MiB, or a redirect that is not followed. */
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
        redirect_error,
        /**
         * Not sent: a retried message carried, by its turn, no event left to send (its endpoint's event
         * types or its integration's narrowed after the retry was asked for, or the retention removed them).
         */
        nothing_to_send,
        /**
         * Not sent: a retried message or test was waiting when its endpoint was disabled, and failed again.
         * Written by the database as the endpoint is disabled (V33), never by a sender.
         */
        endpoint_disabled
    }

    public boolean delivered() {
        return outcome == Outcome.delivered;
    }
}
