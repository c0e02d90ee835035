package dev.switchboard.websockets;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.events.EventTypes;
import dev.switchboard.support.Json;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Parses what a client sends: JSON text objects with a {@code type}. Anything else becomes an
 * {@link Invalid} message the session answers with an error, so a client bug never costs the
 * connection; only floods and oversized messages do.
 */
final class ClientMessages {
    /** A client may send this many messages per window; more closes with {@link CloseCode#TOO_MANY_MESSAGES}. */
    static final int MAX_PER_WINDOW = 100;

    static final int WINDOW_SECONDS = 10;
    static final int MAX_PATTERNS = 100;

    sealed interface ClientMessage permits Subscribe, Ping, Invalid {}

    /** Narrow the events this socket receives to these event-type patterns. */
    record Subscribe(List<String> eventTypes) implements ClientMessage {}

    /** An application-level ping (browsers cannot send ping frames); answered with a pong message. */
    record Ping() implements ClientMessage {}

    /** Something the server cannot act on; {@code code} and {@code message} go back in an error message. */
    record Invalid(String code, String message) implements ClientMessage {}

    private ClientMessages() {}

    static ClientMessage parse(String text) {
        JsonNode json;
        try {
            json = Json.MAPPER.readTree(text);
        } catch (Exception e) {
            return new Invalid("malformed_message", "messages are JSON objects such as {\"type\":\"ping\"}");
        }
        if (json == null || !json.isObject()) {
            return new Invalid("malformed_message", "messages are JSON objects such as {\"type\":\"ping\"}");
        }
        JsonNode type = json.get("type");
        if (type == null || !type.isTextual()) {
            return new Invalid("invalid_field", "type: required, one of subscribe, ping");
        }
        return switch (type.asText()) {
            case "ping" ->
                onlyFields(json, List.of("type"))
                        ? new Ping()
                        : new Invalid("invalid_field", "ping takes no other fields");
            case "subscribe" -> subscribe(json);
            default ->
                new Invalid(
                        "unknown_type",
                        "type: '" + abbreviate(type.asText()) + "' is not a message type (subscribe, ping)");
        };
    }

    private static ClientMessage subscribe(JsonNode json) {
        if (!onlyFields(json, List.of("type", "eventTypes"))) {
            return new Invalid("invalid_field", "subscribe takes only eventTypes");
        }
        JsonNode types = json.get("eventTypes");
        if (types == null || !types.isArray() || types.isEmpty()) {
            return new Invalid(
                    "invalid_field",
                    "eventTypes: required, a non-empty list of event-type patterns" + " such as [\"reservations.*\"]");
        }
        if (types.size() > MAX_PATTERNS) {
            return new Invalid("invalid_field", "eventTypes: at most " + MAX_PATTERNS + " patterns");
        }
        List<String> patterns = new ArrayList<>();
        for (int i = 0; i < types.size(); i++) {
            JsonNode p = types.get(i);
            if (!p.isTextual() || !EventTypes.isPattern(p.asText())) {
                return new Invalid(
                        "invalid_field",
                        "eventTypes[" + i + "]: '" + abbreviate(p.asText())
                                + "' is not an event type pattern (e.g. reservations.created, reservations.*, *)");
            }
            patterns.add(p.asText());
        }
        return new Subscribe(List.copyOf(patterns));
    }

    private static boolean onlyFields(JsonNode json, List<String> allowed) {
        for (Iterator<String> names = json.fieldNames(); names.hasNext(); ) {
            if (!allowed.contains(names.next())) {
                return false;
            }
        }
        return true;
    }

    private static String abbreviate(String text) {
        return text.length() <= 60 ? text : text.substring(0, 60) + "…";
    }
}
