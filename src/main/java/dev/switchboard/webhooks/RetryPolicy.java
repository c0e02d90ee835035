package dev.switchboard.webhooks;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * When a failed message is tried again: after the n-th failed attempt, the n-th delay of the schedule,
 * spread by ±20 % jitter so that receivers that fail together are not retried together. A
 * {@code Retry-After} from a 429 or 503 (plus up to 10 % jitter, capped) lengthens that wait, never
 * shortens it: a receiver answering {@code Retry-After: 0} would otherwise have every attempt spent
 * within milliseconds and the message abandoned. After the last delay the message is abandoned.
 */
public record RetryPolicy(List<Duration> delays, Duration maxRetryAfter) {
    private static final double JITTER = 0.2;

    public RetryPolicy {
        delays = List.copyOf(delays);
    }

    public int maxAttempts() {
        return delays.size() + 1;
    }

    /** The wait before the next attempt after {@code failedAttempts} failures; empty: abandon the message. */
    public Optional<Duration> nextDelay(int failedAttempts, Optional<Duration> retryAfter, RandomGenerator random) {
        if (failedAttempts >= maxAttempts()) {
            return Optional.empty();
        }
        Duration scheduled = scale(delays.get(failedAttempts - 1), 1 - JITTER + random.nextDouble() * 2 * JITTER);
        if (retryAfter.isPresent()) {
            // Jittered upwards (never sooner than asked), and capped after that: "up to maxRetryAfter".
            Duration jittered = scale(atMost(retryAfter.get(), maxRetryAfter), 1 + random.nextDouble() * JITTER / 2);
            Duration asked = atMost(jittered, maxRetryAfter);
            return Optional.of(asked.compareTo(scheduled) > 0 ? asked : scheduled);
        }
        return Optional.of(scheduled);
    }

    private static Duration atMost(Duration d, Duration max) {
        return d.compareTo(max) > 0 ? max : d;
    }

    private static Duration scale(Duration d, double factor) {
        return Duration.ofMillis(Math.round(d.toMillis() * factor));
    }

    /** A {@code Retry-After} value: seconds, or an HTTP date; empty when absent or unreadable. */
    public static Optional<Duration> parseRetryAfter(String value, Instant now) {
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        String v = value.trim();
        if (v.matches("\\d+")) {
            // However many digits: a wait longer than a long holds is as long as any, and capped later.
            return Optional.of(
                    v.length() > 18 ? Duration.ofSeconds(Long.MAX_VALUE) : Duration.ofSeconds(Long.parseLong(v)));
        }
        try {
            Instant at =
                    ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            return Optional.of(at.isAfter(now) ? Duration.between(now, at) : Duration.ZERO);
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }
}
