package dev.switchboard.websockets;

import dev.switchboard.config.WebSocketSettings;
import dev.switchboard.events.EventLog;
import dev.switchboard.events.EventWakeups;
import dev.switchboard.tracing.Tracing;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Fans each stream's new events out to the sockets following it on this node. Wake-ups come from
 * {@link EventWakeups} (commits on this node at once, other nodes' through NOTIFY); each stream with
 * sockets has one {@link StreamFeed} that reads the log once per batch for all of them. Reads run on
 * virtual threads and never hold a database connection while writing to a socket.
 *
 * <p>Large fan-outs (thousands of sockets, tens of milliseconds of writes) run on a few platform
 * threads of their own, one per core. On the virtual threads' carriers they would hold every carrier
 * until done, and virtual threads are not preempted: the HTTP requests that write the next events,
 * and their database round trips, would wait behind them, so each event's commit waited for the last
 * one's fan-out. The operating system time-slices platform threads, so requests keep running.
 */
public final class StreamHub implements EventWakeups.Listener, AutoCloseable {
    static final Duration RETRY_DELAY = Duration.ofSeconds(1);

    private final EventLog eventLog;
    private final LogGate gate;
    private final WebSocketMetrics metrics;
    private final Map<Long, StreamFeed> feeds = new ConcurrentHashMap<>();
    private final ExecutorService executor = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("ws-feed-", 0).factory());
    /** Slices of large fan-outs ({@link StreamFeed}): platform threads, which the OS preempts. */
    private final ExecutorService fanOut = Executors.newFixedThreadPool(
            StreamFeed.PARALLELISM,
            Thread.ofPlatform().name("ws-fanout-", 0).daemon().factory());

    private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("ws-feed-retry").daemon().factory());

    private final int batchBytes;
    private final Tracing tracing;

    public StreamHub(
            EventLog eventLog, LogGate gate, WebSocketMetrics metrics, WebSocketSettings settings, Tracing tracing) {
        this.eventLog = eventLog;
        this.tracing = tracing;
        this.batchBytes = WebSockets.frameDataBytes(settings);
        this.gate = gate;
        this.metrics = metrics;
    }

    /** Joins the socket to its stream's feed; returns the position after which live events will follow. */
    long subscribe(ClientSession session) throws InterruptedException {
        // Feeds stay in the map once created (a few hundred bytes per stream that ever had a socket):
        // removing them would race with sockets joining.
        StreamFeed feed = feeds.computeIfAbsent(session.access().streamPk(), pk -> new StreamFeed(pk, this));
        return feed.add(session, gate);
    }

    /** How far this node has read the stream (-1 when no socket follows it here). */
    long position(long streamPk) {
        StreamFeed feed = feeds.get(streamPk);
        return feed == null ? StreamFeed.UNKNOWN : feed.position();
    }

    void unsubscribe(ClientSession session) {
        StreamFeed feed = feeds.get(session.access().streamPk());
        if (feed != null) {
            feed.remove(session);
        }
    }

    @Override
    public void appended(long streamPk, long seq) {
        StreamFeed feed = feeds.get(streamPk);
        if (feed != null) {
            feed.wake(seq);
        }
    }

    @Override
    public void appended(long streamPk, EventLog.Entry committed) {
        StreamFeed feed = feeds.get(streamPk);
        if (feed != null) {
            feed.wake(committed);
        }
    }

    @Override
    public void resync() {
        feeds.values().forEach(f -> f.wake(Long.MAX_VALUE));
    }

    EventLog eventLog() {
        return eventLog;
    }

    /** This node's traces: a span per batch fanned out, continuing the traces of the writes it carries. */
    Tracing tracing() {
        return tracing;
    }

    /** The event data a batch read for the sockets carries at most ({@link WebSockets#frameDataBytes}). */
    int batchBytes() {
        return batchBytes;
    }

    WebSocketMetrics metrics() {
        return metrics;
    }

    void execute(Runnable task) {
        try {
            executor.execute(task);
        } catch (RejectedExecutionException e) {
            // closing: the sockets are being closed too
        }
    }

    /** Runs a slice of a fan-out on the fan-out threads; false when closing (the task did not run). */
    boolean fanOut(Runnable slice) {
        try {
            fanOut.execute(slice);
            return true;
        } catch (RejectedExecutionException e) {
            return false; // closing: the sockets are being closed too
        }
    }

    void retryLater(Runnable task) {
        try {
            retries.schedule(task, RETRY_DELAY.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    @Override
    public void close() {
        retries.shutdownNow();
        executor.shutdown();
        fanOut.shutdown();
        try {
            executor.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
