package dev.switchboard.webhooks;

import dev.switchboard.db.DatabaseException;
import dev.switchboard.db.Jdbc;
import dev.switchboard.tracing.Tracing;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the stream workers' steps (a delivered message's outcome, the next message) for many streams
 * at once: whatever steps arrived while the previous batch was being written go in one statement and
 * one commit. Each commit waits for a WAL flush whatever it carries, and each statement has its own
 * round trip and executor start-up, so sharing them is what keeps the database's cost per message small
 * when many streams deliver; a lone stream waits for no one (a batch is written as soon as the writer
 * is free).
 */
final class StepWriter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StepWriter.class);
    /** Enough to carry every stream a node delivers at once in one batch. */
    private static final int MAX_BATCH = 512;
    /** How long a connection keeps using the plans it made for the step: see {@link #replanWhenDue}. */
    static final Duration REPLAN_EVERY = Duration.ofSeconds(1);
    /** Below this many messages in the last analysis, the step's plans may be outgrown within seconds. */
    static final int FEW_MESSAGES = 10_000;

    private record Queued(MessageLog.Step step, CompletableFuture<MessageLog.Stepped> result) {}

    private final DataSource dataSource;
    private final MessageLog messages;
    private final WebhookMetrics metrics;
    private final Tracing tracing;
    private final InstantSource clock;
    /** When each of the pool's connections last dropped its plans (only the writer's thread touches it). */
    private final Map<PGConnection, Instant> replannedAt = new WeakHashMap<>();

    private Instant analysisReadAt = Instant.MIN;
    private boolean messagesLookFew = true;

    private final BlockingQueue<Queued> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean running = true;

    StepWriter(
            DataSource dataSource, MessageLog messages, WebhookMetrics metrics, Tracing tracing, InstantSource clock) {
        this.dataSource = dataSource;
        this.tracing = tracing;
        this.clock = clock;
        this.messages = messages;
        this.metrics = metrics;
        this.thread = Thread.ofPlatform().name("webhook-steps").daemon().start(this::run);
    }

    /** Writes one step with whatever others are waiting, and returns what it did once it is committed. */
    MessageLog.Stepped write(MessageLog.Step step) {
        Queued queued = new Queued(step, new CompletableFuture<>());
        queue.add(queued);
        if (!running && queue.remove(queued)) {
            throw new IllegalStateException("webhook delivery is stopping");
        }
        try {
            return queued.result().join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    private void run() {
        List<Queued> batch = new ArrayList<>();
        while (running || !queue.isEmpty()) {
            try {
                Queued first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, MAX_BATCH - 1);
                write(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException | Error e) {
                // An Error too: the streams waiting on this batch fail it, and this thread writes the next.
                batch.forEach(q -> q.result().completeExceptionally(e));
            } finally {
                batch.clear();
            }
        }
    }

    private void write(List<Queued> batch) {
        List<MessageLog.Step> steps = batch.stream().map(Queued::step).toList();
        try {
            List<MessageLog.Stepped> done = tracing.inStatement(
                    "INSERT",
                    "webhook_messages",
                    () -> Jdbc.withConnection(dataSource, c -> {
                        replanWhenDue(c);
                        return messages.steps(c, steps);
                    }));
            metrics.stepsWritten(steps.size());
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).result().complete(done.get(i));
            }
        } catch (DatabaseException e) {
            if (e.isUnavailable() || batch.size() == 1) {
                batch.forEach(q -> q.result().completeExceptionally(e));
                return;
            }
            // One step the database refuses must not fail the others: each is written on its own.
            log.warn(
                    "Writing {} webhook steps together failed ({}); writing them one by one",
                    batch.size(),
                    e.getMessage());
            for (Queued queued : batch) {
                write(List.of(queued));
            }
        }
    }

    /**
     * PostgreSQL keeps the plan of a prepared statement until one of its tables is analyzed again, which
     * autovacuum may not do for a minute, and it plans for the sizes the last analysis saw. Once
     * webhook_messages has been analyzed empty or nearly so (a new database, or after its messages were
     * deleted with their endpoints), the step's plan reads the whole table, the cheapest way to read an
     * empty one; at thousands of messages a second the table outgrows that plan long before autovacuum
     * looks again, and every step then reads every message. So while the last analysis counted fewer than
     * {@value #FEW_MESSAGES} messages, each connection drops its plans at most once a second, before a
     * step, and the step is planned for the table as it is now. A table analyzed larger is planned with
     * index scans that stay right as it grows, and is left alone: a server with a week of messages never
     * plans again for this.
     */
    private void replanWhenDue(Connection c) throws SQLException {
        Instant now = clock.instant();
        if (!now.isBefore(analysisReadAt.plus(REPLAN_EVERY))) {
            analysisReadAt = now;
            messagesLookFew = Jdbc.one(
                            c,
                            "SELECT reltuples < ? FROM pg_class WHERE oid = 'webhook_messages'::regclass",
                            rs -> rs.getBoolean(1),
                            FEW_MESSAGES)
                    .orElse(true);
        }
        if (!messagesLookFew) {
            return;
        }
        PGConnection connection = c.unwrap(PGConnection.class);
        Instant last = replannedAt.get(connection);
        if (last == null || !now.isBefore(last.plus(REPLAN_EVERY))) {
            if (last != null) {
                try (Statement s = c.createStatement()) {
                    s.execute("DISCARD PLANS");
                }
            }
            replannedAt.put(connection, now);
        }
    }

    /** Writes what is queued, then stops; a step written after this fails. */
    @Override
    public void close() {
        running = false;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Queued left;
        while ((left = queue.poll()) != null) {
            left.result().completeExceptionally(new IllegalStateException("webhook delivery stopped"));
        }
    }
}
