package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.ConsoleSession;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** An integration's client key: rotated by the operator when it leaks, and rate limited like access tokens. */
class ClientKeyTest {
    @Test
    void rotatingAClientKeyRefusesTheOldKeyAtOnceOnEveryNodeAndTheNewOneWorks() {
        try (TestServer a = TestServer.start();
                TestServer b = TestServer.start(a.database(), Map.of(), InstantSource.system())) {
            JsonNode integration = a.createIntegration("leaky", List.of("*"), List.of(), List.of("*"));
            String id = integration.get("id").asText();
            String oldKey = integration.get("clientKey").asText();
            // Both nodes have the old key cached as a valid principal.
            a.api(oldKey).get("/api/v1/integrations/" + id).expect(200);
            b.api(oldKey).get("/api/v1/integrations/" + id).expect(200);

            JsonNode rotated = a.admin
                    .post("/api/v1/integrations/" + id + "/rotate-client-key", "")
                    .expect(200)
                    .json();
            String newKey = rotated.get("clientKey").asText();
            assertThat(rotated.get("id").asText()).isEqualTo(id);
            assertThat(newKey).startsWith("sb_client_").isNotEqualTo(oldKey);

            // The node that rotated it refuses the old key before it answered; the other one as soon as the
            // change's control message arrives (sent when it commits).
            assertThat(a.api(oldKey).get("/api/v1/integrations/" + id).status()).isEqualTo(401);
            assertThat(a.api(oldKey)
                            .post("/api/v1/webhooks", Map.of("url", "https://attacker.example/", "kind", "lifecycle"))
                            .status())
                    .isEqualTo(401);
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> b.api(oldKey).get("/api/v1/integrations/" + id).status() == 401);
            a.api(newKey).get("/api/v1/integrations/" + id).expect(200);
            b.api(newKey).get("/api/v1/webhooks").expect(200);
            // The new key is shown once: reading the integration does not show it.
            assertThat(a.admin
                            .get("/api/v1/integrations/" + id)
                            .expect(200)
                            .json()
                            .has("clientKey"))
                    .isFalse();
        }
    }

    @Test
    void rotatingAClientKeyDisablesTheLifecycleEndpointsTheOldKeyMayHaveRegisteredUntilTheNewKeyEnablesThem() {
        try (TestServer server = TestServer.start()) {
            JsonNode integration = server.createIntegration("leaked", List.of("*"), List.of(), List.of("*"));
            String id = integration.get("id").asText();
            Api oldKey = server.api(integration.get("clientKey").asText());
            String lifecycle = oldKey.post(
                            "/api/v1/webhooks", Map.of("url", "https://attacker.example/tokens", "kind", "lifecycle"))
                    .expect(201)
                    .json()
                    .get("id")
                    .asText();
            String events = oldKey.post("/api/v1/webhooks", Map.of("url", "https://partner.example/events"))
                    .expect(201)
                    .json()
                    .get("id")
                    .asText();

            // A portal link the leaked key made, not opened yet, must not open a session after the rotation,
            // nor may a session one opened before it go on.
            String link = oldKey.post("/api/v1/portal-sessions", Map.of("capabilities", List.of("manage_endpoints")))
                    .expect(201)
                    .json()
                    .get("url")
                    .asText();
            ConsoleSession portal = ConsoleSession.portal(
                    server,
                    oldKey.post("/api/v1/portal-sessions", Map.of("capabilities", List.of("manage_endpoints")))
                            .expect(201)
                            .json()
                            .get("url")
                            .asText());
            portal.api().get("/api/v1/webhooks/" + lifecycle).expect(200);

            JsonNode rotated = server.admin
                    .post("/api/v1/integrations/" + id + "/rotate-client-key", "")
                    .expect(200)
                    .json();
            Api.Response opened = Api.of(server.baseUrl(), null)
                    .post("/portal/api/session", Map.of("token", ConsoleSession.token(link)));
            assertThat(opened.status()).isEqualTo(404);
            assertThat(opened.errorCode())
                    .as("the links the old key made went with it")
                    .isEqualTo("link_not_found");
            assertThat(opened.header("Set-Cookie")).isNull();
            assertThat(portal.api()
                            .patch("/api/v1/webhooks/" + lifecycle, Map.of("state", "enabled"))
                            .status())
                    .isEqualTo(401);
            assertThat(rotated.get("disabledEndpoints"))
                    .extracting(JsonNode::asText)
                    .containsExactly(lifecycle);

            Api newKey = server.api(rotated.get("clientKey").asText());
            JsonNode shown =
                    newKey.get("/api/v1/webhooks/" + lifecycle).expect(200).json();
            assertThat(shown.get("state").asText()).isEqualTo("disabled");
            assertThat(newKey.get("/api/v1/webhooks/" + events)
                            .expect(200)
                            .json()
                            .get("state")
                            .asText())
                    .isEqualTo("enabled");
            // The partner re-enables its own endpoint with the new key (or deletes one it does not know).
            newKey.patch("/api/v1/webhooks/" + lifecycle, Map.of("state", "enabled"))
                    .expect(200);
            assertThat(server.admin
                            .post("/api/v1/integrations/" + id + "/rotate-client-key", "")
                            .expect(200)
                            .json()
                            .get("disabledEndpoints"))
                    .extracting(JsonNode::asText)
                    .containsExactly(lifecycle);
        }
    }

    @Test
    void onlyTheAdminKeyRotatesClientKeysAndAnUnknownIntegrationIs404() {
        try (TestServer server = TestServer.start()) {
            JsonNode integration = server.createIntegration("self", List.of("*"), List.of(), List.of("*"));
            String id = integration.get("id").asText();
            String key = integration.get("clientKey").asText();
            assertThat(server.api(key)
                            .post("/api/v1/integrations/" + id + "/rotate-client-key", "")
                            .status())
                    .isEqualTo(403);
            server.api(key).get("/api/v1/integrations/" + id).expect(200);
            assertThat(server.admin
                            .post("/api/v1/integrations/int_missing/rotate-client-key", "")
                            .expect(404)
                            .errorCode())
                    .isEqualTo("not_found");
        }
    }

    @Test
    void aClientKeyOverItsLimitGets429WithRetryAfterAndARotatedKeyKeepsTheWindow() {
        try (TestServer server = TestServer.start(
                Map.of("SWITCHBOARD_RATE_LIMIT_REQUESTS", "5", "SWITCHBOARD_RATE_LIMIT_WINDOW", "1h"))) {
            JsonNode integration = server.createIntegration("chatty", List.of("*"), List.of(), List.of("*"));
            JsonNode other = server.createIntegration("quiet", List.of("*"), List.of(), List.of("*"));
            Api client = server.api(integration.get("clientKey").asText());
            for (int i = 0; i < 5; i++) {
                client.get("/api/v1/webhooks").expect(200);
            }
            Api.Response limited = client.get("/api/v1/webhooks");
            assertThat(limited.status()).isEqualTo(429);
            assertThat(limited.errorCode()).isEqualTo("rate_limited");
            assertThat(limited.json().path("error").path("message").asText()).contains("client key");
            assertThat(Long.parseLong(limited.header("Retry-After"))).isBetween(3000L, 3600L);
            assertThat(client.post("/api/v1/webhooks", Map.of("url", "https://p.example/"))
                            .status())
                    .isEqualTo(429);
            server.api(other.get("clientKey").asText()).get("/api/v1/webhooks").expect(200);
            // The window is the integration's, not the key's: a new key goes on counting in the same window.
            String rotated = server.admin
                    .post("/api/v1/integrations/" + integration.get("id").asText() + "/rotate-client-key", "")
                    .expect(200)
                    .json()
                    .get("clientKey")
                    .asText();
            assertThat(server.api(rotated).get("/api/v1/webhooks").status()).isEqualTo(429);
        }
    }
}
