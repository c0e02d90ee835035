package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestServer;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Header values are read as they were sent, also on a connection an earlier request used (the test
 * client keeps connections alive): a token, a tenant id or an idempotency key that differs from an
 * earlier one only in case is a different one.
 */
class ReusedConnectionTest {
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        server.createCollection("rooms");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void aTokenInAnotherCaseIsAnotherTokenAndIsRefused() {
        server.admin.get("/api/v1/tenants").expect(200);
        assertThat(server.api(TestServer.ADMIN_KEY.toUpperCase())
                        .get("/api/v1/tenants")
                        .status())
                .isEqualTo(401);
        String clientKey = server.createIntegration(
                        "i", java.util.List.of("*"), java.util.List.of(), java.util.List.of("*"))
                .get("clientKey")
                .asText();
        server.api(clientKey).get("/api/v1/webhooks").expect(200);
        assertThat(server.api(clientKey.toUpperCase()).get("/api/v1/webhooks").status())
                .isEqualTo(401);
    }

    @Test
    void tenantIdsThatDifferOnlyInCaseAreDifferentTenants() {
        server.createTenant("acme");
        server.createTenant("ACME");
        Api lower = server.adminFor("acme");
        Api upper = server.adminFor("ACME");
        lower.post("/api/v1/collections/rooms/records", Map.of("data", Map.of("owner", "acme")))
                .expect(201);
        upper.post("/api/v1/collections/rooms/records", Map.of("data", Map.of("owner", "ACME")))
                .expect(201);
        assertThat(lower.get("/api/v1/collections/rooms/records")
                        .json()
                        .get("records")
                        .get(0)
                        .get("data")
                        .get("owner")
                        .asText())
                .isEqualTo("acme");
        assertThat(upper.get("/api/v1/collections/rooms/records").json().get("records"))
                .hasSize(1);
        assertThat(upper.get("/api/v1/collections/rooms/records")
                        .json()
                        .get("records")
                        .get(0)
                        .get("data")
                        .get("owner")
                        .asText())
                .isEqualTo("ACME");
    }
}
