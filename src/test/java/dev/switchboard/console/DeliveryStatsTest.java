package dev.switchboard.console;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.ConsoleSession;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The console's delivery charts come from counts each node keeps in memory per endpoint per minute and
 * writes to PostgreSQL in one statement a minute: delivered, failed, retried, attempt duration and lag.
 */
class DeliveryStatsTest {
    static TestServer server;
    static Receiver receiver;
    static Partner partner;
    static Partner other;
    static String ok;
    static String failing;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true"));
        receiver = new Receiver();
        receiver.answer(r -> Receiver.Reply.status(r.path().equals("/fail") ? 500 : 200));
        server.createCollection("orders");
        partner = Partner.create(server, List.of("orders.*"));
        other = Partner.create(server, List.of("orders.*"));
        ok = partner.webhook(Map.of("url", receiver.url("/ok"))).get("id").asText();
        failing = partner.webhook(Map.of("url", receiver.url("/fail"), "retryDelays", List.of("1s")))
                .get("id")
                .asText();
        other.webhook(Map.of("url", receiver.url("/other")));
        for (int i = 0; i < 3; i++) {
            partner.writeRecords("orders", 1, Map.of("n", i));
            int delivered = i + 1;
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> receiver.received("/ok").size() >= delivered);
        }
        other.writeRecords("orders", 1, Map.of("n", 9));
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> count(failing, "failed") >= 1
                        && count(failing, "pending") == 0
                        && server.admin
                                .get("/api/v1/webhooks/" + failing + "/streams")
                                .json()
                                .get("streams")
                                .get(0)
                                .get("state")
                                .asText()
                                .equals("caught_up")
                        && count(ok, "delivered") == receiver.received("/ok").size()
                        && !receiver.received("/other").isEmpty());
        server.switchboard().deliveryStats().flush();
    }

    @AfterAll
    static void stop() {
        server.close();
        receiver.close();
    }

    private static int count(String endpoint, String status) {
        return server.admin
                .get("/api/v1/webhooks/" + endpoint + "/messages?status=" + status)
                .json()
                .get("messages")
                .size();
    }

    private static long sum(JsonNode stats, String field) {
        long total = 0;
        for (JsonNode b : stats.get("buckets")) {
            total += b.get(field).asLong();
        }
        return total;
    }

    @Test
    void theCountsOfEachEndpointAreKeptByMinute() throws Exception {
        JsonNode okStats = server.admin
                .get("/api/v1/delivery-stats?webhookId=" + ok)
                .expect(200)
                .json();
        assertThat(okStats.get("bucketSeconds").asInt()).isEqualTo(60);
        assertThat(okStats.get("buckets")).hasSize(60);
        assertThat(sum(okStats, "delivered")).isEqualTo(count(ok, "delivered")).isGreaterThanOrEqualTo(1);
        assertThat(sum(okStats, "failed")).isZero();
        JsonNode last = null;
        for (JsonNode b : okStats.get("buckets")) {
            if (b.get("delivered").asLong() > 0) {
                last = b;
            }
        }
        assertThat(last.get("latencyP50Ms").asLong()).isPositive();
        assertThat(last.get("latencyP99Ms").asLong())
                .isGreaterThanOrEqualTo(last.get("latencyP50Ms").asLong());
        assertThat(last.get("lagP99Ms").asLong()).isPositive();
        Instant start =
                Instant.parse(okStats.get("buckets").get(59).get("start").asText());
        assertThat(start).isBetween(Instant.now().minusSeconds(61), Instant.now());

        // The failing endpoint: each message had two attempts (the first retried), then was abandoned.
        int abandoned = count(failing, "failed");
        JsonNode failingStats = server.admin
                .get("/api/v1/delivery-stats?webhookId=" + failing)
                .expect(200)
                .json();
        assertThat(sum(failingStats, "delivered")).isZero();
        assertThat(sum(failingStats, "failed")).isEqualTo(abandoned);
        assertThat(sum(failingStats, "retried")).isEqualTo(abandoned);

        // Per integration, and over everything; 24h in quarter hours.
        JsonNode mine = server.admin
                .get("/api/v1/delivery-stats?integrationId=" + partner.integrationId())
                .expect(200)
                .json();
        assertThat(sum(mine, "delivered")).isEqualTo(sum(okStats, "delivered"));
        JsonNode all = server.admin
                .get("/api/v1/delivery-stats?window=24h")
                .expect(200)
                .json();
        assertThat(all.get("bucketSeconds").asInt()).isEqualTo(900);
        assertThat(all.get("buckets")).hasSize(96);
        assertThat(sum(all, "delivered")).isEqualTo(sum(okStats, "delivered") + 1);

        // Flushing again adds nothing: each count is written once.
        server.switchboard().deliveryStats().flush();
        assertThat(sum(
                        server.admin
                                .get("/api/v1/delivery-stats?webhookId=" + ok)
                                .json(),
                        "delivered"))
                .isEqualTo(sum(okStats, "delivered"));
        try (var c = java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                var rs = c.createStatement().executeQuery("SELECT count(*) FROM delivery_stats")) {
            rs.next();
            assertThat(rs.getInt(1))
                    .isBetween(4, 8); // three endpoints and their sum, a minute boundary at most between
        }
    }

    @Test
    void theChartsFollowDeliveriesWithinTenSecondsWithoutBeingAsked() {
        int before = receiver.received("/ok").size();
        partner.writeRecords("orders", 1, Map.of("n", 10));
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> receiver.received("/ok").size() > before);
        // No flush() here: the node's own writes, every 10 s, bring the chart up to date.
        Awaitility.await()
                .atMost(Duration.ofSeconds(15))
                .until(() -> sum(
                                server.admin
                                        .get("/api/v1/delivery-stats?webhookId=" + ok)
                                        .json(),
                                "delivered")
                        == before + 1);
    }

    @Test
    void anIntegrationReadsItsOwnStatsOnlyAndBadInputIsRefused() {
        JsonNode own =
                partner.client().get("/api/v1/delivery-stats").expect(200).json();
        assertThat(sum(own, "delivered")).isEqualTo(count(ok, "delivered"));
        assertField(
                partner.client().get("/api/v1/delivery-stats?integrationId=" + other.integrationId()), "integrationId");
        assertField(partner.client().get("/api/v1/delivery-stats?webhookId=whk_nope"), "webhookId");
        String othersHook = other.client()
                .get("/api/v1/webhooks")
                .json()
                .get("webhooks")
                .get(0)
                .get("id")
                .asText();
        assertField(partner.client().get("/api/v1/delivery-stats?webhookId=" + othersHook), "webhookId");
        assertField(server.admin.get("/api/v1/delivery-stats?window=7d"), "window");
        assertField(server.admin.get("/api/v1/delivery-stats?integrationId=int_nope"), "integrationId");
        // A misspelt filter answered for every endpoint.
        assertField(server.admin.get("/api/v1/delivery-stats?webhookid=" + othersHook), "webhookid");
        assertField(server.admin.get("/api/v1/webhooks?integrationid=" + other.integrationId()), "integrationid");
        assertThat(partner.access().get("/api/v1/delivery-stats").status()).isEqualTo(403);
        assertThat(ConsoleSession.signIn(server)
                        .api()
                        .get("/api/v1/delivery-stats")
                        .status())
                .isEqualTo(200);
        String narrowed = partner.client()
                .post("/api/v1/portal-sessions", Map.of("tenantId", partner.tenant()))
                .expect(201)
                .json()
                .get("url")
                .asText();
        assertThat(ConsoleSession.portal(server, narrowed)
                        .api()
                        .get("/api/v1/delivery-stats")
                        .status())
                .isEqualTo(403);
    }

    private static void assertField(Api.Response r, String field) {
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.json().get("error").get("details").get("field").asText()).isEqualTo(field);
    }
}
