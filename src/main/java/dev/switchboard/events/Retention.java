package dev.switchboard.events;

import com.github.f4b6a3.uuid.UuidCreator;
import dev.switchboard.db.Jdbc;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes events older than the retention period (and the webhook messages that carried them), the
 * messages of deleted webhook endpoints, idempotency keys older than a day, and audit log entries older
 * than {@code audit.retention}, in small batches, and forgets the access tokens lifecycle events carry
 * once they are sent ({@link #FORGET_SENT_TOKENS}, one statement over the few events still holding
 * one). Each batch is its own short transaction, so pruning
 * never holds locks or a snapshot long enough to stall writers or vacuum. One node at a time prunes (an
 * advisory lock per batch).
 *
 * <p>Events are deleted by {@code seq}, stream by stream, never by id: an event's id is made before its
 * writer takes the stream's counter, so under concurrent writers id order is not {@code seq} order, and
 * deleting by id could remove {@code seq} N+1 while N stays. A reader that checks only the oldest
 * retained {@code seq} would then pass over N+1 without a 410. Each stream is cut at its oldest event
 * still within the retention: everything below that {@code seq} goes, so what remains is always a
 * contiguous suffix of the stream. An event whose id is a few milliseconds older than the cut may stay a
 * minute longer; no event within the retention is ever deleted. The cut is found by reading the stream
 * from its start in the primary key's order ({@code stream_pk, seq}), which is also what the deletes use.
 */
public final class Retention implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Retention.class);
    private static final long ADVISORY_LOCK = 0x5357_5245_5445_4e01L;
    static final int BATCH = 5_000;
    static final Duration IDEMPOTENCY_KEY_LIFETIME = Duration.ofHours(24);
    /**
     * One batch of one stream: the cut is the first of the stream's oldest {@code BATCH} events (in
     * {@code seq} order) that is within the retention, or just past them all when none is; everything
     * below it goes. Those are all among the events read (the cut is at most one past the last of them), so
     * the delete names their {@code seq}s: written {@code seq < (SELECT seq FROM cut)}, the planner could
     * not see the bound, guessed a third of the stream, and on a tenant holding most of the log read the
     * whole table for each batch (4.5 million rows, 2.4 s, for 5,000 deleted).
     */
    static final String PRUNE_STREAM =
            "WITH head AS (SELECT seq, id FROM events WHERE stream_pk = ? ORDER BY seq LIMIT ?),"
                    + " cut AS (SELECT coalesce(min(seq) FILTER (WHERE id >= ?), max(seq) + 1) AS seq FROM head)"
                    + " DELETE FROM events WHERE stream_pk = ?"
                    + " AND seq = ANY (ARRAY(SELECT seq FROM head WHERE seq < (SELECT seq FROM cut)))";

    private static final String LIFECYCLE_STREAMS = "ARRAY(SELECT pk FROM streams WHERE integration_pk IS NOT NULL)";

    /**
     * A lifecycle event keeps the new access token it carries (sealed) only until every lifecycle stream of
     * its integration has delivered it: past its position, and before the first seq of its oldest message
     * not delivered (a pending one may be sent again after a crash; a failed one may be retried, which
     * sends the token). Nothing sends it after that: a lifecycle endpoint is never replayed, and one
     * created later starts past it. Kept for the retention instead, the token could be read back from a
     * copy of the database, whose sealing key is by default in the same database, and used while it is
     * still the connection's. Each lifecycle stream's messages are read once, not once per event still
     * holding a token (a disabled endpoint's stream may leave many), and every part goes through an
     * index, with the lifecycle streams named as an array: joined to them, the planner read the whole
     * event log and every webhook stream (a quarter of a second at two million events, against 2 ms).
     */
    static final String FORGET_SENT_TOKENS = "WITH needed AS (SELECT w.stream_pk, min(least(w.position + 1,"
            + " coalesce((SELECT min(m.first_seq) FROM webhook_messages m"
            + " WHERE m.webhook_stream_pk = w.pk AND m.status <> 'delivered'), w.position + 1))) AS from_seq"
            + " FROM webhook_streams w WHERE w.stream_pk = ANY (" + LIFECYCLE_STREAMS + ") GROUP BY w.stream_pk)"
            + " UPDATE events e SET sealed = NULL"
            + " WHERE e.stream_pk = ANY (" + LIFECYCLE_STREAMS + ") AND e.sealed IS NOT NULL"
            + " AND NOT EXISTS (SELECT 1 FROM needed n WHERE n.stream_pk = e.stream_pk AND n.from_seq <= e.seq)";

    private final DataSource dataSource;
    private final Duration retention;
    private final Duration auditRetention;
    private final InstantSource clock;
    private final Counter pruned;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("retention").daemon().factory());

    public Retention(
            DataSource dataSource,
            Duration retention,
            Duration auditRetention,
            InstantSource clock,
            MeterRegistry meters) {
        this.dataSource = dataSource;
        this.retention = retention;
        this.auditRetention = auditRetention;
        this.clock = clock;
        this.pruned = Counter.builder("switchboard.events.pruned")
                .description("Events deleted by retention")
                .register(meters);
    }

    public void start() {
        scheduler.scheduleWithFixedDelay(this::runSafely, 1, 60, TimeUnit.SECONDS);
    }

    private void runSafely() {
        try {
            runOnce();
        } catch (RuntimeException | Error e) {
            // An Error too: one escaping a scheduled task cancels every later run, and nothing would be pruned.
            log.warn("Pruning old events failed ({}); retrying in a minute", e.toString());
        }
    }

    /** Prunes everything due now; returns the number of events deleted. */
    public long runOnce() {
        Instant cutoff = clock.instant().minus(retention);
        // The smallest UUIDv7 of the cutoff millisecond: every older event or message id sorts below it. A
        // UUIDv7 has no time before 1970: a retention reaching back further (36500d) keeps everything,
        // where the library would wrap the negative time into a bound above every id and delete it all.
        UUID bound = UuidCreator.getTimeOrderedEpochMin(cutoff.isBefore(Instant.EPOCH) ? Instant.EPOCH : cutoff);
        // Each kind on its own: one that fails (a statement timeout, say) leaves the others pruned.
        long events = step("events", () -> {
            long deleted = 0;
            for (long stream : streamsWithExpiredEvents(bound)) {
                long inStream = inBatches(PRUNE_STREAM, bound, stream);
                if (inStream < 0) {
                    break; // another node is pruning
                }
                deleted += inStream;
            }
            return deleted;
        });
        pruned.increment(events);
        // Webhook messages (with their attempts) go with the events they carried; pending ones are still in use.
        long messages = step(
                "webhook messages",
                () -> inBatches(
                        "DELETE FROM webhook_messages WHERE pk IN (SELECT pk FROM webhook_messages"
                                + " WHERE id < ? AND status <> 'pending' ORDER BY id LIMIT ?)",
                        bound,
                        null));
        // A deleted endpoint's messages, whatever their age (V29): deleting them with it held its
        // integration's lock for as long as a busy endpoint's millions of messages took.
        long deletedEndpoints = step("messages of deleted endpoints", this::pruneDeletedEndpoints);
        long forgotten = step(
                "sent access tokens",
                () -> Jdbc.inTransaction(dataSource, c -> locked(c) ? Jdbc.update(c, FORGET_SENT_TOKENS) : 0));
        // In batches too: after a long pause (an outage, a restore) one statement could hold millions of rows.
        step(
                "idempotency keys",
                () -> inBatches(
                        "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(SELECT ctid FROM idempotency_keys"
                                + " WHERE created_at < ? LIMIT ?))",
                        clock.instant().minus(IDEMPOTENCY_KEY_LIFETIME),
                        null));
        // The oldest entries, by their primary key (entries are written in time order): at most a batch is
        // read, whether any is old or not, where a condition on the time alone would read the whole log.
        step(
                "audit log entries",
                () -> inBatches(
                        "WITH cutoff AS (SELECT ?::timestamptz AS at) DELETE FROM audit_log WHERE pk IN (SELECT h.pk"
                                + " FROM (SELECT pk, at FROM audit_log ORDER BY pk LIMIT ?) h, cutoff WHERE h.at < cutoff.at)",
                        clock.instant().minus(auditRetention),
                        null));
        if (events > 0 || messages > 0) {
            log.info("Pruned {} events and {} webhook messages older than {}", events, messages, cutoff);
        }
        if (forgotten > 0) {
            log.debug("Forgot the access tokens of {} lifecycle events every lifecycle endpoint has", forgotten);
        }
        if (deletedEndpoints > 0) {
            log.info("Deleted {} messages of deleted webhook endpoints", deletedEndpoints);
        }
        return events;
    }

    /** Deletes the messages of each deleted endpoint in batches, then its note; how many messages went. */
    private long pruneDeletedEndpoints() {
        List<Long> endpoints = Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(
                        c,
                        "SELECT endpoint_pk FROM deleted_webhook_endpoints ORDER BY endpoint_pk",
                        rs -> rs.getLong(1)));
        long deleted = 0;
        for (long endpoint : endpoints) {
            long ofEndpoint = inBatches(
                    "DELETE FROM webhook_messages WHERE pk IN (SELECT pk FROM webhook_messages WHERE endpoint_pk = ?"
                            + " LIMIT ?)",
                    endpoint,
                    null);
            if (ofEndpoint < 0) {
                break; // another node is pruning
            }
            deleted += ofEndpoint;
            Jdbc.withConnection(
                    dataSource,
                    c -> Jdbc.update(
                            c,
                            "DELETE FROM deleted_webhook_endpoints d WHERE endpoint_pk = ? AND NOT EXISTS"
                                    + " (SELECT 1 FROM webhook_messages m WHERE m.endpoint_pk = d.endpoint_pk)",
                            endpoint));
        }
        return deleted;
    }

    /** Runs one kind's pruning; what it deleted (0 when another node prunes), or 0 when it failed, which is logged. */
    private long step(String what, java.util.function.LongSupplier prune) {
        try {
            return Math.max(0, prune.getAsLong());
        } catch (RuntimeException e) {
            log.warn("Pruning {} failed ({}); retrying in a minute", what, e.getMessage());
            return 0;
        }
    }

    /**
     * The streams whose oldest event is past the retention: one probe of the primary key per stream.
     * Empty when another node holds the lock (it is pruning).
     */
    private List<Long> streamsWithExpiredEvents(UUID bound) {
        return Jdbc.inTransaction(
                dataSource,
                c -> locked(c)
                        ? Jdbc.query(
                                c,
                                "SELECT pk FROM streams s WHERE (SELECT id FROM events e WHERE e.stream_pk = s.pk"
                                        + " ORDER BY e.seq LIMIT 1) < ? ORDER BY pk",
                                rs -> rs.getLong(1),
                                bound)
                        : List.of());
    }

    private static boolean locked(Connection c) throws SQLException {
        return Jdbc.one(c, "SELECT pg_try_advisory_xact_lock(?)", rs -> rs.getBoolean(1), ADVISORY_LOCK)
                .orElse(false);
    }

    /**
     * Runs a bounded DELETE until it deletes less than a batch; each batch is its own short transaction.
     * Returns -1 when another node holds the lock before anything was deleted.
     */
    private long inBatches(String delete, Object bound, Long stream) {
        long total = 0;
        while (true) {
            int deleted = Jdbc.inTransaction(
                    dataSource,
                    c -> !locked(c)
                            ? -1
                            : stream == null
                                    ? Jdbc.update(c, delete, bound, BATCH)
                                    : Jdbc.update(c, delete, stream, BATCH, bound, stream));
            if (deleted < 0) {
                return total == 0 ? -1 : total;
            }
            if (deleted == 0) {
                return total;
            }
            total += deleted;
            if (deleted < BATCH) {
                return total;
            }
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
