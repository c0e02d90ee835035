package dev.switchboard.support;

import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * Times clients send, as ISO-8601 UTC instants, held to the years 1 to 9999: Java reads instants a
 * billion years either way, but PostgreSQL's timestamptz stops near the year 294276, and a query with
 * a time past it fails in the database instead of being refused.
 */
public final class Instants {
    public static final Instant MIN = Instant.parse("0001-01-01T00:00:00Z");
    public static final Instant MAX = Instant.parse("9999-12-31T23:59:59.999999999Z");

    private Instants() {}

    /** The instant, or a 400 naming {@code field} when the text is not one or is out of range. */
    public static Instant parse(String text, String field) {
        Instant instant;
        try {
            instant = Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new Refusal.InvalidField(
                    field, "'" + text + "' is not an ISO-8601 UTC time such as 2026-01-31T12:00:00Z");
        }
        if (!inRange(instant)) {
            throw new Refusal.InvalidField(field, "'" + text + "' is outside the years 1 to 9999");
        }
        return instant;
    }

    public static boolean inRange(Instant instant) {
        return !instant.isBefore(MIN) && !instant.isAfter(MAX);
    }
}
