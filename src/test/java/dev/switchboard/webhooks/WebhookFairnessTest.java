package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.Receiver.Reply;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Integrations whose endpoints all answer slowly cannot take the whole node: each holds at most
 * {@code webhooks.integrationConcurrency} of the node's streams, the last free one is kept for an
 * integration with nothing in flight, and another integration's events still arrive promptly.
 */
@Timeout(60)
class WebhookFairnessTest {
    private static final Duration SLOW = Duration.ofMillis(2500);
    // Starved, a message would wait for a slow answer (SLOW); a busy 2-core machine may take a second anyway.
    private static final Duration PROMPT = Duration.ofSeconds(2);

    @Test
    void anIntegrationWhoseEndpointsAllAnswerSlowlyLeavesTheRestOfTheNodeToTheOthers() {
        assertPromptBesideSlowIntegrations(1, 3); // A's two, and B's at most
    }

    /**
     * Two such integrations could fill the node between them (each may hold half of it). The last free
     * stream is kept for an integration with nothing in flight, so a third still gets its events at once.
     */
    @Test
    void twoSlowIntegrationsStillLeaveRoomForAThird() {
        assertPromptBesideSlowIntegrations(2, 4); // A's two, C's one, and B's at most
    }

    /**
     * An integration with more busy streams than its share takes turns among them: a slow stream gives
     * up its slot after {@link StreamWorker#YIELD_AFTER_TIME} and the stream that waited longest comes
     * next, so no tenant of a slow partner waits for the others' backlogs to run dry.
     */
    @Test
    void aSlowIntegrationsStreamsTakeTurns() {
        try (Receiver slow = new Receiver();
                // Two streams at once for the integration (half of four), four tenants with work.
                TestServer server = server(Map.of(
                        "SWITCHBOARD_WEBHOOKS_CONCURRENCY", "4", "SWITCHBOARD_WEBHOOKS_ENDPOINT_CONCURRENCY", "4"))) {
            server.createCollection("rooms", "eventFields", List.of("state"));
            slow.answer(r -> Reply.status(200).after(Duration.ofMillis(1500)));
            JsonNode integration = server.createIntegration("turns", List.of("*"), List.of("*"), List.of("rooms.*"));
            List<Partner> tenants = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                tenants.add(Partner.connect(server, integration, server.createTenant("turn-hotel-" + t)));
            }
            tenants.getFirst().webhook(Map.of("url", slow.url("/slow")));
            ScheduledExecutorService writers = Executors.newSingleThreadScheduledExecutor();
            try {
                writers.scheduleAtFixedRate(
                        () -> tenants.forEach(p -> p.writeRecords("rooms", 1, Map.of("state", "free"))),
                        0,
                        300,
                        TimeUnit.MILLISECONDS);
                for (int t = 0; t < 4; t++) {
                    String tenant = "\"tenantId\":\"turn-hotel-" + t + "\"";
                    await("a message for turn-hotel-" + t)
                            .atMost(StreamWorker.YIELD_AFTER_TIME.multipliedBy(3))
                            .until(() -> slow.received().stream()
                                    .anyMatch(r -> r.body().contains(tenant)));
                }
            } finally {
                writers.shutdownNow();
            }
        }
    }

    /**
     * A busy stream whose endpoint's share is full keeps its slot past {@link StreamWorker#YIELD_AFTER}
     * messages while no other stream of its integration waits (giving it up would only have it claimed
     * again), and gives it up there when one does.
     */
    @Test
    void aBusyStreamKeepsItsSlotPastItsTurnUnlessAnotherWaits() throws Exception {
        try (Receiver receiver = new Receiver();
                TestServer server = server(Map.of("SWITCHBOARD_WEBHOOKS_ENDPOINT_CONCURRENCY", "1"))) {
            server.createCollection("rooms", "eventFields", List.of("state"));
            JsonNode integration = server.createIntegration("turns", List.of("*"), List.of("*"), List.of("rooms.*"));
            Partner first = Partner.connect(server, integration, server.createTenant("turn-first"));
            Partner second = Partner.connect(server, integration, server.createTenant("turn-second"));
            String endpoint = first.webhook(Map.of("url", receiver.url("/turns"), "maxBatchSize", 1))
                    .get("id")
                    .asText();
            int backlog = StreamWorker.YIELD_AFTER + 20;

            setState(first, endpoint, "disabled");
            first.writeRecords("rooms", backlog, Map.of("state", "free"));
            setState(first, endpoint, "enabled");
            await().until(() -> receiver.received().size() >= 1);
            Object claimed = lastClaim(server, endpoint);
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> receiver.received().size() == backlog);
            assertThat(lastClaim(server, endpoint))
                    .as("claimed once for the whole backlog, with nothing else waiting")
                    .isEqualTo(claimed);

            setState(first, endpoint, "disabled");
            first.writeRecords("rooms", backlog, Map.of("state", "free"));
            second.writeRecords("rooms", 1, Map.of("state", "free"));
            setState(first, endpoint, "enabled");
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> receiver.received().size() == 2 * backlog + 1);
            List<Receiver.Received> sent = receiver.received().subList(backlog, 2 * backlog + 1);
            List<String> tenants =
                    sent.stream().map(r -> r.json().get("tenantId").asText()).toList();
            assertThat(tenants).containsOnlyOnce("turn-second");
            assertThat(tenants.indexOf("turn-second"))
                    .as("the waiting tenant's message comes at the busy stream's turn, or before it")
                    .isLessThanOrEqualTo(StreamWorker.YIELD_AFTER);
        }
    }

    private static void setState(Partner partner, String endpoint, String state) {
        partner.client()
                .patch("/api/v1/webhooks/" + endpoint, Map.of("state", state))
                .expect(200);
    }

    /** When a stream of the endpoint was last claimed. */
    private static Object lastClaim(TestServer server, String endpoint) throws java.sql.SQLException {
        try (var c = java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                var rs = c.createStatement()
                        .executeQuery("SELECT max(ws.claimed_at) FROM webhook_streams ws JOIN webhook_endpoints e"
                                + " ON e.pk = ws.endpoint_pk WHERE e.id = '" + endpoint + "'")) {
            rs.next();
            return rs.getObject(1);
        }
    }

    /**
     * Tests and retries through the API have a share of the node of their own; one integration retrying
     * many messages to a slow endpoint holds at most half of it, so another integration's test still goes
     * out at once.
     */
    @Test
    void anIntegrationRetryingManyMessagesToASlowEndpointDoesNotHoldUpAnothersTest() {
        try (Receiver slow = new Receiver();
                Receiver fast = new Receiver();
                // Two manual messages at once (an eighth, at least 2), one for one integration.
                TestServer server = server(Map.of("SWITCHBOARD_WEBHOOKS_CONCURRENCY", "8"))) {
            server.createCollection("rooms", "eventFields", List.of("state"));
            slow.answer(r -> Reply.status(500));
            Partner a = Partner.create(server, List.of("rooms.*"));
            String failing = a.webhook(Map.of("url", slow.url("/a"), "retryDelays", List.of(), "maxBatchSize", 1))
                    .get("id")
                    .asText();
            a.writeRecords("rooms", 6, Map.of("state", "free"));
            String path = "/api/v1/webhooks/" + failing + "/messages";
            await("A's messages failed")
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> a.client()
                                    .get(path + "?status=failed")
                                    .json()
                                    .get("messages")
                                    .size()
                            == 6);
            slow.answer(r -> Reply.status(200).after(SLOW));
            a.client().post(path + "/retry", "").expect(202);
            await("A's retries under way")
                    .atMost(PROMPT)
                    .until(() -> slow.received().size() > 6);

            Partner b = Partner.create(server, List.of("rooms.*"));
            String endpointB =
                    b.webhook(Map.of("url", fast.url("/b"))).get("id").asText();
            b.client().post("/api/v1/webhooks/" + endpointB + "/test", "").expect(202);
            await("B's test while A's retries are slow")
                    .atMost(PROMPT)
                    .until(() -> fast.received().size() == 1);
        }
    }

    /**
     * {@code slowIntegrations} integrations, each with two tenants and four endpoints (eight streams, twice
     * the node's concurrency) that answer just under the timeout, while integration B's events must
     * arrive within {@link #PROMPT}; at most {@code maxActive} streams are in flight.
     */
    private static void assertPromptBesideSlowIntegrations(int slowIntegrations, int maxActive) {
        try (Receiver slow = new Receiver();
                Receiver fast = new Receiver();
                // Four streams at once, two for one integration (half, the default).
                TestServer server = server(Map.of(
                        "SWITCHBOARD_WEBHOOKS_CONCURRENCY", "4", "SWITCHBOARD_WEBHOOKS_ENDPOINT_CONCURRENCY", "2"))) {
            server.createCollection("rooms", "eventFields", List.of("state"));
            slow.answer(r -> Reply.status(200).after(SLOW)); // just under the timeout, every time

            List<Partner> slowTenants = new ArrayList<>();
            for (int i = 0; i < slowIntegrations; i++) {
                JsonNode integration = server.createIntegration(
                        "slow-" + i + "-" + System.nanoTime(), List.of("*"), List.of("*"), List.of("rooms.*"));
                List<Partner> tenants = new ArrayList<>();
                for (int t = 0; t < 2; t++) {
                    tenants.add(Partner.connect(
                            server, integration, server.createTenant("slow-hotel-" + i + t + "-" + System.nanoTime())));
                }
                for (int e = 0; e < 4; e++) {
                    tenants.getFirst().webhook(Map.of("url", slow.url("/slow" + i + "-" + e)));
                }
                slowTenants.addAll(tenants);
            }
            // Integration B: one tenant, one endpoint that answers at once.
            Partner b = Partner.create(server, List.of("rooms.*"));
            b.webhook(Map.of("url", fast.url("/b")));

            // The slow integrations' tenants write all the time, so each of their streams always has work waiting.
            ScheduledExecutorService writers = Executors.newSingleThreadScheduledExecutor();
            try {
                writers.scheduleAtFixedRate(
                        () -> slowTenants.forEach(p -> p.writeRecords("rooms", 1, Map.of("state", "free"))),
                        0,
                        300,
                        TimeUnit.MILLISECONDS);
                await("the slow streams busy")
                        .atMost(Duration.ofSeconds(10))
                        .until(() -> slow.received().size() >= 2 * slowIntegrations);

                for (int i = 0; i < 5; i++) {
                    String id =
                            b.writeRecords("rooms", 1, Map.of("state", "free")).getFirst();
                    await("B's event " + i + " while the others are slow")
                            .atMost(PROMPT)
                            .until(() -> fast.received().stream()
                                    .anyMatch(r -> r.body().contains(id)));
                }
            } finally {
                writers.shutdownNow();
            }
            assertThat(fast.received()).hasSize(5);
            assertThat(server.metric("switchboard_webhooks_streams_active"))
                    .as("streams in flight")
                    .isLessThanOrEqualTo(maxActive);
        }
    }

    /** A server whose requests time out after 3 s, with {@code settings} besides. */
    private static TestServer server(Map<String, String> settings) {
        Map<String, String> env = new HashMap<>(Map.of(
                "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
                "SWITCHBOARD_WEBHOOKS_TIMEOUT", "3s",
                "SWITCHBOARD_WEBHOOKS_LEASE_TIME", "7s",
                "SWITCHBOARD_RATE_LIMIT_REQUESTS", "100000"));
        env.putAll(settings);
        return TestServer.start(env);
    }
}
