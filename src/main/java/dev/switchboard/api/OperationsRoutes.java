package dev.switchboard.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.switchboard.support.Json;
import dev.switchboard.support.Version;
import dev.switchboard.web.RouteGroup;
import io.javalin.http.NotFoundResponse;
import io.javalin.router.JavalinDefaultRoutingApi;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.Map;
import java.util.Optional;

/**
 * Health checks, Prometheus metrics and the OpenAPI and AsyncAPI documents: no token needed. With a management port,
 * the public server answers the health checks and the OpenAPI document, and the management server the
 * health checks and the metrics: metrics name tenants' routes, pools and queues, and are for operators.
 */
public final class OperationsRoutes implements RouteGroup {
    /** Which of the operations routes a server answers. */
    public enum Scope {
        /** No management port: everything on the one server. */
        ALL,
        /** The public server when a management port is set: no metrics. */
        PUBLIC,
        /** The management server: health checks and metrics. */
        MANAGEMENT
    }

    private final Readiness readiness;
    private final PrometheusMeterRegistry meters;
    private final Scope scope;
    private final String openApiJson;
    private final JsonNode asyncApi;
    private final Optional<String> publicUrl;

    /** {@code publicUrl}: the server's address for clients (server.publicUrl), else each request's own. */
    public OperationsRoutes(
            Readiness readiness, PrometheusMeterRegistry meters, Scope scope, Optional<String> publicUrl) {
        this.readiness = readiness;
        this.meters = meters;
        this.scope = scope;
        this.publicUrl = publicUrl;
        // Parsed once, and only by a server that serves it (not the management one).
        this.openApiJson = scope == Scope.MANAGEMENT ? null : loadOpenApi();
        this.asyncApi = scope == Scope.MANAGEMENT ? null : Json.read(loadAsyncApi());
        if (scope != Scope.PUBLIC) {
            // What /health/ready would answer, for alerts and dashboards; read at scrape time through the
            // same cached check, so a scrape costs at most one readiness query a second.
            Gauge.builder("switchboard.ready", readiness, r -> r.ready() ? 1 : 0)
                    .description(
                            "1 when /health/ready answers 200 (the database answers with a schema this node runs on)")
                    .strongReference(true)
                    .register(meters);
        }
    }

    @Override
    public void register(JavalinDefaultRoutingApi routes) {
        routes.get("/health/live", ctx -> ctx.json(Map.of("status", "up", "version", Version.current())));
        routes.get("/health/ready", ctx -> {
            if (readiness.ready()) {
                ctx.json(Map.of("status", "ready"));
            } else if (readiness.draining()) {
                ctx.status(503).json(Map.of("status", "draining", "reason", "the node is stopping"));
            } else {
                ctx.status(503)
                        .json(Map.of(
                                "status",
                                "unavailable",
                                "database",
                                "not reachable, or its schema is not this server's"));
            }
        });
        if (scope != Scope.PUBLIC) {
            routes.get("/metrics", ctx -> {
                // Exactly /metrics: routes also match with a trailing slash, which a proxy's block of
                // "location = /metrics" lets through.
                if (!ctx.path().equals("/metrics")) {
                    throw new NotFoundResponse();
                }
                ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(meters.scrape());
            });
        }
        if (scope != Scope.MANAGEMENT) {
            routes.get(
                    "/api/v1/openapi.json",
                    ctx -> ctx.contentType("application/json").result(openApiJson));
            routes.get("/api/v1/asyncapi.json", ctx -> {
                if (publicUrl.isEmpty()) {
                    // Named after the request's Host: a cache in front must not hand one client's to another.
                    ctx.header("Vary", "Host, X-Forwarded-Proto");
                }
                ctx.contentType("application/json")
                        .result(Json.write(servedFrom(asyncApi, publicUrl.orElseGet(() -> BaseUrl.of(ctx)))));
            });
        }
    }

    /**
     * The AsyncAPI document with its server at {@code baseUrl}, the address the client reached (ws, or
     * wss behind TLS): a client generated from it connects where the document came from, not to the
     * placeholder it is written with.
     */
    static JsonNode servedFrom(JsonNode document, String baseUrl) {
        URI base = URI.create(baseUrl);
        ObjectNode copy = document.deepCopy();
        ObjectNode server = (ObjectNode) copy.at("/servers/switchboard");
        server.put("host", base.getRawAuthority());
        server.put("protocol", "https".equalsIgnoreCase(base.getScheme()) ? "wss" : "ws");
        String path = base.getRawPath() == null ? "" : base.getRawPath().replaceAll("/+$", "");
        if (!path.isEmpty()) {
            server.put("pathname", path);
        }
        return copy;
    }

    static String loadOpenApi() {
        return yamlAsJson("/openapi.yaml");
    }

    /** The AsyncAPI document: the WebSocket's messages and close codes, and the webhook requests. */
    static String loadAsyncApi() {
        return yamlAsJson("/asyncapi.yaml");
    }

    private static String yamlAsJson(String resource) {
        try (InputStream in = OperationsRoutes.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is missing from the build");
            }
            return Json.write(new ObjectMapper(new YAMLFactory()).readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
