package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.testing.QueryPlans;
import dev.switchboard.testing.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The dispatcher's claim of due manual messages, four times a second on every node: its work follows
 * the messages waiting, not every message ever retried.
 */
class ManualClaimTest {
    private static final int FINISHED = 20_000;
    private static final int WAITING = 50;

    @Test
    void retriedMessagesWaitingBehindManyFinishedOnesAreClaimedOldestFirstWithoutReadingTheFinished() throws Exception {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(TestDatabase.create().jdbcUrl());
        try (HikariDataSource pool = new HikariDataSource(config)) {
            long endpoint;
            try (Connection c = pool.getConnection();
                    Statement s = c.createStatement()) {
                s.execute("SET session_replication_role = replica"); // rows only: no integration, stream or event
                try (ResultSet rs = s.executeQuery("INSERT INTO webhook_endpoints (id, integration_pk, url, kind,"
                        + " event_types, max_batch_size, state) VALUES ('wh_claimed', 1, 'https://partner.example/',"
                        + " 'events', '{*}', 1, 'enabled') RETURNING pk")) {
                    rs.next();
                    endpoint = rs.getLong(1);
                }
                // Stream 7's retried messages: a few bulk retries' worth delivered or failed again, then
                // those still waiting (all due), and a test message, which belongs to no stream.
                s.execute("INSERT INTO webhook_messages (id, endpoint_pk, webhook_stream_pk, lane, first_seq,"
                        + " last_seq, event_count, status, attempts, finished_at) SELECT gen_random_uuid(), "
                        + endpoint + ", 7, 'manual', n, n, 1, CASE WHEN n % 3 = 0 THEN 'failed' ELSE 'delivered'"
                        + " END, 2, now() FROM generate_series(1, " + FINISHED + ") n");
                s.execute("INSERT INTO webhook_messages (id, endpoint_pk, webhook_stream_pk, lane, first_seq,"
                        + " last_seq, event_count, status, attempts, next_attempt_at) SELECT gen_random_uuid(), "
                        + endpoint + ", 7, 'manual', n, n, 1, 'pending', 1, now() - interval '1 second'"
                        + " FROM generate_series(" + (FINISHED + 1) + ", " + (FINISHED + WAITING) + ") n");
                s.execute("INSERT INTO webhook_messages (id, endpoint_pk, lane, event_count, body, status,"
                        + " next_attempt_at) VALUES (gen_random_uuid(), " + endpoint + ", 'manual', 1, '{}',"
                        + " 'pending', now() - interval '1 second')");
                s.execute("ANALYZE webhook_messages");
            }

            long read;
            try (Connection c = pool.getConnection()) {
                JsonNode plan = QueryPlans.explain(
                        c,
                        MessageLog.CLAIM_MANUAL,
                        "node_a",
                        30_000L,
                        10,
                        c.createArrayOf("bigint", new Long[0]),
                        c.createArrayOf("int", new Integer[0]),
                        10);
                read = QueryPlans.rowsRead(plan, "webhook_messages");
            }
            assertThat(read).as("rows of webhook_messages the claim looks at").isLessThan(20L * WAITING);

            MessageLog messages = new MessageLog(
                    pool, "node_a", Duration.ofSeconds(30), Duration.ofDays(1), new ControlChannel(), null);
            List<Long> claimed = messages.claimManual(10, Map.of(), 10).stream()
                    .map(m -> m.message().lastSeq())
                    .toList();
            // The stream's oldest waiting message, and the test: one stream's retries go one at a time.
            assertThat(claimed).containsExactlyInAnyOrder((long) FINISHED + 1, null);
        }
    }
}
