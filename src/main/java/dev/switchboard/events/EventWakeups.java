package dev.switchboard.events;

import dev.switchboard.db.Database;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells readers on every node that a stream has new events, through PostgreSQL LISTEN/NOTIFY.
 *
 * <p>Writers do not NOTIFY inside their transaction: PostgreSQL serialises the commits of all
 * notifying transactions on one lock, which would cost every writer its group commit. Instead a
 * committed append wakes this node's readers at once and is queued for one background thread that
 * sends a single coalesced NOTIFY for everything committed since its last one. A wake-up is only a
 * hint: the events are already in the log, and readers that miss one (the listening connection
 * dropped, a node died between commit and NOTIFY) are told to re-read when the listener reconnects,
 * and long waits are bounded.
 *
 * <p>The same listening connection receives the {@link ControlChannel}'s messages and hands them to it.
 */
public final class EventWakeups implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EventWakeups.class);
    static final String EVENTS_CHANNEL = "switchboard_events";
    private static final int MAX_PAYLOAD = 7_000; // PostgreSQL's limit is 8000 bytes
    private static final Duration RECONNECT_DELAY = Duration.ofSeconds(1);

    /** Receives wake-ups: a stream's head moved, or everything may have moved (after a reconnect). */
    public interface Listener {
        void appended(long streamPk, long seq);

        /** A commit on this node, with the event it appended (at {@code committed.event().seq()}). */
        default void appended(long streamPk, EventLog.Entry committed) {
            appended(streamPk, committed.event().seq());
        }

        void resync();
    }

    private final Database database;
    private final String nodeId;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final ControlChannel control;
    private final Map<Long, Long> pending = new ConcurrentHashMap<>();
    /** When the oldest commit not yet announced to other nodes happened (0: none waiting). */
    private final java.util.concurrent.atomic.AtomicLong pendingSince = new java.util.concurrent.atomic.AtomicLong();

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition pendingChanged = lock.newCondition();
    private final Timer remoteLag;
    private final Counter notifyFailures;
    private volatile boolean running = true;
    private volatile boolean listening;
    private final Thread listenerThread;
    private final Thread publisherThread;

    public EventWakeups(Database database, String nodeId, ControlChannel control, MeterRegistry meters) {
        this.database = database;
        this.nodeId = nodeId;
        this.control = control;
        this.remoteLag = Timer.builder("switchboard.events.wakeup.lag")
                .description("Time from the oldest commit in a NOTIFY batch on another node to its wake-up here")
                .publishPercentiles(0.5, 0.99)
                .register(meters);
        this.notifyFailures = Counter.builder("switchboard.events.notify.failures")
                .description("NOTIFY batches that could not be sent; readers on other nodes catch up on resync")
                .register(meters);
        this.listenerThread =
                Thread.ofPlatform().name("event-listener").daemon().unstarted(this::listenLoop);
        this.publisherThread =
                Thread.ofPlatform().name("event-notifier").daemon().unstarted(this::publishLoop);
    }

    public void start() {
        listenerThread.start();
        publisherThread.start();
    }

    public boolean listening() {
        return listening;
    }

    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    /** Called after a commit: wakes this node's readers now and the other nodes' shortly. */
    public void published(long streamPk, long seq) {
        deliver(streamPk, seq);
        announce(streamPk, seq);
    }

    /**
     * Called after a commit that appended {@code committed}: this node's readers are handed the event
     * (they need not read it back from the log), the other nodes' are woken shortly.
     */
    public void published(long streamPk, EventLog.Entry committed) {
        eachListener(l -> l.appended(streamPk, committed), "failed");
        announce(streamPk, committed.event().seq());
    }

    private void announce(long streamPk, long seq) {
        pendingSince.compareAndSet(0, System.currentTimeMillis());
        pending.merge(streamPk, seq, Math::max);
        lock.lock();
        try {
            pendingChanged.signal();
        } finally {
            lock.unlock();
        }
    }

    private void deliver(long streamPk, long seq) {
        eachListener(l -> l.appended(streamPk, seq), "failed");
    }

    private void resyncAll() {
        eachListener(Listener::resync, "failed to resync");
    }

    /** Calls every listener; one that throws is logged and the others still called. */
    private void eachListener(Consumer<Listener> call, String failed) {
        for (Listener l : listeners) {
            try {
                call.accept(l);
            } catch (RuntimeException e) {
                log.error("A wake-up listener {}; it stays registered", failed, e);
            }
        }
    }

    private void publishLoop() {
        while (running) {
            try {
                lock.lock();
                try {
                    while (running && pending.isEmpty()) {
                        pendingChanged.await(1, TimeUnit.SECONDS);
                    }
                } finally {
                    lock.unlock();
                }
                if (!running) {
                    return;
                }
                sendPending();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception | Error e) {
                notifyFailures.increment();
                log.warn(
                        "Could not NOTIFY other nodes of new events ({}); they will see them when they next read",
                        e.getMessage());
                sleep(RECONNECT_DELAY);
            }
        }
    }

    private void sendPending() throws SQLException {
        StringBuilder payload = new StringBuilder();
        long since = pendingSince.getAndSet(0);
        Map<Long, Long> taken = new HashMap<>();
        try (Connection c = database.dataSource().getConnection()) {
            for (Long stream : List.copyOf(pending.keySet())) {
                Long seq = pending.remove(stream);
                if (seq == null) {
                    continue;
                }
                taken.put(stream, seq);
                if (payload.length() > MAX_PAYLOAD) {
                    notify(c, payload);
                    payload.setLength(0);
                }
                payload.append(payload.isEmpty() ? nodeId + "|" + since + "|" : ",")
                        .append(stream)
                        .append(':')
                        .append(seq);
            }
            if (!payload.isEmpty()) {
                notify(c, payload);
            }
        } catch (SQLException | RuntimeException e) {
            // Sent again with the next try: dropped, a stream's sockets on other nodes would wait for its
            // next commit, hours away on a quiet tenant (a wake-up sent twice only has them read twice).
            taken.forEach((stream, seq) -> pending.merge(stream, seq, Math::max));
            pendingSince.compareAndSet(0, since);
            throw e;
        }
    }

    private static void notify(Connection c, CharSequence payload) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_notify('" + EVENTS_CHANNEL + "', ?)")) {
            ps.setString(1, payload.toString());
            ps.execute();
        }
    }

    private void listenLoop() {
        while (running) {
            try (Connection c = database.openDedicatedConnection()) {
                try (Statement s = c.createStatement()) {
                    s.execute("LISTEN " + EVENTS_CHANNEL);
                    s.execute("LISTEN " + ControlChannel.NAME);
                }
                listening = true;
                log.info("Listening for events committed by other nodes");
                // Anything may have committed while no one listened, changes of access too. Those apply
                // first (tokens forgotten, sockets checked again), then every reader re-reads its position:
                // the other way round, a reader woken here served what was written after a connection's
                // disable or an integration's narrowing with the access from before it.
                control.resync();
                resyncAll();
                PGConnection pg = c.unwrap(PGConnection.class);
                while (running) {
                    PGNotification[] notifications = pg.getNotifications(1000);
                    if (notifications == null || notifications.length == 0) {
                        // A quiet second proves nothing: getNotifications takes its own wait ending for
                        // silence (the driver answers an empty array, not null), so a connection whose
                        // database stopped answering would go unnoticed for as long as TCP keeps it (hours).
                        // A query must be answered within the connection's read timeout, or it fails and the
                        // listener reconnects and re-reads.
                        try (Statement s = c.createStatement()) {
                            s.execute("SELECT 1");
                        }
                        continue;
                    }
                    for (PGNotification n : notifications) {
                        handle(n);
                    }
                }
            } catch (SQLException e) {
                if (running) {
                    log.warn(
                            "The event listener lost its database connection ({}); reconnecting in {}s",
                            e.getMessage(),
                            RECONNECT_DELAY.toSeconds());
                }
            } catch (RuntimeException | Error e) {
                // An Error too: ending this thread would leave the node deaf to every other node's commits.
                log.error("The event listener failed; restarting it", e);
            } finally {
                listening = false;
            }
            sleep(RECONNECT_DELAY);
        }
    }

    private void handle(PGNotification n) {
        if (n.getName().equals(ControlChannel.NAME)) {
            control.received(n.getParameter());
            return;
        }
        String[] parts = n.getParameter().split("\\|", 3);
        if (parts.length != 3 || parts[0].equals(nodeId)) {
            return; // this node woke its own readers at commit
        }
        long committedAt = Long.parseLong(parts[1]);
        if (committedAt > 0) {
            remoteLag.record(Math.max(0, System.currentTimeMillis() - committedAt), TimeUnit.MILLISECONDS);
        }
        for (String entry : parts[2].split(",")) {
            int colon = entry.indexOf(':');
            deliver(Long.parseLong(entry.substring(0, colon)), Long.parseLong(entry.substring(colon + 1)));
        }
    }

    private void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    @Override
    public void close() {
        running = false;
        listenerThread.interrupt();
        publisherThread.interrupt();
        try {
            listenerThread.join(2000);
            publisherThread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
