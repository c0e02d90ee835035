package dev.switchboard.api;

import dev.switchboard.config.ConfigException;
import dev.switchboard.db.DatabaseException;
import dev.switchboard.support.Json;
import dev.switchboard.support.Refusal;
import dev.switchboard.tracing.Tracing;
import dev.switchboard.web.HeadAsGet;
import dev.switchboard.web.HttpErrors;
import dev.switchboard.web.HttpErrors.HttpError;
import dev.switchboard.web.QueryStrings;
import dev.switchboard.web.RefusedBodies;
import dev.switchboard.web.RequestBodies;
import dev.switchboard.web.RequestHeadDeadline;
import dev.switchboard.web.RequestIds;
import dev.switchboard.web.RouteGroup;
import dev.switchboard.web.SingleHeaders;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.compression.Gzip;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;
import io.javalin.util.JavalinBindException;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.component.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The HTTP edge: Javalin on Jetty with virtual threads. Gives every response a {@code Request-Id},
 * renders every failure as the error JSON (never a stack trace), counts and times every request by
 * route, and logs each one with its request id.
 */
public final class HttpApi implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
    private static final Logger access = LoggerFactory.getLogger("switchboard.access");

    /**
     * How long stopping waits for requests in flight (long polls are woken first, so they answer at once):
     * Jetty stops accepting connections, lets these finish, then closes what is left.
     */
    static final java.time.Duration STOP_TIMEOUT = java.time.Duration.ofSeconds(10);

    /**
     * How long a stop waits, once the listening socket is closed, for connections it had just accepted to deliver
     * their request: a request not yet read is not yet counted as in flight.
     */
    private static final java.time.Duration ACCEPTED_SETTLE = java.time.Duration.ofMillis(300);

    private static final String SERVER_SPAN = "switchboard.server-span";

    /** Methods whose requests carry no body the server reads. */
    private static final Set<String> BODILESS = Set.of("GET", "HEAD", "OPTIONS");

    private static final String METHOD_OVERRIDE = "X-HTTP-Method-Override";
    /** The API's answers (never the console's pages and assets, which set their own caching). */
    private static final java.util.regex.Pattern API_PATHS =
            java.util.regex.Pattern.compile("/(console/|portal/)?api/");
    /** The changes that take an Idempotency-Key (writes of one event each); sent to any other, it is refused. */
    private static final java.util.regex.Pattern IDEMPOTENT_CHANGES =
            java.util.regex.Pattern.compile("POST /api/v1/(collections/[^/]+/records|events)");
    /** The changes that take If-Match (a record's version); sent to any other, it is refused. */
    private static final java.util.regex.Pattern CONDITIONAL_CHANGES =
            java.util.regex.Pattern.compile("(PATCH|DELETE) /api/v1/collections/[^/]+/records/[^/]+");
    /** Methods counted under their own name in the request metrics; any other is "other" (a name per request would grow them without bound). */
    private static final Set<String> METRIC_METHODS =
            Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS");

    private final Javalin app;
    /** The host and port it listens on, as configured (for the message when it cannot). */
    private final String address;

    private final java.util.concurrent.atomic.AtomicReference<org.eclipse.jetty.server.Server> jetty =
            new java.util.concurrent.atomic.AtomicReference<>();

    public HttpApi(
            String host, int port, long maxBodyBytes, MeterRegistry meters, Tracing tracing, List<RouteGroup> routes) {
        this(
                host,
                port,
                new RequestBodies(
                        maxBodyBytes,
                        RequestBodies.budgetFor(Runtime.getRuntime().maxMemory())),
                meters,
                tracing,
                routes);
    }

    /** The API's server; {@code bodies} is shared with the WebSocket requests, whose room it holds too. */
    public HttpApi(
            String host,
            int port,
            RequestBodies bodies,
            MeterRegistry meters,
            Tracing tracing,
            List<RouteGroup> routes) {
        this.address = host + ":" + port;
        this.app = Javalin.create(config -> {
            configure(config, host, port, bodies, meters, tracing, routes);
            config.jetty.modifyServer(jetty::set);
        });
    }

    /** Connections the kernel queues for this node to accept (bounded by the system's somaxconn). */
    static final int ACCEPT_BACKLOG = 1024;

    /**
     * The inbound connections a node keeps at most, given the process's limit of open files: all but 1,024
     * (the database pool, webhook calls, files), or half of a limit below 2,048.
     */
    static int inboundConnectionLimit(long openFiles) {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(openFiles / 2, openFiles - 1024));
    }

    private static java.util.Optional<Long> openFileLimit() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                        instanceof com.sun.management.UnixOperatingSystemMXBean unix
                ? java.util.Optional.of(unix.getMaxFileDescriptorCount()).filter(n -> n > 0)
                : java.util.Optional.empty();
    }

    private static void configure(
            JavalinConfig config,
            String host,
            int port,
            RequestBodies bodies,
            MeterRegistry meters,
            Tracing tracing,
            List<RouteGroup> routes) {
        long maxBodyBytes = bodies.maxBodyBytes();
        config.concurrency.useVirtualThreads = true;
        config.http.maxRequestSize = maxBodyBytes;
        config.http.defaultContentType = "application/json";
        // A method a path does not take is 405 with Allow, as RFC 9110 says, not 404: the path exists.
        config.http.prefer405over404 = true;
        // Gzip at level 1 rather than Javalin's 6: a feed page of 1,000 events (about 275 KB of JSON) still
        // shrinks about 5.4 times instead of 5.9, for less than half the CPU; at level 6 deflate took 38%
        // of the server's CPU while serving the feed.
        config.http.compressionStrategy = new CompressionStrategy(null, new Gzip(1));
        config.startup.showJavalinBanner = false;
        config.jetty.host = host;
        config.jetty.port = port;
        config.jsonMapper(new JavalinJackson(Json.MAPPER, true));
        config.jetty.modifyServer(server -> {
            server.setErrorHandler(new JsonErrorHandler());
            // A graceful stop: Javalin puts its handlers inside this wrapper, which counts the requests in
            // flight, so stopping closes the listening socket first and then waits for them (up to the timeout).
            server.setHandler(new org.eclipse.jetty.server.handler.GracefulHandler());
            server.setStopTimeout(STOP_TIMEOUT.toMillis());
            // Inbound connections stop being accepted (they wait in the backlog) before the process runs out
            // of file descriptors: 10,300 connections each sending a header line every 10 s took a node to
            // 19,999 of 20,000, where the database pool and webhook calls could open none and every failed
            // accept logged a stack trace.
            openFileLimit()
                    .ifPresent(
                            limit -> server.addBean(new NetworkConnectionLimit(inboundConnectionLimit(limit), server)));
            // Nor can a client hold one for hours by sending its request head a byte at a time.
            RequestHeadDeadline heads = new RequestHeadDeadline();
            server.addBean(heads);
            // A backlog for bursts of connections: the JVM's default of 50 reset thousands of a burst's.
            server.addEventListener(new LifeCycle.Listener() {
                @Override
                public void lifeCycleStarting(LifeCycle event) {
                    for (Connector connector : server.getConnectors()) {
                        if (connector instanceof ServerConnector listening) {
                            listening.setAcceptQueueSize(ACCEPT_BACKLOG);
                            listening.addEventListener(heads);
                        }
                    }
                }
            });
        });
        // Jetty caches header fields per connection and by default matches their values ignoring case: on a
        // reused connection, "Bearer SB_ADMIN_…" or "Switchboard-Tenant: HOTEL" would be read as the value an
        // earlier request sent in another case. Tokens, tenant ids and idempotency keys are case-sensitive.
        config.jetty.modifyHttpConfiguration(http -> http.setHeaderCacheCaseSensitive(true));
        // The room a body takes is held until its request ends, after the route, its answer and any error.
        config.jetty.modifyServletContextHandler(context -> context.addEventListener(bodies.releaser()));

        config.routes.before(ctx -> {
            String requestId = RequestIds.ensure(ctx);
            if (tracing.on() && traced(ctx.path())) {
                // Current on this thread until the request logger below ends it: every statement the route
                // makes is a child of it, and every event it appends keeps its context.
                Tracing.ServerSpan span =
                        tracing.startServer(ctx.method().name(), ctx.path(), ctx.scheme(), ctx.ip(), ctx::header);
                ctx.attribute(SERVER_SPAN, span);
                span.requestId(requestId);
            }
            MDC.put("requestId", requestId);
            // Error JSON echoes paths and ids the caller sent: no browser may read an answer as another type.
            ctx.header("X-Content-Type-Options", "nosniff");
            if (API_PATHS.matcher(ctx.path()).lookingAt()) {
                // An answer authorised by a session cookie is as private as one to a bearer token, but
                // shared caches are only told so for Authorization: no API answer is kept anywhere.
                ctx.header("Cache-Control", "no-store");
            }
            // The header would make a GET or HEAD act as a DELETE or PATCH, past any proxy rule that filters
            // by method; every Switchboard client sends the method itself.
            if (ctx.req().getHeader(METHOD_OVERRIDE) != null) {
                throw new Refusal.Invalid(
                        "invalid_header", METHOD_OVERRIDE + " is not accepted: send the request with its own method");
            }
            SingleHeaders.check(ctx.req());
            QueryStrings.check(ctx);
            // A body over the limit is refused before the route acts, also on routes that take no body
            // (DELETE, rotate, disable): read here, it answers 413 and nothing is changed. Read later, after
            // the route had deleted or rotated something, the 413 would hide a change that was made.
            if (!BODILESS.contains(ctx.method().name())) {
                bodies.read(ctx);
            }
        });
        config.routes.beforeMatched(ctx -> {
            // No change takes a query parameter: DELETE …?ifMatch=3 would delete whatever the version, and
            // POST …/messages/retry?tenantId=… retry every tenant's failed messages. Checked once a route
            // matched, so an unknown path is still 404.
            if (!BODILESS.contains(ctx.method().name())
                    && API_PATHS.matcher(ctx.path()).lookingAt()) {
                ctx.queryParamMap().keySet().stream().findFirst().ifPresent(name -> {
                    throw new Refusal.InvalidField(
                            name,
                            "is not a query parameter of a " + ctx.method().name()
                                    + " request: a change takes what it needs in its body or headers");
                });
                // As routes match: a trailing slash ignored
                String change = ctx.method().name() + " " + ctx.path().replaceAll("/+$", "");
                // Ignored, it would let the client believe a retry is safe: a second webhook, a second delete.
                if (ctx.req().getHeader("Idempotency-Key") != null
                        && !IDEMPOTENT_CHANGES.matcher(change).matches()) {
                    throw new Refusal.Invalid(
                            "invalid_header",
                            "Idempotency-Key is taken by creates of records and custom events only, not by "
                                    + ctx.method().name() + " " + ctx.path()
                                    + ": a retry would not be known as one (an update or a delete is safe to retry"
                                    + " with If-Match)");
                }
                // A condition no route looks at would be ignored, and the change made whatever it said.
                for (String condition : List.of("If-None-Match", "If-Unmodified-Since")) {
                    if (ctx.req().getHeader(condition) != null) {
                        throw new Refusal.Invalid(
                                "invalid_header",
                                condition + " is not taken by a change: a record's PATCH and DELETE take If-Match"
                                        + " with the version it must have");
                    }
                }
                if (ctx.req().getHeader("If-Match") != null
                        && !CONDITIONAL_CHANGES.matcher(change).matches()) {
                    throw new Refusal.Invalid(
                            "invalid_header",
                            "If-Match is taken by a record's PATCH and DELETE only, not by "
                                    + ctx.method().name() + " " + ctx.path()
                                    + ": the change would be made whatever it said");
                }
            }
        });
        HeadAsGet withHead = new HeadAsGet(config.routes);
        routes.forEach(group -> group.register(withHead));
        routes.forEach(group -> group.configureJetty(config.jetty));

        config.routes.exception(Refusal.class, HttpErrors::render);
        config.routes.exception(HttpResponseException.class, (e, ctx) -> {
            switch (e.getStatus()) {
                case 413 -> {
                    RefusedBodies.discardRest(ctx);
                    error(
                            ctx,
                            413,
                            "body_too_large",
                            "the request body is larger than " + maxBodyBytes + " bytes",
                            null);
                }
                case 404 -> routeNotFound(ctx);
                case 405 -> methodNotAllowed(ctx, e.getDetails());
                default -> error(ctx, e.getStatus(), "http_" + e.getStatus(), e.getMessage(), null);
            }
        });
        config.routes.exception(DatabaseException.class, (e, ctx) -> {
            // One line for a failure that passes (an outage, a full disk, a read-only database, a lock held too
            // long): with a stack trace per request, a minute of it wrote megabytes of the same trace.
            if (e.isTransient()) {
                e.count(meters);
                log.warn("The database could not answer now, answering 503: {}", e.detail());
            } else {
                log.error("Database error", e);
            }
            HttpErrors.render(
                    ctx, HttpErrors.of(e, !BODILESS.contains(ctx.method().name())));
        });
        config.routes.exception(Exception.class, (e, ctx) -> {
            log.error("Unexpected error", e);
            HttpErrors.render(ctx, HttpErrors.internalError());
        });
        // An Error (out of memory, a stack overflow) skips the exception handlers: Javalin's own answer is an
        // empty 500, which clients cannot read as the error shape.
        config.router.javaLangErrorHandler((response, error) -> {
            log.error("Unexpected error", error);
            if (!response.isCommitted()) {
                try {
                    response.setStatus(500);
                    response.setContentType("application/json");
                    HttpError internal = HttpErrors.internalError();
                    // The header was set with the id at the request's start; the error JSON carries the same.
                    response.getOutputStream()
                            .write(HttpErrors.json(
                                            internal.code(),
                                            internal.message(),
                                            response.getHeader(RequestIds.HEADER),
                                            null)
                                    .getBytes(StandardCharsets.UTF_8));
                } catch (IOException | RuntimeException writing) {
                    error.addSuppressed(writing);
                }
            }
        });
        config.routes.error(404, ctx -> {
            if (ctx.result() == null || ctx.result().isEmpty()) {
                routeNotFound(ctx);
            }
        });
        config.routes.error(405, ctx -> {
            if (ctx.result() == null || ctx.result().isEmpty()) {
                methodNotAllowed(ctx, Map.of());
            }
        });

        config.requestLogger.http((ctx, ms) -> {
            // The route that answered, not an after-handler that ran last (the audit log's).
            io.javalin.router.Endpoint answered = ctx.endpoints().lastHttpEndpoint();
            String route = answered == null ? "unmatched" : answered.path;
            Timer.builder("switchboard.http.requests")
                    .tag(
                            "method",
                            METRIC_METHODS.contains(ctx.method().name())
                                    ? ctx.method().name()
                                    : "other")
                    .tag("route", route)
                    .tag("status", Integer.toString(ctx.statusCode()))
                    .publishPercentiles(0.5, 0.99)
                    .register(meters)
                    .record((long) (ms * 1_000_000), TimeUnit.NANOSECONDS);
            if (access.isDebugEnabled() || ctx.statusCode() >= 500) {
                access.info("{} {} {} {}ms", ctx.method(), ctx.path(), ctx.statusCode(), String.format("%.1f", ms));
            }
            Tracing.ServerSpan span = ctx.attribute(SERVER_SPAN);
            if (span != null) {
                span.end(ctx.endpoint() == null ? null : route, ctx.statusCode());
            }
            MDC.remove("requestId");
        });
    }

    /** Health checks and metric scrapes come every few seconds from probes and make no traces. */
    private static boolean traced(String path) {
        return !path.startsWith("/health/") && !path.equals("/metrics");
    }

    /** Javalin reports an unknown route both as an exception and as an error status: one answer for both. */
    private static void routeNotFound(Context ctx) {
        error(
                ctx,
                404,
                "route_not_found",
                "no route " + ctx.method() + " " + ctx.path() + " (the API is described at /api/v1/openapi.json)",
                null);
    }

    /** {@code details}: the framework's, whose {@code availableMethods} lists the methods the path takes. */
    private static void methodNotAllowed(Context ctx, Map<String, String> details) {
        String allowed = details.getOrDefault("availableMethods", details.get("Available methods"));
        if (allowed != null) {
            ctx.header("Allow", allowed);
        }
        error(
                ctx,
                405,
                "method_not_allowed",
                ctx.method() + " is not allowed on " + ctx.path() + (allowed == null ? "" : ": it takes " + allowed),
                null);
    }

    private static void error(Context ctx, int status, String code, String message, Object details) {
        HttpErrors.render(ctx, status, code, message, details);
    }

    /**
     * Starts listening. {@code settings} names the settings its host and port come from: a port in use or an
     * address this machine does not have is a {@link ConfigException} naming them, with the cause in words.
     */
    public HttpApi start(String settings) {
        try {
            app.start();
        } catch (JavalinBindException e) {
            throw new ConfigException(settings + ": cannot listen on " + address + ": " + bindFailure(e));
        }
        return this;
    }

    private static String bindFailure(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null) {
            cause = cause.getCause();
        }
        String message = String.valueOf(cause.getMessage());
        if (cause instanceof java.nio.channels.UnresolvedAddressException) {
            return "the host name does not resolve to an address";
        } else if (message.contains("already in use")) {
            return "the port is in use by another process; stop it or choose another port (0 picks a free one)";
        } else if (message.contains("Cannot assign requested address")) {
            return "this machine has no such address (0.0.0.0 listens on all of them)";
        } else if (message.contains("Permission denied")) {
            return "ports below 1024 need privileges this process does not have";
        }
        return message;
    }

    public int port() {
        return app.port();
    }

    /** Every route the server answers, as "METHOD /path" (the OpenAPI test compares them with the document). */
    public List<String> routes() {
        return app.unsafe.internalRouter.allHttpHandlers().stream()
                .map(e -> e.endpoint)
                .filter(e -> e.method.isHttpMethod() && e.method != HandlerType.HEAD) // each GET's twin
                .map(e -> e.method.name() + " " + e.path)
                .sorted()
                .toList();
    }

    /**
     * Stops gracefully. The listening socket closes first, so new connections are refused (a proxy passes them
     * to another node) rather than queued by the kernel and reset when Jetty stops, after a proxy may have sent
     * a request on them; connections already accepted get a moment to deliver their request; then Jetty's stop
     * waits for the requests in flight.
     */
    @Override
    public void close() {
        org.eclipse.jetty.server.Server server = jetty.get();
        if (server != null) {
            boolean connected = false;
            for (org.eclipse.jetty.server.Connector connector : server.getConnectors()) {
                connected |= !connector.getConnectedEndPoints().isEmpty();
                if (connector instanceof org.eclipse.jetty.server.NetworkConnector listening) {
                    listening.close();
                }
            }
            if (connected) {
                try {
                    Thread.sleep(ACCEPTED_SETTLE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        app.stop();
    }
}
