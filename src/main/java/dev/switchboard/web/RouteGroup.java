package dev.switchboard.web;

import io.javalin.config.JettyConfig;
import io.javalin.router.JavalinDefaultRoutingApi;

/**
 * A group of routes the HTTP server serves (records, events, admin, operations, the WebSocket
 * upgrade). Edges implement it; the composition root hands them all to the one server.
 */
public interface RouteGroup {
    void register(JavalinDefaultRoutingApi routes);

    /** Jetty settings the group needs (the WebSocket factory); most groups need none. */
    default void configureJetty(JettyConfig jetty) {}
}
