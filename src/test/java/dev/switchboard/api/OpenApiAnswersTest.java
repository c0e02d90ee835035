package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import dev.switchboard.support.Json;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.ConsoleSession;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every answer a client gets is what the OpenAPI document says of its operation, as a client generated
 * from the document reads it: a status the operation lists (or its {@code default}), a body matching the
 * schema with every property the schema requires and none that the document does not name, and the
 * headers it marks required. What is sent is checked against the document too. Every operation of the
 * API is answered 2xx at least once here, so a new operation comes with its place in this test.
 */
class OpenApiAnswersTest {
    private static final String SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema";
    /** Not answered with JSON a client reads, or not over plain HTTP. */
    private static final Set<String> NOT_HERE = Set.of("openWebSocket");

    static TestServer server;
    static JsonNode document;
    static final Set<String> answered = new TreeSet<>();

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of(
                "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true", "SWITCHBOARD_RATE_LIMIT_REQUESTS", "100000"));
        document = server.api(null).get("/api/v1/openapi.json").expect(200).json();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void everyOperationAnswersAsTheDocumentSays() {
        Api admin = server.admin;
        Api anonymous = server.api(null);
        call(anonymous, "GET", "/health/live", null, 200);
        call(anonymous, "GET", "/health/ready", null, 200);

        // Tenants, integrations, connections: the admin key.
        call(admin, "POST", "/api/v1/tenants", Map.of("id", "hotel-a", "name", "Hotel A"), 201);
        call(admin, "POST", "/api/v1/tenants", Map.of("id", "hotel-a"), 409);
        call(admin, "GET", "/api/v1/tenants?limit=1", null, 200);
        call(admin, "GET", "/api/v1/tenants/hotel-a", null, 200);
        call(admin, "GET", "/api/v1/tenants/nobody", null, 404);
        call(anonymous, "GET", "/api/v1/tenants", null, 401);
        JsonNode integration = call(
                        admin,
                        "POST",
                        "/api/v1/integrations",
                        Map.of(
                                "name",
                                "Door keys",
                                "permissions",
                                Map.of("read", List.of("*"), "write", List.of("*")),
                                "eventTypes",
                                List.of("*")),
                        201)
                .json();
        String integrationId = integration.get("id").asText();
        call(admin, "GET", "/api/v1/integrations", null, 200);
        call(admin, "GET", "/api/v1/integrations/" + integrationId, null, 200);
        call(admin, "PATCH", "/api/v1/integrations/" + integrationId, Map.of("name", "Door keys 2"), 200);
        JsonNode connection = call(
                        admin,
                        "POST",
                        "/api/v1/integrations/" + integrationId + "/connections",
                        Map.of("tenantId", "hotel-a"),
                        201)
                .json();
        String connectionId = connection.get("id").asText();
        call(admin, "GET", "/api/v1/integrations/" + integrationId + "/connections", null, 200);
        call(admin, "GET", "/api/v1/connections/" + connectionId, null, 200);
        call(admin, "POST", "/api/v1/connections/" + connectionId + "/disable", null, 200);
        call(admin, "POST", "/api/v1/connections/" + connectionId + "/enable", null, 200);
        Api access = server.api(call(admin, "POST", "/api/v1/connections/" + connectionId + "/rotate-token", null, 200)
                .json()
                .get("accessToken")
                .asText());
        Api client = server.api(
                call(admin, "POST", "/api/v1/integrations/" + integrationId + "/rotate-client-key", null, 200)
                        .json()
                        .get("clientKey")
                        .asText());
        call(client, "GET", "/api/v1/integrations/" + integrationId, null, 200);
        call(client, "GET", "/api/v1/tenants", null, 403);

        // Collections and records.
        call(
                admin,
                "POST",
                "/api/v1/collections",
                Map.of(
                        "name",
                        "reservations",
                        "schema",
                        Map.of("type", "object", "properties", Map.of("state", Map.of("type", "string"))),
                        "eventFields",
                        List.of("state")),
                201);
        call(admin, "GET", "/api/v1/collections", null, 200);
        call(admin, "GET", "/api/v1/collections/reservations", null, 200);
        String records = "/api/v1/collections/reservations/records";
        JsonNode record = call(access, "POST", records, Map.of("data", Map.of("state", "confirmed")), 201)
                .json();
        String recordPath = records + "/" + record.get("id").asText();
        call(access, "POST", records, Map.of("data", Map.of("state", 7)), 400);
        call(access, "POST", records, Map.of("data", Map.of("state", "confirmed"), "extra", 1), 400);
        call(access, "GET", records + "?limit=10", null, 200);
        call(access, "GET", recordPath, null, 200);
        call(access.withHeader("If-None-Match", "\"1\""), "GET", recordPath, null, 304);
        call(access, "GET", records + "/rec_nothing", null, 404);
        call(access, "PATCH", recordPath, Map.of("data", Map.of("state", "checked_in")), 200);
        call(access.withHeader("If-Match", "1"), "PATCH", recordPath, Map.of("data", Map.of("state", "x")), 409);
        call(access, "GET", "/api/v1/connection", null, 200);

        // Events.
        call(
                admin.withHeader("Switchboard-Tenant", "hotel-a"),
                "POST",
                "/api/v1/events",
                Map.of("type", "device.command", "subject", "door-1", "data", Map.of("open", true)),
                201);
        call(access, "GET", "/api/v1/events?after=0&limit=10", null, 200);
        call(access, "GET", "/api/v1/events?after=x", null, 400);

        // Webhooks: one endpoint delivering, one failing at once (no retries).
        try (Receiver receiver = new Receiver()) {
            receiver.answer(r -> r.path().equals("/failing") ? Receiver.Reply.status(500) : Receiver.Reply.status(200));
            JsonNode endpoint = call(
                            client,
                            "POST",
                            "/api/v1/webhooks",
                            Map.of("url", receiver.url("/ok"), "maxBatchSize", 10),
                            201)
                    .json();
            String webhook = "/api/v1/webhooks/" + endpoint.get("id").asText();
            JsonNode failing = call(
                            client,
                            "POST",
                            "/api/v1/webhooks",
                            Map.of("url", receiver.url("/failing"), "retryDelays", List.of()),
                            201)
                    .json();
            String failingWebhook = "/api/v1/webhooks/" + failing.get("id").asText();
            call(access, "POST", records, Map.of("data", Map.of("state", "confirmed")), 201);
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> !receiver.received("/ok").isEmpty()
                            && client.get(failingWebhook + "/messages?status=failed")
                                            .json()
                                            .path("messages")
                                            .size()
                                    > 0);
            call(client, "GET", "/api/v1/webhooks", null, 200);
            call(admin, "GET", "/api/v1/webhooks?integrationId=" + integrationId, null, 200);
            call(client, "GET", webhook, null, 200);
            call(client, "PATCH", webhook, Map.of("eventTypes", List.of("reservations.*")), 200);
            String messageId = call(client, "GET", webhook + "/messages?limit=5", null, 200)
                    .json()
                    .at("/messages/0/id")
                    .asText();
            call(client, "GET", webhook + "/messages/" + messageId, null, 200);
            call(client, "GET", webhook + "/streams", null, 200);
            String failedId = call(client, "GET", failingWebhook + "/messages?status=failed", null, 200)
                    .json()
                    .at("/messages/0/id")
                    .asText();
            call(client, "GET", failingWebhook + "/messages/" + failedId, null, 200);
            call(client, "POST", failingWebhook + "/messages/" + failedId + "/retry", null, 202);
            call(client, "POST", webhook + "/messages/" + messageId + "/retry", null, 409);
            call(client, "POST", failingWebhook + "/messages/retry", Map.of("tenantId", "hotel-a"), 202);
            call(client, "POST", webhook + "/replay", Map.of("fromSeq", 1), 202);
            call(client, "POST", webhook + "/test", null, 202);
            call(client, "POST", webhook + "/rotate-secret", null, 200);
            call(admin, "GET", "/api/v1/delivery-stats?window=1h", null, 200);
            call(admin, "GET", "/api/v1/event-catalog", null, 200);
            call(admin, "GET", "/api/v1/overview", null, 200);
            call(admin, "GET", "/api/v1/audit-log?limit=20", null, 200);
            call(client, "DELETE", failingWebhook, null, 204);
            call(client, "DELETE", failingWebhook, null, 404);

            // The console and the portal.
            Api.Response signedIn =
                    call(anonymous, "POST", "/console/api/session", Map.of("adminKey", TestServer.ADMIN_KEY), 200);
            ConsoleSession console = ConsoleSession.of(server.baseUrl(), signedIn);
            call(console.api(), "GET", "/console/api/session", null, 200);
            call(console.withoutCsrf(), "DELETE", "/console/api/session", null, 403);
            call(console.api(), "DELETE", "/console/api/session", null, 204);
            call(console.api(), "GET", "/console/api/session", null, 401);
            String link = call(
                            admin,
                            "POST",
                            "/api/v1/portal-sessions",
                            Map.of("integrationId", integrationId, "tenantId", "hotel-a"),
                            201)
                    .json()
                    .get("url")
                    .asText();
            Api.Response opened =
                    call(anonymous, "POST", "/portal/api/session", Map.of("token", ConsoleSession.token(link)), 200);
            call(ConsoleSession.of(server.baseUrl(), opened).api(), "GET", "/console/api/session", null, 200);
            call(anonymous, "POST", "/portal/api/session", Map.of("token", ConsoleSession.token(link)), 410);
        }

        call(access, "DELETE", recordPath, null, 204);
        call(admin, "DELETE", "/api/v1/connections/" + connectionId, null, 204);
        call(access, "GET", records, null, 401);

        Set<String> missing = new TreeSet<>(apiOperations());
        missing.removeAll(answered);
        missing.removeAll(NOT_HERE);
        assertThat(missing).as("API operations never answered 2xx here").isEmpty();
    }

    @Test
    void theCheckRefusesWhatTheDocumentDoesNotSay() {
        JsonNode tenant = document.at("/components/schemas/Tenant");
        assertThat(problems(tenant, Json.read("{\"id\":\"t\",\"name\":\"n\"}"), "Tenant"))
                .as("a property the schema requires is missing")
                .isNotEmpty();
        assertThat(problems(
                        tenant,
                        Json.read("{\"id\":\"t\",\"name\":\"n\",\"createdAt\":\"2026-01-01T00:00:00Z\",\"x\":1}"),
                        "Tenant"))
                .as("a property the document does not name")
                .containsExactly("Tenant.x is not in the document");
        assertThat(problems(
                        document.at("/components/schemas/Record"),
                        Json.read("{\"id\":\"r\",\"version\":1,\"createdAt\":\"2026-01-01T00:00:00Z\","
                                + "\"updatedAt\":\"2026-01-01T00:00:00Z\",\"data\":{\"anything\":{\"goes\":1}}}"),
                        "Record"))
                .as("a record's data holds what its collection allows")
                .isEmpty();
    }

    /** Sends a request the document allows, checks the answer against the document, and returns it. */
    private static Api.Response call(Api api, String method, String path, Object body, int expected) {
        String text = body == null ? null : Json.write(body);
        JsonNode operation = operation(method, path);
        String where = method + " " + path;
        JsonNode requestSchema = operation.at("/requestBody/content/application~1json/schema");
        if (text != null && !requestSchema.isMissingNode() && expected < 400) {
            assertThat(problems(requestSchema, Json.read(text), "request"))
                    .as("%s sends what the document allows", where)
                    .isEmpty();
        }
        Api.Response r = api.send(method, path, text);
        assertThat(r.status()).as("%s: %s", where, r.body()).isEqualTo(expected);
        JsonNode responses = operation.get("responses");
        JsonNode response = resolve(
                responses.has(String.valueOf(r.status()))
                        ? responses.get(String.valueOf(r.status()))
                        : responses.get("default"));
        assertThat(response)
                .as("%s answered %d, which the document does not list", where, r.status())
                .isNotNull();
        response.path("headers").fields().forEachRemaining(header -> {
            if (resolve(header.getValue()).path("required").asBoolean()) {
                assertThat(r.header(header.getKey()))
                        .as("%s answered %d without %s", where, r.status(), header.getKey())
                        .isNotNull();
            }
        });
        JsonNode schema = response.at("/content/application~1json/schema");
        if (schema.isMissingNode()) {
            assertThat(r.body())
                    .as("%s answered %d, documented without a body", where, r.status())
                    .isEmpty();
        } else {
            assertThat(problems(schema, r.json(), "answer"))
                    .as("%s answered %d: %s", where, r.status(), r.body())
                    .isEmpty();
        }
        if (r.status() < 300) {
            answered.add(operation.get("operationId").asText());
            if (path.startsWith("/api/") && !path.endsWith("api.json")) {
                // Any operation refuses, before it acts, a query string it cannot read as sent (a NUL, which
                // PostgreSQL text cannot hold; a malformed %-escape): a 400 every client may meet, so every
                // operation lists it.
                String malformed = path + (path.contains("?") ? "&" : "?") + "x=%00";
                Api.Response refused = api.send(method, malformed, text);
                assertThat(refused.status())
                        .as("%s: %s", method + " " + malformed, refused.body())
                        .isEqualTo(400);
                assertThat(responses.has("400"))
                        .as("%s answers 400, which the document does not list", where)
                        .isTrue();
            }
        }
        return r;
    }

    /** The document's operation for a request: of the path templates it matches, the one with fewest parameters. */
    private static JsonNode operation(String method, String path) {
        String bare = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
        String best = null;
        for (var it = document.get("paths").fieldNames(); it.hasNext(); ) {
            String template = it.next();
            if (bare.matches(template.replaceAll("\\{[^}]+}", "[^/]+"))
                    && (best == null || parameters(template) < parameters(best))) {
                best = template;
            }
        }
        assertThat(best).as("%s %s is in the document", method, bare).isNotNull();
        JsonNode operation = document.get("paths").get(best).get(method.toLowerCase());
        assertThat(operation).as("%s %s is in the document", method, best).isNotNull();
        return operation;
    }

    private static long parameters(String template) {
        return template.chars().filter(c -> c == '{').count();
    }

    /** What is wrong with {@code value} by {@code schema}: the validator's findings and properties nowhere named. */
    private static List<String> problems(JsonNode schema, JsonNode value, String where) {
        ObjectNode root = schema.deepCopy();
        root.put("$schema", SCHEMA_DIALECT);
        root.set("components", document.get("components"));
        List<String> problems = new ArrayList<>();
        JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                .getSchema(root)
                .validate(value)
                .forEach(m -> problems.add(m.getMessage()));
        undocumented(schema, value, where, problems);
        return problems;
    }

    /** Adds each property of {@code value} that its schema neither names nor leaves open. */
    private static void undocumented(JsonNode schema, JsonNode value, String where, List<String> out) {
        List<JsonNode> branches = branches(resolve(schema));
        if (value.isArray()) {
            for (JsonNode branch : branches) {
                if (branch.has("items")) {
                    for (int i = 0; i < value.size(); i++) {
                        undocumented(branch.get("items"), value.get(i), where + "[" + i + "]", out);
                    }
                    return;
                }
            }
            return;
        }
        if (!value.isObject()) {
            return;
        }
        boolean named = branches.stream().anyMatch(b -> b.has("properties"));
        boolean open = !named
                || branches.stream()
                        .anyMatch(b -> b.has("additionalProperties")
                                && !b.get("additionalProperties")
                                        .equals(Json.MAPPER.getNodeFactory().booleanNode(false)));
        value.fields().forEachRemaining(field -> {
            JsonNode property = null;
            for (JsonNode branch : branches) {
                if (branch.path("properties").has(field.getKey())) {
                    property = branch.path("properties").get(field.getKey());
                    break;
                }
            }
            if (property != null) {
                undocumented(property, field.getValue(), where + "." + field.getKey(), out);
            } else if (!open) {
                out.add(where + "." + field.getKey() + " is not in the document");
            }
        });
    }

    /** A schema and the schemas its allOf, oneOf and anyOf combine, references resolved. */
    private static List<JsonNode> branches(JsonNode schema) {
        List<JsonNode> all = new ArrayList<>(List.of(schema));
        for (String combinator : List.of("allOf", "oneOf", "anyOf")) {
            for (JsonNode branch : schema.path(combinator)) {
                all.addAll(branches(resolve(branch)));
            }
        }
        return all;
    }

    private static JsonNode resolve(JsonNode node) {
        while (node != null && node.has("$ref")) {
            node = document.at(node.get("$ref").asText().substring(1));
        }
        return node;
    }

    private static Set<String> apiOperations() {
        Set<String> operations = new HashSet<>();
        document.get("paths").fields().forEachRemaining(path -> {
            if (path.getKey().startsWith("/api/") && !path.getKey().endsWith("api.json")) {
                path.getValue().fields().forEachRemaining(op -> {
                    if (op.getValue().has("operationId")) {
                        operations.add(op.getValue().get("operationId").asText());
                    }
                });
            }
        });
        return operations;
    }
}
