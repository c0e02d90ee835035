package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.ReliabilityReport;
import dev.switchboard.testing.ServerProcess;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.WsClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a partner can get out of the event feed beyond what its integration grants: server time, by
 * long-polling through events it may not see, and events, when its integration's {@code eventTypes}
 * are empty. The long poll runs against a server in its own process, so its CPU time is the server's
 * alone.
 */
@Tag("reliability")
@Timeout(300)
class HostileFeedTest {
    private static final Pattern READS = Pattern.compile("(?m)^switchboard_events_feed_reads_total\\s+([0-9.eE+-]+)$");
    private static final int WAIT_SECONDS = 8;

    @Test
    void aLongPollThroughEventsItMayNotSeeCostsNoMoreThanAnIdleOne() throws Exception {
        try (ServerProcess server = ServerProcess.start(Map.of(
                        "SWITCHBOARD_DATABASE_URL",
                        TestDatabase.create().jdbcUrl(),
                        "SWITCHBOARD_ADMIN_KEY",
                        TestServer.ADMIN_KEY,
                        "SWITCHBOARD_RATE_LIMIT_REQUESTS",
                        "1000000"))
                .awaitReady()) {
            Api admin = server.api(TestServer.ADMIN_KEY);
            admin.post("/api/v1/collections", Map.of("name", "reservations")).expect(201);
            admin.post("/api/v1/tenants", Map.of("id", "hotel", "name", "hotel"))
                    .expect(201);
            Api app = admin.withHeader("Switchboard-Tenant", "hotel");
            JsonNode integration = admin.post(
                            "/api/v1/integrations",
                            Map.of(
                                    "name",
                                    "door keys",
                                    "permissions",
                                    Map.of("read", List.of("reservations")),
                                    "eventTypes",
                                    List.of("reservations.*")))
                    .expect(201)
                    .json();
            Api partner = server.api(admin.post(
                            "/api/v1/integrations/" + integration.get("id").asText() + "/connections",
                            Map.of("tenantId", "hotel"))
                    .expect(201)
                    .json()
                    .get("accessToken")
                    .asText());

            Poll idle = poll(server, partner, 0, () -> {});
            Poll woken = poll(
                    server,
                    partner,
                    0,
                    () -> app.post("/api/v1/events", Map.of("type", "device.command"))
                            .expect(201));
            Poll hundred = poll(server, partner, 1, () -> {
                for (int i = 0; i < 100; i++) {
                    app.post("/api/v1/events", Map.of("type", "device.command", "subject", "door-" + i))
                            .expect(201);
                }
            });

            ReliabilityReport.hostilePartner(
                    "Long-poll the feed (wait=" + WAIT_SECONDS + ") with a reservations.*"
                            + " token while the operator publishes device.command events it may not see",
                    String.format(
                            "1 hidden event: %d log reads and %.2f s of server CPU in the %d s wait (an idle"
                                    + " wait: %d reads, %.2f s); 100 hidden events: %d reads; next %d and %d, past them",
                            woken.reads(),
                            woken.cpuSeconds(),
                            WAIT_SECONDS,
                            idle.reads(),
                            idle.cpuSeconds(),
                            hundred.reads(),
                            woken.next(),
                            hundred.next()));
            assertThat(woken.next()).isEqualTo(1);
            assertThat(hundred.next()).isEqualTo(101);
            assertThat(woken.reads()).isLessThanOrEqualTo(4);
            assertThat(hundred.reads()).isLessThanOrEqualTo(102);
            assertThat(woken.cpuSeconds()).isLessThan(idle.cpuSeconds() + 1.0);
        }
    }

    private record Poll(long reads, double cpuSeconds, long next) {}

    /** One long poll from {@code after} to its deadline while {@code hidden} publishes events the partner may not see. */
    private static Poll poll(ServerProcess server, Api partner, long after, Runnable hidden) throws Exception {
        double reads = reads(server);
        Duration cpu = cpu(server);
        CompletableFuture<Api.Response> poll = CompletableFuture.supplyAsync(
                () -> partner.get("/api/v1/events?after=" + after + "&wait=" + WAIT_SECONDS));
        // Read once, then again after registering its wait: it is asleep now.
        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(10))
                .until(() -> reads(server) - reads >= 2);
        hidden.run();
        JsonNode page =
                poll.get(WAIT_SECONDS + 20, TimeUnit.SECONDS).expect(200).json();
        assertThat(page.get("events")).isEmpty();
        return new Poll(
                Math.round(reads(server) - reads),
                (cpu(server).toNanos() - cpu.toNanos()) / 1e9,
                page.get("next").asLong());
    }

    private static double reads(ServerProcess server) {
        Matcher m = READS.matcher(server.api(null).get("/metrics").body());
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    /** The position of an events endpoint's webhook stream on its one connected tenant. */
    private static long position(TestServer server, String endpointId) throws java.sql.SQLException {
        try (java.sql.Connection c =
                        java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                java.sql.PreparedStatement ps = c.prepareStatement("SELECT ws.position FROM webhook_streams ws"
                        + " JOIN webhook_endpoints e ON e.pk = ws.endpoint_pk WHERE e.id = ?")) {
            ps.setString(1, endpointId);
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : -1;
            }
        }
    }

    private static Duration cpu(ServerProcess server) {
        return server.process().toHandle().info().totalCpuDuration().orElseThrow();
    }

    @Test
    void anIntegrationWithNoEventTypesGetsNoEventOnTheFeedWebhooksOrWebSockets() throws Exception {
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(Map.of("SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true"))) {
            server.createCollection("reservations");
            String tenant = server.createTenant("hotel");
            Api app = server.adminFor(tenant);
            // Created without eventTypes (stored as []), as an operator who meant "none yet" would.
            JsonNode none = server.admin
                    .post(
                            "/api/v1/integrations",
                            Map.of("name", "no types", "permissions", Map.of("read", List.of("*"))))
                    .expect(201)
                    .json();
            Api client = server.api(none.get("clientKey").asText());
            client.post("/api/v1/webhooks", Map.of("url", receiver.url("/lifecycle"), "kind", "lifecycle"))
                    .expect(201);
            String endpoint = client.post("/api/v1/webhooks", Map.of("url", receiver.url("/events")))
                    .expect(201)
                    .json()
                    .get("id")
                    .asText();
            String token = server.connect(none.get("id").asText(), tenant)
                    .get("accessToken")
                    .asText();
            JsonNode all = server.createIntegration("all", List.of("*"), List.of(), List.of("*"));
            server.api(all.get("clientKey").asText())
                    .post("/api/v1/webhooks", Map.of("url", receiver.url("/control")))
                    .expect(201);
            server.connect(all.get("id").asText(), tenant);

            int events = 0;
            try (WsClient live = WsClient.connect(server, token, null)) {
                live.await("live");
                for (int i = 0; i < 10; i++) {
                    app.post("/api/v1/events", Map.of("type", "device.command", "subject", "door-" + i))
                            .expect(201);
                    app.post("/api/v1/collections/reservations/records", Map.of("data", Map.of("n", i)))
                            .expect(201);
                    events += 2;
                }
                int published = events;
                // The other integration's endpoint got every event, so each has been offered to every path.
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> receiver.received("/control").stream()
                                        .mapToInt(r -> r.json().get("events").size())
                                        .sum()
                                == published);
                JsonNode feed = server.api(token)
                        .get("/api/v1/events?after=0&limit=1000")
                        .expect(200)
                        .json();
                List<JsonNode> replayed;
                try (WsClient replay = WsClient.connect(server, token, "?after=0")) {
                    replay.await("live");
                    replayed = replay.events();
                }
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> !receiver.received("/lifecycle").isEmpty());
                // Its events endpoint's sender has read past every event (they are behind its position).
                await().atMost(Duration.ofSeconds(30)).until(() -> position(server, endpoint) == published);
                int sent = receiver.received("/events").size();
                // Grant device.* and publish until the live socket gets one: its events arrive in order, so any of
                // the earlier ones it was sent would have come first.
                server.admin
                        .patch(
                                "/api/v1/integrations/" + none.get("id").asText(),
                                Map.of("eventTypes", List.of("device.*")))
                        .expect(200);
                await().atMost(Duration.ofSeconds(30))
                        .pollInterval(Duration.ofMillis(100))
                        .until(() -> {
                            app.post("/api/v1/events", Map.of("type", "device.command", "subject", "granted"))
                                    .expect(201);
                            return !live.events().isEmpty();
                        });
                long leakedLive = live.events().stream()
                        .filter(e -> !e.get("subject").asText().equals("granted"))
                        .count();

                ReliabilityReport.hostilePartner(
                        "Read events with the token of an integration whose eventTypes are"
                                + " empty ([]: created without them, or revoked)",
                        String.format(
                                "of %d events published: feed %d (next %d), webhook %d requests, WebSocket"
                                        + " replay %d, live %d; its lifecycle endpoint still got connection.created",
                                published,
                                feed.get("events").size(),
                                feed.get("next").asLong(),
                                sent,
                                replayed.size(),
                                leakedLive));
                assertThat(feed.get("events")).isEmpty();
                assertThat(feed.get("next").asLong()).isEqualTo(published);
                assertThat(sent).isZero();
                assertThat(replayed).isEmpty();
                assertThat(leakedLive).isZero();
                assertThat(receiver.received("/lifecycle")
                                .getFirst()
                                .json()
                                .get("type")
                                .asText())
                        .isEqualTo("connection.created");
            }
        }
    }
}
