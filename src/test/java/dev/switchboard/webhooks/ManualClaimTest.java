package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.switchboard.db.Jdbc;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.testing.QueryPlans;
import dev.switchboard.testing.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The dispatcher's claim of due manual messages (four times a second on every node, and whenever a slot
 * frees), the claim of a stream's next retried message, and the streams view's count of them: their work
 * follows the messages waiting, not every message ever retried, also while the table's statistics are
 * older than the bulk retry.
 */
class ManualClaimTest {
    private static final int FINISHED = 20_000;
    private static final int WAITING = 2_000;

    private HikariDataSource pool;
    private Connection c;
    /** Writes rows only: no integration, stream or event behind them. */
    private Statement s;

    private long endpoint;
    private MessageLog messages;

    @BeforeEach
    void database() throws Exception {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(TestDatabase.create().jdbcUrl());
        pool = new HikariDataSource(config);
        c = pool.getConnection();
        s = c.createStatement();
        s.execute("SET session_replication_role = replica");
        try (ResultSet rs = s.executeQuery("INSERT INTO webhook_endpoints (id, integration_pk, url, kind, event_types,"
                + " max_batch_size, state) VALUES ('wh_claimed', 1, 'https://partner.example/', 'events', '{*}', 1,"
                + " 'enabled') RETURNING pk")) {
            rs.next();
            endpoint = rs.getLong(1);
        }
        messages =
                new MessageLog(pool, "node_a", Duration.ofSeconds(30), Duration.ofDays(1), new ControlChannel(), null);
    }

    @AfterEach
    void close() throws Exception {
        s.close();
        c.close();
        pool.close();
    }

    /**
     * A bulk retry: the endpoint's failed messages of a stream ({@code first} to {@code last}) made its
     * waiting manual messages after the table was last analyzed, as they are until autovacuum analyzes it
     * again (the statistics then say none waits).
     */
    private void retriedSinceTheLastAnalysis(long stream, long first, long last) throws Exception {
        s.execute("INSERT INTO webhook_messages (id, endpoint_pk, webhook_stream_pk, lane, first_seq, last_seq,"
                + " event_count, status, attempts, finished_at) SELECT gen_random_uuid(), " + endpoint + ", " + stream
                + ", 'stream', n, n, 1, 'failed', 3, now() FROM generate_series(" + first + ", " + last + ") n");
        s.execute("ANALYZE webhook_messages");
        s.execute("UPDATE webhook_messages SET lane = 'manual', status = 'pending', round_start = attempts,"
                + " next_attempt_at = now() - interval '1 second', finished_at = NULL WHERE webhook_stream_pk = "
                + stream + " AND status = 'failed' AND lane = 'stream'");
    }

    @Test
    void retriedMessagesWaitingBehindManyFinishedOnesAreClaimedOldestFirstWithoutReadingTheFinished() throws Exception {
        // Stream 7's retried messages: a few bulk retries' worth delivered or failed again, then those still
        // waiting (all due), and a test message, which belongs to no stream.
        s.execute("INSERT INTO webhook_messages (id, endpoint_pk, webhook_stream_pk, lane, first_seq, last_seq,"
                + " event_count, status, attempts, finished_at) SELECT gen_random_uuid(), " + endpoint + ", 7,"
                + " 'manual', n, n, 1, CASE WHEN n % 3 = 0 THEN 'failed' ELSE 'delivered' END, 2, now()"
                + " FROM generate_series(1, " + FINISHED + ") n");
        testMessage();
        retriedSinceTheLastAnalysis(7, FINISHED + 1, FINISHED + WAITING);

        JsonNode plan = QueryPlans.explain(
                c,
                MessageLog.CLAIM_MANUAL,
                "node_a",
                30_000L,
                10,
                c.createArrayOf("bigint", new Long[0]),
                c.createArrayOf("int", new Integer[0]),
                10);
        // Each waiting message once for the streams' oldest, once as a candidate: not the finished ones.
        assertThat(QueryPlans.rowsRead(plan, "webhook_messages"))
                .as("rows of webhook_messages the claim looks at")
                .isLessThan(3L * WAITING);
        // A few steps of the plan for each waiting message; not each stream's oldest found again for every one
        // of them (4 million rows for 2,000 waiting, 0.9 s a claim).
        assertThat(QueryPlans.rowsHandled(plan))
                .as("rows the claim's plan handles")
                .isLessThan(20L * WAITING);

        List<Long> claimed = messages.claimManual(10, Map.of(), 10).stream()
                .map(m -> m.message().lastSeq())
                .toList();
        // The stream's oldest waiting message, and the test: one stream's retries go one at a time.
        assertThat(claimed).containsExactlyInAnyOrder((long) FINISHED + 1, null);
    }

    /**
     * The streams view counts each stream's retried messages waiting: from those waiting, not from the
     * stream's every message, retried or not.
     */
    @Test
    void theStreamsViewCountsTheRetriedMessagesWaitingWithoutReadingTheRest() throws Exception {
        s.execute("INSERT INTO webhook_messages (id, endpoint_pk, webhook_stream_pk, lane, first_seq, last_seq,"
                + " event_count, status, attempts, finished_at) SELECT gen_random_uuid(), " + endpoint + ", 7,"
                + " CASE WHEN n % 2 = 0 THEN 'manual' ELSE 'stream' END, n, n, 1, 'delivered', 1, now()"
                + " FROM generate_series(1, " + FINISHED + ") n");
        retriedSinceTheLastAnalysis(7, FINISHED + 1, FINISHED + WAITING);
        // The endpoint's stream 7 follows tenant 1's log; no connection: the lifecycle stream's shape.
        s.execute("INSERT INTO streams (pk, tenant_pk, last_seq) OVERRIDING SYSTEM VALUE VALUES (1, 1, "
                + (FINISHED + WAITING) + ")");
        s.execute("INSERT INTO webhook_streams (pk, endpoint_pk, stream_pk, position) OVERRIDING SYSTEM VALUE"
                + " VALUES (7, " + endpoint + ", 1, " + (FINISHED + WAITING) + ")");

        JsonNode plan =
                QueryPlans.explain(c, DeliveryOverview.STREAMS, endpoint, endpoint, null, null, null, null, 100);
        assertThat(QueryPlans.rowsRead(plan, "webhook_messages"))
                .as("rows of webhook_messages the streams view looks at")
                .isBetween((long) WAITING, 2L * WAITING);
        assertThat(Jdbc.query(
                        c,
                        DeliveryOverview.STREAMS,
                        rs -> rs.getLong("retries_waiting"),
                        endpoint,
                        endpoint,
                        null,
                        null,
                        null,
                        null,
                        100))
                .containsExactly((long) WAITING);
    }

    /**
     * The next retried message of a stream, once the one before it is finished: found past the stream's
     * finished messages, and taken only when its turn has really come.
     */
    @Test
    void theNextRetriedMessageOfAStreamIsClaimedOnlyOnceTheOneBeforeItIsFinishedAndItMayGo() throws Exception {
        // Stream 7: seq 1 just delivered, 2 and 3 delivered by an earlier retry, 4 to 6 waiting (6 not due
        // yet), and stream 8's 10 waiting.
        s.execute("INSERT INTO webhook_messages (pk, id, endpoint_pk, webhook_stream_pk, lane, first_seq, last_seq,"
                + " event_count, status, attempts, next_attempt_at, finished_at) OVERRIDING SYSTEM VALUE VALUES"
                + " (1, gen_random_uuid(), " + endpoint + ", 7, 'manual', 1, 1, 1, 'delivered', 2, NULL, now()),"
                + " (2, gen_random_uuid(), " + endpoint + ", 7, 'manual', 2, 2, 1, 'delivered', 2, NULL, now()),"
                + " (3, gen_random_uuid(), " + endpoint + ", 7, 'manual', 3, 3, 1, 'failed', 2, NULL, now()),"
                + " (4, gen_random_uuid(), " + endpoint + ", 7, 'manual', 4, 4, 1, 'pending', 1, now(), NULL),"
                + " (5, gen_random_uuid(), " + endpoint + ", 7, 'manual', 5, 5, 1, 'pending', 1, now(), NULL),"
                + " (6, gen_random_uuid(), " + endpoint + ", 7, 'manual', 6, 6, 1, 'pending', 1,"
                + "   now() + interval '1 hour', NULL),"
                + " (10, gen_random_uuid(), " + endpoint + ", 8, 'manual', 10, 10, 1, 'pending', 1, now(), NULL)");
        s.execute("ALTER TABLE webhook_messages ALTER COLUMN pk RESTART WITH 100"); // past those given

        assertThat(messages.claimNextOfStream(c, 1).map(MessageLog.Pending::pk)).contains(4L);
        assertThat(messages.claimNextOfStream(c, 1))
                .as("taken already: leased to this node")
                .isEmpty();
        assertThat(messages.claimNextOfStream(c, 4))
                .as("its predecessor still pending (being sent, or its lease lost to another node)")
                .isEmpty();

        s.execute("UPDATE webhook_messages SET status = 'delivered', next_attempt_at = NULL, leased_by = NULL"
                + " WHERE pk = 4");
        s.execute("UPDATE webhook_endpoints SET state = 'disabled' WHERE pk = " + endpoint);
        assertThat(messages.claimNextOfStream(c, 4)).as("its endpoint disabled").isEmpty();
        s.execute("UPDATE webhook_endpoints SET state = 'enabled' WHERE pk = " + endpoint);
        assertThat(messages.claimNextOfStream(c, 4).map(MessageLog.Pending::pk)).contains(5L);

        s.execute("UPDATE webhook_messages SET status = 'failed', next_attempt_at = NULL, leased_by = NULL"
                + " WHERE pk = 5");
        assertThat(messages.claimNextOfStream(c, 5))
                .as("the next is not due yet")
                .isEmpty();

        // Stream 9, a bulk retry of 2,000 since the last analysis, its first delivered: the next is found
        // by reading the finished message once and the stream's next few, not the stream's every message.
        retriedSinceTheLastAnalysis(9, 100, 100 + WAITING - 1);
        long finished;
        try (ResultSet rs = s.executeQuery("UPDATE webhook_messages SET status = 'delivered', next_attempt_at ="
                + " NULL WHERE webhook_stream_pk = 9 AND first_seq = 100 RETURNING pk")) {
            rs.next();
            finished = rs.getLong(1);
        }
        long read = QueryPlans.rowsRead(
                QueryPlans.explain(c, MessageLog.CLAIM_NEXT_OF_STREAM, finished, "node_a", 30_000L),
                "webhook_messages");
        assertThat(read).as("rows of webhook_messages read").isLessThan(2L * MessageLog.NEXT_OF_STREAM_SCAN);
        assertThat(messages.claimNextOfStream(c, finished).map(MessageLog.Pending::lastSeq))
                .contains(101L);
    }

    /**
     * An older failed message retried while a newer one of its stream was being sent went out at once,
     * beside it: two of one stream in flight, out of seq order. It waits until none of its stream is
     * being sent, on any node, also in the moment between one retried message's outcome and the claim of
     * the next, which are one transaction.
     */
    @Test
    void noRetriedMessageIsClaimedWhileAnotherOfItsStreamIsBeingSent() throws Exception {
        // Stream 7: seq 5209 and 5210 retried, and node_a sends 5209; then seq 5010 retried too.
        s.execute("INSERT INTO webhook_messages (id, endpoint_pk, webhook_stream_pk, lane, first_seq, last_seq,"
                + " event_count, status, attempts, next_attempt_at) SELECT gen_random_uuid(), " + endpoint + ", 7,"
                + " 'manual', n, n, 1, 'pending', 1, now() - interval '1 second' FROM generate_series(5209, 5210) n");
        MessageLog.Pending sent =
                messages.claimManual(10, Map.of(), 10).getFirst().message();
        assertThat(sent.lastSeq()).isEqualTo(5209L);
        s.execute("INSERT INTO webhook_messages (id, endpoint_pk, webhook_stream_pk, lane, first_seq, last_seq,"
                + " event_count, status, attempts, next_attempt_at) VALUES (gen_random_uuid(), " + endpoint + ", 7,"
                + " 'manual', 5010, 5010, 1, 'pending', 1, now() - interval '1 second')");
        testMessage();
        MessageLog nodeB =
                new MessageLog(pool, "node_b", Duration.ofSeconds(30), Duration.ofDays(1), new ControlChannel(), null);
        assertThat(nodeB.claimManual(10, Map.of(), 10))
                .extracting(m -> m.message().lastSeq())
                .as("the test only: seq 5209 is being sent")
                .containsExactly((Long) null);

        // node_a records 5209's outcome and claims 5210 with it, held up on 5210's row meanwhile.
        MessageLog.Pending next;
        try (Connection holder = pool.getConnection();
                Statement held = holder.createStatement()) {
            holder.setAutoCommit(false);
            held.execute("SELECT 1 FROM webhook_messages WHERE first_seq = 5210 FOR UPDATE");
            CompletableFuture<MessageLog.RecordedManual> recording = CompletableFuture.supplyAsync(
                    () -> messages.recordManual(sent, delivered(), new Decision.Delivered(), true));
            awaitALockWait();
            assertThat(nodeB.claimManual(10, Map.of(), 10))
                    .as("between 5209's outcome and the claim of 5210")
                    .isEmpty();
            holder.commit();
            next = recording.get(10, TimeUnit.SECONDS).next();
            assertThat(next.lastSeq()).isEqualTo(5210L);
        }
        assertThat(nodeB.claimManual(10, Map.of(), 10)).as("5210 is being sent").isEmpty();

        // 5210 delivered at the end of node_a's turn, nothing claimed with it: 5010 may go now.
        messages.recordManual(next, delivered(), new Decision.Delivered(), false);
        assertThat(nodeB.claimManual(10, Map.of(), 10))
                .extracting(m -> m.message().lastSeq())
                .containsExactly(5010L);
    }

    /** A delivered attempt. */
    private static Attempt delivered() {
        return new Attempt(Attempt.Outcome.delivered, 200, null, "", Optional.empty(), Instant.now(), 3);
    }

    /** Waits until a statement of this database waits for a row lock another transaction holds. */
    private void awaitALockWait() throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < until) {
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity"
                    + " WHERE datname = current_database() AND wait_event_type = 'Lock'")) {
                rs.next();
                if (rs.getLong(1) > 0) {
                    return;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no statement waited for a lock within 10 s");
    }

    /** A test message, due: it belongs to no stream. */
    private void testMessage() throws Exception {
        s.execute("INSERT INTO webhook_messages (id, endpoint_pk, lane, event_count, body, status, next_attempt_at)"
                + " VALUES (gen_random_uuid(), " + endpoint + ", 'manual', 1, '{}', 'pending', now() - interval"
                + " '1 second')");
    }
}
