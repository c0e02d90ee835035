package dev.switchboard.websockets;

import dev.switchboard.auth.Authenticator;
import dev.switchboard.config.WebSocketSettings;
import dev.switchboard.db.PageBytes;
import dev.switchboard.web.RequestBodies;
import dev.switchboard.web.RouteGroup;
import java.util.function.UnaryOperator;

/**
 * The WebSocket capability of a node, from the parts the composition root built: the sockets
 * ({@link Sockets}, {@link ClientSession}), the per-stream fan-out ({@link StreamHub}), resumes
 * ({@link Resume}), the gate their reads pass ({@link LogGate}) and access re-checks
 * ({@link AccessWatch}), and the {@link Operations} requests perform (the API's, handed in by the root);
 * it adds the route that upgrades ({@link WebSocketRoutes}), which each socket reaches them through.
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
    private final Authenticator auth;
    private final RequestBodies bodies;
    private volatile Operations operations;
    /** Tests hold sockets here, between the upgrade's checks and their registration, to make a race certain. */
    private volatile Runnable beforeRegistering = () -> {};

    /**
     * The data one frame of events or records carries at most (a live batch, a replay page, the answer
     * to {@code records.list} or {@code events.list}): a quarter of what may wait for one client
     * ({@code websockets.queueSize}, 1 MiB by default, so 256 KiB). Frames follow each other without
     * waiting, and several of them must fit the queue of a client that keeps up: a page as large as the
     * queue would close a client as a slow consumer whatever it did. A single event or record larger
     * than this still goes out on its own.
     */
    public static int frameDataBytes(WebSocketSettings settings) {
        return (int) Math.max(1, Math.min(PageBytes.MAX, settings.queueBytes() / 4));
    }

    public WebSockets(
            WebSocketSettings settings,
            Sockets sockets,
            WebSocketMetrics metrics,
            LogGate gate,
            StreamHub hub,
            Resume resume,
            AccessWatch accessWatch,
            Authenticator auth,
            Operations operations,
            RequestBodies bodies) {
        this.settings = settings;
        this.sockets = sockets;
        this.metrics = metrics;
        this.gate = gate;
        this.hub = hub;
        this.resume = resume;
        this.accessWatch = accessWatch;
        this.auth = auth;
        this.operations = operations;
        this.bodies = bodies;
        this.routes = new WebSocketRoutes(this, auth);
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

    /**
     * For tests: wraps the operations requests perform (to hold one in progress and make an ordering
     * certain). Requests started before keep the operations they started with.
     */
    void wrapOperations(UnaryOperator<Operations> wrapper) {
        this.operations = wrapper.apply(operations);
    }

    Operations operations() {
        return operations;
    }

    Authenticator auth() {
        return auth;
    }

    /** server.maxBodySize and the heap's room for bodies: a request on a socket is bounded like an HTTP request's body. */
    RequestBodies bodies() {
        return bodies;
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
