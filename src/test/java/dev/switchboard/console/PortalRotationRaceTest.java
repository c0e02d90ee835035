package dev.switchboard.console;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.ConsoleSession;
import dev.switchboard.testing.TestServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Rotating a client key (done because it leaked) while portal links made with it are being opened: the
 * rotation and the exchanges took their locks in opposite orders and deadlocked, the rotation failing with
 * a 500 and the leaked key working on, with every session opened meanwhile.
 */
class PortalRotationRaceTest {
    static TestServer server;

    @BeforeAll
    static void start() {
        // Links removed by the rotation are refused as unknown, which would count against this address.
        server = TestServer.start(Map.of("SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES", "0"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void aRotationWhileLinksAreOpenedSucceedsAndEndsEverySessionTheOldKeyLetIn() throws Exception {
        try (ExecutorService threads = Executors.newFixedThreadPool(16)) {
            for (int round = 0; round < 6; round++) {
                String tenant = server.createTenant("rotated-" + System.nanoTime());
                JsonNode integration = server.createIntegration("rotated-" + round, List.of(), List.of(), List.of());
                String id = integration.get("id").asText();
                server.connect(id, tenant);
                Api oldKey = server.api(integration.get("clientKey").asText());
                List<String> tokens = new ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    tokens.add(ConsoleSession.token(
                            oldKey.post("/api/v1/portal-sessions", Map.of("capabilities", List.of("read")))
                                    .expect(201)
                                    .json()
                                    .get("url")
                                    .asText()));
                }
                List<Future<Api.Response>> opened = new ArrayList<>();
                for (String token : tokens) {
                    opened.add(
                            threads.submit(() -> server.api(null).post("/portal/api/session", Map.of("token", token))));
                }
                Thread.sleep(20);
                Api.Response rotation = server.admin.post("/api/v1/integrations/" + id + "/rotate-client-key", "");
                assertThat(rotation.status())
                        .as("round %d: %s", round, rotation.body())
                        .isEqualTo(200);
                for (Future<Api.Response> exchange : opened) {
                    Api.Response answer = exchange.get();
                    assertThat(answer.status()).as(answer.body()).isIn(200, 404);
                    if (answer.status() == 200) {
                        ConsoleSession session = ConsoleSession.of(server.baseUrl(), answer);
                        assertThat(session.api().get("/api/v1/webhooks").status())
                                .as("a session the old key let in, after the rotation")
                                .isEqualTo(401);
                    }
                }
                assertThat(oldKey.get("/api/v1/webhooks").status()).isEqualTo(401);
            }
        }
    }
}
