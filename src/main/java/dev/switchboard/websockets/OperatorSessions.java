package dev.switchboard.websockets;

import dev.switchboard.store.ConsoleSessionStore;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends the sockets of console sessions that ended: every {@code every}, the operator sessions this
 * node's read-only sockets were opened by are looked up (one query, only when there are such sockets),
 * and the sockets of a session signed out (on any node) or expired are closed with 1000 (normal, do not
 * reconnect: the page must sign in again).
 */
public final class OperatorSessions implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OperatorSessions.class);

    private final Sockets sockets;
    private final ConsoleSessionStore sessions;
    private final Duration every;
    private final ScheduledExecutorService checker = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("ws-operator-sessions").daemon().factory());

    public OperatorSessions(Sockets sockets, ConsoleSessionStore sessions, Duration every) {
        this.sockets = sockets;
        this.sessions = sessions;
        this.every = every;
    }

    public void start() {
        checker.scheduleWithFixedDelay(this::check, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }

    void check() {
        try {
            List<ClientSession> operators =
                    sockets.all().stream().filter(s -> s.access().readOnly()).toList();
            if (operators.isEmpty()) {
                return;
            }
            Set<String> ids =
                    operators.stream().map(s -> s.access().operatorSessionId()).collect(Collectors.toSet());
            Set<String> live = sessions.live(ids);
            for (ClientSession s : operators) {
                if (!live.contains(s.access().operatorSessionId())) {
                    log.info(
                            "Closing WebSocket {} of {}: the session ended",
                            s.id(),
                            s.access().connectionId());
                    s.close(CloseCode.NORMAL);
                }
            }
        } catch (RuntimeException e) {
            log.warn("Could not check the console sessions of operator WebSockets; trying again: {}", e.toString());
        }
    }

    @Override
    public void close() {
        checker.shutdownNow();
    }
}
