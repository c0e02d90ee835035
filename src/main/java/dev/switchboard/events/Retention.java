package dev.switchboard.events;

import com.github.f4b6a3.uuid.UuidCreator;
import dev.switchboard.store.Jdbc;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes events older than the retention period (and the webhook messages that carried them), and
 * idempotency keys older than a day, in small batches: each batch is its own short transaction, so pruning never holds locks or a snapshot long
 * enough to stall writers or vacuum. One node at a time prunes (an advisory lock per batch).
 * Event ids are UUIDv7, so "older than" is a range of the id index and needs no index of its own.
 */
public final class Retention implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Retention.class);
    private static final long ADVISORY_LOCK = 0x5357_5245_5445_4e01L;
    static final int BATCH = 5_000;
    static final Duration IDEMPOTENCY_KEY_LIFETIME = Duration.ofHours(24);

    private final DataSource dataSource;
    private final Duration retention;
    private final InstantSource clock;
    private final Counter pruned;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("retention").daemon().factory());

    public Retention(DataSource dataSource, Duration retention, InstantSource clock, MeterRegistry meters) {
        this.dataSource = dataSource;
        this.retention = retention;
        this.clock = clock;
        this.pruned = Counter.builder("switchboard.events.pruned").description("Events deleted by retention")
                .register(meters);
    }

    public void start() {
        scheduler.scheduleWithFixedDelay(this::runSafely, 1, 60, TimeUnit.SECONDS);
    }

    private void runSafely() {
        try {
            runOnce();
        } catch (RuntimeException e) {
            log.warn("Pruning old events failed ({}); retrying in a minute", e.getMessage());
        }
    }

    /** Prunes everything due now; returns the number of events deleted. */
    public long runOnce() {
        Instant cutoff = clock.instant().minus(retention);
        // The smallest UUIDv7 of the cutoff millisecond: every older event or message id sorts below it.
        UUID bound = UuidCreator.getTimeOrderedEpochMin(cutoff);
        long events = inBatches("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id < ? ORDER BY id LIMIT ?)",
                bound);
        pruned.increment(events);
        // Webhook messages (with their attempts) go with the events they carried; pending ones are still in use.
        long messages = inBatches("DELETE FROM webhook_messages WHERE pk IN (SELECT pk FROM webhook_messages"
                + " WHERE id < ? AND status <> 'pending' ORDER BY id LIMIT ?)", bound);
        Jdbc.withConnection(dataSource, c -> Jdbc.update(c, "DELETE FROM idempotency_keys WHERE created_at < ?",
                clock.instant().minus(IDEMPOTENCY_KEY_LIFETIME)));
        if (events > 0 || messages > 0) {
            log.info("Pruned {} events and {} webhook messages older than {}", events, messages, cutoff);
        }
        return events;
    }

    /** Runs a bounded DELETE until it deletes less than a batch; each batch is its own short transaction. */
    private long inBatches(String delete, UUID bound) {
        long total = 0;
        while (true) {
            int deleted = Jdbc.inTransaction(dataSource, c -> {
                boolean mine = Jdbc.one(c, "SELECT pg_try_advisory_xact_lock(?)", rs -> rs.getBoolean(1), ADVISORY_LOCK)
                        .orElse(false);
                return mine ? Jdbc.update(c, delete, bound, BATCH) : -1;
            });
            if (deleted <= 0) {
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
