package dev.switchboard.websockets;

import dev.switchboard.events.ControlMessage.ConnectionChanged;
import dev.switchboard.events.ControlMessage.IntegrationChanged;
import dev.switchboard.events.ControlMessage.Resync;
import dev.switchboard.store.ConnectionStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-checks sockets when the control channel says their connection or integration changed (on
 * every node, the one that made the change included): a disabled, deleted or rotated connection's
 * sockets are closed with a terminal code, and changed permissions take effect on open sockets.
 * Checks run one after another on a virtual thread, in the order the changes arrived, one database
 * read per distinct token: two changes in quick succession (widen, then narrow) are applied in that
 * order, never the first one's older answer over the second's.
 */
public final class AccessWatch {
    private static final Logger log = LoggerFactory.getLogger(AccessWatch.class);

    /** How long a resync may hold the node's listener thread checking sockets. */
    static final Duration RESYNC_BUDGET = Duration.ofSeconds(5);

    private final ConnectionStore connections;
    private final Sockets sockets;
    private final ExecutorService checks = Executors.newSingleThreadExecutor(
            Thread.ofVirtual().name("ws-access-check").factory());

    public AccessWatch(ConnectionStore connections, Sockets sockets) {
        this.connections = connections;
        this.sockets = sockets;
    }

    /** A connection changed: its sockets are checked again. */
    public void connectionChanged(ConnectionChanged message) {
        // Before listing: a socket that registers after the listing sees this and is checked again (Sockets.add).
        sockets.accessChanging();
        recheckLater(sockets.forConnection(message.connectionPk()));
    }

    /** An integration changed: the sockets of its connections are checked again (new permissions apply). */
    public void integrationChanged(IntegrationChanged message) {
        sockets.accessChanging();
        recheckLater(sockets.forIntegration(message.integrationPk()));
    }

    /**
     * Changes may have been missed while the control channel was not listening: every socket is checked
     * again, and this waits for the checks, since the feeds read what was written meanwhile only once it
     * returns (a socket of a connection disabled meanwhile must be closed before then, not after). The
     * listener thread waits meanwhile, so the checks have {@link #RESYNC_BUDGET}: sockets not checked by
     * then are closed to reconnect (and be checked at their upgrade), as they are once a check fails.
     */
    public void resync(Resync message) {
        sockets.accessChanging();
        List<ClientSession> all = sockets.all();
        if (all.isEmpty()) {
            return;
        }
        long deadline = System.nanoTime() + RESYNC_BUDGET.toNanos();
        try {
            checks.submit(() -> recheck(all, deadline)).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            // recheck closes the sockets it could not check; anything else is a bug, and the sockets go.
            log.error("Could not re-check the access of the WebSockets; closing them", e.getCause());
            closeAll(all, CloseCode.TRY_AGAIN_LATER);
        }
    }

    private void recheckLater(List<ClientSession> affected) {
        if (!affected.isEmpty()) {
            checks.execute(() -> recheck(affected));
        }
    }

    /**
     * Checks one socket again, and waits for it: its upgrade looked the token up before a change that did
     * not list it. The check takes its turn behind the changes' checks: run at once, its read of the
     * token could be answered before a newer change and applied after that change's check, leaving the
     * socket with the older grant (wider permissions, say) until the next change.
     */
    void recheck(ClientSession session) {
        try {
            checks.submit(() -> recheck(List.of(session))).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            session.close(CloseCode.TRY_AGAIN_LATER);
        } catch (ExecutionException e) {
            // recheck closes the sockets it could not check; anything else is a bug, and the socket goes.
            log.error("Could not re-check the access of a WebSocket; closing it", e.getCause());
            session.close(CloseCode.TRY_AGAIN_LATER);
        }
    }

    private void recheck(List<ClientSession> affected) {
        recheck(affected, Long.MAX_VALUE);
    }

    /**
     * Checks each token of {@code affected} and applies what it finds. Once a lookup fails (the database is
     * down or locked: each further one would wait as long) or {@code deadline} (System.nanoTime) has passed,
     * the sockets left are closed with 1013 instead: they reconnect, and their upgrade checks them.
     */
    private void recheck(List<ClientSession> affected, long deadline) {
        Map<String, List<ClientSession>> byToken = new LinkedHashMap<>();
        for (ClientSession s : affected) {
            if (s.access().readOnly()) {
                continue; // an operator's socket has no connection or token to check
            }
            byToken.computeIfAbsent(s.access().tokenHash(), k -> new ArrayList<>())
                    .add(s);
        }
        if (byToken.isEmpty()) {
            return;
        }
        String givenUp = null;
        int unchecked = 0;
        for (var entry : byToken.entrySet()) {
            List<ClientSession> sessions = entry.getValue();
            if (givenUp == null && deadline != Long.MAX_VALUE && System.nanoTime() - deadline > 0) {
                givenUp = "out of time";
            }
            if (givenUp == null) {
                try {
                    check(entry.getKey(), sessions);
                    continue;
                } catch (RuntimeException e) {
                    givenUp = e.getMessage();
                }
            }
            // Not checked: the token may have been revoked, so close rather than keep serving it unchecked.
            unchecked += sessions.size();
            sessions.forEach(s -> s.close(CloseCode.TRY_AGAIN_LATER));
        }
        if (givenUp != null) {
            log.warn(
                    "Could not re-check the access of {} WebSockets ({}); closed them with {} so they reconnect and"
                            + " are checked again",
                    unchecked,
                    givenUp,
                    CloseCode.TRY_AGAIN_LATER.code());
        }
    }

    /** Closes the sockets of a token that no longer grants access, or narrows what they are sent. */
    private void check(String tokenHash, List<ClientSession> sessions) {
        Optional<ConnectionStore.Grant> grant =
                connections.findGrant(HexFormat.of().parseHex(tokenHash));
        if (grant.isEmpty()) {
            String connectionId = sessions.getFirst().access().connectionId();
            boolean exists = connections.find(connectionId).isPresent();
            closeAll(sessions, exists ? CloseCode.TOKEN_ROTATED : CloseCode.CONNECTION_DELETED);
        } else if (!grant.get().connection().enabled()) {
            closeAll(sessions, CloseCode.CONNECTION_DISABLED);
        } else {
            var filter = SocketAccess.filterOf(grant.get());
            sessions.forEach(s -> s.updateAllowed(filter));
        }
    }

    private static void closeAll(List<ClientSession> sessions, CloseCode code) {
        log.info(
                "Closing {} WebSockets of connection {} with {} ({})",
                sessions.size(),
                sessions.getFirst().access().connectionId(),
                code.code(),
                code.reason());
        sessions.forEach(s -> s.close(code));
    }
}
