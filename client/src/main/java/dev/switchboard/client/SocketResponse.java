package dev.switchboard.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.OptionalLong;

/**
 * A successful response to a request made on an {@link EventStream} ({@code {"type":"response",…}}).
 * Refusals do not come as this: they complete the request's future exceptionally with an
 * {@link ApiException}.
 *
 * @param status the HTTP status the same operation gets over HTTP (200, 201, 204)
 * @param result the operation's result (a record, {@code {records, cursor}}, {@code {events, next}}), or
 *     null for 204 ({@code records.delete})
 * @param seq for a write, the {@code seq} of the event it appended; this response came before that
 *     event's frame on the socket
 * @param replayed true for a {@code records.create} that replayed the first one with the same idempotency key
 */
public record SocketResponse(int status, JsonNode result, OptionalLong seq, boolean replayed) {

    static SocketResponse from(JsonNode json) {
        JsonNode seq = json.get("seq");
        return new SocketResponse(
                json.path("status").asInt(),
                json.get("result"),
                seq != null && seq.canConvertToLong() ? OptionalLong.of(seq.asLong()) : OptionalLong.empty(),
                json.path("replayed").asBoolean(false));
    }
}
