package dev.switchboard.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.switchboard.testing.Api;
import dev.switchboard.testing.CapturedLogs;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A database that cannot do what a request asks now, as production databases do: a table a DBA holds
 * locked, writes refused after a failover to a standby, connections the database ends. Each test has a
 * database of its own, so what it does to it reaches no other test.
 */
@Timeout(180)
class DatabaseRefusalsTest {
    /** The lock timeout (5 s), a pool's wait for a connection (5 s), with room for a busy machine. */
    private static final Duration LONGEST_ANSWER = Duration.ofSeconds(20);

    @Test
    void aTableHeldLockedMakesTheRequestsThatNeedIt503WithinTheLockTimeoutAndTheRestCarryOn() throws Exception {
        try (TestServer server = TestServer.start();
                CapturedLogs logs = new CapturedLogs()) {
            Partner partner = roomsPartner(server);
            String id =
                    partner.writeRecords("rooms", 1, Map.of("state", "free")).getFirst();
            try (Connection dba = connect(server)) {
                dba.setAutoCommit(false);
                try (Statement s = dba.createStatement()) {
                    s.execute("LOCK TABLE records IN ACCESS EXCLUSIVE MODE");
                }
                // More requests than the pool has connections (8): before, every one of them waited on the
                // lock until the read timeout (60 s), and every other route found no connection.
                List<CompletableFuture<Api.Response>> waiting = new ArrayList<>();
                for (int i = 0; i < 12; i++) {
                    waiting.add(CompletableFuture.supplyAsync(() -> partner.access()
                            .patch(
                                    "/api/v1/collections/rooms/records/" + id,
                                    Map.of("data", Map.of("state", "taken")))));
                    waiting.add(CompletableFuture.supplyAsync(
                            () -> partner.access().get("/api/v1/collections/rooms/records/" + id)));
                }
                for (CompletableFuture<Api.Response> request : waiting) {
                    Api.Response answer = request.get(LONGEST_ANSWER.toSeconds(), TimeUnit.SECONDS);
                    assertThat(answer.status()).as(answer.body()).isEqualTo(503);
                    assertThat(answer.errorCode()).isEqualTo("database_unavailable");
                    assertThat(answer.header("Retry-After")).isEqualTo("5");
                }
                String message =
                        waiting.getFirst().get().json().at("/error/message").asText();
                assertThat(message)
                        .isIn(
                                "a row or table the request needs stayed locked longer than the database's lock"
                                        + " timeout; nothing was written, retry later",
                                "the database is unavailable; nothing was written, retry later");
                // Still locked: what does not need the table is answered, and no statement of the node's is
                // left waiting on the lock past the lock timeout, holding a connection slot.
                partner.access().get("/api/v1/events?after=0").expect(200);
                assertThat(waitingOnLocks(dba)).isEmpty();
                dba.rollback();
            }
            partner.access()
                    .patch("/api/v1/collections/rooms/records/" + id, Map.of("data", Map.of("state", "taken")))
                    .expect(200);
            // One line each, no stack trace: a minute of a locked table wrote megabytes of the same trace.
            assertThat(logs.lines()).noneMatch(line -> line.startsWith("ERROR"));
            assertThat(logs.lines())
                    .anyMatch(line -> line.startsWith("WARN") && line.contains("could not answer now, answering 503"));
        }
    }

    @Test
    void aReadOnlyDatabaseRefusesWritesWith503SayingSoAndStillServesReads() throws Exception {
        try (TestServer server = TestServer.start();
                CapturedLogs logs = new CapturedLogs()) {
            Partner partner = roomsPartner(server);
            String id =
                    partner.writeRecords("rooms", 1, Map.of("state", "free")).getFirst();
            try (Connection dba = connect(server)) {
                // As after a failover to a standby: new sessions may read, not write.
                setReadOnly(dba, true);
                await().atMost(Duration.ofSeconds(30))
                        .pollInterval(Duration.ofMillis(250))
                        .untilAsserted(() -> {
                            Api.Response create = partner.access()
                                    .post("/api/v1/collections/rooms/records", Map.of("data", Map.of("state", "free")));
                            assertThat(create.status()).as(create.body()).isEqualTo(503);
                            assertThat(create.json().at("/error/message").asText())
                                    .isEqualTo(
                                            "the database accepts no writes now (it is read-only); nothing was written,"
                                                    + " retry later");
                        });
                partner.access().get("/api/v1/collections/rooms/records/" + id).expect(200);
                assertThat(logs.lines()).noneMatch(line -> line.startsWith("ERROR") && line.contains("Database error"));
                // A dashboard tells a read-only database from an outage or a locked table.
                assertThat(server.api(null).get("/metrics").body())
                        .containsPattern("switchboard_database_refusals_total\\{reason=\"read_only\",?} [1-9]");
                setReadOnly(dba, false);
            }
            await().atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(250))
                    .until(() -> partner.access()
                                    .post("/api/v1/collections/rooms/records", Map.of("data", Map.of("state", "free")))
                                    .status()
                            == 201);
        }
    }

    @Test
    void webhooksGoOnWithinSecondsWhenTheDatabaseEndsTheDeliveryConnections() throws Exception {
        // Every delivery connection at once (a DBA's pg_terminate_backend, a proxy restarting): the stream's
        // worker failed, and so did its release on the next dead connection, so its lease held it for 30 s.
        Duration longestGap = longestWebhookGapAfter(dba -> {
            try (Statement s = dba.createStatement()) {
                s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname ="
                        + " current_database() AND application_name = 'switchboard-delivery'");
            }
        });
        assertThat(longestGap).as("the longest wait between two messages").isLessThan(Duration.ofSeconds(8));
    }

    @Test
    void webhooksGoOnWithinSecondsOfADeliveryTableHeldLockedForSeconds() throws Exception {
        // The stream's step waited out its lock timeout, and so did its release with the error: it waited for
        // its lease (30 s) although the lock was gone in 6.
        Duration longestGap = longestWebhookGapAfter(dba -> {
            dba.setAutoCommit(false);
            try (Statement s = dba.createStatement()) {
                s.execute("LOCK TABLE webhook_streams IN ACCESS EXCLUSIVE MODE");
                s.execute("SELECT pg_sleep(6)");
            }
            dba.commit();
        });
        assertThat(longestGap).as("the longest wait between two messages").isLessThan(Duration.ofSeconds(20));
    }

    private interface Fault {
        void apply(Connection dba) throws SQLException;
    }

    /**
     * Writes a record every 100 ms for 14 s, each sent as a webhook message, applies {@code fault} beside
     * them after the 20th, and checks that every record arrived: returns the longest wait for a message from the
     * fault on.
     */
    private static Duration longestWebhookGapAfter(Fault fault) throws Exception {
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(Map.of("SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true"))) {
            Partner partner = roomsPartner(server);
            partner.webhook(Map.of("url", receiver.url("/hook"), "maxBatchSize", 1));
            List<String> written = new ArrayList<>();
            Instant faulted = null;
            try (Connection dba = connect(server)) {
                CompletableFuture<Void> applied = null;
                long until = System.nanoTime() + Duration.ofSeconds(14).toNanos();
                for (int i = 0; System.nanoTime() < until; i++) {
                    written.addAll(partner.writeRecords("rooms", 1, Map.of("n", i)));
                    if (i == 20) {
                        // Beside the writes, which go on meanwhile.
                        faulted = Instant.now();
                        applied = CompletableFuture.runAsync(() -> {
                            try {
                                fault.apply(dba);
                            } catch (SQLException e) {
                                throw new IllegalStateException(e);
                            }
                        });
                    }
                    Thread.sleep(100);
                }
                applied.get(30, TimeUnit.SECONDS);
            }
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> receiver.received("/hook").size() >= written.size());
            assertThat(receiver.received("/hook").stream()
                            .flatMap(r ->
                                    StreamSupport.stream(r.json().get("events").spliterator(), false))
                            .map(e -> e.get("subject").asText())
                            .distinct()
                            .count())
                    .isEqualTo(written.size());
            Instant from = faulted;
            List<Instant> after = receiver.received("/hook").stream()
                    .map(Receiver.Received::at)
                    .filter(at -> at.isAfter(from))
                    .sorted()
                    .toList();
            Duration longestGap = Duration.ZERO;
            Instant previous = from;
            for (Instant at : after) {
                Duration gap = Duration.between(previous, at);
                longestGap = gap.compareTo(longestGap) > 0 ? gap : longestGap;
                previous = at;
            }
            return longestGap;
        }
    }

    /** A collection of rooms, and a partner of a tenant of its own that may read and write it and gets its events. */
    private static Partner roomsPartner(TestServer server) {
        server.createCollection("rooms");
        return Partner.create(server, List.of("rooms.*"));
    }

    private static Connection connect(TestServer server) throws SQLException {
        return DriverManager.getConnection(server.database().jdbcUrl());
    }

    /** Makes the test's database read-only (or not) for new sessions, and ends the node's sessions so it opens new ones. */
    private static void setReadOnly(Connection dba, boolean readOnly) throws SQLException {
        try (Statement s = dba.createStatement()) {
            String database;
            try (ResultSet rs = s.executeQuery("SELECT current_database()")) {
                rs.next();
                database = rs.getString(1);
            }
            s.execute("ALTER DATABASE " + database + (readOnly ? " SET" : " RESET") + " default_transaction_read_only"
                    + (readOnly ? " = on" : ""));
            s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                    + " AND pid <> pg_backend_pid()");
        }
    }

    private static List<String> waitingOnLocks(Connection dba) throws SQLException {
        try (Statement s = dba.createStatement();
                ResultSet rs = s.executeQuery("SELECT application_name, backend_type, query FROM pg_stat_activity"
                        + " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        + " AND query_start < now() - interval '7 seconds'")) {
            List<String> waiting = new ArrayList<>();
            while (rs.next()) {
                waiting.add(rs.getString(1) + " " + rs.getString(2) + ": " + rs.getString(3));
            }
            return waiting;
        }
    }
}
