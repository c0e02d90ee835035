package dev.switchboard.websockets;

import dev.switchboard.events.Event;
import dev.switchboard.events.EventLog;
import dev.switchboard.support.Json;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The server's messages as UTF-8 text-frame payloads. Events are serialized once each and frames are
 * assembled from those bytes, so a fan-out never serializes per client.
 */
final class Frames {
    private static final byte[] EVENTS_OPEN = "{\"type\":\"events\",\"events\":[".getBytes(StandardCharsets.UTF_8);
    private static final byte[] EVENTS_CLOSE = "]}".getBytes(StandardCharsets.UTF_8);
    static final ByteBuffer PONG = utf8("{\"type\":\"pong\"}");

    private Frames() {}

    /** The event's JSON, as every reader sees it. */
    static byte[] json(Event event) {
        try {
            return Json.MAPPER.writeValueAsBytes(event);
        } catch (Exception e) {
            throw new IllegalStateException("an event could not be serialized", e);
        }
    }

    /** {"type":"events","events":[…]} from already-serialized events. */
    static ByteBuffer events(List<byte[]> events) {
        int size = EVENTS_OPEN.length + EVENTS_CLOSE.length + Math.max(0, events.size() - 1);
        for (byte[] e : events) {
            size += e.length;
        }
        ByteBuffer frame = ByteBuffer.allocate(size);
        frame.put(EVENTS_OPEN);
        for (int i = 0; i < events.size(); i++) {
            if (i > 0) {
                frame.put((byte) ',');
            }
            frame.put(events.get(i));
        }
        frame.put(EVENTS_CLOSE);
        return frame.flip().asReadOnlyBuffer();
    }

    static ByteBuffer live(long position) {
        return message("live", "position", position);
    }

    static ByteBuffer subscribed(List<String> eventTypes) {
        return message("subscribed", "eventTypes", eventTypes);
    }

    static ByteBuffer error(String code, String message) {
        return message("error", "code", code, "message", message);
    }

    /**
     * The answer to a request: {@code {"type":"response","id","status","seq"?,"replayed"?,"result"?}},
     * the result absent for 204 and {@code seq} present for a write.
     */
    static ByteBuffer response(String id, Operations.Outcome outcome) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("type", "response");
        json.put("id", id);
        json.put("status", outcome.status());
        if (outcome.seq() > 0) {
            json.put("seq", outcome.seq());
        }
        if (outcome.replayed()) {
            json.put("replayed", true);
        }
        if (outcome.result() != null) {
            json.put("result", outcome.result());
        }
        return utf8(Json.write(json));
    }

    /** A refused request: {@code {"type":"response","id","status","error":{"code","message","details"}}}. */
    static ByteBuffer errorResponse(
            String id, int status, String code, String message, Object details, Long retryAfter) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("code", code);
        error.put("message", message);
        error.put("details", details);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("type", "response");
        json.put("id", id);
        json.put("status", status);
        if (retryAfter != null) {
            json.put("retryAfter", retryAfter);
        }
        json.put("error", error);
        return utf8(Json.write(json));
    }

    /** A replay from an expired position: what was lost, and the position live events follow from. */
    static ByteBuffer resumeFailed(EventLog.PositionExpired expired, long position) {
        return message(
                "resume_failed",
                "code",
                "position_expired",
                "message",
                "events after position " + expired.after() + " are past the retention period; resynchronise"
                        + " through the API, then follow live events from position " + position,
                "after",
                expired.after(),
                "oldestSeq",
                expired.oldest(),
                "headSeq",
                expired.head(),
                "position",
                position);
    }

    private static ByteBuffer message(String type, Object... fields) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("type", type);
        for (int i = 0; i < fields.length; i += 2) {
            json.put((String) fields[i], fields[i + 1]);
        }
        return utf8(Json.write(json));
    }

    private static ByteBuffer utf8(String text) {
        return ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)).asReadOnlyBuffer();
    }
}
