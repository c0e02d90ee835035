package dev.switchboard.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.testing.CapturedLogs;
import dev.switchboard.testing.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.Test;

/**
 * A migration that alters a table another transaction holds (as a pg_dump holds every table it reads)
 * waits for it only a little at a time, so the queries queued behind it on every node pass in between.
 */
class MigrationLockTest {
    /** The newest migration before V15, which alters the events table. */
    private static final MigrationVersion BEFORE_EVENTS_CHANGE = MigrationVersion.fromVersion("14");

    @Test
    void aMigrationLetsGoOfALockedTableAndTriesAgainUntilItIsFree() throws Exception {
        DatabaseUrl url = TestDatabase.createEmpty();
        Database.migrate(url, BEFORE_EVENTS_CHANGE, Database.LockWait.DEFAULT);
        var lockWait = new Database.LockWait(Duration.ofMillis(300), Duration.ofMillis(200), 100);
        try (Connection dump = holdEvents(url);
                CapturedLogs logs = new CapturedLogs()) {
            CompletableFuture<MigrationVersion> migrating =
                    CompletableFuture.supplyAsync(() -> Database.migrate(url, null, lockWait));
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> logs.lines().stream()
                                    .filter(l -> l.startsWith("WARN") && l.contains("lets go and tries again"))
                                    .count()
                            >= 2);
            assertThat(migrating).isNotDone();
            assertThat(SchemaUpgradeTest.newestApplied(url)).isEqualTo("14");

            dump.rollback(); // the dump ends
            assertThat(migrating.get(60, TimeUnit.SECONDS).isNewerThan("14")).isTrue();
            assertThat(MigrationVersion.fromVersion(SchemaUpgradeTest.newestApplied(url))
                            .isNewerThan("14"))
                    .isTrue();
        }
    }

    @Test
    void aTableLockedThroughEveryAttemptFailsTheStartSayingWhatToDo() throws Exception {
        DatabaseUrl url = TestDatabase.createEmpty();
        Database.migrate(url, BEFORE_EVENTS_CHANGE, Database.LockWait.DEFAULT);
        var lockWait = new Database.LockWait(Duration.ofMillis(200), Duration.ofMillis(100), 3);
        try (Connection ignored = holdEvents(url)) {
            assertThatThrownBy(() -> Database.migrate(url, null, lockWait))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("stayed locked by another transaction through 3 attempts")
                    .hasMessageContaining("pg_stat_activity");
        }
        assertThat(SchemaUpgradeTest.newestApplied(url))
                .as("nothing applied past the locked table")
                .isEqualTo("14");
    }

    /**
     * V21 holds {@code webhook_messages} and then waits for {@code webhook_streams}; a node of the previous
     * release delivering webhooks holds the streams and then writes messages. When PostgreSQL broke that
     * cycle by rolling the migration back, the node's start failed, half migrated.
     */
    @Test
    void aMigrationRolledBackToBreakADeadlockRunsAgain() throws Exception {
        DatabaseUrl url = TestDatabase.createEmpty();
        Database.migrate(url, MigrationVersion.fromVersion("20"), Database.LockWait.DEFAULT);
        var lockWait = new Database.LockWait(Duration.ofSeconds(30), Duration.ofMillis(200), 3);
        try (Connection delivering = DriverManager.getConnection(url.jdbcUrl());
                Connection watching = DriverManager.getConnection(url.jdbcUrl());
                CapturedLogs logs = new CapturedLogs()) {
            delivering.setAutoCommit(false);
            try (var s = delivering.createStatement()) {
                // Only the migration looks for the deadlock, so it is the one rolled back.
                s.execute("SET deadlock_timeout = '60s'");
                s.execute("LOCK TABLE webhook_streams IN ROW EXCLUSIVE MODE");
            }
            CompletableFuture<MigrationVersion> migrating =
                    CompletableFuture.supplyAsync(() -> Database.migrate(url, null, lockWait));
            // The migration waits for the streams' lock (within the second before it looks for a deadlock).
            await().atMost(Duration.ofSeconds(20))
                    .pollInterval(Duration.ofMillis(10))
                    .until(() -> {
                        try (var rs = watching.createStatement()
                                .executeQuery("SELECT count(*) FROM pg_stat_activity WHERE application_name ="
                                        + " 'switchboard-migrations' AND wait_event_type = 'Lock'")) {
                            rs.next();
                            return rs.getInt(1) > 0;
                        }
                    });
            try (var s = delivering.createStatement()) {
                s.execute("LOCK TABLE webhook_messages IN ROW EXCLUSIVE MODE"); // granted once the migration rolls back
            }
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> logs.lines().stream()
                            .anyMatch(l -> l.startsWith("WARN") && l.contains("deadlocked with another transaction")));
            delivering.commit();
            assertThat(migrating.get(60, TimeUnit.SECONDS).isNewerThan("21")).isTrue();
        }
    }

    /** The URL's own options (a search_path) still apply: the lock timeout is added to them. */
    @Test
    void migrationsKeepTheOptionsOfTheDatabasesUrl() throws Exception {
        DatabaseUrl empty = TestDatabase.createEmpty();
        try (Connection c = DriverManager.getConnection(empty.jdbcUrl());
                var s = c.createStatement()) {
            s.execute("CREATE SCHEMA switchboard_here");
        }
        String separator = empty.jdbcUrl().contains("?") ? "&" : "?";
        DatabaseUrl url = new DatabaseUrl(
                empty.jdbcUrl() + separator + "options=-c%20search_path%3Dswitchboard_here",
                empty.user(),
                empty.password());
        Database.migrate(url, BEFORE_EVENTS_CHANGE, Database.LockWait.DEFAULT);
        try (Connection c = DriverManager.getConnection(empty.jdbcUrl());
                var rs = c.createStatement()
                        .executeQuery("SELECT to_regclass('switchboard_here.flyway_schema_history') IS NOT NULL,"
                                + " to_regclass('public.flyway_schema_history') IS NOT NULL")) {
            rs.next();
            assertThat(rs.getBoolean(1))
                    .as("migrated into the URL's search_path")
                    .isTrue();
            assertThat(rs.getBoolean(2)).as("nothing in public").isFalse();
        }
    }

    /** A transaction reading the events table, holding it as a pg_dump does until it ends. */
    private static Connection holdEvents(DatabaseUrl url) throws SQLException {
        Connection c = DriverManager.getConnection(url.jdbcUrl());
        c.setAutoCommit(false);
        try (var s = c.createStatement()) {
            s.execute("LOCK TABLE events IN ACCESS SHARE MODE");
        }
        return c;
    }
}
