package dev.switchboard.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import dev.switchboard.support.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Builds hostile requests for every operation of the served OpenAPI document: each request starts
 * from a valid one (fixture ids of party A, the right token) and breaks one thing: a path parameter,
 * a query parameter, a header, the token, the method, the whole body or one field of it. Which
 * hostile values each slot gets is drawn from the seeded random, so a seed names one run exactly.
 */
final class HostileRequests {
    /** Hostile values tried per slot (path parameter, query parameter, header, body field). */
    private static final int PER_SLOT = 10;

    /** One operation of the document. */
    record Operation(String method, String path, String id, String tag, Map<String, String> params, JsonNode body) {
        boolean tenantScoped() {
            return params.containsKey("Switchboard-Tenant");
        }
    }

    /** A text that is either sent exactly as written ({@code raw}) or percent-encoded first. */
    record Value(String text, boolean raw) {}

    /** One request to send; texts may hold fixture symbols. */
    record Request(
            Operation op,
            String what,
            String method,
            Map<String, Value> pathValues,
            List<Map.Entry<String, Value>> query,
            String token,
            List<Map.Entry<String, String>> headers,
            String body,
            byte[] rawBody,
            boolean chunked) {
        String target(java.util.function.UnaryOperator<String> resolve) {
            String path = op.path();
            for (Map.Entry<String, Value> p : pathValues.entrySet()) {
                path = path.replace("{" + p.getKey() + "}", encode(p.getValue(), resolve));
            }
            if (query.isEmpty()) {
                return path;
            }
            StringBuilder target = new StringBuilder(path).append('?');
            for (int i = 0; i < query.size(); i++) {
                target.append(i == 0 ? "" : "&")
                        .append(query.get(i).getKey())
                        .append('=')
                        .append(encode(query.get(i).getValue(), resolve));
            }
            return target.toString();
        }

        private static String encode(Value v, java.util.function.UnaryOperator<String> resolve) {
            String text = resolve.apply(v.text());
            return v.raw() ? text : percentEncode(text);
        }
    }

    private static final Map<String, String> PATH_VALUES = Map.of(
            "tenantId",
            "{{A.tenant}}",
            "integrationId",
            "{{A.integration}}",
            "connectionId",
            "{{A.connection}}",
            "collection",
            "reservations",
            "id",
            "{{A.record}}",
            "webhookId",
            "{{A.webhook}}",
            "messageId",
            "{{A.message}}");

    /** Valid bodies of the operations that take one; an operation not listed gets one made from its schema. */
    private static final Map<String, String> BODIES = Map.ofEntries(
            Map.entry("createTenant", "{\"name\":\"Fuzzed tenant\"}"),
            Map.entry(
                    "createIntegration",
                    "{\"name\":\"Fuzzed\",\"permissions\":{\"read\":[\"reservations\"],"
                            + "\"write\":[]},\"eventTypes\":[\"reservations.*\"]}"),
            Map.entry("updateIntegration", "{\"name\":\"Partner A\"}"),
            Map.entry("connect", "{\"tenantId\":\"{{A.tenant}}\"}"),
            Map.entry(
                    "createCollection",
                    "{\"name\":\"fuzzed\",\"eventFields\":[\"state\"],\"schema\":{\"type\":\"object\"}}"),
            Map.entry("createRecord", "{\"data\":{\"state\":\"confirmed\",\"note\":\"x\"}}"),
            Map.entry("patchRecord", "{\"data\":{\"note\":\"y\"}}"),
            Map.entry(
                    "publishEvent",
                    "{\"type\":\"device.command\",\"subject\":\"door-1\",\"data\":{\"action\":\"unlock\"}}"),
            Map.entry(
                    "createWebhook",
                    "{\"url\":\"{{receiver.url}}\",\"eventTypes\":[\"reservations.*\"],"
                            + "\"maxBatchSize\":10,\"retryDelays\":null}"),
            Map.entry("updateWebhook", "{\"maxBatchSize\":100}"),
            Map.entry("replayWebhook", "{\"fromSeq\":1}"));

    private final Random random;
    // Large bodies are made once and shared by every request that sends them.
    private final String largestAllowed;
    private final String manyFields;
    private final byte[] overLimit;
    private final byte[] farOverLimit;

    HostileRequests(Random random, long maxBodyBytes) {
        this.random = random;
        this.largestAllowed = hugeString((int) maxBodyBytes - 64);
        this.manyFields = manyFields(40_000);
        this.overLimit = hugeString((int) maxBodyBytes + 1).getBytes(StandardCharsets.UTF_8);
        this.farOverLimit = hugeString((int) maxBodyBytes * 3).getBytes(StandardCharsets.UTF_8);
    }

    /** Every operation of the document (with {@code $ref}s resolved), plus the WebSocket route if the document lacks it. */
    static List<Operation> operations(JsonNode doc) {
        List<Operation> ops = new ArrayList<>();
        doc.get("paths")
                .properties()
                .forEach(path -> path.getValue().properties().forEach(m -> {
                    if (!List.of("get", "put", "post", "patch", "delete").contains(m.getKey())) {
                        return;
                    }
                    JsonNode op = m.getValue();
                    Map<String, String> params = new LinkedHashMap<>();
                    List<JsonNode> declared = new ArrayList<>();
                    path.getValue().path("parameters").forEach(declared::add);
                    op.path("parameters").forEach(declared::add);
                    for (JsonNode p : declared) {
                        JsonNode param = resolve(doc, p);
                        params.put(
                                param.get("name").asText(),
                                param.get("in").asText() + ":"
                                        + schemaType(
                                                resolve(doc, param.path("schema")),
                                                param.path("schema")
                                                        .path("format")
                                                        .asText()));
                    }
                    JsonNode body = op.path("requestBody")
                            .path("content")
                            .path("application/json")
                            .path("schema");
                    ops.add(new Operation(
                            m.getKey().toUpperCase(Locale.ROOT),
                            path.getKey(),
                            op.path("operationId").asText(),
                            op.path("tags").path(0).asText(),
                            params,
                            body.isMissingNode() ? null : resolveDeep(doc, body)));
                }));
        if (ops.stream().noneMatch(o -> o.path().equals("/api/v1/ws"))) {
            ops.add(new Operation(
                    "GET",
                    "/api/v1/ws",
                    "webSocket",
                    "events",
                    Map.of("after", "query:integer", "access_token", "query:string"),
                    null));
        }
        return ops;
    }

    private static JsonNode resolve(JsonNode doc, JsonNode node) {
        return node.has("$ref") ? doc.at(node.get("$ref").asText().substring(1)) : node;
    }

    private static JsonNode resolveDeep(JsonNode doc, JsonNode node) {
        JsonNode resolved = resolve(doc, node).deepCopy();
        if (resolved.isObject()) {
            ObjectNode object = (ObjectNode) resolved;
            object.properties().forEach(e -> object.set(e.getKey(), resolveDeep(doc, e.getValue())));
        }
        return resolved;
    }

    private static String schemaType(JsonNode schema, String format) {
        JsonNode type = schema.path("type");
        String name = type.isArray() ? type.path(0).asText() : type.asText("string");
        return format.equals("date-time") ? "date-time" : name;
    }

    /** The token a valid request of this operation carries. */
    private static String defaultToken(Operation op) {
        if (op.id().equals("publishEvent")) {
            return "{{admin.key}}";
        }
        return switch (op.tag()) {
            case "operations" -> null;
            case "records", "events" -> "{{A.accessToken}}";
            case "webhooks" -> "{{A.clientKey}}";
            default -> "{{admin.key}}";
        };
    }

    private static List<Map.Entry<String, String>> defaultHeaders(Operation op) {
        List<Map.Entry<String, String>> headers = new ArrayList<>();
        if (op.tenantScoped() && "{{admin.key}}".equals(defaultToken(op))) {
            headers.add(Map.entry("Switchboard-Tenant", "{{A.tenant}}"));
        }
        if (op.body() != null) {
            headers.add(Map.entry("Content-Type", "application/json"));
        }
        return headers;
    }

    private String defaultBody(Operation op) {
        if (op.body() == null) {
            return null;
        }
        String known = BODIES.get(op.id());
        return known != null ? known : Json.write(fromSchema(op.body()));
    }

    private static ObjectNode fromSchema(JsonNode schema) {
        ObjectNode body = Json.MAPPER.createObjectNode();
        schema.path("required").forEach(name -> {
            JsonNode property = schema.path("properties").path(name.asText());
            String type = schemaType(property, "");
            switch (type) {
                case "integer" -> body.put(name.asText(), 1);
                case "boolean" -> body.put(name.asText(), true);
                case "array" -> body.putArray(name.asText());
                case "object" -> body.set(name.asText(), fromSchema(property));
                default -> body.put(name.asText(), "x");
            }
        });
        return body;
    }

    private Request base(Operation op, String what) {
        Map<String, Value> pathValues = new LinkedHashMap<>();
        op.params().forEach((name, where) -> {
            if (where.startsWith("path:")) {
                pathValues.put(name, new Value(PATH_VALUES.getOrDefault(name, "x"), false));
            }
        });
        return new Request(
                op,
                what,
                op.method(),
                pathValues,
                List.of(),
                defaultToken(op),
                defaultHeaders(op),
                defaultBody(op),
                null,
                false);
    }

    /** Every hostile request for the operations, in a seeded random order. */
    List<Request> all(List<Operation> ops) {
        List<Request> requests = new ArrayList<>();
        for (Operation op : ops) {
            requests.addAll(tokens(op));
            requests.addAll(methods(op));
            requests.addAll(pathParameters(op));
            requests.addAll(queryParameters(op));
            requests.addAll(headers(op));
            requests.addAll(bodies(op));
        }
        Collections.shuffle(requests, random);
        return requests;
    }

    private List<Request> tokens(Operation op) {
        List<String> tokens = new ArrayList<>(List.of(
                "{{A.accessToken}}",
                "{{A.clientKey}}",
                "{{B.accessToken}}",
                "{{B.clientKey}}",
                "{{admin.key}}",
                "{{token.disabled}}",
                "{{token.deleted}}",
                "{{token.rotated}}",
                "{{token.readOnly}}",
                "sb_access_" + randomKey(),
                "sb_client_" + randomKey(),
                "sb_admin_" + randomKey(),
                randomKey(),
                "sb_access_😀",
                "sb_access_" + "A".repeat(6000)));
        tokens.addAll(HostileValues.INJECTION);
        List<String> headers = List.of(
                "",
                "Bearer",
                "Bearer ",
                "Basic dXNlcjpwYXNz",
                "Token {{A.accessToken}}",
                "bearer {{A.accessToken}}",
                "Bearer  {{A.accessToken}}  ",
                "Bearer {{A.accessToken}} extra");
        List<Request> requests = new ArrayList<>();
        for (String token : sample(tokens, PER_SLOT)) {
            Request b = base(op, "token " + abbreviate(token));
            requests.add(with(b, token, b.headers()));
        }
        for (String header : sample(headers, 3)) {
            Request b = base(op, "Authorization " + abbreviate(header));
            List<Map.Entry<String, String>> more = new ArrayList<>(b.headers());
            more.add(Map.entry("Authorization", header));
            requests.add(with(b, null, more));
        }
        return requests;
    }

    private List<Request> methods(Operation op) {
        List<Request> requests = new ArrayList<>();
        for (String method : List.of("PUT", "OPTIONS", "HEAD", "TRACE", "PROPFIND", "CONNECT")) {
            Request b = base(op, "method " + method);
            requests.add(new Request(
                    op, b.what(), method, b.pathValues(), b.query(), b.token(), b.headers(), b.body(), null, false));
        }
        return requests;
    }

    private List<Request> pathParameters(Operation op) {
        List<Request> requests = new ArrayList<>();
        op.params().forEach((name, where) -> {
            if (!where.startsWith("path:")) {
                return;
            }
            List<Value> values = new ArrayList<>();
            sample(HostileValues.strings(), PER_SLOT).forEach(v -> values.add(new Value(v, false)));
            sample(HostileValues.RAW_SEGMENTS, 5).forEach(v -> values.add(new Value(v, true)));
            values.add(new Value(HostileValues.randomText(random), false));
            for (Value value : values) {
                Request b = base(op, "path " + name + "=" + abbreviate(value.text()));
                Map<String, Value> pathValues = new LinkedHashMap<>(b.pathValues());
                pathValues.put(name, value);
                requests.add(new Request(
                        op,
                        b.what(),
                        b.method(),
                        pathValues,
                        b.query(),
                        b.token(),
                        b.headers(),
                        b.body(),
                        null,
                        false));
            }
        });
        return requests;
    }

    private List<Request> queryParameters(Operation op) {
        List<Request> requests = new ArrayList<>();
        Map<String, String> params = new LinkedHashMap<>();
        op.params().forEach((name, where) -> {
            if (where.startsWith("query:")) {
                params.put(name, where.substring("query:".length()));
            }
        });
        params.put("unknown", "string");
        params.forEach((name, type) -> {
            int n = name.equals("unknown") ? 3 : PER_SLOT;
            List<Value> values = new ArrayList<>();
            List<String> typed = switch (type) {
                case "integer" -> HostileValues.NUMBERS;
                case "date-time" -> HostileValues.TIMES;
                default -> name.equals("cursor") ? HostileValues.cursors() : List.of();
            };
            sample(typed, n).forEach(v -> values.add(new Value(v, false)));
            sample(HostileValues.strings(), n / 2 + 1).forEach(v -> values.add(new Value(v, false)));
            sample(List.of("%", "%zz", "%00", "%FF", "%ED%A0%80", "a&" + name + "=b", "a%26b"), 2)
                    .forEach(v -> values.add(new Value(v, true)));
            values.add(new Value(HostileValues.randomText(random), false));
            if (name.equals("ids")) {
                values.add(new Value("{{A.record}},{{B.record}}", false));
                values.add(new Value(String.join(",", Collections.nCopies(1001, "{{A.record}}")), false));
                values.add(new Value(",,,", false));
            }
            if (name.equals("types")) {
                values.add(new Value(String.join(",", Collections.nCopies(101, "reservations.*")), false));
                values.add(new Value("reservations.**", false));
                values.add(new Value("connection.*", false));
            }
            for (Value value : values) {
                Request b = base(op, "query " + name + "=" + abbreviate(value.text()));
                List<Map.Entry<String, Value>> query = new ArrayList<>(b.query());
                query.add(Map.entry(name, value));
                if (random.nextInt(8) == 0) {
                    query.add(Map.entry(name, new Value("1", false))); // the parameter twice
                }
                requests.add(new Request(
                        op,
                        b.what(),
                        b.method(),
                        b.pathValues(),
                        query,
                        b.token(),
                        b.headers(),
                        b.body(),
                        null,
                        false));
            }
        });
        return requests;
    }

    /**
     * The headers the API reads, each with hostile values: many where the operation takes the header,
     * a few where it does not (it must be refused or ignored, never tripped over).
     */
    private List<Request> headers(Operation op) {
        List<Request> requests = new ArrayList<>();
        for (String header : List.of("Switchboard-Tenant", "If-Match", "Idempotency-Key", "Content-Type")) {
            boolean taken = header.equals("Content-Type")
                    ? op.body() != null
                    : op.params().containsKey(header);
            List<String> values = new ArrayList<>();
            if (header.equals("Content-Type")) {
                values.addAll(sample(
                        List.of(
                                "text/plain",
                                "application/json; charset=utf-16",
                                "application/json; charset=nonexistent",
                                "application/json; charset=\u00ff",
                                "multipart/form-data; boundary=x",
                                "application/x-www-form-urlencoded",
                                "application/json; charset=ISO-8859-1",
                                ""),
                        taken ? 8 : 2));
            } else {
                values.addAll(sample(HostileValues.strings(), taken ? PER_SLOT : 2));
                values.addAll(sample(HostileValues.HEADER_ONLY, taken ? 4 : 1));
                if (taken) {
                    values.add(HostileValues.randomText(random));
                }
            }
            for (String value : values) {
                Request b = base(op, "header " + header + "=" + abbreviate(value));
                List<Map.Entry<String, String>> headers = new ArrayList<>(b.headers());
                headers.removeIf(h -> h.getKey().equals(header));
                headers.add(Map.entry(header, value));
                // The tenant header matters to the admin key only.
                String token = header.equals("Switchboard-Tenant") && op.tenantScoped() ? "{{admin.key}}" : b.token();
                requests.add(with(b, token, headers));
            }
        }
        return requests;
    }

    private List<Request> bodies(Operation op) {
        List<Request> requests = new ArrayList<>();
        List<String> whole = new ArrayList<>(sample(HostileValues.MALFORMED_JSON, op.body() == null ? 4 : 40));
        if (op.body() != null) {
            whole.add(HostileValues.nested(50, false));
            whole.add(HostileValues.nested(997, false));
            whole.add(HostileValues.nested(998, true));
            whole.add(HostileValues.nested(1500, false));
            whole.add(HostileValues.nested(100_000, true));
            whole.add(manyFields);
            whole.add(largestAllowed);
        }
        for (String body : whole) {
            requests.add(withBody(op, "body " + abbreviate(body), body, null, false));
        }
        for (byte[] raw : HostileValues.invalidUtf8()) {
            requests.add(withBody(op, "body with invalid UTF-8", null, raw, false));
        }
        requests.add(withBody(op, "body over the limit", null, overLimit, false));
        requests.add(withBody(op, "chunked body over the limit", null, farOverLimit, true));
        if (op.body() != null) {
            requests.add(withBody(op, "chunked valid body", base(op, "").body(), null, true));
            requests.addAll(fields(op, op.body(), ""));
        }
        return requests;
    }

    /** For each field of the body (and of its object fields): wrong types, hostile strings, unknown fields. */
    private List<Request> fields(Operation op, JsonNode schema, String prefix) {
        List<Request> requests = new ArrayList<>();
        ObjectNode valid = (ObjectNode) Json.read(base(op, "").body());
        Iterator<Map.Entry<String, JsonNode>> properties =
                schema.path("properties").properties().iterator();
        while (properties.hasNext()) {
            Map.Entry<String, JsonNode> property = properties.next();
            String name = property.getKey();
            String field = prefix.isEmpty() ? name : prefix + "." + name;
            String type = schemaType(
                    property.getValue(), property.getValue().path("format").asText());
            List<String> values = new ArrayList<>(HostileValues.wrongTypes(type));
            values.add("null");
            for (String s : sample(HostileValues.strings(), PER_SLOT)) {
                String json = Json.write(s);
                values.add(
                        switch (type) {
                            case "array" -> "[" + json + "]";
                            case "object" -> "{" + json + ":" + json + "}";
                            default -> json;
                        });
            }
            if (type.equals("date-time") || name.equals("since")) {
                sample(HostileValues.TIMES, 6).forEach(t -> values.add(Json.write(t)));
            }
            for (String value : values) {
                ObjectNode body = valid.deepCopy();
                ObjectNode parent = prefix.isEmpty() ? body : body.withObject("/" + prefix);
                parent.putRawValue(name, new RawValue(value)); // as written: 1e400 stays 1e400
                requests.add(withBody(op, "field " + field + "=" + abbreviate(value), Json.write(body), null, false));
            }
            if (type.equals("object") && property.getValue().has("properties") && prefix.isEmpty()) {
                requests.addAll(fields(op, property.getValue(), name));
            }
        }
        if (prefix.isEmpty()) {
            for (String unknown : List.of("zzz", "__proto__", "", "\u0000", "Data", "data ", "{{B.tenant}}")) {
                ObjectNode body = valid.deepCopy();
                body.put(unknown, 1);
                requests.add(withBody(op, "unknown field " + abbreviate(unknown), Json.write(body), null, false));
            }
        }
        return requests;
    }

    private Request withBody(Operation op, String what, String body, byte[] raw, boolean chunked) {
        Request b = base(op, what);
        List<Map.Entry<String, String>> headers = new ArrayList<>(b.headers());
        if (op.body() == null) {
            headers.add(Map.entry("Content-Type", "application/json"));
        }
        // A body on GET or DELETE is sent too: a server must ignore or refuse it, never trip over it.
        return new Request(op, what, b.method(), b.pathValues(), b.query(), b.token(), headers, body, raw, chunked);
    }

    private static Request with(Request b, String token, List<Map.Entry<String, String>> headers) {
        return new Request(
                b.op(), b.what(), b.method(), b.pathValues(), b.query(), token, headers, b.body(), null, false);
    }

    private static String manyFields(int n) {
        StringBuilder json = new StringBuilder("{\"data\":{");
        for (int i = 0; i < n; i++) {
            json.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":").append(i);
        }
        return json.append("}}").toString();
    }

    /** A valid body of exactly {@code bytes} bytes: {"data":{"s":"aaa…"}}. */
    private static String hugeString(int bytes) {
        String head = "{\"data\":{\"s\":\"";
        String tail = "\"}}";
        return head + "a".repeat(Math.max(0, bytes - head.length() - tail.length())) + tail;
    }

    private String randomKey() {
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private List<String> sample(List<String> values, int n) {
        List<String> copy = new ArrayList<>(values);
        Collections.shuffle(copy, random);
        return copy.subList(0, Math.min(n, copy.size()));
    }

    static String abbreviate(String text) {
        String shown = text.length() > 60 ? text.substring(0, 60) + "…(" + text.length() + " chars)" : text;
        StringBuilder escaped = new StringBuilder();
        shown.codePoints()
                .forEach(c -> escaped.append(
                        c < 0x20 || (c >= 0x7F && c < 0xA0) || (c >= 0xD800 && c <= 0xDFFF)
                                ? String.format("\\u%04x", c)
                                : Character.toString(c)));
        return escaped.toString();
    }

    /** Percent-encodes every byte of the UTF-8 form except unreserved characters. */
    static String percentEncode(String text) {
        StringBuilder out = new StringBuilder();
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xFF;
            if ((c >= 'a' && c <= 'z')
                    || (c >= 'A' && c <= 'Z')
                    || (c >= '0' && c <= '9')
                    || c == '-'
                    || c == '.'
                    || c == '_'
                    || c == '~') {
                out.append((char) c);
            } else {
                out.append('%').append(String.format("%02X", c));
            }
        }
        return out.toString();
    }
}
