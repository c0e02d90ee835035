package dev.switchboard.webhooks;

import dev.switchboard.db.DatabaseException;
import dev.switchboard.db.Jdbc;
import dev.switchboard.tracing.Tracing;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
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

    private record Queued(MessageLog.Step step, CompletableFuture<MessageLog.Stepped> result) {}

    private final DataSource dataSource;
    private final MessageLog messages;
    private final WebhookMetrics metrics;
    private final Tracing tracing;
    private final BlockingQueue<Queued> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean running = true;

    StepWriter(DataSource dataSource, MessageLog messages, WebhookMetrics metrics, Tracing tracing) {
        this.dataSource = dataSource;
        this.tracing = tracing;
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
            } catch (RuntimeException e) {
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
                    "INSERT", "webhook_messages", () -> Jdbc.withConnection(dataSource, c -> messages.steps(c, steps)));
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
