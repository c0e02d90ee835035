package dev.switchboard.webhooks;

import dev.switchboard.db.DatabaseException;
import dev.switchboard.events.Event;
import dev.switchboard.events.EventLog;
import dev.switchboard.support.Ids;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Delivers one webhook stream while this node holds its lease, on a virtual thread: one message at a
 * time, in log order. It reads its log a page ahead (or takes the page from the node's {@link
 * EventTail} when other streams follow the same tenant), and each message takes whatever events are
 * waiting, up to the batch size. A message is written before it is sent; a delivered one's outcome is
 * written with the next message, as one step that {@link StepWriter} writes together with other
 * streams' steps, or on its own before the worker waits or stops. The stream's position moves only
 * with a delivered or abandoned message's outcome. A failure with attempts left releases the stream
 * until the retry is due, so it holds no thread while it waits. An idle stream lingers briefly for
 * more events (unless its endpoint's or integration's share of the node is full), then releases its
 * lease; a busy one gives up its slot after {@link #YIELD_AFTER} messages or {@link #YIELD_AFTER_TIME}
 * when another stream may be waiting for it, and claims take the streams that waited longest first, so
 * streams beyond their endpoint's or integration's share of the node take turns.
 */
final class StreamWorker implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(StreamWorker.class);
    static final Duration LINGER = Duration.ofSeconds(1);
    /** Messages a busy stream sends before it lets another stream of its endpoint have the slot (each turn costs a claim). */
    static final int YIELD_AFTER = 256;
    /** How long a stream keeps its slot, however few messages that took, while another of its integration waits for one. */
    static final Duration YIELD_AFTER_TIME = Duration.ofSeconds(5);
    /** Events read from the log at once (or the batch size, if larger). */
    static final int READ_AHEAD = 64;

    /**
     * How long, and how often, a lease's release is tried again while the database refuses it for a moment:
     * see {@link #retryingRefusals}. Well within the lease (30 s by default), which is not renewed meanwhile.
     */
    private static final Duration RETRY_REFUSALS_FOR = Duration.ofSeconds(15);

    private static final Duration RETRY_REFUSALS_PAUSE = Duration.ofMillis(500);

    /** What a worker needs from the node it runs on. */
    interface Host {
        void finished(StreamWorker worker);

        /** The worker let its stream go while events may be waiting: claim the event stream's streams again. */
        void claimAgain(long eventStreamPk);

        /**
         * The worker gave up its slot, with more to send, while other streams may wait for one: claim for
         * its endpoint and integration, where the streams that waited longest come first and this one last.
         */
        void turnTaken(long endpointPk, long integrationPk);

        /** Whether an idle worker may keep its slot a while for more events (no other stream of its endpoint, its integration or the node needs it). */
        boolean mayLinger(long endpointPk, long integrationPk);

        /** Whether the node delivers as many streams as its {@code concurrency} allows. */
        boolean nodeFull();
    }

    private final long webhookStreamPk;
    private final long eventStreamPk;
    private final long endpointPk;
    private final long integrationPk;
    private final StreamLeases leases;
    private final MessageLog messages;
    private final EventLog eventLog;
    private final Deliverer deliverer;
    private final WebhookMetrics metrics;
    private final InstantSource clock;
    private final Host host;
    private volatile Thread thread;
    private volatile boolean more;
    private volatile boolean stale;
    private volatile boolean stopping;
    /** When its turn on the slot began: at its claim, or when it last found no stream waiting for one. */
    private long turnStarted;
    /** It gave up its slot, with more to send, while other streams may wait for one. */
    private boolean handedOver;

    private volatile DeliveryTarget target;
    private final StepWriter writer;
    private final EventTail tail;
    private Deliverer.Route route;
    /** Where the stream is: its position moved by the last delivered message, even before that is written. */
    private StreamLeases.Cursor at;
    /** The last message delivered, its outcome not yet written (it goes with the next message's step). */
    private MessageLog.Done done;
    /** Events read from the log and not yet sent, in order. */
    private final ArrayDeque<Event> ahead = new ArrayDeque<>();
    /** Where the last read of the log ended, whether it stopped at its limit, and the replay it honoured. */
    private long headRead;

    private boolean aheadFull;
    private Long aheadRewind;
    /** The trace contexts of the events of the message about to be sent (none for one sent again). */
    private List<String> causes = List.of();

    StreamWorker(
            StreamLeases.Claimed claimed,
            StreamLeases leases,
            MessageLog messages,
            StepWriter writer,
            EventLog eventLog,
            EventTail tail,
            Deliverer deliverer,
            WebhookMetrics metrics,
            InstantSource clock,
            Host host) {
        this.webhookStreamPk = claimed.pk();
        this.eventStreamPk = claimed.eventStreamPk();
        this.endpointPk = claimed.endpointPk();
        this.integrationPk = claimed.integrationPk();
        this.leases = leases;
        this.messages = messages;
        this.writer = writer;
        this.tail = tail;
        this.eventLog = eventLog;
        this.deliverer = deliverer;
        this.metrics = metrics;
        this.clock = clock;
        this.host = host;
    }

    long webhookStreamPk() {
        return webhookStreamPk;
    }

    long endpointPk() {
        return endpointPk;
    }

    long integrationPk() {
        return integrationPk;
    }

    /** The target it delivers to (null until it has started). */
    DeliveryTarget target() {
        return target;
    }

    /** New events may be in its stream. */
    void wake() {
        more = true;
        LockSupport.unpark(thread);
    }

    /** Its endpoint, connection or integration changed: re-read them before the next message. */
    void refresh() {
        stale = true;
        wake();
    }

    /** Finish the attempt in flight, then release the stream. */
    void stop() {
        stopping = true;
        wake();
    }

    @Override
    public void run() {
        thread = Thread.currentThread();
        boolean release = true;
        try {
            release = deliver();
        } catch (RuntimeException e) {
            if (e instanceof DatabaseException db && db.isUnavailable()) {
                log.warn(
                        "Webhook stream {} stopped: the database is unavailable ({}); it is claimed again when the"
                                + " database returns",
                        webhookStreamPk,
                        e.getMessage());
            } else {
                keepDelivered();
                backOff(e);
                release = false; // held back, or its lease is another node's or expires by itself
            }
        } finally {
            // Out of the node's active set before the lease goes: claims pass over the streams a worker still
            // runs, so one made once the stream is free finds it claimable and starts a new worker.
            host.finished(this);
            if (release) {
                releaseLease();
            }
            if (release && !stopping) {
                if (handedOver) {
                    host.turnTaken(endpointPk, integrationPk);
                } else {
                    host.claimAgain(eventStreamPk); // events that came while it released are not left waiting
                }
            }
        }
    }

    /** Gives the stream's lease up, tried again while the database refuses for a moment. */
    private void releaseLease() {
        try {
            retryingRefusals(() -> {
                leases.release(webhookStreamPk);
                return null;
            });
        } catch (RuntimeException e) {
            log.warn(
                    "Could not release webhook stream {} ({}); its lease expires by itself",
                    webhookStreamPk,
                    e instanceof DatabaseException db ? db.detail() : e.getMessage());
        }
    }

    /**
     * Runs a change of the stream's lease (a release, with or without an error) again while the database
     * refuses it for a moment: a pooled connection it ended (a terminated backend, a restart; the next
     * try takes another at once), or a table of the delivery's held locked for seconds (its statements wait
     * 2 s for a lock). Given up after one such failure, the stream waited for its lease to expire (30 s)
     * before any node could claim it, long after the database was back. A database that does not answer at
     * all fails the wait for a connection, and is not tried again; nor is anything while the node stops.
     */
    private <T> T retryingRefusals(Supplier<T> change) {
        long giveUpAt = System.nanoTime() + RETRY_REFUSALS_FOR.toNanos();
        while (true) {
            try {
                return change.get();
            } catch (DatabaseException db) {
                boolean momentary = db.isTransient() && (db.outcomeUnknown() || !db.isUnavailable());
                if (!momentary || stopping || System.nanoTime() - giveUpAt > 0) {
                    throw db;
                }
                if (!db.outcomeUnknown()) {
                    try {
                        Thread.sleep(RETRY_REFUSALS_PAUSE);
                    } catch (InterruptedException interrupted) {
                        Thread.currentThread().interrupt();
                        throw db;
                    }
                }
            }
        }
    }

    /** Writes the outcome of a message delivered before an error, so the next owner does not send it again. */
    private void keepDelivered() {
        try {
            flush();
        } catch (RuntimeException e) {
            log.warn(
                    "Could not record a delivered message of webhook stream {} ({}); it is sent again",
                    webhookStreamPk,
                    e.getMessage());
        }
    }

    /**
     * A worker error (not an attempt's outcome, which the retry schedule handles): a stored URL the
     * settings now refuse, an unexpected failure. Claiming the stream again at once would fail the same
     * way in a busy loop, so the stream is released with a wait that grows with each error in a row, and
     * the error is kept where the endpoint's state and metrics show it.
     */
    private void backOff(RuntimeException e) {
        // What the endpoint shows its integration: a route refused is the endpoint's to fix, in words written
        // for it; any other failure is the server's, and its text (a database error names processes, tables,
        // even values) stays in this node's log.
        String error = e instanceof Deliverer.RouteRefused
                ? e.getMessage()
                : "an error of the server's, not the endpoint's: the server's log has it (at lastStreamErrorAt)";
        String endpointId = target == null ? null : target.endpoint().id();
        // A row held too long by another transaction (a connection's delete), a deadlock: it passes, and its
        // trace would say nothing more than its message.
        boolean passes = e instanceof DatabaseException db && db.isTransient();
        Optional<StreamLeases.BackedOff> backedOff;
        try {
            String shown = error.length() > 500 ? error.substring(0, 500) : error;
            backedOff = retryingRefusals(() -> leases.backOff(webhookStreamPk, shown));
        } catch (RuntimeException recording) {
            e.addSuppressed(recording);
            boolean recordingPasses = recording instanceof DatabaseException db && db.isTransient();
            // Not released: waiting for the lease to expire is the back-off then.
            log.atLevel(passes && recordingPasses ? Level.WARN : Level.ERROR)
                    .setCause(passes && recordingPasses ? null : e)
                    .log(
                            "Delivering webhook {} stream {} failed{}, and so did holding it back ({}); it is claimed"
                                    + " again when its lease expires",
                            endpointId,
                            webhookStreamPk,
                            passes ? " (" + e.getMessage() + ")" : "",
                            recording.getMessage());
            return;
        }
        if (backedOff.isEmpty()) {
            // Deleted meanwhile (a connection's delete holds its streams' rows while it runs), or its lease
            // passed to another node.
            log.atLevel(passes ? Level.WARN : Level.ERROR)
                    .setCause(passes ? null : e)
                    .log(
                            "Delivering webhook stream {} failed{}; the stream is no longer this node's: deleted, or"
                                    + " claimed by another node",
                            webhookStreamPk,
                            passes ? " (" + e.getMessage() + ")" : "");
            return;
        }
        StreamLeases.BackedOff b = backedOff.get();
        metrics.streamError(b.endpointId());
        try {
            metrics.refreshLag(); // the stuck-stream gauge shows it now, not at the next periodic refresh
        } catch (RuntimeException refreshing) {
            // The periodic refresh shows it instead.
        }
        log.atLevel(passes ? Level.WARN : Level.ERROR)
                .setCause(passes ? null : e)
                .log(
                        "Delivering webhook {} stream {} failed ({} in a row); it is released and claimed again in"
                                + " {} ms, the endpoint shows the error until the stream moves on{}",
                        b.endpointId(),
                        webhookStreamPk,
                        b.errors(),
                        b.delay().toMillis(),
                        passes ? ": " + e.getMessage() : "");
    }

    /** The delivery loop; returns whether the stream's lease should be released (false: already given up). */
    private boolean deliver() {
        if (!load()) {
            return true;
        }
        turnStarted = System.nanoTime();
        int sent = 0;
        boolean caughtUp = false; // the last message took every event up to the stream's head
        while (!stopping) {
            // Nothing committed since the last read began (more is cleared before each read, and every
            // commit sets it): another read would find nothing.
            if (caughtUp && !more && !stale) {
                if (!flush()) {
                    return false;
                }
                if (!awaitMore()) {
                    return true;
                }
            }
            caughtUp = false;
            if (stale) {
                stale = false;
                if (!flush()) {
                    return false;
                }
                if (!load()) {
                    return true;
                }
            }
            MessageLog.Pending message;
            java.time.Instant oldestEvent = null;
            if (at.messageId() != null) {
                switch (resumeCurrent()) {
                    case Current.Send send -> message = send.message();
                    case Current.MovedPast passed -> {
                        stale = true;
                        continue;
                    }
                    case Current.Release release -> {
                        return true;
                    }
                }
            } else {
                Optional<Next> next = next();
                if (next.isEmpty()) {
                    if (!flush()) {
                        return false;
                    }
                    if (headRead != at.position() || at.rewindTo() != null) {
                        if (!messages.advance(webhookStreamPk, headRead, at.rewindTo())) {
                            return false;
                        }
                        at = new StreamLeases.Cursor(headRead, null, null);
                    }
                    if (aheadFull) {
                        // A slice of the shared window that held none of its events, with more after
                        // it: read on now; no commit is coming to wake it for events already written.
                        continue;
                    }
                    if (!awaitMore()) {
                        return true;
                    }
                    continue;
                }
                // The delivered message's outcome and this message are written together (with other
                // streams' steps): the message is durable before its first attempt, so a crash sends it
                // again with the same webhook-id.
                MessageLog.Stepped stepped = writer.write(new MessageLog.Step(
                        webhookStreamPk, endpointPk, done, next.get().message()));
                done = null;
                if (!stepped.held()) {
                    return false; // the lease moved to another node
                }
                message = stepped.next();
                oldestEvent = next.get().oldestEvent();
                causes = next.get().causes();
                caughtUp = ahead.isEmpty() && !aheadFull;
                at = new StreamLeases.Cursor(at.position(), message.id(), null);
            }
            if (route.keysExpired()) {
                // A stream that never goes idle keeps its route: a rotated-out secret must stop signing on time.
                route = deliverer.route(target.endpoint());
            }
            Attempt attempt = deliverer.attempt(route, message, causes);
            causes = List.of();
            Decision decision = deliverer.decide(target.endpoint(), message, attempt);
            if (decision instanceof Decision.Delivered) {
                if (oldestEvent != null) {
                    metrics.delivered(target.endpoint().id(), Duration.between(oldestEvent, clock.instant()));
                }
                done = new MessageLog.Done(message, attempt); // written with the next step, or before waiting
                at = past(message);
            } else {
                MessageLog.Recorded recorded = messages.recordStream(webhookStreamPk, message, attempt, decision);
                deliverer.afterRecord(target.endpoint(), recorded);
                if (!recorded.streamHeld()) {
                    return false;
                }
                if (decision instanceof Decision.RetryLater) {
                    return false; // recorded with the lease released until the retry is due
                }
                at = past(message);
                if (recorded.endpointState() == WebhookEndpoint.State.disabled) {
                    return true;
                }
            }
            if (++sent >= YIELD_AFTER) {
                sent = 0;
                if (turnWanted()) {
                    handedOver = true;
                    return flush();
                }
            }
            if (turnOver()) {
                handedOver = true;
                return flush();
            }
        }
        return flush();
    }

    /** What becomes of the message the stream points at when it is claimed (after a retry's wait, or a crash). */
    private sealed interface Current {
        /** Send it (again: its webhook-id is the one sent before). */
        record Send(MessageLog.Pending message) implements Current {}

        /** It has nothing (more) to send: the stream has moved past it. */
        record MovedPast() implements Current {}

        /** The stream is released as it is (its lease is gone, or the message is pending again). */
        record Release() implements Current {}
    }

    /** Resumes the message the stream points at: looked up again, restated, or moved past when it cannot be sent. */
    private Current resumeCurrent() {
        Optional<MessageLog.Pending> pending = messages.pending(at.messageId(), target);
        if (pending.isEmpty()) {
            // Its outcome is recorded (or it was deleted): nothing to send for it. Releasing the
            // stream as it is would have it claimed straight back, so it moves on instead.
            if (!messages.passFinished(webhookStreamPk, at.messageId())) {
                // The lease is gone (the release changes nothing) or the message is pending again.
                return new Current.Release();
            }
            log.warn(
                    "Webhook stream {} pointed at message {}, which is no longer pending; it moves past it",
                    webhookStreamPk,
                    at.messageId());
            return new Current.MovedPast();
        }
        MessageLog.Pending message = pending.get();
        MessageLog.Logged logged = message.logged();
        long expired = logged == null ? 0 : logged.expired();
        if (message.body() == null) {
            Optional<Integer> attempts = messages.passEmpty(webhookStreamPk, message.id());
            if (attempts.isEmpty()) {
                return new Current.Release();
            }
            String kept = attempts.get() == 0
                    ? "it is dropped unsent"
                    : "it is kept as failed with its " + attempts.get()
                            + " attempts (retry it to send what may be sent then)";
            if (expired > 0) {
                metrics.expired(expired);
                log.warn(
                        "Webhook {} stream {} (tenant {}) message {}: the retention removed its events"
                                + " before it was delivered; they are gone, {} and the stream moves past"
                                + " seq {}",
                        target.endpoint().id(),
                        webhookStreamPk,
                        target.tenantId(),
                        message.webhookId(),
                        kept,
                        message.lastSeq());
            } else {
                log.warn(
                        "Webhook stream {} message {} holds no event its filter lets through any more (the"
                                + " endpoint's event types or the integration's permissions narrowed before it"
                                + " was delivered); {} and the stream moves past seq {}",
                        webhookStreamPk,
                        message.webhookId(),
                        kept,
                        message.lastSeq());
            }
            return new Current.MovedPast();
        }
        if (logged != null && logged.restated() && !messages.restate(message)) {
            return new Current.Release();
        }
        if (expired > 0) {
            metrics.expired(expired);
            log.warn(
                    "Webhook {} stream {} (tenant {}) message {}: the retention removed {} events of its"
                            + " range (before seq {}) before it was delivered; they are gone, and it is sent with"
                            + " the {} left",
                    target.endpoint().id(),
                    webhookStreamPk,
                    target.tenantId(),
                    message.webhookId(),
                    expired,
                    logged.firstSeq(),
                    logged.events());
        }
        return new Current.Send(message);
    }

    /**
     * Whether another stream may be waiting for this one's slot after {@link #YIELD_AFTER} messages. Not
     * where every share has room (a waiting stream is claimed into the room), nor where the full share is
     * its endpoint's or integration's and no stream of its integration waits: giving the slot up there
     * only had the same stream claimed and loaded again (with 16 streams filling their endpoint's share,
     * claims and loads were 14 % of the server's delivery samples in a profile, 7 % once that stopped).
     * Where the node is full, another integration's stream may be waiting: it gets its turn.
     */
    private boolean turnWanted() {
        if (host.mayLinger(endpointPk, integrationPk)) {
            return false;
        }
        return host.nodeFull() || leases.othersWaiting(integrationPk);
    }

    /**
     * Whether this stream has held its slot for {@link #YIELD_AFTER_TIME} while another stream of its
     * integration waits for room; when none waits, the turn starts again (one look per period).
     */
    private boolean turnOver() {
        if (System.nanoTime() - turnStarted < YIELD_AFTER_TIME.toNanos()) {
            return false;
        }
        turnStarted = System.nanoTime();
        return leases.othersWaiting(integrationPk);
    }

    /** Where the stream is once {@code message} is done with: past it, and a replay asked for meanwhile comes next. */
    private StreamLeases.Cursor past(MessageLog.Pending message) {
        return new StreamLeases.Cursor(message.lastSeq(), null, at.rewindTo());
    }

    /** (Re)reads what the stream delivers to and where it is, dropping events read ahead; false when it may not deliver now. */
    private boolean load() {
        Optional<DeliveryTarget> loaded = leases.target(webhookStreamPk);
        Optional<StreamLeases.Cursor> cursor = leases.cursor(webhookStreamPk);
        if (loaded.isEmpty() || cursor.isEmpty()) {
            return false;
        }
        target = loaded.get();
        route = deliverer.route(target.endpoint());
        at = cursor.get();
        ahead.clear();
        return true;
    }

    /**
     * Writes the outcome of the last delivered message if it is not written yet (it waits to go with the
     * next message's step); false when the stream is no longer this node's.
     */
    private boolean flush() {
        if (done == null) {
            return true;
        }
        MessageLog.Stepped stepped = writer.write(new MessageLog.Step(webhookStreamPk, endpointPk, done, null));
        done = null;
        return stepped.held();
    }

    /**
     * The next message to send, its oldest event's time, and the trace contexts its events kept (of the
     * writes that were traced).
     */
    private record Next(MessageLog.Next message, java.time.Instant oldestEvent, List<String> causes) {}

    /**
     * The next message, built from the events read ahead, reading the next page of the log when none are
     * left; empty when no event is waiting ({@link #headRead} is then the position the log was read up to).
     * Events are read a page at a time ({@value #READ_AHEAD} or the batch size, whichever is more) rather
     * than one message's worth, so a stream sending one event per message reads the log once per page.
     */
    private Optional<Next> next() {
        if (ahead.isEmpty()) {
            long from = at.rewindTo() == null ? at.position() : Math.min(at.position(), at.rewindTo());
            more = false;
            int limit = Math.max(READ_AHEAD, target.batchSize());
            // Lifecycle events carry sealed tokens, which the shared window does not hold; a replay reads for itself.
            Optional<EventLog.Page> shared = target.lifecycle() || at.rewindTo() != null
                    ? Optional.empty()
                    : tail.read(target.eventStreamPk(), from, limit, target.filter());
            EventLog.Onward read = shared.isPresent()
                    ? new EventLog.Onward(shared.get(), 0)
                    : eventLog.readOnward(target.eventStreamPk(), from, limit, target.filter());
            if (shared.isEmpty() && !read.page().full() && !target.lifecycle()) {
                tail.caughtUp(target.eventStreamPk(), read.page().next());
            }
            if (read.expired() > 0) {
                metrics.expired(read.expired());
                log.warn(
                        "Webhook {} stream {} (tenant {}) was {} events behind the retention; those events are gone"
                                + " and are not sent",
                        target.endpoint().id(),
                        webhookStreamPk,
                        target.tenantId(),
                        read.expired());
            }
            ahead.addAll(read.page().events());
            headRead = read.page().next();
            aheadFull = read.page().full();
            aheadRewind = at.rewindTo();
            if (ahead.isEmpty()) {
                return Optional.empty();
            }
        }
        Event first = ahead.getFirst();
        String body;
        int count;
        if (target.lifecycle()) {
            body = MessageBody.lifecycle(first, target.endpoint().integrationId());
            count = 1;
        } else {
            List<Event> candidates = new ArrayList<>(Math.min(ahead.size(), target.batchSize()));
            for (Event event : ahead) {
                if (candidates.size() == target.batchSize()) {
                    break;
                }
                candidates.add(event);
            }
            MessageBody.Batch batch = MessageBody.events(
                    target.tenantId(), target.endpoint().integrationId(), candidates, target.batchSize());
            body = batch.json();
            count = batch.count();
        }
        Event last = first;
        List<String> traced = List.of(); // with tracing off, events keep no context and nothing is allocated
        long[] carried = new long[count];
        for (int i = 0; i < count; i++) {
            last = ahead.poll();
            carried[i] = last.seq();
            if (last.traceContext() != null) {
                if (traced.isEmpty()) {
                    traced = new ArrayList<>();
                }
                traced.add(last.traceContext());
            }
        }
        // A message that takes the last event read covers the events passed over as not for it up to
        // where the page ended, so the stream's position does not stop short of them.
        long lastSeq = ahead.isEmpty() ? headRead : last.seq();
        // A range that also holds events the filter passed over names those the message carries: a retry
        // after the filter widened sends no more than they. A lifecycle message is its first event.
        long[] seqs = !target.lifecycle() && lastSeq - first.seq() + 1 > count ? carried : null;
        Long appliedRewind = aheadRewind;
        aheadRewind = null;
        return Optional.of(new Next(
                new MessageLog.Next(
                        Ids.newUuid(),
                        target.tenantId(),
                        first.seq(),
                        lastSeq,
                        count,
                        seqs,
                        body,
                        target.lifecycle() ? first.sealed() : null,
                        appliedRewind),
                first.time(),
                traced));
    }

    /** Waits up to {@link #LINGER} for a wake-up; false when none came (or the node is stopping, or another stream needs the slot). */
    private boolean awaitMore() {
        if (!host.mayLinger(endpointPk, integrationPk)) {
            return more;
        }
        long deadline = System.nanoTime() + LINGER.toNanos();
        while (!more && !stopping) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            LockSupport.parkNanos(this, left);
        }
        return !stopping;
    }

    @Override
    public String toString() {
        return "webhook stream " + webhookStreamPk;
    }
}
