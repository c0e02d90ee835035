package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ReadinessTest {
    private static final int POOL_SIZE = 8;

    /**
     * The server connects as a role that may hold exactly the connections it is configured to: its pool,
     * the delivery pool, the WebSocket feed's, the LISTEN connection and the readiness check's own. Every readiness check that
     * opened a connection of its own beyond that would be refused by PostgreSQL and answer 503.
     */
    @Test
    void manyConcurrentReadinessChecksHoldAtMostTheHealthPoolsConnection() throws Exception {
        DatabaseUrl database = TestDatabase.create();
        String role = "ready_probe_" + System.nanoTime();
        // The pool, the delivery pool (half of it, at least 4), the WebSocket feed's (a quarter, at least 2),
        // LISTEN, and the readiness check's one connection.
        int allowed = POOL_SIZE + Math.max(4, POOL_SIZE / 2) + Math.max(2, POOL_SIZE / 4) + 1 + 1;
        // A member of postgres has its privileges but, not being a superuser itself, is held to its connection limit.
        exec(
                database,
                "CREATE ROLE " + role + " LOGIN PASSWORD 'probe' CONNECTION LIMIT " + allowed + " IN ROLE postgres");
        String url =
                database.jdbcUrl().replaceFirst("user=postgres&password=[^&]*", "user=" + role + "&password=probe");
        AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-06-01T00:00:00Z"));
        try (TestServer server = TestServer.start(
                        database,
                        Map.of(
                                "SWITCHBOARD_DATABASE_URL",
                                url,
                                "SWITCHBOARD_DATABASE_POOL_SIZE",
                                Integer.toString(POOL_SIZE)),
                        now::get);
                var callers = Executors.newVirtualThreadPerTaskExecutor()) {
            Api anonymous = server.api(null);
            List<Integer> statuses = new ArrayList<>();
            for (int round = 0; round < 5; round++) {
                now.set(now.get().plusSeconds(1)); // each round finds the last answer stale
                List<Future<Integer>> calls = new ArrayList<>();
                for (int i = 0; i < 60; i++) {
                    calls.add(
                            callers.submit(() -> anonymous.get("/health/ready").status()));
                }
                for (Future<Integer> call : calls) {
                    statuses.add(call.get());
                }
            }
            assertThat(statuses).hasSize(300).containsOnly(200);
            assertThat(count(
                            database,
                            "SELECT count(*) FROM pg_stat_activity WHERE usename = '" + role
                                    + "' AND application_name = 'switchboard-health'"))
                    .isLessThanOrEqualTo(1);
        } finally {
            exec(database, "DROP ROLE IF EXISTS " + role);
        }
    }

    /** A schema newer than the server's makes it unready; the answer changes only once a second has passed. */
    @Test
    void theReadinessAnswerIsReusedForASecond() throws Exception {
        DatabaseUrl database = TestDatabase.create();
        AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-06-01T00:00:00Z"));
        try (TestServer server = TestServer.start(database, Map.of(), now::get)) {
            Api anonymous = server.api(null);
            assertThat(anonymous.get("/health/ready").status()).isEqualTo(200);
            exec(
                    database,
                    // The newest row now names a schema older than this server's, as after a restore.
                    "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script,"
                            + " installed_by, execution_time, success) VALUES (9999, '1', 'an older schema', 'SQL', 'V1__x.sql',"
                            + " 'test', 0, true)");
            assertThat(anonymous.get("/health/ready").status())
                    .as("within the second")
                    .isEqualTo(200);
            now.set(now.get().plusMillis(999));
            assertThat(anonymous.get("/health/ready").status())
                    .as("999 ms later")
                    .isEqualTo(200);
            now.set(now.get().plusMillis(1));
            assertThat(anonymous.get("/health/ready").status())
                    .as("a second later")
                    .isEqualTo(503);
            assertThat(server.metric("switchboard_ready"))
                    .as("the metric says the same")
                    .isZero();
            exec(database, "DELETE FROM flyway_schema_history WHERE installed_rank = 9999");
            assertThat(anonymous.get("/health/ready").status()).isEqualTo(503);
            now.set(now.get().plusSeconds(1));
            assertThat(anonymous.get("/health/ready").status()).isEqualTo(200);
            assertThat(server.metric("switchboard_ready")).isEqualTo(1.0);

            // A newer server migrated the database (a rolling upgrade): this one stays ready.
            exec(
                    database,
                    "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script,"
                            + " installed_by, execution_time, success) VALUES (9999, '9999', 'from a newer server', 'SQL',"
                            + " 'V9999__x.sql', 'test', 0, true)");
            now.set(now.get().plusSeconds(1));
            assertThat(anonymous.get("/health/ready").status())
                    .as("the database at a newer schema")
                    .isEqualTo(200);
        }
    }

    private static void exec(DatabaseUrl database, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(database.jdbcUrl());
                var s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static int count(DatabaseUrl database, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(database.jdbcUrl());
                var s = c.createStatement();
                var rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
