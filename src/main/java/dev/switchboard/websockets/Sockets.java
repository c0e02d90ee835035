package dev.switchboard.websockets;

import dev.switchboard.config.WebSocketSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every open socket on this node, by connection: for the per-connection limit, for closing a
 * connection's sockets when it changes, and for heartbeats. One sweeper thread pings and times out
 * all sockets (no timer per socket); on close every socket gets the "server restarting" code.
 */
public final class Sockets implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Sockets.class);
    private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(2);

    private final WebSocketSettings settings;
    private final Set<ClientSession> all = ConcurrentHashMap.newKeySet();
    private final Map<Long, Set<ClientSession>> byConnection = new ConcurrentHashMap<>();
    /** What each connection's sockets here may still send together; kept while it has one. */
    private final Map<Long, MessageBudget> budgets = new ConcurrentHashMap<>();

    private final ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("ws-heartbeat").daemon().factory());
    private volatile boolean closed;
    /**
     * Counts access changes ({@link AccessWatch}); written under the write lock, while registrations
     * hold the read lock. So a registration either comes before a change, and the change's listing of
     * sockets finds it, or after, and it sees the new count and is checked again.
     */
    private volatile long accessChanges;

    private final ReadWriteLock registration = new ReentrantReadWriteLock();

    public Sockets(WebSocketSettings settings) {
        this.settings = settings;
    }

    void start() {
        long tick = Math.clamp(
                Math.min(
                                settings.pingInterval().toMillis(),
                                settings.pingTimeout().toMillis())
                        / 4,
                20,
                1000);
        sweeper.scheduleWithFixedDelay(this::sweep, tick, tick, TimeUnit.MILLISECONDS);
    }

    /** What {@link #add} did with a socket that just opened. */
    enum Added {
        YES,
        /** Registered, but access changed since its upgrade looked the token up: check it again. */
        RECHECK,
        SERVER_CLOSING,
        CONNECTION_FULL
    }

    /** The count of access changes so far; an upgrade reads it before it looks its token up. */
    long accessChanges() {
        return accessChanges;
    }

    /**
     * Called by {@link AccessWatch} when a connection, an integration or everything may have changed,
     * before it lists the sockets concerned: sockets registered from now on see the change in
     * {@link #add} and are checked again, so none falls between the listing and its registration.
     */
    void accessChanging() {
        registration.writeLock().lock();
        try {
            accessChanges++;
        } finally {
            registration.writeLock().unlock();
        }
    }

    /**
     * Registers an opened socket, unless the server is closing or its connection already holds
     * websockets.maxSocketsPerConnection sockets. The upgrade checks the count first and answers 429;
     * this check is the atomic one, for upgrades of one connection that passed that check together.
     * {@code accessChangesSeen} is {@link #accessChanges()} from before the upgrade looked its token up.
     */
    Added add(ClientSession session, long accessChangesSeen) {
        if (closed) {
            return Added.SERVER_CLOSING;
        }
        boolean[] full = {false};
        registration.readLock().lock();
        try {
            byConnection.compute(session.access().connectionPk(), (k, set) -> {
                Set<ClientSession> sessions = set == null ? ConcurrentHashMap.newKeySet() : set;
                // An operator's sockets are listed under no connection (NONE): the limit is a partner's.
                if (!session.access().readOnly() && sessions.size() >= settings.maxSocketsPerConnection()) {
                    full[0] = true;
                } else {
                    sessions.add(session);
                    all.add(session);
                    budgets.computeIfAbsent(k, pk -> new MessageBudget(settings.maxMessageBytes(), System.nanoTime()));
                }
                return sessions;
            });
            if (full[0]) {
                return Added.CONNECTION_FULL;
            }
            return accessChanges == accessChangesSeen ? Added.YES : Added.RECHECK;
        } finally {
            registration.readLock().unlock();
        }
    }

    /** Forgets a socket; true the first time. */
    boolean remove(ClientSession session) {
        if (!all.remove(session)) {
            return false;
        }
        byConnection.computeIfPresent(session.access().connectionPk(), (k, set) -> {
            set.remove(session);
            if (set.isEmpty()) {
                budgets.remove(k);
                return null;
            }
            return set;
        });
        return true;
    }

    /**
     * What the sockets of {@code session}'s connection on this node may still send ({@link MessageBudget});
     * null for an operator's socket (which sends no requests), or one not registered.
     */
    MessageBudget budget(ClientSession session) {
        return session.access().readOnly() ? null : budgets.get(session.access().connectionPk());
    }

    int size() {
        return all.size();
    }

    int ofConnection(long connectionPk) {
        Set<ClientSession> set = byConnection.get(connectionPk);
        return set == null ? 0 : set.size();
    }

    List<ClientSession> forConnection(long connectionPk) {
        Set<ClientSession> set = byConnection.get(connectionPk);
        return set == null ? List.of() : List.copyOf(set);
    }

    List<ClientSession> forIntegration(long integrationPk) {
        List<ClientSession> found = new ArrayList<>();
        for (ClientSession s : all) {
            if (s.access().integrationPk() == integrationPk) {
                found.add(s);
            }
        }
        return found;
    }

    List<ClientSession> all() {
        return List.copyOf(all);
    }

    private void sweep() {
        try {
            long now = System.nanoTime();
            long interval = settings.pingInterval().toNanos();
            long timeout = settings.pingTimeout().toNanos();
            for (ClientSession s : all) {
                s.heartbeat(now, interval, timeout);
            }
        } catch (RuntimeException e) {
            log.error("The WebSocket heartbeat sweep failed; it runs again at the next tick", e);
        }
    }

    /** Closes every socket with "server restarting" and waits briefly for the closing handshakes. */
    @Override
    public void close() {
        closed = true;
        sweeper.shutdownNow();
        List<ClientSession> open = all();
        if (!open.isEmpty()) {
            log.info(
                    "Closing {} WebSockets with {} ({}): clients reconnect with after=<last seq>",
                    open.size(),
                    CloseCode.SERVER_RESTARTING.code(),
                    CloseCode.SERVER_RESTARTING.reason());
        }
        open.forEach(s -> s.close(CloseCode.SERVER_RESTARTING));
        long deadline = System.nanoTime() + SHUTDOWN_GRACE.toNanos();
        while (!all.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        all().forEach(ClientSession::disconnect);
    }
}
