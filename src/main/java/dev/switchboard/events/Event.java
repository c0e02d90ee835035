package dev.switchboard.events;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonRawValue;
import java.time.Instant;

/**
 * One entry of a stream, as every reader sees it (feed, webhooks, WebSockets): {@code id} is stable
 * and unique, {@code seq} its position in the stream. {@code data} is kept as the JSON text the
 * database returned and written out unparsed. {@code traceContext} is the W3C {@code traceparent} of
 * the write that appended it (null when that write was not traced); readers never see it.
 */
@JsonPropertyOrder({"id", "seq", "type", "subject", "time", "data"})
public record Event(
        String id,
        long seq,
        String type,
        String subject,
        Instant time,
        @JsonRawValue String data,
        @JsonIgnore byte[] sealed,
        @JsonIgnore String traceContext) {

    public Event(String id, long seq, String type, String subject, Instant time, String data, byte[] sealed) {
        this(id, seq, type, subject, time, data, sealed, null);
    }
}
