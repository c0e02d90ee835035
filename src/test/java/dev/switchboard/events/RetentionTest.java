package dev.switchboard.events;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.f4b6a3.uuid.UuidCreator;
import dev.switchboard.db.Database;
import dev.switchboard.db.Jdbc;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

class RetentionTest {
    /** The server's own pruning keeps everything: these tests prune with a Retention of their own. */
    private static final Map<String, String> NO_BACKGROUND_PRUNING = Map.of("SWITCHBOARD_EVENTS_RETENTION", "36500d");

    @Test
    void eventsPastRetentionAreDeletedAndOldPositionsAreReportedGone() {
        AtomicReference<Instant> now = new AtomicReference<>(Instant.now());
        try (TestServer server = TestServer.start(dev.switchboard.testing.TestDatabase.create(), Map.of(), now::get)) {
            server.createTenant("old-hotel");
            Api app = server.adminFor("old-hotel");
            for (int i = 0; i < 3; i++) {
                app.post("/api/v1/events", Map.of("type", "device.command")).expect(201);
            }
            var dataSource = server.switchboard().database().dataSource();
            Retention retention = new Retention(
                    dataSource, Duration.ofDays(7), Duration.ofDays(90), now::get, new SimpleMeterRegistry());
            assertThat(retention.runOnce()).isZero();

            dev.switchboard.db.Jdbc.withConnection(
                    dataSource,
                    c -> c.createStatement()
                            .executeUpdate(
                                    "INSERT INTO integrations (id, name, client_key_hash, read_collections, write_collections, event_types)"
                                            + " VALUES ('int_r', 'r', '\\x01', '{}', '{}', '{}');"
                                            + " INSERT INTO webhook_endpoints (id, integration_pk, url, kind, event_types, max_batch_size, state)"
                                            + " SELECT 'wh_r', pk, 'https://p.example/', 'events', '{*}', 100, 'enabled' FROM integrations;"
                                            + " INSERT INTO webhook_messages (id, endpoint_pk, lane, event_count, body, status)"
                                            + " SELECT lpad(to_hex(n), 32, '0')::uuid, pk, 'manual', 1, '{}', s FROM webhook_endpoints,"
                                            + " unnest(ARRAY['delivered', 'failed', 'pending']) WITH ORDINALITY AS u(s, n)"));
            java.util.function.Supplier<java.util.List<String>> messages = () -> dev.switchboard.db.Jdbc.withConnection(
                    dataSource,
                    c -> dev.switchboard.db.Jdbc.query(
                            c, "SELECT status FROM webhook_messages ORDER BY status", rs -> rs.getString(1)));

            now.set(now.get().plus(Duration.ofDays(8)));
            assertThat(retention.runOnce()).isEqualTo(3);
            assertThat(messages.get())
                    .as("finished messages go with their events; pending ones stay")
                    .containsExactly("pending");
            app.post("/api/v1/events", Map.of("type", "device.command")).expect(201);

            Api.Response gone = app.get("/api/v1/events?after=1");
            assertThat(gone.status()).isEqualTo(410);
            assertThat(gone.errorCode()).isEqualTo("position_expired");
            assertThat(gone.json().get("error").get("details").get("oldestSeq").asLong())
                    .isEqualTo(4);
            // Without a position a reader starts at the oldest retained event; the position just before it is valid.
            assertThat(app.get("/api/v1/events").json().get("events"))
                    .extracting(e -> e.get("seq").asLong())
                    .containsExactly(4L);
            assertThat(app.get("/api/v1/events?after=3").expect(200).json().get("events"))
                    .hasSize(1);
        }
    }

    @Test
    void aRetentionReachingBackBefore1970KeepsEveryEvent() {
        try (TestServer server = TestServer.start(
                dev.switchboard.testing.TestDatabase.create(), NO_BACKGROUND_PRUNING, InstantSource.system())) {
            server.createTenant("forever-hotel");
            Api app = server.adminFor("forever-hotel");
            for (int i = 0; i < 3; i++) {
                app.post("/api/v1/events", Map.of("type", "device.command")).expect(201);
            }
            var dataSource = server.switchboard().database().dataSource();
            assertThat(new Retention(
                                    dataSource,
                                    Duration.ofDays(36500),
                                    Duration.ofDays(90),
                                    InstantSource.system(),
                                    new SimpleMeterRegistry())
                            .runOnce())
                    .isZero();
            assertThat(seqs(dataSource, "forever-hotel")).containsExactly(1L, 2L, 3L);
        }
    }

    /** The audit log grew for ever: a partner could add an entry with every change it made, kept for good. */
    @Test
    void auditLogEntriesPastTheirRetentionGoInBatchesAndNewerOnesStay() {
        List<String> left = afterOnePass(
                "INSERT INTO audit_log (at, actor_kind, action) SELECT now() - interval '91 days', 'admin_key',"
                        + " 'old.' || g FROM generate_series(1, " + (Retention.BATCH * 2 + 3) + ") g",
                "INSERT INTO audit_log (at, actor_kind, action) VALUES (now() - interval '89 days', 'admin_key', 'kept')",
                "SELECT action FROM audit_log");
        assertThat(left).containsExactly("kept");
    }

    @Test
    void idempotencyKeysPastTheirLifetimeGoInBatchesAndNewerOnesStay() {
        List<String> left = afterOnePass(
                "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at) SELECT 'retention-test',"
                        + " 'old-' || g, '\\x00', now() - interval '25 hours' FROM generate_series(1, "
                        + (Retention.BATCH * 2 + 3) + ") g",
                "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at)"
                        + " VALUES ('retention-test', 'fresh', '\\x00', now())",
                "SELECT key FROM idempotency_keys WHERE scope = 'retention-test'");
        assertThat(left).as("only the fresh key").hasSize(1);
    }

    /**
     * Deleting an endpoint leaves its messages (and their attempts) to retention, which deletes them in
     * batches: in the delete's own transaction they held the integration's lock for as long as a busy
     * endpoint's millions of messages took.
     */
    @Test
    void aDeletedEndpointsMessagesGoInBatchesOnRetentionsNextPass() {
        try (Database database = TestDatabase.open()) {
            DataSource dataSource = database.dataSource();
            int many = Retention.BATCH * 2 + 3;
            List<String> afterDelete = Jdbc.withConnection(dataSource, c -> {
                try (var s = c.createStatement()) {
                    s.execute("INSERT INTO integrations (id, name, client_key_hash, read_collections,"
                            + " write_collections, event_types) VALUES ('int_d', 'd', '\\x01', '{}', '{}', '{}')");
                    s.execute(
                            "INSERT INTO webhook_endpoints (id, integration_pk, url, kind, event_types, max_batch_size,"
                                    + " state) SELECT e, pk, 'https://p.example/', 'events', '{*}', 1, 'enabled' FROM integrations,"
                                    + " unnest(ARRAY['wh_gone', 'wh_kept']) e");
                    s.execute("INSERT INTO webhook_messages (id, endpoint_pk, lane, event_count, body, status)"
                            + " SELECT gen_random_uuid(), e.pk, 'manual', 1, '{}', 'pending' FROM webhook_endpoints e,"
                            + " generate_series(1, CASE WHEN e.id = 'wh_gone' THEN " + many + " ELSE 1 END)");
                    // and its stream's messages, which go with the endpoint, not with its stream
                    s.execute("INSERT INTO tenants (id, name) VALUES ('t_d', 't')");
                    s.execute("INSERT INTO streams (tenant_pk) SELECT pk FROM tenants WHERE id = 't_d'");
                    s.execute("INSERT INTO webhook_streams (endpoint_pk, stream_pk, position) SELECT e.pk, st.pk, 0"
                            + " FROM webhook_endpoints e, streams st WHERE e.id = 'wh_gone'");
                    s.execute("INSERT INTO webhook_messages (id, endpoint_pk, webhook_stream_pk, lane, tenant_id,"
                            + " first_seq, last_seq, event_count, status) SELECT gen_random_uuid(), ws.endpoint_pk,"
                            + " ws.pk, 'stream', 't_d', g, g, 1, 'delivered' FROM webhook_streams ws,"
                            + " generate_series(1, 3) g");
                    s.execute("INSERT INTO webhook_attempts (message_pk, n, started_at, duration_ms, outcome)"
                            + " SELECT pk, 1, now(), 1, 'timeout' FROM webhook_messages WHERE lane = 'manual'");
                    s.execute("DELETE FROM webhook_endpoints WHERE id = 'wh_gone'");
                }
                return Jdbc.query(
                        c,
                        "SELECT (SELECT count(*) FROM webhook_messages) || ' messages, '"
                                + " || (SELECT count(*) FROM deleted_webhook_endpoints) || ' noted'",
                        rs -> rs.getString(1));
            });
            assertThat(afterDelete).as("right after the delete").containsExactly((many + 4) + " messages, 1 noted");

            new Retention(dataSource, Duration.ofDays(7), Duration.ofDays(90), Instant::now, new SimpleMeterRegistry())
                    .runOnce();
            List<String> left = Jdbc.withConnection(
                    dataSource,
                    c -> Jdbc.query(
                            c,
                            "SELECT coalesce(e.id, 'orphan') FROM webhook_messages m LEFT JOIN webhook_endpoints e"
                                    + " ON e.pk = m.endpoint_pk UNION ALL SELECT count(*) || ' attempts' FROM"
                                    + " webhook_attempts UNION ALL SELECT count(*) || ' noted' FROM"
                                    + " deleted_webhook_endpoints",
                            rs -> rs.getString(1)));
            assertThat(left).containsExactly("wh_kept", "1 attempts", "0 noted");
        }
    }

    /**
     * Rows written by {@code old} (more than two batches past their lifetime) and {@code kept} (within it),
     * one pass of retention (events kept 7 days, audit entries 90), then the first column of {@code left}.
     */
    /**
     * A lifecycle event's sealed token is kept while any lifecycle stream may still send it: a stream behind
     * it, a pending message from it on (sent again after a crash), a failed one (a retry sends its token);
     * and forgotten below all of them. Endpoints are disabled, so no dispatcher moves what is seeded.
     */
    @Test
    void aSentTokenIsForgottenOnlyBelowWhatEveryLifecycleStreamMayStillSend() {
        try (TestServer server =
                TestServer.start(TestDatabase.create(), NO_BACKGROUND_PRUNING, InstantSource.system())) {
            DataSource dataSource = server.switchboard().database().dataSource();
            Jdbc.withConnection(dataSource, c -> {
                try (var s = c.createStatement()) {
                    s.execute("INSERT INTO integrations (id, name, client_key_hash, read_collections,"
                            + " write_collections, event_types) VALUES ('int_lc', 'lc', '\\x02', '{}', '{}', '{}'),"
                            + " ('int_none', 'none', '\\x03', '{}', '{}', '{}')");
                    s.execute("INSERT INTO streams (integration_pk, last_seq) SELECT pk, 6 FROM integrations"
                            + " WHERE id IN ('int_lc', 'int_none')");
                    s.execute("INSERT INTO events (stream_pk, seq, id, type, time, data, sealed)"
                            + " SELECT s.pk, g, gen_random_uuid(), 'connection.token_rotated', now(), '{}', '\\x01'"
                            + " FROM streams s JOIN integrations i ON i.pk = s.integration_pk, generate_series(1, 6) g"
                            + " WHERE i.id IN ('int_lc', 'int_none')");
                    // A: past it all, its message from 5 pending; B: at 3; C: past it all, its message 2 failed.
                    s.execute("INSERT INTO webhook_endpoints (id, integration_pk, url, kind, event_types,"
                            + " max_batch_size, state) SELECT 'wh_' || x, i.pk, 'https://p.example/' || x, 'lifecycle',"
                            + " '{connection.*}', 1, 'disabled' FROM integrations i, unnest(ARRAY['a', 'b', 'c']) x"
                            + " WHERE i.id = 'int_lc'");
                    s.execute(
                            "INSERT INTO webhook_streams (endpoint_pk, stream_pk, position)"
                                    + " SELECT e.pk, s.pk, CASE e.id WHEN 'wh_b' THEN 3 ELSE 6 END FROM webhook_endpoints e"
                                    + " JOIN streams s ON s.integration_pk = e.integration_pk WHERE e.id IN ('wh_a', 'wh_b', 'wh_c')");
                    s.execute("INSERT INTO webhook_messages (id, endpoint_pk, webhook_stream_pk, lane, first_seq,"
                            + " last_seq, event_count, body, status) SELECT gen_random_uuid(), w.endpoint_pk, w.pk,"
                            + " 'stream', m.seq, m.seq, 1, NULL, m.status FROM webhook_streams w"
                            + " JOIN webhook_endpoints e ON e.pk = w.endpoint_pk JOIN (VALUES ('wh_a', 5, 'pending'),"
                            + " ('wh_a', 4, 'delivered'), ('wh_c', 2, 'failed'), ('wh_c', 3, 'delivered'))"
                            + " AS m(endpoint, seq, status) ON m.endpoint = e.id");
                }
                return null;
            });
            java.util.function.Function<String, List<Long>> sealedOf = integration -> Jdbc.withConnection(
                    dataSource,
                    c -> Jdbc.query(
                            c,
                            "SELECT e.seq FROM events e JOIN streams s ON s.pk = e.stream_pk JOIN integrations i"
                                    + " ON i.pk = s.integration_pk WHERE i.id = ? AND e.sealed IS NOT NULL ORDER BY e.seq",
                            rs -> rs.getLong(1),
                            integration));
            Runnable forget = () -> Jdbc.withConnection(dataSource, c -> Jdbc.update(c, Retention.FORGET_SENT_TOKENS));

            forget.run();
            assertThat(sealedOf.apply("int_none"))
                    .as("no lifecycle endpoint will send them")
                    .isEmpty();
            assertThat(sealedOf.apply("int_lc"))
                    .as("C's failed message 2 may be retried")
                    .containsExactly(2L, 3L, 4L, 5L, 6L);

            execute(dataSource, "UPDATE webhook_messages SET status = 'delivered' WHERE first_seq = 2");
            forget.run();
            assertThat(sealedOf.apply("int_lc")).as("B is at 3").containsExactly(4L, 5L, 6L);

            execute(dataSource, "UPDATE webhook_streams SET position = 6 WHERE position = 3");
            forget.run();
            assertThat(sealedOf.apply("int_lc")).as("A's message 5 is pending").containsExactly(5L, 6L);

            execute(dataSource, "UPDATE webhook_messages SET status = 'delivered' WHERE first_seq = 5");
            forget.run();
            assertThat(sealedOf.apply("int_lc")).isEmpty();
        }
    }

    private static void execute(DataSource dataSource, String sql) {
        Jdbc.withConnection(dataSource, c -> Jdbc.update(c, sql));
    }

    private static List<String> afterOnePass(String old, String kept, String left) {
        AtomicReference<Instant> now = new AtomicReference<>(Instant.now());
        try (TestServer server = TestServer.start(TestDatabase.create(), Map.of(), now::get)) {
            DataSource dataSource = server.switchboard().database().dataSource();
            Jdbc.withConnection(dataSource, c -> {
                try (var s = c.createStatement()) {
                    s.execute(old);
                    s.execute(kept);
                }
                return null;
            });
            new Retention(dataSource, Duration.ofDays(7), Duration.ofDays(90), now::get, new SimpleMeterRegistry())
                    .runOnce();
            return Jdbc.withConnection(dataSource, c -> Jdbc.query(c, left, rs -> rs.getString(1)));
        }
    }

    @Test
    void deletesInBatchesUntilNothingIsDue() {
        AtomicReference<Instant> now = new AtomicReference<>(Instant.now());
        try (TestServer server = TestServer.start(dev.switchboard.testing.TestDatabase.create(), Map.of(), now::get)) {
            server.createTenant("busy-hotel");
            var dataSource = server.switchboard().database().dataSource();
            int total = Retention.BATCH * 2 + 17;
            dev.switchboard.db.Jdbc.withConnection(dataSource, c -> {
                try (var s = c.createStatement()) {
                    s.execute(
                            "WITH st AS (SELECT s.pk FROM streams s JOIN tenants t ON t.pk = s.tenant_pk WHERE t.id = 'busy-hotel'),"
                                    + " n AS (UPDATE streams SET last_seq = " + total
                                    + " WHERE pk = (SELECT pk FROM st))"
                                    + " INSERT INTO events (stream_pk, seq, id, type, time, data)"
                                    + " SELECT (SELECT pk FROM st), g, lpad(to_hex(g), 32, '0')::uuid, 'bulk.loaded', now(), '{}'"
                                    + " FROM generate_series(1, " + total + ") g");
                }
                return null;
            });
            // Ids whose time bits are all zero sort below every UUIDv7 of today: old events.
            now.set(now.get().plus(Duration.ofDays(8)));
            long deleted = new Retention(
                            dataSource, Duration.ofDays(7), Duration.ofDays(90), now::get, new SimpleMeterRegistry())
                    .runOnce();
            assertThat(deleted).isEqualTo(total);
        }
    }

    /**
     * Ids are made before the stream's counter is taken, so a stream can hold seq 3 with a newer id than
     * seq 4. Built directly here: deleting by id would take 4 and keep 3, and a reader at position 2 would
     * read 3, then 5, and never learn it missed 4.
     */
    @Test
    void aStreamIsCutAtItsOldestEventWithinTheRetentionSoOutOfOrderIdsLeaveNoHole() {
        Instant cut = Instant.parse("2026-03-01T00:00:00Z");
        AtomicReference<Instant> now = new AtomicReference<>(cut.plus(Duration.ofDays(7)));
        try (TestServer server = TestServer.start(TestDatabase.create(), NO_BACKGROUND_PRUNING, now::get)) {
            server.createTenant("shuffled-hotel");
            DataSource dataSource = server.switchboard().database().dataSource();
            // seq → the id's time relative to the cut: 1, 2 and 4 are older than the retention, 3, 5 and 6 are not.
            long[] offsetsMs = {-3_000, -2_000, 1_000, -1_000, 2_000, 3_000};
            Jdbc.withConnection(dataSource, c -> {
                long stream = streamPk(c, "shuffled-hotel");
                for (int i = 0; i < offsetsMs.length; i++) {
                    Jdbc.update(
                            c,
                            "INSERT INTO events (stream_pk, seq, id, type, time, data) VALUES (?, ?, ?, 'door.opened', now(), '{}')",
                            stream,
                            i + 1L,
                            UuidCreator.getTimeOrderedEpochMin(cut.plusMillis(offsetsMs[i])));
                }
                return Jdbc.update(c, "UPDATE streams SET last_seq = ? WHERE pk = ?", (long) offsetsMs.length, stream);
            });

            long deleted = new Retention(
                            dataSource, Duration.ofDays(7), Duration.ofDays(90), now::get, new SimpleMeterRegistry())
                    .runOnce();

            assertThat(deleted).isEqualTo(2);
            assertThat(seqs(dataSource, "shuffled-hotel"))
                    .as("what remains is a contiguous suffix")
                    .containsExactly(3L, 4L, 5L, 6L);
            Api app = server.adminFor("shuffled-hotel");
            assertThat(app.get("/api/v1/events?after=2").expect(200).json().get("events"))
                    .extracting(e -> e.get("seq").asLong())
                    .containsExactly(3L, 4L, 5L, 6L);
            assertThat(app.get("/api/v1/events?after=1").errorCode()).isEqualTo("position_expired");
        }
    }

    /**
     * Concurrent writers make ids out of seq order on their own. The cut is put where they did: between
     * seq N, whose id is newer, and N+1, whose id is older. Whatever is pruned, no event within the
     * retention goes, and a reader either reads every remaining event in a row or is told it is too late.
     */
    @Test
    void concurrentWritersAcrossTheCutLeaveNoHoleAReaderCouldSkip() throws Exception {
        AtomicReference<Instant> now = new AtomicReference<>(Instant.now());
        try (TestServer server = TestServer.start(TestDatabase.create(), NO_BACKGROUND_PRUNING, now::get);
                var writers = Executors.newVirtualThreadPerTaskExecutor()) {
            server.createTenant("racing-hotel");
            Api app = server.adminFor("racing-hotel");
            DataSource dataSource = server.switchboard().database().dataSource();
            long[] inversion = Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ZERO)
                    .until(
                            () -> {
                                List<java.util.concurrent.Future<?>> batch = new ArrayList<>();
                                for (int w = 0; w < 8; w++) {
                                    batch.add(writers.submit(() -> {
                                        for (int i = 0; i < 10; i++) {
                                            app.post("/api/v1/events", Map.of("type", "device.command"))
                                                    .expect(201);
                                        }
                                    }));
                                }
                                for (var f : batch) {
                                    f.get();
                                }
                                return inversion(rows(dataSource, "racing-hotel"));
                            },
                            found -> found != null);
            long n = inversion[0];
            Instant cutoff = Instant.ofEpochMilli(inversion[1]);
            List<long[]> before = rows(dataSource, "racing-hotel");
            long head = before.getLast()[0];

            now.set(cutoff.plus(Duration.ofDays(7)));
            new Retention(dataSource, Duration.ofDays(7), Duration.ofDays(90), now::get, new SimpleMeterRegistry())
                    .runOnce();

            // Exactly the events before the stream's first one within the retention go.
            long olderPrefix =
                    before.stream().takeWhile(r -> r[1] < cutoff.toEpochMilli()).count();
            List<Long> kept = seqs(dataSource, "racing-hotel");
            long first = kept.getFirst();
            assertThat(first).isEqualTo(olderPrefix + 1);
            assertThat(kept)
                    .as("a contiguous suffix")
                    .hasSize((int) (head - first + 1))
                    .last()
                    .isEqualTo(head);
            assertThat(kept)
                    .as("seq %d (newer id) and %d (older id) stay together", n, n + 1)
                    .contains(n, n + 1);

            List<Long> read = new ArrayList<>();
            long after = first - 1;
            while (after < head) {
                var events = app.get("/api/v1/events?limit=1000&after=" + after)
                        .expect(200)
                        .json()
                        .get("events");
                events.forEach(e -> read.add(e.get("seq").asLong()));
                after = read.getLast();
            }
            assertThat(read).isEqualTo(kept);
            assertThat(app.get("/api/v1/events?after=" + (first - 2)).errorCode())
                    .isEqualTo("position_expired");
        }
    }

    /**
     * The first seq N whose id is in a later millisecond than N+1's, and that millisecond; null when none is.
     * Only inversions after the stream's first millisecond count, so a cut there always prunes something.
     */
    private static long[] inversion(List<long[]> rows) {
        for (int i = 0; i + 1 < rows.size(); i++) {
            if (rows.get(i)[1] > rows.get(i + 1)[1] && rows.get(i)[1] > rows.getFirst()[1]) {
                return new long[] {rows.get(i)[0], rows.get(i)[1]};
            }
        }
        return null;
    }

    /** The stream's events in seq order: seq, and the millisecond of its id. */
    private static List<long[]> rows(DataSource dataSource, String tenant) {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(
                        c,
                        "SELECT seq, id FROM events WHERE stream_pk = ? ORDER BY seq",
                        rs -> new long[] {
                            rs.getLong(1), rs.getObject(2, UUID.class).getMostSignificantBits() >>> 16
                        },
                        streamPk(c, tenant)));
    }

    private static List<Long> seqs(DataSource dataSource, String tenant) {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(
                        c,
                        "SELECT seq FROM events WHERE stream_pk = ? ORDER BY seq",
                        rs -> rs.getLong(1),
                        streamPk(c, tenant)));
    }

    private static long streamPk(java.sql.Connection c, String tenant) throws java.sql.SQLException {
        return Jdbc.one(
                        c,
                        "SELECT s.pk FROM streams s JOIN tenants t ON t.pk = s.tenant_pk WHERE t.id = ?",
                        rs -> rs.getLong(1),
                        tenant)
                .orElseThrow();
    }
}
