package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.support.Ids;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.tracing.Tracing;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The step statement is planned again for webhook_messages as it is now, not as autovacuum last saw it:
 * a plan made while the table was analyzed empty (which reads the whole table) is dropped within
 * {@link StepWriter#REPLAN_EVERY} once the table has grown.
 */
@Timeout(60)
class StepWriterPlanTest {
    private static final List<String> TABLES =
            List.of("webhook_messages", "webhook_attempts", "webhook_streams", "webhook_endpoints");

    @Test
    void aPlanMadeWhileTheMessagesWereAnalyzedEmptyIsReplacedOnceTheTableHasGrown() throws SQLException {
        HikariConfig config = new HikariConfig();
        String url = TestDatabase.create().jdbcUrl();
        config.setJdbcUrl(url);
        config.setMaximumPoolSize(1); // the writer's statements and the test's EXPLAIN share one session's plans
        AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));
        try (HikariDataSource pool = new HikariDataSource(config)) {
            execute(pool, "VACUUM ANALYZE webhook_messages"); // as after every message was deleted
            for (String table : TABLES) {
                // No analysis may replace the plan behind the test's back: only the writer's own replanning.
                execute(pool, "ALTER TABLE " + table + " SET (autovacuum_enabled = false)");
            }
            MessageLog messages = new MessageLog(
                    pool, "node_a", Duration.ofSeconds(30), Duration.ofDays(1), new ControlChannel(), null);
            try (StepWriter writer = new StepWriter(
                    pool, messages, new WebhookMetrics(new SimpleMeterRegistry(), pool), Tracing.OFF, now::get)) {
                // Past the driver's threshold for a named statement and the server's five custom plans.
                for (int i = 0; i < 12; i++) {
                    writeStepOfAStreamThatDoesNotExist(writer);
                }
                assertThat(stepPlan(pool))
                        .as("the step's plan while webhook_messages is analyzed empty")
                        .contains("Seq Scan on webhook_messages");

                // On a session of its own: setting the replication role drops that session's plans.
                try (Connection c = DriverManager.getConnection(url);
                        Statement s = c.createStatement()) {
                    s.execute("SET session_replication_role = replica"); // rows only: no endpoint needed
                    s.execute("INSERT INTO webhook_messages (id, endpoint_pk, lane, event_count, status)"
                            + " SELECT gen_random_uuid(), 1, 'stream', 1, 'delivered' FROM generate_series(1, 50000)");
                }
                writeStepOfAStreamThatDoesNotExist(writer);
                assertThat(stepPlan(pool))
                        .as("within a second of the last planning, the plan is kept")
                        .contains("Seq Scan on webhook_messages");

                now.set(now.get().plus(StepWriter.REPLAN_EVERY));
                writeStepOfAStreamThatDoesNotExist(writer);
                assertThat(stepPlan(pool))
                        .as("the step's plan once the writer has planned it again, 50,000 messages later")
                        .contains("Index Scan using webhook_messages_pkey on webhook_messages")
                        .doesNotContain("Seq Scan on webhook_messages");
            }
        }
    }

    private static void writeStepOfAStreamThatDoesNotExist(StepWriter writer) {
        MessageLog.Pending delivered = new MessageLog.Pending(1, Ids.newUuid(), 1, "{}", 0, 0, 1L, null, null);
        Attempt ok = new Attempt(Attempt.Outcome.delivered, 200, null, "", Optional.empty(), Instant.now(), 5);
        MessageLog.Stepped stepped = writer.write(new MessageLog.Step(
                -1,
                1,
                new MessageLog.Done(delivered, ok),
                new MessageLog.Next(Ids.newUuid(), "hotel", 2, 2, 1, null, "{}", null, null)));
        assertThat(stepped.held()).isFalse();
    }

    /** EXPLAIN of the writer's prepared step statement on the pool's one session, with one step's values. */
    private static String stepPlan(HikariDataSource pool) throws SQLException {
        try (Connection c = pool.getConnection();
                Statement s = c.createStatement()) {
            String name;
            List<String> values = new ArrayList<>();
            try (ResultSet rs = s.executeQuery("SELECT name, parameter_types::text[] FROM pg_prepared_statements"
                    + " WHERE statement LIKE 'WITH s AS (UPDATE webhook_streams %'")) {
                assertThat(rs.next())
                        .as("the step statement is prepared on the session")
                        .isTrue();
                name = rs.getString(1);
                for (Object type : (Object[]) rs.getArray(2).getArray()) {
                    values.add(
                            switch (type.toString()) {
                                // uuids and texts travel as strings, and a uuid is a valid text
                                case "uuid[]", "text[]", "character varying[]" -> "'{" + Ids.newUuid() + "}'";
                                case "text" -> "'node_a'";
                                case "bigint[]", "integer[]" -> "'{1}'";
                                default -> "1";
                            });
                }
            }
            StringBuilder plan = new StringBuilder();
            try (ResultSet rs = s.executeQuery("EXPLAIN EXECUTE \"" + name + "\"(" + String.join(", ", values) + ")")) {
                while (rs.next()) {
                    plan.append(rs.getString(1)).append('\n');
                }
            }
            return plan.toString();
        }
    }

    private static void execute(HikariDataSource pool, String sql) throws SQLException {
        try (Connection c = pool.getConnection();
                Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }
}
