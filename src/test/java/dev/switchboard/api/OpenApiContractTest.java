package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.ApiDocumentParsers;
import dev.switchboard.testing.TestServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The OpenAPI document the server serves describes exactly the routes the server answers, and types what
 * generated clients would get wrong.
 */
class OpenApiContractTest {
    private static final Set<String> METHODS = Set.of("get", "head", "post", "put", "patch", "delete");
    /** Positions in a tenant's log and counts of them: one counter per tenant, never reset, past 2^31. */
    private static final Set<String> POSITIONS = Set.of(
            "seq",
            "after",
            "next",
            "fromSeq",
            "position",
            "head",
            "lagEvents",
            "firstSeq",
            "lastSeq",
            "oldestSeq",
            "headSeq");

    static TestServer server;
    static JsonNode document;
    static JsonNode asyncApi;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        document = server.api(null).get("/api/v1/openapi.json").expect(200).json();
        asyncApi = server.api(null).get("/api/v1/asyncapi.json").expect(200).json();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static List<String> documentedOperations() {
        List<String> operations = new ArrayList<>();
        document.get("paths")
                .fields()
                .forEachRemaining(path -> path.getValue().fieldNames().forEachRemaining(method -> {
                    if (METHODS.contains(method)) {
                        operations.add(method.toUpperCase() + " " + path.getKey());
                    }
                }));
        return operations;
    }

    @Test
    void anOpenApiParserFindsNoErrorInTheServedDocument() throws Exception {
        assertThat(ApiDocumentParsers.assertValid("validate-openapi.mjs", "@readme/openapi-parser", document))
                .contains("\"valid\":true");
    }

    @Test
    void everyRouteIsDocumentedAndEveryDocumentedRouteExists() {
        assertThat(documentedOperations())
                .containsExactlyInAnyOrderElementsOf(server.switchboard().routes());
    }

    @Test
    void everyDocumentedOperationIsAnsweredByItsRoute() {
        Api admin = server.admin;
        for (String operation : documentedOperations()) {
            String[] parts = operation.split(" ", 2);
            String path = parts[1].replaceAll("\\{[^}]+}", "x");
            Api.Response r =
                    admin.send(parts[0], path, parts[0].equals("GET") || parts[0].equals("DELETE") ? null : "{}");
            assertThat(r.status()).as(operation).isLessThan(500);
            if (r.status() == 404) {
                assertThat(r.errorCode()).as(operation).isNotEqualTo("route_not_found");
            }
        }
    }

    @Test
    void everyOperationHasAnIdASummaryAndResponses() {
        document.get("paths")
                .fields()
                .forEachRemaining(path -> path.getValue().fields().forEachRemaining(op -> {
                    if (METHODS.contains(op.getKey())) {
                        String where = op.getKey() + " " + path.getKey();
                        assertThat(op.getValue().path("operationId").asText())
                                .as(where)
                                .isNotEmpty();
                        assertThat(op.getValue().path("summary").asText())
                                .as(where)
                                .isNotEmpty();
                        assertThat(op.getValue().path("responses").size())
                                .as(where)
                                .isPositive();
                    }
                }));
    }

    @Test
    void positionsInTheLogAre64BitIntegersInBothDocuments() {
        List<String> integers = new ArrayList<>();
        positions(document, "openapi", integers);
        positions(asyncApi, "asyncapi", integers);
        assertThat(integers).as("integer positions found").hasSizeGreaterThan(15);
    }

    /** Every integer schema named as a position (a property, or a parameter) says int64. */
    private static void positions(JsonNode node, String where, List<String> found) {
        if (node.isObject() && node.has("in") && node.has("schema")) {
            position(node.path("name").asText(), node.get("schema"), where, found); // a parameter
        }
        node.fields().forEachRemaining(field -> position(field.getKey(), field.getValue(), where, found));
        for (JsonNode child : node) {
            positions(child, where, found);
        }
    }

    private static void position(String name, JsonNode schema, String where, List<String> found) {
        if (POSITIONS.contains(name)
                && schema.isObject()
                && schema.path("type").toString().contains("integer")) {
            assertThat(schema.path("format").asText()).as(where + " " + name).isEqualTo("int64");
            found.add(where + " " + name);
        }
    }

    /**
     * The refusals any client meets are listed where they can happen, not left to {@code default}: 401 and
     * 403 where a credential is needed (each operation takes some kinds of credential, and another kind is
     * 403), 400 where a body or a query parameter can be wrong, 413 where a body can be too large.
     */
    @Test
    void everyApiOperationListsTheRefusalsEveryClientMeets() {
        List<String> missing = new ArrayList<>();
        JsonNode everywhere = document.path("security");
        document.get("paths").fields().forEachRemaining(path -> {
            if (!path.getKey().startsWith("/api/")
                    || path.getKey().endsWith("api.json")
                    || path.getKey().equals("/api/v1/ws")) {
                return;
            }
            path.getValue().fields().forEachRemaining(op -> {
                if (!METHODS.contains(op.getKey())) {
                    return;
                }
                JsonNode operation = op.getValue();
                List<String> needed = new ArrayList<>();
                if (!operation.path("security").isEmpty() || (!operation.has("security") && !everywhere.isEmpty())) {
                    needed.add("401");
                    needed.add("403");
                }
                // Every operation refuses a query string it cannot read as sent, and a header such as
                // Authorization given twice (OpenApiAnswersTest sends a malformed query to each).
                needed.add("400");
                if (operation.has("requestBody")) {
                    needed.add("413");
                }
                for (String status : needed) {
                    if (!operation.path("responses").has(status)) {
                        missing.add(op.getKey() + " " + path.getKey() + " " + status);
                    }
                }
            });
        });
        assertThat(missing).isEmpty();
    }

    @Test
    void everyApiOperationDescribesTheErrorsItDoesNotListInTheErrorShape() {
        document.get("paths")
                .fields()
                .forEachRemaining(path -> path.getValue().fields().forEachRemaining(op -> {
                    if (METHODS.contains(op.getKey())
                            && path.getKey().contains("/api/")
                            && !path.getKey().endsWith("api.json")) {
                        assertThat(op.getValue()
                                        .path("responses")
                                        .path("default")
                                        .path("$ref")
                                        .asText())
                                .as(op.getKey() + " " + path.getKey())
                                .isEqualTo("#/components/responses/Error");
                    }
                }));
    }
}
