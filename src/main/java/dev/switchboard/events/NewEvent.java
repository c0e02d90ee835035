package dev.switchboard.events;

import dev.switchboard.tracing.Tracing;
import java.time.Instant;
import java.util.UUID;

/**
 * An event about to be appended. {@code collection} is set for the events records produce, so the
 * log can apply read permissions; {@code sealed} carries an encrypted secret (a lifecycle event's new
 * access token) that is never shown by the feed.
 */
public record NewEvent(
        UUID id, String type, String subject, String collection, Instant time, String dataJson, byte[] sealed) {

    /**
     * The most an event's data may take, serialised as JSON (UTF-8). Every reader holds events in memory
     * a page at a time (the feed, a WebSocket batch, a webhook message), so an event's size is bounded
     * where it is written; a record's data may be larger, only the copy its event carries is bounded.
     */
    public static final int MAX_DATA_BYTES = 64 * 1024;

    /**
     * The SQL call that appends; its parameters come from {@link #params(long)}. The last is the trace
     * context of the write (null unless it is traced), kept with the event for the deliveries it causes.
     */
    public static final String APPEND_CALL = "append_event(?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?)";

    /** The bytes of {@code json} in UTF-8, counted without encoding it. */
    public static long utf8Bytes(String json) {
        long bytes = 0;
        for (int i = 0; i < json.length(); i++) {
            char ch = json.charAt(i);
            if (ch < 0x80) {
                bytes += 1;
            } else if (ch < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(ch)
                    && i + 1 < json.length()
                    && Character.isLowSurrogate(json.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    /**
     * Selects the event's data as the log will return it: the JSON cast to jsonb and written out again
     * (jsonb orders keys its own way and puts a space after each colon). Its parameter comes after
     * {@link #params}: {@link #dataJson}.
     */
    public static final String COMMITTED_DATA = "?::jsonb::text";

    public Object[] params(long streamPk) {
        return new Object[] {streamPk, id, type, subject, collection, time, dataJson, sealed, Tracing.traceparent()};
    }
}
