package dev.switchboard.websockets;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.switchboard.events.EventTypes;
import dev.switchboard.support.Json;
import dev.switchboard.support.JsonInput;
import dev.switchboard.support.Refusal;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Parses what a client sends: JSON text objects with a {@code type}. Anything else becomes an
 * {@link Invalid} message the session answers with an error, so a client bug never costs the
 * connection; only floods and oversized messages do.
 */
final class ClientMessages {
    /** A client may send this many messages per window; more closes with {@link CloseCode#TOO_MANY_MESSAGES}. */
    static final int MAX_PER_WINDOW = 100;
    /**
     * A client may send this many frames per window besides the last frame of each message (a message's
     * other fragments, pings, pongs); more closes with {@link CloseCode#TOO_MANY_MESSAGES}. Far above what
     * a client needs (a library that cuts a 64 KiB message into 4 KiB frames sends 15). Without it a
     * message never finished (empty continuation frames without end, or pings) counted against no limit:
     * two sockets flooding them held a 2-core node's threads, since a socket's reads run on a virtual
     * thread, which is not preempted while data keeps arriving.
     */
    static final int MAX_FRAMES_PER_WINDOW = 4_000;

    static final int WINDOW_SECONDS = 10;
    static final int MAX_PATTERNS = 100;
    /** A request's {@code id}, echoed in its response, is a string of at most this many characters. */
    static final int MAX_REQUEST_ID = 64;

    private static final List<String> REQUEST_FIELDS = List.of("type", "id", "method", "params");

    /** A request's params may nest as deep as an HTTP body: the message around them is one level more. */
    private static final ObjectMapper MESSAGES = Json.wrapping(1);

    /**
     * Reads what it can of a message {@link #MESSAGES} refused, for the {@code type} and {@code id} to
     * answer it with, wherever they stand: past params nested too deep, holding a field twice or a
     * number too long. Skipping a nested value takes no recursion, 1,000 levels is far beyond any
     * accepted, and a number is no longer than the message.
     */
    private static final JsonFactory SALVAGE = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(1000)
                    .maxNumberLength(Integer.MAX_VALUE)
                    .build())
            .build();

    sealed interface ClientMessage permits Subscribe, Ping, Request, BadRequest, Invalid {}

    /** Narrow the events this socket receives to these event-type patterns. */
    record Subscribe(List<String> eventTypes) implements ClientMessage {}

    /** An application-level ping (browsers cannot send ping frames); answered with a pong message. */
    record Ping() implements ClientMessage {}

    /** An operation to perform; {@code params} is a JSON object (empty when the client sent none). */
    record Request(String id, RequestMethod method, JsonNode params) implements ClientMessage {}

    /**
     * A request the server cannot perform as sent (no id, an unknown method, params that are not an
     * object): answered with an error response, echoing {@code id} when it had a usable one.
     */
    record BadRequest(String id, Refusal refusal) implements ClientMessage {}

    /** Something the server cannot act on; {@code code} and {@code message} go back in an error message. */
    record Invalid(String code, String message) implements ClientMessage {}

    private ClientMessages() {}

    static ClientMessage parse(String message) {
        // A UTF-8 byte order mark, which HTTP bodies may start with too, is not part of the JSON.
        String text = message.startsWith("\uFEFF") ? message.substring(1) : message;
        JsonNode json;
        try {
            json = Json.readTree(MESSAGES, text);
        } catch (JsonProcessingException e) {
            return unparsable(text, e);
        }
        if (json == null || !json.isObject()) {
            return new Invalid("malformed_message", "messages are JSON objects such as {\"type\":\"ping\"}");
        }
        JsonNode type = json.get("type");
        if (type == null || !type.isTextual()) {
            return new Invalid("invalid_field", "type: required, one of request, subscribe, ping");
        }
        return switch (type.asText()) {
            case "ping" ->
                onlyFields(json, List.of("type"))
                        ? new Ping()
                        : new Invalid("invalid_field", "ping takes no other fields");
            case "subscribe" -> subscribe(json);
            case "request" -> request(json);
            default ->
                new Invalid(
                        "unknown_type",
                        "type: '" + abbreviate(type.asText()) + "' is not a message type (request, subscribe, ping)");
        };
    }

    /**
     * Text that is not one JSON object within the parser's limits (nesting depth, a number's length, a
     * field given twice). A request must still be answered once: when the text starts as one and its
     * {@code type} and {@code id} can be read ({@link #SALVAGE} reads past those limits, not past
     * broken syntax), the id gets a 400 {@code invalid_json} response naming the fault, as an HTTP body
     * would; anything else is a malformed message.
     */
    private static ClientMessage unparsable(String text, JsonProcessingException fault) {
        String type = null;
        String id = null;
        try (JsonParser p = SALVAGE.createParser(text)) {
            if (p.nextToken() == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    boolean string = p.nextToken() == JsonToken.VALUE_STRING;
                    if (string && type == null && name.equals("type")) {
                        type = p.getText();
                    } else if (string && id == null && name.equals("id")) {
                        id = p.getText();
                    } else {
                        p.skipChildren(); // a no-op on a scalar
                    }
                }
            }
        } catch (IOException | RuntimeException reachedTheFault) {
            // What was read before broken syntax is all there is to go on.
        }
        String reason = abbreviate(Json.describe(fault), 200);
        if ("request".equals(type)) {
            if (fault instanceof StreamConstraintsException && reason.contains("levels deep")) {
                // Jackson counts from the message, a level above params, which the limit is about.
                reason = "params are nested more than " + Json.MAX_NESTING_DEPTH
                        + " levels deep, the limit of a request body";
            }
            return new BadRequest(
                    usableId(id), new Refusal.Invalid("invalid_json", "the request is not valid JSON: " + reason));
        }
        return new Invalid(
                "malformed_message", "messages are JSON objects such as {\"type\":\"ping\"} (" + reason + ")");
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

    private static ClientMessage request(JsonNode json) {
        JsonNode idNode = json.get("id");
        String id = idNode != null && idNode.isTextual() ? usableId(idNode.textValue()) : null;
        for (Iterator<String> names = json.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!REQUEST_FIELDS.contains(name)) {
                return new BadRequest(
                        id,
                        new Refusal.InvalidField(
                                abbreviate(name),
                                "is not a field of a request (expected: " + String.join(", ", REQUEST_FIELDS) + ")"));
            }
        }
        if (id == null) {
            return new BadRequest(
                    null,
                    new Refusal.InvalidField(
                            "id",
                            "required, a string of 1 to " + MAX_REQUEST_ID + " characters that the response echoes"));
        }
        JsonNode method = json.get("method");
        if (method == null || !method.isTextual()) {
            return new BadRequest(id, new Refusal.InvalidField("method", "required, one of " + RequestMethod.names()));
        }
        var known = RequestMethod.named(method.textValue());
        if (known.isEmpty()) {
            return new BadRequest(
                    id,
                    new Refusal.Invalid(
                            "unknown_method",
                            "method: '" + abbreviate(method.textValue()) + "' is not a method (" + RequestMethod.names()
                                    + ")",
                            Map.of("field", "method")));
        }
        JsonNode params = json.get("params");
        if (params == null || params.isNull()) {
            params = Json.MAPPER.createObjectNode();
        } else if (!params.isObject()) {
            return new BadRequest(id, new Refusal.InvalidField("params", "must be a JSON object"));
        }
        return new Request(id, known.get(), params);
    }

    private static boolean onlyFields(JsonNode json, List<String> allowed) {
        for (Iterator<String> names = json.fieldNames(); names.hasNext(); ) {
            if (!allowed.contains(names.next())) {
                return false;
            }
        }
        return true;
    }

    /**
     * The id to echo, or null: one that UTF-8 cannot carry (an unpaired surrogate) would come back as "?".
     * Its length is in characters (code points), not in the UTF-16 units a Java string counts.
     */
    private static String usableId(String id) {
        return id != null
                        && !id.isEmpty()
                        && id.codePointCount(0, id.length()) <= MAX_REQUEST_ID
                        && JsonInput.isWellFormed(id)
                ? id
                : null;
    }

    private static String abbreviate(String text) {
        return abbreviate(text, 60);
    }

    private static String abbreviate(String text, int length) {
        return text.length() <= length ? text : text.substring(0, length) + "…";
    }
}
