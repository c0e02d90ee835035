package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.switchboard.support.Json;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.ApiDocumentParsers;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.WsClient;
import dev.switchboard.websockets.CloseCode;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The AsyncAPI document at /api/v1/asyncapi.json: valid by the AsyncAPI parser (from npm, installed by
 * bin/test), and true to what the server sends: every message a socket and a webhook receiver get
 * here matches the document's payload for its type, and the close codes are {@link CloseCode}'s.
 */
class AsyncApiTest {
    static TestServer server;
    static JsonNode document;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of(
                "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true", "SWITCHBOARD_RATE_LIMIT_REQUESTS", "100000"));
        server.createCollection("reservations", "eventFields", List.of("state"));
        document = server.api(null).get("/api/v1/asyncapi.json").expect(200).json();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** A client generated from the document connects where the document came from, ws or wss behind TLS. */
    @Test
    void theServerItNamesIsTheOneThatServedIt() {
        JsonNode served = document.at("/servers/switchboard");
        assertThat(served.get("host").asText())
                .isEqualTo(URI.create(server.baseUrl()).getRawAuthority());
        assertThat(served.get("protocol").asText()).isEqualTo("ws");
        Api.Response proxied = server.api(null)
                .withHeader("X-Forwarded-Proto", "https")
                .get("/api/v1/asyncapi.json")
                .expect(200);
        assertThat(proxied.json().at("/servers/switchboard/protocol").asText()).isEqualTo("wss");
        assertThat(proxied.header("Vary")).as("a cache keeps one per Host").contains("Host");
        // server.publicUrl, where set, is the address partners reach, whatever the request's Host.
        try (TestServer published =
                TestServer.start(Map.of("SWITCHBOARD_PUBLIC_URL", "https://sb.example/switchboard"))) {
            JsonNode named = published
                    .api(null)
                    .get("/api/v1/asyncapi.json")
                    .expect(200)
                    .json()
                    .at("/servers/switchboard");
            assertThat(named.get("host").asText()).isEqualTo("sb.example");
            assertThat(named.get("protocol").asText()).isEqualTo("wss");
            assertThat(named.get("pathname").asText()).isEqualTo("/switchboard");
        }
    }

    @Test
    void theAsyncApiParserFindsNoErrorInTheServedDocument() throws Exception {
        assertThat(ApiDocumentParsers.assertValid("validate-asyncapi.mjs", "@asyncapi/parser", document))
                .contains("\"parsed\":true")
                .contains("\"version\":\"3.1.0\"");
    }

    @Test
    void everyMessageTheServerSendsMatchesTheDocument() throws Exception {
        Partner partner = Partner.create(server, List.of("*"));
        Api app = server.adminFor(partner.tenant());
        List<JsonNode> frames = new ArrayList<>();
        try (Receiver receiver = new Receiver();
                WsClient ws = WsClient.connect(server, partner.accessToken(), "?after=0")) {
            partner.webhook(Map.of("url", receiver.url("/events")));
            partner.webhook(Map.of("url", receiver.url("/lifecycle"), "kind", "lifecycle"));
            ws.await("live");
            JsonNode created = request(
                    ws, "c", "records.create", Map.of("collection", "reservations", "data", Map.of("state", "new")));
            String id = created.at("/result/id").asText();
            request(
                    ws,
                    "r",
                    "records.create",
                    Map.of("collection", "reservations", "data", Map.of("state", "new"), "idempotencyKey", "k"));
            request(
                    ws,
                    "r2",
                    "records.create",
                    Map.of("collection", "reservations", "data", Map.of("state", "new"), "idempotencyKey", "k"));
            request(ws, "g", "records.get", Map.of("collection", "reservations", "id", id));
            request(ws, "l", "records.list", Map.of("collection", "reservations"));
            request(ws, "u", "records.update", Map.of("collection", "reservations", "id", id, "data", Map.of("x", 1)));
            request(ws, "e", "events.list", Map.of("limit", 2));
            request(ws, "d", "records.delete", Map.of("collection", "reservations", "id", id));
            request(ws, "bad", "records.get", Map.of("collection", "nope", "id", id));
            ws.send("{\"type\":\"request\",\"method\":\"records.get\"}");
            ws.send("{\"type\":\"subscribe\",\"eventTypes\":[\"reservations.*\",\"device.*\"]}");
            ws.await("subscribed");
            ws.send("{\"type\":\"ping\"}");
            ws.await("pong");
            ws.send("{\"type\":\"shout\"}");
            ws.await("error");
            app.post("/api/v1/events", Map.of("type", "device.command", "subject", "door"))
                    .expect(201);
            ws.awaitEvents(5); // two creates (the third replays), an update, a delete, a custom event
            frames.addAll(ws.messages());
            server.admin
                    .post("/api/v1/connections/" + partner.connectionId() + "/rotate-token", Map.of())
                    .expect(200);
            Awaitility.await()
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> !receiver.received("/events").isEmpty()
                            && !receiver.received("/lifecycle").isEmpty());
            Set<String> types = new HashSet<>();
            for (JsonNode frame : frames) {
                String type = frame.get("type").asText();
                types.add(type);
                assertMatches(serverMessage(type), frame);
            }
            assertThat(types).containsExactlyInAnyOrder("live", "events", "response", "subscribed", "pong", "error");
            for (Receiver.Received r : receiver.received("/events")) {
                assertMatches("WebhookEvents", r.json());
            }
            for (Receiver.Received r : receiver.received("/lifecycle")) {
                assertMatches("WebhookLifecycle", r.json());
            }
        }
        // What a client sends validates too.
        assertMatches(
                "Request",
                Json.read("{\"type\":\"request\",\"id\":\"r1\",\"method\":\"records.create\","
                        + "\"params\":{\"collection\":\"reservations\",\"data\":{},\"idempotencyKey\":\"k1\"}}"));
        assertMatches("Subscribe", Json.read("{\"type\":\"subscribe\",\"eventTypes\":[\"a.*\"]}"));
        assertMatches("Ping", Json.read("{\"type\":\"ping\"}"));
        // And the check refuses what the document does not allow.
        assertThat(errors(
                        "Request",
                        Json.read("{\"type\":\"request\",\"id\":\"g\",\"method\":\"records.get\","
                                + "\"params\":{\"collection\":\"reservations\"}}")))
                .as("records.get without its id")
                .isNotEmpty();
        assertThat(errors("Response", Json.read("{\"type\":\"response\",\"id\":\"x\",\"result\":{}}")))
                .isNotEmpty();
        assertThat(errors("Events", Json.read("{\"type\":\"events\",\"events\":[{\"seq\":\"1\"}]}")))
                .isNotEmpty();
    }

    @Test
    void theDocumentNamesEveryCloseCodeTheServerUses() {
        List<String> documented = new ArrayList<>();
        document.at("/channels/socket/x-close-codes")
                .forEach(c -> documented.add(c.get("code").asInt() + " "
                        + c.get("reason").asText() + " " + c.get("reconnect").asBoolean()));
        List<String> used = new ArrayList<>();
        for (CloseCode code : CloseCode.values()) {
            used.add(code.code() + " " + code.reason() + " " + (code.reconnect() == CloseCode.Reconnect.WITH_BACKOFF));
        }
        assertThat(documented).containsExactlyElementsOf(used);
    }

    /** The document's message for a server frame's {@code type}. */
    private static String serverMessage(String type) {
        for (var entry : iterable(document.at("/components/messages"))) {
            JsonNode constType = entry.getValue().at("/payload/properties/type/const");
            if (constType.asText().equals(type)) {
                return entry.getKey();
            }
        }
        throw new AssertionError("the AsyncAPI document has no message of type '" + type + "'");
    }

    private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode node) {
        return node::fields;
    }

    /** Sends a request over the socket once the document has said it may be sent so; returns the response. */
    private static JsonNode request(WsClient ws, String id, String method, Map<String, ?> params) {
        ObjectNode request = Json.MAPPER
                .createObjectNode()
                .put("type", "request")
                .put("id", id)
                .put("method", method);
        request.set("params", Json.MAPPER.valueToTree(params));
        assertMatches("Request", request);
        return ws.request(id, method, params);
    }

    private static void assertMatches(String message, JsonNode value) {
        assertThat(errors(message, value))
                .as("%s does not match %s", value, message)
                .isEmpty();
    }

    private static Set<ValidationMessage> errors(String message, JsonNode value) {
        ObjectNode schema = Json.MAPPER.createObjectNode();
        schema.put("$schema", "http://json-schema.org/draft-07/schema#");
        schema.set("components", document.get("components"));
        schema.put("$ref", "#/components/messages/" + message + "/payload");
        JsonSchema compiled =
                JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7).getSchema(schema);
        return compiled.validate(value);
    }
}
