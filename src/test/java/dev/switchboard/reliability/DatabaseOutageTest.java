package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.ExternalPostgres;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.ReliabilityReport;
import dev.switchboard.testing.TestServer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The external PostgreSQL stops under load and comes back. The server stays up, says so on
 * /health/ready, refuses writes with a 503 that writes nothing, and delivers every acknowledged write's
 * event again by itself once the database is back.
 */
@Tag("reliability")
@Timeout(300)
class DatabaseOutageTest {
    private static final Duration OUTAGE = Duration.ofSeconds(8);
    private static final Map<String, String> SETTINGS = Map.of(
            "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
            "SWITCHBOARD_WEBHOOKS_TIMEOUT", "1s",
            "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS", "500ms,1s,2s",
            "SWITCHBOARD_WEBHOOKS_LEASE_TIME", "3s",
            "SWITCHBOARD_RATE_LIMIT_REQUESTS", "1000000");

    @TempDir
    Path dir;

    @Test
    void theServerStaysUpRefusesWritesClearlyAndResumesDeliveryWhenTheDatabaseReturns() throws Exception {
        try (ExternalPostgres postgres = ExternalPostgres.start(dir.resolve("postgres"));
                Receiver receiver = new Receiver();
                TestServer server =
                        TestServer.start(DatabaseUrl.parse(postgres.jdbcUrl()), SETTINGS, InstantSource.system())) {
            server.createCollection("rooms");
            String tenant = server.createTenant("outage");
            JsonNode integration = server.createIntegration("partner", List.of("*"), List.of("*"), List.of("*"));
            Api writer = server.api(server.connect(integration.get("id").asText(), tenant)
                    .get("accessToken")
                    .asText());
            server.api(integration.get("clientKey").asText())
                    .post("/api/v1/webhooks", Map.of("url", receiver.url("/outage"), "maxBatchSize", 50))
                    .expect(201);
            Api anonymous = server.api(null);

            Set<String> acknowledged = ConcurrentHashMap.newKeySet();
            Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
            AtomicInteger badRefusals = new AtomicInteger();
            AtomicBoolean writing = new AtomicBoolean(true);
            Duration noticed;
            Duration ready;
            Duration writable;
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int w = 0; w < 4; w++) {
                    pool.submit(() -> {
                        while (writing.get()) {
                            Api.Response r = writer.post("/api/v1/collections/rooms/records", Map.of("data", Map.of()));
                            statuses.computeIfAbsent(r.status(), s -> new AtomicInteger())
                                    .incrementAndGet();
                            if (r.status() == 201) {
                                acknowledged.add(r.json().get("id").asText());
                            } else if (r.status() != 503
                                    || r.header("Retry-After") == null
                                    || !r.errorCode().equals("database_unavailable")) {
                                badRefusals.incrementAndGet();
                            }
                        }
                        return null;
                    });
                }
                await().until(() -> acknowledged.size() >= 50);

                Instant down = Instant.now();
                postgres.stop();
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> anonymous.get("/health/ready").status() == 503);
                noticed = Duration.between(down, Instant.now());
                anonymous.get("/health/live").expect(200);
                await().atMost(Duration.ofSeconds(20)).until(() -> statuses.containsKey(503));
                int ackedBeforeReturn = acknowledged.size();
                await().pollDelay(OUTAGE).until(() -> true);

                Instant back = Instant.now();
                postgres.start();
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> anonymous.get("/health/ready").status() == 200);
                ready = Duration.between(back, Instant.now());
                await().atMost(Duration.ofSeconds(30)).until(() -> acknowledged.size() > ackedBeforeReturn);
                writable = Duration.between(back, Instant.now());
                await().until(() -> acknowledged.size() >= ackedBeforeReturn + 50);
                writing.set(false);
            }

            Instant drained = await().atMost(Duration.ofSeconds(60))
                    .until(
                            () -> delivered(receiver).containsAll(acknowledged) ? Instant.now() : null,
                            java.util.Objects::nonNull);
            try (Connection c = DriverManager.getConnection(postgres.jdbcUrl());
                    ResultSet rs = c.createStatement()
                            .executeQuery("SELECT (SELECT count(*) FROM records),"
                                    + " (SELECT count(*) FROM events WHERE type = 'rooms.created')")) {
                rs.next();
                assertThat(rs.getLong(1))
                        .as("every record has its event and no event lacks its record")
                        .isEqualTo(rs.getLong(2));
                assertThat(rs.getLong(1))
                        .as("acknowledged writes are all stored")
                        .isGreaterThanOrEqualTo(acknowledged.size());
            }
            assertThat(badRefusals.get())
                    .as("refusals other than a 503 database_unavailable with Retry-After")
                    .isZero();
            assertThat(statuses.keySet()).as("statuses answered to writes").containsOnly(201, 503);
            List<String> lost = acknowledged.stream()
                    .filter(id -> !delivered(receiver).contains(id))
                    .toList();
            assertThat(lost).isEmpty();

            Map<String, Object> figures = new LinkedHashMap<>();
            figures.put("Writes acknowledged (201)", acknowledged.size());
            figures.put(
                    "Writes refused (503 database_unavailable)",
                    statuses.get(503).get());
            figures.put("Other answers to writes", badRefusals.get());
            figures.put("Database down for", OUTAGE.toSeconds() + " s");
            figures.put("/health/ready reported the outage after", noticed.toMillis() + " ms");
            figures.put("Ready again after the database returned", ready.toMillis() + " ms");
            figures.put("First write accepted after the database returned", writable.toMillis() + " ms");
            figures.put("Webhook events delivered", acknowledged.size());
            figures.put("Lost", lost.size());
            ReliabilityReport.record(
                    "Database outage",
                    "An external PostgreSQL is stopped for " + OUTAGE.toSeconds()
                            + " s under four writers and a webhook"
                            + " endpoint, then started again; the server is not restarted.",
                    figures);
        }
    }

    /** The record ids whose created events reached the receiver. */
    private static Set<String> delivered(Receiver receiver) {
        Set<String> ids = ConcurrentHashMap.newKeySet();
        receiver.received()
                .forEach(r -> r.json()
                        .get("events")
                        .forEach(e -> ids.add(e.get("subject").asText())));
        return ids;
    }
}
