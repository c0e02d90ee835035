package dev.switchboard.websockets;

import dev.switchboard.auth.Authenticator;
import dev.switchboard.config.WebSocketSettings;
import dev.switchboard.events.EventLog;
import dev.switchboard.events.EventWakeups;
import dev.switchboard.store.ConnectionStore;
import dev.switchboard.web.RouteGroup;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.function.Consumer;

/**
 * The WebSocket capability of a node, built from its parts: the route that upgrades
 * ({@link WebSocketRoutes}), the sockets ({@link Sockets}, {@link ClientSession}), the per-stream
 * fan-out ({@link StreamHub}), resumes ({@link Resume}), the gate their reads pass ({@link LogGate})
 * and access re-checks ({@link AccessWatch}).
 * Closing it closes every socket with {@link CloseCode#SERVER_RESTARTING}; close it before the HTTP
 * server so clients get that code rather than Jetty's.
 */
public final class WebSockets implements AutoCloseable {
    private final WebSocketSettings settings;
    private final Sockets sockets;
    private final WebSocketMetrics metrics;
    private final LogGate gate;
    private final StreamHub hub;
    private final Resume resume;
    private final AccessWatch accessWatch;
    private final WebSocketRoutes routes;
    /** Tests hold sockets here, between the upgrade's checks and their registration, to make a race certain. */
    private volatile Runnable beforeRegistering = () -> {};

    public WebSockets(WebSocketSettings settings, Authenticator auth, EventLog eventLog, ConnectionStore connections,
                      MeterRegistry meters) {
        this.settings = settings;
        this.sockets = new Sockets(settings);
        this.metrics = new WebSocketMetrics(meters, sockets);
        this.gate = new LogGate(eventLog);
        this.hub = new StreamHub(eventLog, gate, metrics, Batch.maxBytes(settings));
        this.resume = new Resume(gate, settings, metrics);
        this.accessWatch = new AccessWatch(connections, sockets);
        this.routes = new WebSocketRoutes(this, auth);
    }

    /** Wakes the fan-out when events commit (register with {@link EventWakeups#addListener}). */
    public EventWakeups.Listener wakeupListener() {
        return hub;
    }

    /** Closes or updates sockets when their connection changes (register with {@link EventWakeups#addControlListener}). */
    public Consumer<String> controlListener() {
        return accessWatch;
    }

    public RouteGroup routes() {
        return routes;
    }

    /** Starts the heartbeats. */
    public void start() {
        sockets.start();
    }

    @Override
    public void close() {
        sockets.close();
        hub.close();
    }

    AccessWatch accessWatch() {
        return accessWatch;
    }

    void beforeRegistering() {
        beforeRegistering.run();
    }

    /** For tests: runs {@code hook} on every socket after its upgrade was checked and before it is registered. */
    void beforeRegistering(Runnable hook) {
        this.beforeRegistering = hook;
    }

    WebSocketSettings settings() {
        return settings;
    }

    Sockets sockets() {
        return sockets;
    }

    StreamHub hub() {
        return hub;
    }

    Resume resume() {
        return resume;
    }

    LogGate gate() {
        return gate;
    }

    WebSocketMetrics metrics() {
        return metrics;
    }
}
