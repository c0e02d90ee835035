package dev.switchboard.websockets;

import dev.switchboard.events.EventLog;
import dev.switchboard.events.NewEvent;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live tail of one stream on this node: its position, and the sockets following it. A wake-up
 * is only a hint; the feed reads the log after its own position and fans out what it finds, so a
 * missed or coalesced wake-up costs latency, never an event. One drain runs at a time per feed, and
 * wake-ups during a drain make it read again, so several commits travel in one batch.
 *
 * <p>Events committed on this node come with their wake-up ({@link #wake(EventLog.Entry)}), as a read
 * of the log would return them. A drain takes the run of them that follows its position (seqs are
 * dense: each stream's counter gives every committed event the next one) instead of reading the log,
 * which saves a database round trip between a commit and its fan-out. Anything else (a gap: an event
 * committed on another node, or whose writer has not handed it over yet) is read from the log, so
 * the hand-off changes how fast events arrive, never which.
 *
 * <p>Joining and advancing happen under one lock: a socket that joins sees either the position
 * before a batch (and receives that batch) or the position after it (and does not), never a gap.
 * The socket list is read outside the lock, so fan-out never waits for a joining socket.
 */
final class StreamFeed {
    private static final Logger log = LoggerFactory.getLogger(StreamFeed.class);
    static final long UNKNOWN = -1;
    static final int BATCH = 500;
    static final int PARALLELISM = Runtime.getRuntime().availableProcessors();
    private static final int MIN_SLICE = 256;
    /** At most this span of seqs waits in {@link #committed}; later ones are read from the log. */
    static final int MAX_COMMITTED = 4096;

    private final long streamPk;
    private final StreamHub hub;
    private final ReentrantLock lock = new ReentrantLock();
    private final CopyOnWriteArrayList<ClientSession> sessions = new CopyOnWriteArrayList<>();
    private final AtomicBoolean draining = new AtomicBoolean();
    private final AtomicBoolean dirty = new AtomicBoolean();
    /** The last seq read and fanned out; UNKNOWN while no socket follows the stream. */
    private volatile long position = UNKNOWN;

    private volatile long wokenAt;

    /** Events committed on this node after the position, by seq; dropped once the position passes them. */
    private final ConcurrentSkipListMap<Long, EventLog.Entry> committed = new ConcurrentSkipListMap<>();

    StreamFeed(long streamPk, StreamHub hub) {
        this.streamPk = streamPk;
        this.hub = hub;
    }

    /** Adds a socket; every event after the returned position will be delivered to it. */
    long add(ClientSession session, LogGate gate) throws InterruptedException {
        lock.lock();
        try {
            sessions.add(session);
            if (position != UNKNOWN) {
                return position;
            }
        } finally {
            lock.unlock();
        }
        long head = gate.head(session.access()); // outside the lock: the first socket on a stream starts at its head
        long start;
        lock.lock();
        try {
            if (position == UNKNOWN) {
                position = head;
            }
            start = position;
        } finally {
            lock.unlock();
        }
        wake(Long.MAX_VALUE); // whatever committed while the head was read
        return start;
    }

    void remove(ClientSession session) {
        lock.lock();
        try {
            sessions.remove(session);
            if (sessions.isEmpty()) {
                position = UNKNOWN; // no reads for a stream no one follows; the next socket starts at the head
                committed.clear();
            }
        } finally {
            lock.unlock();
        }
    }

    long position() {
        return position;
    }

    /** A commit on this node, with its event: fanned out from memory when it follows the position. */
    void wake(EventLog.Entry entry) {
        long seq = entry.event().seq();
        if (seq <= position || sessions.isEmpty()) {
            return;
        }
        Long oldest = committed.isEmpty() ? null : committed.firstKey();
        if (oldest == null || seq - oldest < MAX_COMMITTED) {
            committed.put(seq, entry);
        }
        wake(seq);
    }

    /** A commit at {@code seq} (or anything, after a resync): read and fan out unless already read. */
    void wake(long seq) {
        if (seq <= position || sessions.isEmpty()) {
            return;
        }
        if (wokenAt == 0) {
            wokenAt = System.nanoTime();
        }
        dirty.set(true);
        if (draining.compareAndSet(false, true)) {
            hub.execute(this::drain);
        }
    }

    private void drain() {
        try {
            do {
                dirty.set(false);
                while (readOnce()) {
                    // a full batch: more may be waiting
                }
                draining.set(false);
            } while (dirty.get() && draining.compareAndSet(false, true));
        } catch (RuntimeException e) {
            log.warn(
                    "Reading stream {} for its {} WebSocket clients failed ({}); retrying in {} ms",
                    streamPk,
                    sessions.size(),
                    e.getMessage(),
                    StreamHub.RETRY_DELAY.toMillis());
            hub.retryLater(() -> {
                draining.set(false);
                wake(Long.MAX_VALUE);
            });
        }
    }

    /** Reads one batch after the position and fans it out; true when the batch was full (by count or bytes). */
    private boolean readOnce() {
        // Taken before the read, whatever it finds: a wake-up that ends in no fan-out (an empty read, no
        // socket left) must not leave its time for a later fan-out to count from, seconds on.
        long woken = wokenAt;
        wokenAt = 0;
        long from = position;
        if (from == UNKNOWN || sessions.isEmpty()) {
            return false;
        }
        committed.headMap(from, true).clear();
        EventLog.Entries read = handedOver(from);
        if (read == null) {
            read = hub.eventLog().readEntries(streamPk, from, BATCH, hub.batchBytes());
        }
        if (read.entries().isEmpty()) {
            return false;
        }
        Batch batch = new Batch(read.entries());
        Object[] targets;
        lock.lock();
        try {
            if (position != from) {
                return true; // the feed restarted meanwhile: read again from its new position
            }
            position = batch.lastSeq();
            targets = sessions.toArray();
        } finally {
            lock.unlock();
        }
        Span span = hub.tracing().on() ? fanOutSpan(read.entries(), targets.length) : null;
        try {
            fanOut(batch, targets);
        } finally {
            if (span != null) {
                span.end();
            }
        }
        hub.metrics().fannedOut(woken, targets.length);
        return read.full();
    }

    /** The span of one batch's fan-out, under (or linked to) the writes of its events. */
    private Span fanOutSpan(List<EventLog.Entry> entries, int sockets) {
        List<String> causes = new ArrayList<>(entries.size());
        for (EventLog.Entry entry : entries) {
            causes.add(entry.event().traceContext());
        }
        Span span = hub.tracing().startCaused("websocket fan-out", SpanKind.PRODUCER, causes);
        span.setAttribute(STREAM, streamPk);
        span.setAttribute(EVENTS, (long) entries.size());
        span.setAttribute(FIRST_SEQ, entries.getFirst().event().seq());
        span.setAttribute(LAST_SEQ, entries.getLast().event().seq());
        span.setAttribute(SOCKETS, (long) sockets);
        return span;
    }

    private static final AttributeKey<Long> STREAM = AttributeKey.longKey("switchboard.stream");
    private static final AttributeKey<Long> EVENTS = AttributeKey.longKey("switchboard.events");
    private static final AttributeKey<Long> FIRST_SEQ = AttributeKey.longKey("switchboard.first_seq");
    private static final AttributeKey<Long> LAST_SEQ = AttributeKey.longKey("switchboard.last_seq");
    private static final AttributeKey<Long> SOCKETS = AttributeKey.longKey("switchboard.sockets");

    /**
     * The events handed over by their writers that follow {@code from} without a gap, bounded like a
     * read of the log (at most {@link #BATCH}, and {@link StreamHub#batchBytes} of data but at least
     * one); null when the next one was not handed over (it is read from the log).
     */
    private EventLog.Entries handedOver(long from) {
        List<EventLog.Entry> run = new ArrayList<>();
        long bytes = 0;
        for (long seq = from + 1; run.size() < BATCH; seq++) {
            EventLog.Entry entry = committed.get(seq);
            if (entry == null) {
                break;
            }
            long size = NewEvent.utf8Bytes(entry.event().data());
            if (!run.isEmpty() && bytes + size > hub.batchBytes()) {
                return new EventLog.Entries(run, true);
            }
            run.add(entry);
            bytes += size;
        }
        return run.isEmpty() ? null : new EventLog.Entries(run, run.size() == BATCH);
    }

    /**
     * Hands the batch to every socket. Each hand-off is a non-blocking write (a system call), so a
     * large fan-out is split across the cores, on the hub's fan-out threads (platform threads: see
     * {@link StreamHub}); the next batch waits for all slices, which keeps every socket's frames in
     * order. A small one (under {@code 2 * MIN_SLICE} sockets, a few milliseconds) runs right here.
     */
    private void fanOut(Batch batch, Object[] targets) {
        int slices = Math.min(PARALLELISM, targets.length / MIN_SLICE);
        if (slices <= 1) {
            deliver(batch, targets, 0, targets.length);
            return;
        }
        CountDownLatch done = new CountDownLatch(slices);
        int size = (targets.length + slices - 1) / slices;
        for (int i = 0; i < slices; i++) {
            int start = i * size;
            int end = Math.min(targets.length, start + size);
            boolean started = hub.fanOut(() -> {
                try {
                    deliver(batch, targets, start, end);
                } finally {
                    done.countDown();
                }
            });
            if (!started) {
                done.countDown(); // closing: the sockets are being closed with the hub
            }
        }
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void deliver(Batch batch, Object[] targets, int start, int end) {
        for (int i = start; i < end; i++) {
            ((ClientSession) targets[i]).deliver(batch);
        }
    }
}
