package dev.switchboard.events;

import java.time.Instant;
import java.util.UUID;

/**
 * An event about to be appended. {@code collection} is set for the events records produce, so the
 * log can apply read permissions; {@code sealed} carries an encrypted secret (a lifecycle event's new
 * access token) that is never shown by the feed.
 */
public record NewEvent(UUID id, String type, String subject, String collection, Instant time, String dataJson,
                       byte[] sealed) {

    /** The SQL call that appends; its parameters come from {@link #params(long)}. */
    public static final String APPEND_CALL = "append_event(?, ?, ?, ?, ?, ?, ?::jsonb, ?)";

    public Object[] params(long streamPk) {
        return new Object[] {streamPk, id, type, subject, collection, time, dataJson, sealed};
    }
}
