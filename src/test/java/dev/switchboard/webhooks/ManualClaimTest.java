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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The dispatcher's claim of due manual messages (four times a second on every node, and whenever a slot
 * frees), the claim of a stream's next retried message, and the streams view's count of them: their work
 * follows the messages waiting, not every message ever retried, also while the table's statistics are
 * older than the bulk retry; one stream's retried messages go one at a time, on any node; and a claimed
 * message meets an endpoint disabled meanwhile as the disabling met those waiting, and a connection
 * disabled meanwhile as the claim would have.
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
    void retriedMessagesWaitingBehindManyFinishedOnesAreClaimedOldestFirstReadingOnlyEachStreamsOldest()
            throws Exception {
        // Stream 7's retried messages: a few bulk retries' worth delivered or failed again, then those still
        // waiting (all due); tests sent before, and one waiting, which belong to no stream.
        s.execute("INSERT INTO webhook_messages (id, endpoint_pk, webhook_stream_pk, lane, first_seq, last_seq,"
                + " event_count, status, attempts, finished_at) SELECT gen_random_uuid(), " + endpoint + ", 7,"
                + " 'manual', n, n, 1, CASE WHEN n % 3 = 0 THEN 'failed' ELSE 'delivered' END, 2, now()"
                + " FROM generate_series(1, " + FINISHED + ") n");
        s.execute("INSERT INTO webhook_messages (id, endpoint_pk, lane, event_count, body, status, attempts,"
                + " finished_at) SELECT gen_random_uuid(), " + endpoint + ", 'manual', 1, '{}', 'delivered', 1,"
                + " now() FROM generate_series(1, " + FINISHED + ")");
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
        // A few rows for the stream and the test: not the finished ones, nor every one waiting (a grouping of
        // them all, then a join of each, took 100 ms a claim at 10,000 waiting, four times a second).
        assertThat(QueryPlans.rowsRead(plan, "webhook_messages"))
                .as("rows of webhook_messages the claim looks at")
                .isLessThan(20L);
        assertThat(QueryPlans.rowsHandled(plan))
                .as("rows the claim's plan handles")
                .isLessThan(100L);

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
     * The next retried message of a stream, claimed with the outcome of the one before it: found past the
     * stream's finished messages, and taken only when its turn has really come.
     */
    @Test
    void theNextRetriedMessageOfAStreamIsClaimedOnlyOnceTheOneBeforeItIsFinishedAndItMayGo() throws Exception {
        // Stream 7: seq 1 being sent by node_a, 2 and 3 delivered or failed by an earlier retry, 4 to 6 waiting
        // (6 not due yet), and stream 8's 10 waiting.
        s.execute("INSERT INTO webhook_messages (pk, id, endpoint_pk, webhook_stream_pk, lane, first_seq, last_seq,"
                + " event_count, status, attempts, next_attempt_at, finished_at) OVERRIDING SYSTEM VALUE VALUES"
                + " (1, gen_random_uuid(), " + endpoint + ", 7, 'manual', 1, 1, 1, 'pending', 1, now(), NULL),"
                + " (2, gen_random_uuid(), " + endpoint + ", 7, 'manual', 2, 2, 1, 'delivered', 2, NULL, now()),"
                + " (3, gen_random_uuid(), " + endpoint + ", 7, 'manual', 3, 3, 1, 'failed', 2, NULL, now()),"
                + " (4, gen_random_uuid(), " + endpoint + ", 7, 'manual', 4, 4, 1, 'pending', 1, now(), NULL),"
                + " (5, gen_random_uuid(), " + endpoint + ", 7, 'manual', 5, 5, 1, 'pending', 1, now(), NULL),"
                + " (6, gen_random_uuid(), " + endpoint + ", 7, 'manual', 6, 6, 1, 'pending', 1,"
                + "   now() + interval '1 hour', NULL),"
                + " (10, gen_random_uuid(), " + endpoint + ", 8, 'manual', 10, 10, 1, 'pending', 1, now(), NULL)");
        s.execute("ALTER TABLE webhook_messages ALTER COLUMN pk RESTART WITH 100"); // past those given

        assertThat(finish(1, new Decision.Delivered()))
                .extracting(MessageLog.Pending::pk)
                .isEqualTo(4L);
        assertThat(finish(1, new Decision.Delivered()))
                .as("taken already: leased to this node")
                .isNull();

        s.execute("UPDATE webhook_messages SET leased_by = 'node_b' WHERE pk = 4");
        assertThat(messages.recordManual(pending(4), delivered(), new Decision.Delivered(), true))
                .as("its lease lost to another node: nothing recorded, nothing claimed")
                .extracting(MessageLog.Recorded::next)
                .isNull();
        assertThat(status(4)).isEqualTo("pending");

        s.execute("UPDATE webhook_endpoints SET state = 'disabled' WHERE pk = " + endpoint);
        assertThat(finish(4, new Decision.Delivered()))
                .as("its endpoint disabled")
                .isNull();
        s.execute("UPDATE webhook_endpoints SET state = 'enabled' WHERE pk = " + endpoint);
        assertThat(finish(4, new Decision.Delivered()))
                .extracting(MessageLog.Pending::pk)
                .isEqualTo(5L);

        assertThat(finish(5, new Decision.Abandoned()))
                .as("failed again; the next is not due yet")
                .isNull();
        assertThat(messages.recordManual(pending(5), delivered(), new Decision.RetryLater(Duration.ZERO), true))
                .as("to be retried: its stream waits for it")
                .extracting(MessageLog.Recorded::next)
                .isNull();

        // Stream 9, a bulk retry of 2,000 since the last analysis, its first being sent: the next is found
        // by reading the stream's next one.
        retriedSinceTheLastAnalysis(9, 100, 100 + WAITING - 1);
        long first;
        try (ResultSet rs = s.executeQuery("UPDATE webhook_messages SET leased_by = 'node_a', lease_until = now()"
                + " + interval '30 seconds' WHERE webhook_stream_pk = 9 AND first_seq = 100 RETURNING pk")) {
            rs.next();
            first = rs.getLong(1);
        }
        MessageLog.Recording recording =
                messages.manualRecording(pending(first), delivered(), new Decision.Delivered(), true);
        long read = QueryPlans.rowsRead(QueryPlans.explain(c, recording.sql(), recording.params()), "webhook_messages");
        // The finished one and the next: not the stream's next hundred, nor its every message.
        assertThat(read).as("rows of webhook_messages read").isLessThan(10L);
        assertThat(finish(first, new Decision.Delivered()))
                .extracting(MessageLog.Pending::lastSeq)
                .isEqualTo(101L);
    }

    /**
     * An older failed message retried while a newer one of its stream was being sent went out at once,
     * beside it: two of one stream in flight, out of seq order. It waits until none of its stream is
     * being sent, on any node, then goes before the newer ones waiting; and the stream is never idle
     * between one retried message's outcome and the claim of the next: they are one statement. Recorded
     * and claimed in two, another node's claim found the stream idle in between.
     */
    @Test
    void noRetriedMessageIsClaimedWhileAnotherOfItsStreamIsBeingSent() throws Exception {
        // Stream 7: seq 5201 to 5500 retried, and node_a sends 5201; then seq 5010 retried too, and a test.
        s.execute("INSERT INTO webhook_messages (id, endpoint_pk, webhook_stream_pk, lane, first_seq, last_seq,"
                + " event_count, status, attempts, next_attempt_at) SELECT gen_random_uuid(), " + endpoint + ", 7,"
                + " 'manual', n, n, 1, 'pending', 1, now() - interval '1 second' FROM generate_series(5201, 5500) n");
        MessageLog.Pending sent =
                messages.claimManual(10, Map.of(), 10).getFirst().message();
        assertThat(sent.lastSeq()).isEqualTo(5201L);
        s.execute("INSERT INTO webhook_messages (id, endpoint_pk, webhook_stream_pk, lane, first_seq, last_seq,"
                + " event_count, status, attempts, next_attempt_at) VALUES (gen_random_uuid(), " + endpoint + ", 7,"
                + " 'manual', 5010, 5010, 1, 'pending', 1, now() - interval '1 second')");
        testMessage();
        MessageLog nodeB =
                new MessageLog(pool, "node_b", Duration.ofSeconds(30), Duration.ofDays(1), new ControlChannel(), null);
        assertThat(nodeB.claimManual(10, Map.of(), 10))
                .extracting(m -> m.message().lastSeq())
                .as("the test only: seq 5201 is being sent")
                .containsExactly((Long) null);

        // node_a sends the stream's retried messages one after another, as its chain does, up to the last,
        // while node_b claims as often as it can.
        AtomicBoolean chaining = new AtomicBoolean(true);
        CompletableFuture<List<Long>> claimedByB = CompletableFuture.supplyAsync(() -> {
            List<Long> claimed = new ArrayList<>();
            while (chaining.get()) {
                nodeB.claimManual(10, Map.of(), 10)
                        .forEach(m -> claimed.add(m.message().lastSeq()));
            }
            return claimed;
        });
        List<Long> chain = new ArrayList<>();
        MessageLog.Pending last = sent;
        try {
            while (last.lastSeq() < 5500) {
                chain.add(last.lastSeq());
                last = messages.recordManual(last, delivered(), new Decision.Delivered(), true)
                        .next();
            }
        } finally {
            chaining.set(false);
        }
        // The older one retried while 5201 was being sent goes right after it, then the rest in order: a
        // chain that looked only past the message it finished left 5010 until its turn ended, then sent it
        // among the newer ones.
        assertThat(chain).hasSize(300).startsWith(5201L, 5010L);
        assertThat(chain.subList(1, 300)).isSorted();
        assertThat(claimedByB.get(30, TimeUnit.SECONDS))
                .as("claimed by node_b while node_a's chain went on")
                .isEmpty();

        assertThat(messages.recordManual(last, delivered(), new Decision.Delivered(), true)
                        .next())
                .as("the last of the stream")
                .isNull();
        assertThat(nodeB.claimManual(10, Map.of(), 10))
                .as("once the chain is over")
                .isEmpty();
    }

    /**
     * A replay of failed events makes messages of the same range; retried, the two of one seq were claimed
     * at once (every message at the stream's oldest seq was), and the chain passed over the second. They go
     * one at a time, by key.
     */
    @Test
    void retriedMessagesOfTheSameRangeGoOneAtATime() throws Exception {
        s.execute("INSERT INTO webhook_messages (pk, id, endpoint_pk, webhook_stream_pk, lane, first_seq, last_seq,"
                + " event_count, status, attempts, next_attempt_at) OVERRIDING SYSTEM VALUE VALUES"
                + " (1, gen_random_uuid(), " + endpoint + ", 7, 'manual', 5, 5, 1, 'pending', 1, now()),"
                + " (2, gen_random_uuid(), " + endpoint + ", 7, 'manual', 5, 5, 1, 'pending', 1, now()),"
                + " (3, gen_random_uuid(), " + endpoint + ", 7, 'manual', 6, 6, 1, 'pending', 1, now())");
        s.execute("ALTER TABLE webhook_messages ALTER COLUMN pk RESTART WITH 100");

        assertThat(messages.claimManual(10, Map.of(), 10))
                .extracting(m -> m.message().pk())
                .containsExactly(1L);
        assertThat(finish(1, new Decision.Delivered()))
                .extracting(MessageLog.Pending::pk)
                .isEqualTo(2L);
        assertThat(finish(2, new Decision.Delivered()))
                .extracting(MessageLog.Pending::pk)
                .isEqualTo(3L);
    }

    /**
     * A claimed message found with its endpoint disabled is failed, as disabling fails those waiting
     * (which passes over one leased then): given back, it waited for the endpoint to be enabled again.
     * And the failed attempts recorded after the endpoint was disabled leave it as it is: each came back as
     * "now disabled", announced again.
     */
    @Test
    void aClaimedMessageWhoseEndpointWasDisabledMeanwhileIsFailedAndTheEndpointLeftAlone() throws Exception {
        testMessage();
        testMessage();
        List<MessageLog.Pending> claimed = messages.claimManual(10, Map.of(), 10).stream()
                .map(MessageLog.ClaimedManual::message)
                .toList();
        assertThat(claimed).hasSize(2);
        s.execute("UPDATE webhook_endpoints SET state = 'disabled', state_reason = 'disabled through the API',"
                + " updated_at = now() - interval '1 hour' WHERE pk = " + endpoint);

        messages.releaseManual(claimed.get(0).pk());
        assertThat(status(claimed.get(0).pk())).isEqualTo("failed");

        MessageLog.Recorded recorded = messages.recordManual(claimed.get(1), gone(), new Decision.Abandoned(), false);
        assertThat(recorded.endpointState()).as("not changed by the attempt").isNull();
        try (ResultSet rs = s.executeQuery("SELECT state_reason, updated_at < now() - interval '1 minute'"
                + " FROM webhook_endpoints WHERE pk = " + endpoint)) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("disabled through the API");
            assertThat(rs.getBoolean(2)).as("left as it was").isTrue();
        }

        // An attempt that disables the endpoint claims no next message of its stream: the disabling fails it
        // with the rest waiting, where one claimed by the same statement escaped it (leased) and waited.
        s.execute("UPDATE webhook_endpoints SET state = 'enabled' WHERE pk = " + endpoint);
        s.execute("INSERT INTO webhook_messages (pk, id, endpoint_pk, webhook_stream_pk, lane, first_seq, last_seq,"
                + " event_count, status, attempts, next_attempt_at) OVERRIDING SYSTEM VALUE VALUES"
                + " (1001, gen_random_uuid(), " + endpoint + ", 7, 'manual', 5, 5, 1, 'pending', 1, now()),"
                + " (1002, gen_random_uuid(), " + endpoint + ", 7, 'manual', 6, 6, 1, 'pending', 1, now())");
        MessageLog.Recorded gone = messages.recordManual(leased(1001), gone(), new Decision.Abandoned(), true);
        assertThat(gone.endpointState()).isEqualTo(WebhookEndpoint.State.disabled);
        assertThat(gone.next()).isNull();
        assertThat(status(1002)).isEqualTo("failed");

        // Enabled again before it was given back, it waits for a later claim.
        testMessage();
        s.execute("UPDATE webhook_endpoints SET state = 'enabled' WHERE pk = " + endpoint);
        long another =
                messages.claimManual(10, Map.of(), 10).getFirst().message().pk();
        messages.releaseManual(another);
        assertThat(status(another)).isEqualTo("pending");
    }

    @Test
    void aClaimedRetriedMessageWhoseConnectionWasDisabledMeanwhileIsGivenBackUnsentAndWaits() throws Exception {
        s.execute("INSERT INTO integrations (pk, id, name, client_key_hash, read_collections, write_collections,"
                + " event_types) OVERRIDING SYSTEM VALUE VALUES (1, 'int_claimed', 'Claimed', '\\x01', '{}', '{}',"
                + " '{*}')");
        s.execute("INSERT INTO connections (pk, id, integration_pk, tenant_pk, token_hash, state) OVERRIDING SYSTEM"
                + " VALUE VALUES (3, 'con_claimed', 1, 1, '\\x02', 'enabled')");
        s.execute("INSERT INTO webhook_streams (pk, endpoint_pk, stream_pk, connection_pk, position) OVERRIDING"
                + " SYSTEM VALUE VALUES (7, " + endpoint + ", 1, 3, 0)");
        s.execute("INSERT INTO webhook_messages (pk, id, endpoint_pk, webhook_stream_pk, lane, first_seq, last_seq,"
                + " event_count, status, attempts, next_attempt_at) OVERRIDING SYSTEM VALUE VALUES (1001,"
                + " gen_random_uuid(), " + endpoint + ", 7, 'manual', 5, 5, 1, 'pending', 1, now())");
        MessageLog.Pending claimed =
                messages.claimManual(10, Map.of(), 10).getFirst().message();

        // Disabled between the claim and the request: the rebuild, the last look before it, sees it.
        s.execute("UPDATE connections SET state = 'disabled' WHERE pk = 3");
        assertThat(messages.rebuilt(claimed, null)).isInstanceOf(MessageLog.Rebuilt.Paused.class);
        messages.releaseManual(claimed.pk());
        assertThat(status(1001)).as("waits, as its stream does").isEqualTo("pending");
        assertThat(messages.claimManual(10, Map.of(), 10))
                .as("not claimed while disabled")
                .isEmpty();

        s.execute("UPDATE connections SET state = 'enabled' WHERE pk = 3");
        MessageLog.Pending again =
                messages.claimManual(10, Map.of(), 10).getFirst().message();
        assertThat(again.pk()).isEqualTo(1001);

        // Its connection deleted meanwhile (the stream with it): nothing to wait for.
        s.execute("DELETE FROM webhook_streams WHERE pk = 7");
        assertThat(messages.rebuilt(again, null)).isInstanceOf(MessageLog.Rebuilt.Gone.class);
    }

    /** Records {@code decision} on message {@code pk}, leased to node_a, and answers the next claimed with it. */
    private MessageLog.Pending finish(long pk, Decision decision) throws Exception {
        MessageLog.Pending message = leased(pk);
        Attempt attempt = decision instanceof Decision.Delivered
                ? delivered()
                : new Attempt(Attempt.Outcome.http_error, 500, "HTTP 500", "", Optional.empty(), Instant.now(), 3);
        return messages.recordManual(message, attempt, decision, true).next();
    }

    /** Message {@code pk}, leased to node_a, as a claim answers it. */
    private MessageLog.Pending leased(long pk) throws Exception {
        s.execute("UPDATE webhook_messages SET leased_by = 'node_a', lease_until = now() + interval '30 seconds'"
                + " WHERE pk = " + pk);
        return pending(pk);
    }

    /** Message {@code pk} as a claim answers it. */
    private MessageLog.Pending pending(long pk) throws Exception {
        try (ResultSet rs = s.executeQuery("SELECT id, attempts, last_seq FROM webhook_messages WHERE pk = " + pk)) {
            rs.next();
            return new MessageLog.Pending(
                    pk, rs.getObject(1, UUID.class), endpoint, null, rs.getInt(2), 0, rs.getLong(3), null, null);
        }
    }

    private String status(long pk) throws Exception {
        try (ResultSet rs = s.executeQuery("SELECT status FROM webhook_messages WHERE pk = " + pk)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** An attempt the receiver answered 410 Gone: it disables the endpoint. */
    private static Attempt gone() {
        return new Attempt(Attempt.Outcome.gone, 410, "HTTP 410", "", Optional.empty(), Instant.now(), 3);
    }

    /** A delivered attempt. */
    private static Attempt delivered() {
        return new Attempt(Attempt.Outcome.delivered, 200, null, "", Optional.empty(), Instant.now(), 3);
    }

    /** A test message, due: it belongs to no stream. */
    private void testMessage() throws Exception {
        s.execute("INSERT INTO webhook_messages (id, endpoint_pk, lane, event_count, body, status, next_attempt_at)"
                + " VALUES (gen_random_uuid(), " + endpoint + ", 'manual', 1, '{}', 'pending', now() - interval"
                + " '1 second')");
    }
}
