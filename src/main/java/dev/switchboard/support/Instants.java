package dev.switchboard.support;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Times clients send, as ISO-8601 instants (in UTC, or with an offset, which is converted), held to the years 1 to 9999: Java reads instants a
 * billion years either way, but PostgreSQL's timestamptz stops near the year 294276, and a query with
 * a time past it fails in the database instead of being refused.
 */
public final class Instants {
    public static final Instant MIN = Instant.parse("0001-01-01T00:00:00Z");
    public static final Instant MAX = Instant.parse("9999-12-31T23:59:59.999999999Z");

    /**
     * What {@link Instant#parse} takes that is not a time as written: it reads {@code 24:00} as the next day's
     * midnight, a leap second {@code 23:59:60} as {@code 23:59:59}, {@code 12:00:00.Z} with a fraction of no
     * digits, and offsets with seconds. A bound written so is refused rather than moved.
     */
    private static final Pattern AS_WRITTEN = Pattern.compile(
            "[+-]?\\d{4,}-\\d{2}-\\d{2}T([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})");

    private static final Pattern SPACED_OFFSET = Pattern.compile(".+T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)? \\d{2}:\\d{2}");

    private Instants() {}

    /** The instant, or a 400 naming {@code field} when the text is not one or is out of range. */
    public static Instant parse(String text, String field) {
        // RFC 3339 allows the T and the Z in lower case; Java's parser takes only upper case.
        String written = text.toUpperCase(Locale.ROOT);
        Instant instant;
        try {
            instant = Instant.parse(written);
        } catch (DateTimeParseException e) {
            if (SPACED_OFFSET.matcher(text).matches()) {
                // The + of an offset sent unencoded in a query string arrives as a space.
                throw new Refusal.InvalidField(
                        field,
                        "'" + shown(text) + "' has a space before its offset: a + in a query string must be sent as %2B"
                                + " (2026-01-31T14:00:00%2B02:00), or send the time in UTC (2026-01-31T12:00:00Z)");
            }
            throw new Refusal.InvalidField(
                    field,
                    "'" + shown(text) + "' is not an ISO-8601 time with its offset, such as 2026-01-31T12:00:00Z or"
                            + " 2026-01-31T14:00:00+02:00");
        }
        if (!AS_WRITTEN.matcher(written).matches()) {
            throw new Refusal.InvalidField(
                    field,
                    "'" + shown(text) + "' is not a time as written: hours run 00 to 23 and seconds 00 to 59, a"
                            + " fraction has digits, and an offset is Z or ±hh:mm (2026-01-31T12:00:00Z)");
        }
        if (!inRange(instant)) {
            throw new Refusal.InvalidField(field, "'" + text + "' is outside the years 1 to 9999 (in UTC)");
        }
        return instant;
    }

    /** The text as an error quotes it: a time is short, and a megabyte sent as one is not echoed back whole. */
    private static String shown(String text) {
        int codePoints = text.codePointCount(0, text.length());
        return codePoints <= 64 ? text : text.substring(0, text.offsetByCodePoints(0, 60)) + "…";
    }

    /**
     * {@code instant} at PostgreSQL's precision, for a bound {@code >= instant} or {@code < instant}: the
     * first microsecond at or after it. PostgreSQL rounds a finer time to the nearest microsecond, which
     * took a record updated at .020023 as at or after .0200234 (a lower bound rounded down).
     */
    public static Instant microsUp(Instant instant) {
        Instant down = microsDown(instant);
        return down.equals(instant) ? instant : down.plusNanos(1_000);
    }

    /** {@code instant} at PostgreSQL's precision, for a bound {@code <= instant}: the last microsecond at or before it. */
    public static Instant microsDown(Instant instant) {
        return instant.truncatedTo(ChronoUnit.MICROS);
    }

    public static boolean inRange(Instant instant) {
        return !instant.isBefore(MIN) && !instant.isAfter(MAX);
    }
}
