package dev.switchboard.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import dev.switchboard.support.JsonInput;
import dev.switchboard.support.Refusal;
import dev.switchboard.web.RequestBodies;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A request's JSON object, read strictly: malformed JSON, a body that is not an object, a field this
 * route does not take, or a value of the wrong type is a 400 that names the field.
 */
public final class JsonBody {
    private final JsonNode node;

    private JsonBody(JsonNode node) {
        this.node = node;
    }

    /**
     * Parses the body and checks it carries only the given fields. The bytes are parsed as they came:
     * JSON is UTF-8 (RFC 8259), so a {@code charset} in the Content-Type is not used to decode them, and
     * bytes that are not valid UTF-8 are refused rather than replaced.
     */
    public static JsonBody of(Context ctx, String... allowedFields) {
        String encoding = ctx.header("Content-Encoding");
        if (encoding != null && !encoding.isBlank() && !encoding.strip().equalsIgnoreCase("identity")) {
            // Else the compressed bytes are parsed as JSON, and refused for a control character.
            throw new Refusal.Invalid(
                    "invalid_header", "Content-Encoding: only identity is accepted; send the JSON uncompressed");
        }
        byte[] bytes = RequestBodies.of(ctx);
        if (isBlank(bytes)) {
            throw new Refusal.Invalid("invalid_json", "the request body is empty; expected a JSON object");
        }
        JsonNode node;
        try {
            node = Json.readTree(Json.MAPPER, Json.utf8(bytes, "the request body"));
        } catch (JsonProcessingException e) {
            String what = e instanceof StreamConstraintsException
                    ? "the request body's JSON goes past a limit: "
                    : "the request body is not valid JSON: ";
            throw new Refusal.Invalid("invalid_json", what + Json.describe(e) + location(e));
        }
        if (node == null || !node.isObject()) {
            throw new Refusal.Invalid("invalid_json", "the request body must be a JSON object");
        }
        return of(node, allowedFields);
    }

    /**
     * For a route that takes no body: one given must be empty, white space or {@code {}}, else it is refused
     * (400, naming the field or what is malformed). A body with fields was meant to say something (a grace
     * period to a secret's rotation, say); acting on the request while ignoring it does what was not asked.
     */
    public static void none(Context ctx) {
        if (!absent(ctx)) {
            of(ctx);
        }
    }

    /**
     * Whether the request has no body, or only white space. Read from the bytes as UTF-8, like the body
     * itself: a {@code charset} in the Content-Type, however unknown, decides nothing.
     */
    public static boolean absent(Context ctx) {
        return isBlank(RequestBodies.of(ctx));
    }

    /** Nothing but JSON's white space (space, tab, CR, LF): Java's isBlank also takes control and Unicode spaces. */
    private static boolean isBlank(byte[] bytes) {
        for (byte b : bytes) {
            if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
                return false;
            }
        }
        return true;
    }

    /**
     * A JSON object already parsed (a WebSocket request's params), checked like a body: only the given
     * fields, and no text PostgreSQL cannot store.
     */
    public static JsonBody of(JsonNode node, String... allowedFields) {
        Set<String> allowed = Set.of(allowedFields);
        node.fieldNames().forEachRemaining(f -> {
            if (!allowed.contains(f)) {
                throw new Refusal.InvalidField(
                        f,
                        allowed.isEmpty()
                                ? "is not a field of this request: it takes no body"
                                : "is not a field of this request (expected: " + String.join(", ", allowedFields)
                                        + ")");
            }
        });
        JsonInput.check(node, "");
        return new JsonBody(node);
    }

    private static String location(JsonProcessingException e) {
        return e.getLocation() == null
                ? ""
                : " (line " + e.getLocation().getLineNr() + ", column "
                        + e.getLocation().getColumnNr() + ")";
    }

    public boolean has(String field) {
        return node.has(field) && !node.get(field).isNull();
    }

    public String requiredString(String field, int maxLength) {
        String value = string(field, maxLength);
        if (value == null) {
            throw new Refusal.InvalidField(field, "is required");
        }
        return value;
    }

    /**
     * A string as written (neither trimmed nor bounded here, possibly empty), or null when absent: for
     * what the HTTP API takes from a path segment or a query parameter as it comes, so a request on a
     * socket gets the answer the same request over HTTP gets.
     */
    public String asWritten(String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new Refusal.InvalidField(field, "must be a string");
        }
        return v.textValue();
    }

    /** {@link #asWritten}, required and not empty: where the HTTP API has a path segment. */
    public String requiredAsWritten(String field) {
        String value = asWritten(field);
        if (value == null) {
            throw new Refusal.InvalidField(field, "is required");
        }
        if (value.isEmpty()) {
            throw new Refusal.InvalidField(field, "must not be empty");
        }
        return value;
    }

    /**
     * {@link #requiredAsWritten} of one field of {@code node}, checked alone, before the rest of it: what
     * a request's route takes from its path, whose refusals (404, 403) come before any of the body's.
     */
    public static String requiredAsWritten(JsonNode node, String field) {
        String value = new JsonBody(node).requiredAsWritten(field);
        JsonInput.checkText(value, field);
        return value;
    }

    public String string(String field, int maxLength) {
        String written = asWritten(field);
        if (written == null) {
            return null;
        }
        String text = written.strip();
        if (blank(text)) {
            throw new Refusal.InvalidField(field, "must not be empty");
        }
        // Characters as JSON Schema's maxLength (and PostgreSQL) count them: an emoji is one, not two.
        if (text.length() > maxLength && text.codePointCount(0, text.length()) > maxLength) {
            throw new Refusal.InvalidField(field, "must be at most " + maxLength + " characters");
        }
        return text;
    }

    /**
     * Whether {@code text} shows nothing: white space of any kind (strip() leaves no-break spaces) and
     * invisible characters (a zero-width space) alone.
     */
    private static boolean blank(String text) {
        return text.codePoints()
                .allMatch(c -> Character.isWhitespace(c)
                        || Character.isSpaceChar(c)
                        || Character.getType(c) == Character.FORMAT
                        || INVISIBLE_LETTERS.contains(c));
    }

    /** Letters that draw nothing (Hangul fillers, the blank braille pattern): text of them alone is blank. */
    private static final java.util.Set<Integer> INVISIBLE_LETTERS =
            java.util.Set.of(0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800);

    /**
     * {@link #string}, for a name people read in lists, the console and the audit log: a line break, tab or
     * terminal escape in it is refused.
     */
    public String displayName(String field, int maxLength) {
        String name = string(field, maxLength);
        if (name != null && name.codePoints().anyMatch(JsonBody::isLayoutControl)) {
            throw new Refusal.InvalidField(
                    field, "must not contain control characters (line breaks, tabs, escapes, direction overrides)");
        }
        return name;
    }

    /** {@link #displayName}, required. */
    public String requiredDisplayName(String field, int maxLength) {
        String name = displayName(field, maxLength);
        if (name == null) {
            throw new Refusal.InvalidField(field, "is required");
        }
        return name;
    }

    /**
     * A control character, a line or paragraph separator, or a direction embedding, override or isolate
     * (which reverses the text after it where the name is shown: {@code gnp.exe} reads {@code exe.png}).
     */
    private static boolean isLayoutControl(int c) {
        int type = Character.getType(c);
        return Character.isISOControl(c)
                || type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR
                || (c >= 0x202A && c <= 0x202E)
                || (c >= 0x2066 && c <= 0x2069);
    }

    public List<String> stringList(String field, int maxItems) {
        return stringList(node.get(field), field, maxItems);
    }

    public static List<String> stringList(JsonNode v, String field, int maxItems) {
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isArray()) {
            throw new Refusal.InvalidField(field, "must be an array of strings");
        }
        if (v.size() > maxItems) {
            throw new Refusal.InvalidField(field, "must have at most " + maxItems + " items");
        }
        List<String> values = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isTextual()) {
                throw new Refusal.InvalidField(field + "[" + i + "]", "must be a string");
            }
            values.add(v.get(i).textValue());
        }
        return values;
    }

    /** An object-valued field, or null when absent. */
    public JsonNode object(String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isObject()) {
            throw new Refusal.InvalidField(field, "must be a JSON object");
        }
        return v;
    }

    public JsonNode requiredObject(String field) {
        JsonNode v = object(field);
        if (v == null) {
            throw new Refusal.InvalidField(field, "is required, a JSON object");
        }
        return v;
    }

    /** A whole number, or null when absent. */
    public Long longValue(String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isNumber()) {
            throw new Refusal.InvalidField(field, "must be a whole number");
        }
        // By its value, as JSON numbers are read everywhere (10.0 is 10); refused as a query parameter's is.
        java.math.BigDecimal number = v.decimalValue();
        try {
            return number.longValueExact();
        } catch (ArithmeticException notWhole) {
            throw new Refusal.InvalidField(field, "'" + number.toPlainString() + "' is not a whole number");
        }
    }

    public JsonNode node() {
        return node;
    }
}
