package dev.switchboard.webhooks;

import dev.switchboard.config.WebhookSettings;
import dev.switchboard.db.DatabaseException;
import dev.switchboard.events.ControlMessage.ConnectionChanged;
import dev.switchboard.events.ControlMessage.IntegrationChanged;
import dev.switchboard.events.ControlMessage.ManualMessageDue;
import dev.switchboard.events.ControlMessage.WebhookChanged;
import dev.switchboard.events.EventLog;
import dev.switchboard.events.EventWakeups;
import dev.switchboard.tracing.Tracing;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's webhook delivery. A committed event wakes it (this node's commits at once, other nodes'
 * through NOTIFY); it wakes the workers already delivering that event stream and claims the stream's
 * other webhook streams that have work, starting a {@link StreamWorker} for each. A second pass every
 * {@value #RETRY_TICK_MILLIS} ms claims retries that have come due (often enough that retries of streams
 * that failed together go out as their jitter spreads them, not in bursts), one every {@value
 * #TICK_MILLIS} ms (and whenever one of their slots frees) manual messages, and a slower sweep
 * claims anything a lost wake-up left behind. Claims respect the node's limits: at most
 * {@code concurrency} streams at once, {@code endpointConcurrency} of any one endpoint and
 * {@code integrationConcurrency} of any one integration's endpoints, so a slow endpoint, or an
 * integration whose endpoints are all slow, can occupy only its own share of the node.
 */
public final class WebhookDispatcher implements EventWakeups.Listener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WebhookDispatcher.class);
    static final long TICK_MILLIS = 250;
    static final long RETRY_TICK_MILLIS = 100;
    private static final Duration SWEEP_EVERY = Duration.ofSeconds(5);
    private static final Duration LAG_EVERY = Duration.ofSeconds(5);

    private final WebhookSettings settings;
    private final StreamLeases leases;
    private final MessageLog messages;
    private final DataSource deliveryPool;
    private final EventLog eventLog;
    private final Deliverer deliverer;
    private final WebhookMetrics metrics;
    private final InstantSource clock;
    private final Tracing tracing;
    private final ExecutorService workers = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("webhook-", 0).factory());
    private final Thread loop;
    private final StepWriter steps;
    private final EventTail tail;

    /** Webhook streams by the event stream they follow: which wake-ups concern webhooks at all. */
    private final WatchedStreams watched;

    private final Map<Long, StreamWorker> active = new ConcurrentHashMap<>();
    private final AtomicInteger manualActive = new AtomicInteger();
    /** Manual messages in flight here, by integration (only the dispatcher's loop and their workers touch it). */
    private final Map<Long, Integer> manualByIntegration = new ConcurrentHashMap<>();

    private final Set<Long> dirtyStreams = ConcurrentHashMap.newKeySet();
    private final Set<Long> dirtyEndpoints = ConcurrentHashMap.newKeySet();
    private final Set<Long> dirtyIntegrations = ConcurrentHashMap.newKeySet();
    /** Endpoints created, changed or deleted since the loop last looked: see {@link WatchedStreams}. */
    private final Set<Long> changedEndpoints = ConcurrentHashMap.newKeySet();

    private final AtomicBoolean reloadWatched = new AtomicBoolean(true);
    private final AtomicBoolean sweepAll = new AtomicBoolean(true);
    private final AtomicBoolean manualDue = new AtomicBoolean(true);
    /**
     * Changes to endpoints, connections and integrations told of (and resyncs): what a manual delivery keeps
     * is read again after one.
     */
    private final AtomicLong changes = new AtomicLong();

    private final AtomicBoolean atCapacity = new AtomicBoolean();
    private volatile boolean running = true;

    /**
     * Everything the dispatcher reads and writes goes through {@code deliveryPool} (the log, messages,
     * leases, deliverer included), so delivery never takes the API's connections.
     */
    public WebhookDispatcher(
            WebhookSettings settings,
            DataSource deliveryPool,
            EventLog eventLog,
            StreamLeases leases,
            MessageLog messages,
            Deliverer deliverer,
            WebhookMetrics metrics,
            InstantSource clock,
            Tracing tracing) {
        this.settings = settings;
        this.tracing = tracing;
        this.eventLog = eventLog;
        this.deliveryPool = deliveryPool;
        this.leases = leases;
        this.messages = messages;
        this.deliverer = deliverer;
        this.metrics = metrics;
        this.clock = clock;
        this.steps = new StepWriter(deliveryPool, messages, metrics, tracing, clock);
        this.tail = new EventTail(eventLog);
        this.watched = new WatchedStreams(deliveryPool);
        metrics.activeStreams(active::size);
        this.loop = Thread.ofPlatform().name("webhook-dispatcher").daemon().unstarted(this::run);
    }

    public void start() {
        loop.start();
    }

    @Override
    public void appended(long streamPk, long seq) {
        long[] webhookStreams = watched.of(streamPk);
        if (webhookStreams == null) {
            return;
        }
        tail.appended(streamPk, seq); // before any worker wakes to read it
        boolean allActive = true;
        for (long pk : webhookStreams) {
            StreamWorker worker = active.get(pk);
            if (worker != null) {
                worker.wake();
            } else {
                allActive = false;
            }
        }
        if (!allActive) {
            dirtyStreams.add(streamPk);
            LockSupport.unpark(loop);
        }
    }

    @Override
    public void resync() {
        // Notices of endpoint, connection and integration changes may have been missed too: a busy worker
        // would otherwise go on with what it read before (a URL, a filter, a disabled connection's events).
        changes.incrementAndGet();
        active.values().forEach(StreamWorker::refresh);
        tail.clear();
        reloadWatched.set(true);
        sweepAll.set(true);
        manualDue.set(true);
        LockSupport.unpark(loop);
    }

    /** An endpoint changed (or was asked to replay): its workers re-read it and its streams are claimed at once. */
    public void endpointChanged(WebhookChanged message) {
        changes.incrementAndGet();
        long endpointPk = message.endpointPk();
        active.values().stream().filter(w -> w.endpointPk() == endpointPk).forEach(StreamWorker::refresh);
        changedEndpoints.add(endpointPk);
        dirtyEndpoints.add(endpointPk);
        LockSupport.unpark(loop);
    }

    /** A connection changed: its workers re-read it, and a new connection's streams are found and claimed. */
    public void connectionChanged(ConnectionChanged message) {
        changes.incrementAndGet();
        Long connectionPk = message.connectionPk();
        active.values().stream()
                .filter(w ->
                        w.target() != null && connectionPk.equals(w.target().connectionPk()))
                .forEach(StreamWorker::refresh);
        reloadWatched.set(true);
        sweepAll.set(true);
        LockSupport.unpark(loop);
    }

    /** An integration changed (its event types, say): its workers re-read what they deliver. */
    public void integrationChanged(IntegrationChanged message) {
        changes.incrementAndGet();
        active.values().stream()
                .filter(w -> w.target() != null && w.target().endpoint().integrationPk() == message.integrationPk())
                .forEach(StreamWorker::refresh);
        LockSupport.unpark(loop);
    }

    /** A manual message (a test, a retried message) is due: claim it now rather than at the next pass. */
    public void manualMessageDue(ManualMessageDue message) {
        manualDue.set(true);
        LockSupport.unpark(loop);
    }

    private void run() {
        long nextTick = 0;
        long nextRetry = 0;
        long nextSweep = 0;
        long nextLag = System.nanoTime() + LAG_EVERY.toNanos();
        boolean watchedPending = false;
        while (running) {
            try {
                long now = System.nanoTime();
                watchedPending = true;
                if (reloadWatched.getAndSet(false)) {
                    watched.reload();
                }
                for (Long endpointPk : List.copyOf(changedEndpoints)) {
                    changedEndpoints.remove(endpointPk);
                    watched.endpointChanged(endpointPk);
                }
                watchedPending = false;
                if (now >= nextSweep) {
                    sweepAll.set(true);
                    nextSweep = now + SWEEP_EVERY.toNanos();
                }
                if (sweepAll.getAndSet(false)) {
                    dirtyStreams.clear();
                    dirtyEndpoints.clear();
                    dirtyIntegrations.clear();
                    claim(StreamLeases.Scope.all());
                }
                if (!dirtyStreams.isEmpty()) {
                    List<Long> streams = new ArrayList<>(dirtyStreams);
                    dirtyStreams.removeAll(streams);
                    claim(StreamLeases.Scope.eventStreams(streams));
                }
                for (Long endpointPk : List.copyOf(dirtyEndpoints)) {
                    dirtyEndpoints.remove(endpointPk);
                    claim(StreamLeases.Scope.endpoint(endpointPk));
                }
                for (Long integrationPk : List.copyOf(dirtyIntegrations)) {
                    dirtyIntegrations.remove(integrationPk);
                    claim(StreamLeases.Scope.integration(integrationPk));
                }
                if (now >= nextRetry) {
                    claim(StreamLeases.Scope.retriesDue());
                    nextRetry = now + TimeUnit.MILLISECONDS.toNanos(RETRY_TICK_MILLIS);
                }
                if (now >= nextTick) {
                    manualDue.set(true);
                    nextTick = now + TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS);
                }
                if (manualDue.getAndSet(false)) {
                    claimManual();
                }
                if (now >= nextLag) {
                    metrics.refreshLag();
                    tail.dropUnused();
                    nextLag = now + LAG_EVERY.toNanos();
                }
                if (dirtyStreams.isEmpty()
                        && dirtyEndpoints.isEmpty()
                        && dirtyIntegrations.isEmpty()
                        && !sweepAll.get()
                        && !manualDue.get()
                        && !reloadWatched.get()
                        && changedEndpoints.isEmpty()) {
                    LockSupport.parkNanos(this, Math.max(0, Math.min(nextTick, nextRetry) - System.nanoTime()));
                }
            } catch (RuntimeException | Error e) {
                // An Error too (out of memory while something else filled the heap): it used to end this
                // thread for good, and the node went on answering ready while it sent no webhook.
                // What this pass took on may be unfinished: the next claims everything, and reads the watched
                // streams whole when their update is what failed.
                sweepAll.set(true);
                if (watchedPending) {
                    reloadWatched.set(true);
                }
                if (e instanceof DatabaseException d && d.isTransient()) {
                    log.warn(
                            "Webhook dispatch: the database could not answer now ({}); trying again in a second",
                            d.detail());
                } else {
                    log.warn("Webhook dispatch failed; trying again in a second", e);
                }
                LockSupport.parkNanos(this, TimeUnit.SECONDS.toNanos(1));
            }
        }
    }

    /** Streams kept free for integrations with none in flight: see {@link StreamLeases#choose}. */
    static int reserve(int concurrency) {
        return Math.max(1, concurrency / 16);
    }

    private void claim(StreamLeases.Scope scope) {
        int room = settings.concurrency() - active.size();
        if (room <= 0) {
            atCapacity.set(true); // the next worker to finish asks for a full claim
            return;
        }
        Map<Long, Integer> endpointRoom = new HashMap<>();
        Map<Long, Integer> integrationRoom = new HashMap<>();
        for (StreamWorker worker : active.values()) {
            endpointRoom.merge(worker.endpointPk(), -1, Integer::sum);
            integrationRoom.merge(worker.integrationPk(), -1, Integer::sum);
        }
        endpointRoom.replaceAll((pk, used) -> settings.endpointConcurrency() + used);
        integrationRoom.replaceAll((pk, used) -> settings.integrationConcurrency() + used);
        StreamLeases.Room limits = new StreamLeases.Room(
                room,
                endpointRoom,
                settings.endpointConcurrency(),
                integrationRoom,
                settings.integrationConcurrency(),
                reserve(settings.concurrency()));
        long started = System.nanoTime();
        // Only this thread adds workers, so a stream not running now cannot be by the time the claim returns.
        List<StreamLeases.Claimed> taken = leases.claim(scope, limits, active.keySet());
        if (!taken.isEmpty()) {
            tracing.recordStatement(
                    "UPDATE", "webhook_streams", started, Map.of("switchboard.claimed", (long) taken.size()));
        }
        for (StreamLeases.Claimed claimed : taken) {
            StreamWorker worker = new StreamWorker(
                    claimed,
                    leases,
                    messages,
                    steps,
                    eventLog,
                    tail,
                    deliverer,
                    metrics,
                    clock,
                    new StreamWorker.Host() {
                        @Override
                        public void finished(StreamWorker w) {
                            boolean integrationWasFull = count(a -> a.integrationPk() == w.integrationPk())
                                    >= settings.integrationConcurrency();
                            active.remove(w.webhookStreamPk(), w);
                            // Its endpoint, its integration (or the node) may have streams waiting for this room.
                            dirtyEndpoints.add(w.endpointPk());
                            if (integrationWasFull) {
                                dirtyIntegrations.add(w.integrationPk());
                            }
                            if (atCapacity.getAndSet(false)) {
                                sweepAll.set(true);
                            }
                            LockSupport.unpark(loop);
                        }

                        @Override
                        public boolean mayLinger(long endpointPk, long integrationPk) {
                            return count(a -> a.endpointPk() == endpointPk) < settings.endpointConcurrency()
                                    && count(a -> a.integrationPk() == integrationPk)
                                            < settings.integrationConcurrency()
                                    && !nodeFull();
                        }

                        @Override
                        public boolean nodeFull() {
                            return active.size() >= settings.concurrency();
                        }

                        @Override
                        public void claimAgain(long eventStreamPk) {
                            dirtyStreams.add(eventStreamPk);
                            LockSupport.unpark(loop);
                        }

                        @Override
                        public void turnTaken(long endpointPk, long integrationPk) {
                            dirtyEndpoints.add(endpointPk);
                            dirtyIntegrations.add(integrationPk);
                            LockSupport.unpark(loop);
                        }
                    });
            active.put(claimed.pk(), worker);
            workers.execute(worker);
        }
    }

    private long count(Predicate<StreamWorker> which) {
        return active.values().stream().filter(which).count();
    }

    /**
     * Manual messages (tests, retries through the API) have a share of their own, {@code concurrency / 8}
     * (at least 2), and one integration may hold at most half of it, so one that retries thousands of
     * messages to a slow endpoint leaves the rest to the others.
     */
    private void claimManual() {
        int share = Math.max(2, settings.concurrency() / 8);
        int perIntegration = Math.max(1, share / 2);
        Map<Long, Integer> room = new HashMap<>();
        manualByIntegration.forEach((pk, inFlight) -> room.put(pk, perIntegration - inFlight));
        for (MessageLog.ClaimedManual claimed :
                messages.claimManual(share - manualActive.get(), room, perIntegration)) {
            long integrationPk = claimed.integrationPk();
            manualActive.incrementAndGet();
            manualByIntegration.merge(integrationPk, 1, Integer::sum);
            workers.execute(new ManualDelivery(
                    claimed.message(), deliveryPool, messages, deliverer, metrics, () -> running, changes::get, () -> {
                        manualByIntegration.computeIfPresent(integrationPk, (pk, n) -> n > 1 ? n - 1 : null);
                        manualActive.decrementAndGet();
                        // Its slot is free: claimed again now, not at the next pass.
                        manualDue.set(true);
                        LockSupport.unpark(loop);
                    }));
        }
    }

    /** Stops claiming, lets attempts in flight finish (within the timeout), and releases every lease. */
    @Override
    public void close() {
        running = false;
        LockSupport.unpark(loop);
        active.values().forEach(StreamWorker::stop);
        workers.shutdown();
        try {
            loop.join(2000);
            if (!workers.awaitTermination(settings.timeout().toMillis() + 2000, TimeUnit.MILLISECONDS)) {
                log.warn(
                        "Webhook attempts still in flight at shutdown; their messages are sent again by the next owner");
                workers.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        steps.close();
        try {
            int released = leases.releaseAll();
            if (released > 0) {
                log.info("Released {} webhook streams for other nodes", released);
            }
        } catch (RuntimeException e) {
            log.warn(
                    "Could not release webhook streams at shutdown ({}); their leases expire by themselves",
                    e.getMessage());
        }
    }
}
