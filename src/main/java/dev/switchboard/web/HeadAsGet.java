package dev.switchboard.web;

import io.javalin.http.ExceptionHandler;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.javalin.router.Endpoint;
import io.javalin.router.JavalinDefaultRoutingApi;
import io.javalin.security.RouteRole;
import io.javalin.websocket.WsConfig;
import io.javalin.websocket.WsExceptionHandler;
import io.javalin.websocket.WsHandlerType;
import java.util.function.Consumer;

/**
 * Routes as the route groups register them, each GET also answering HEAD with the same handler (the server
 * sends the status and headers, not the body). Without it the framework answers a HEAD on a GET route 200
 * at once without running the route: {@code HEAD /health/ready} said ready while the database was down,
 * and a HEAD with no token said 200 where the GET says 401.
 */
public final class HeadAsGet implements JavalinDefaultRoutingApi {
    private final JavalinDefaultRoutingApi routes;

    public HeadAsGet(JavalinDefaultRoutingApi routes) {
        this.routes = routes;
    }

    @Override
    public JavalinDefaultRoutingApi addEndpoint(Endpoint endpoint) {
        routes.addEndpoint(endpoint);
        if (endpoint.method == HandlerType.GET) {
            routes.addEndpoint(new Endpoint(HandlerType.HEAD, endpoint.path, endpoint.handler));
        }
        return this;
    }

    @Override
    public <E extends Exception> JavalinDefaultRoutingApi exception(
            Class<E> type, ExceptionHandler<? super E> handler) {
        routes.exception(type, handler);
        return this;
    }

    @Override
    public JavalinDefaultRoutingApi error(int status, String contentType, Handler handler) {
        routes.error(status, contentType, handler);
        return this;
    }

    @Override
    public <E extends Exception> JavalinDefaultRoutingApi wsException(
            Class<E> type, WsExceptionHandler<? super E> handler) {
        routes.wsException(type, handler);
        return this;
    }

    @Override
    public JavalinDefaultRoutingApi addWsHandler(
            WsHandlerType type, String path, Consumer<WsConfig> config, RouteRole... roles) {
        routes.addWsHandler(type, path, config, roles);
        return this;
    }
}
