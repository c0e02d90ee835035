package dev.switchboard.client;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with full jitter: the n-th wait (from 0) is uniformly random between zero and
 * {@code min(max, initial × 2^n)}, so clients that lost the server together do not come back together.
 *
 * @param initial the ceiling of the first wait
 * @param max the largest ceiling
 */
public record Backoff(Duration initial, Duration max) {
    /** 500 ms doubling up to 30 s: what the event stream uses unless told otherwise. */
    public static final Backoff DEFAULT = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30));

    /** Checks that both waits are positive and {@code initial} is at most {@code max}. */
    public Backoff {
        if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("backoff needs 0 < initial <= max, got " + initial + " and " + max);
        }
    }

    /** The ceiling of wait number {@code attempt} (0 for the first). */
    public Duration ceiling(int attempt) {
        long initialMillis = initial.toMillis();
        long maxMillis = max.toMillis();
        int shift = Math.min(Math.max(attempt, 0), 30);
        long ceiling = initialMillis > (maxMillis >> shift) ? maxMillis : initialMillis << shift;
        return Duration.ofMillis(Math.min(ceiling, maxMillis));
    }

    /** A random wait for attempt number {@code attempt} (0 for the first): between zero and its ceiling. */
    public Duration delay(int attempt) {
        return Duration.ofMillis(
                ThreadLocalRandom.current().nextLong(ceiling(attempt).toMillis() + 1));
    }
}
