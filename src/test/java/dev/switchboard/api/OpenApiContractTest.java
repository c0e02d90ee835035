package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The OpenAPI document the server serves describes exactly the routes the server answers. */
class OpenApiContractTest {
    private static final Set<String> METHODS = Set.of("get", "post", "put", "patch", "delete");
    static TestServer server;
    static JsonNode document;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        document = server.api(null).get("/api/v1/openapi.json").expect(200).json();
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
}
