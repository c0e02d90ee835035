package dev.switchboard.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.switchboard.store.Database;
import dev.switchboard.support.Json;
import io.javalin.config.RoutesConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/** Health checks, Prometheus metrics and the OpenAPI document: no token needed. */
public final class OperationsRoutes implements HttpApi.RouteGroup {
    private final Database database;
    private final PrometheusMeterRegistry meters;
    private final String openApiJson;

    public OperationsRoutes(Database database, PrometheusMeterRegistry meters) {
        this.database = database;
        this.meters = meters;
        this.openApiJson = loadOpenApi();
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get("/health/live", ctx -> ctx.json(Map.of("status", "up")));
        routes.get("/health/ready", ctx -> {
            if (database.ready()) {
                ctx.json(Map.of("status", "ready"));
            } else {
                ctx.status(503).json(Map.of("status", "unavailable",
                        "database", "not reachable, or its schema is not this server's"));
            }
        });
        routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(meters.scrape()));
        routes.get("/api/v1/openapi.json", ctx -> ctx.contentType("application/json").result(openApiJson));
    }

    static String loadOpenApi() {
        try (InputStream in = OperationsRoutes.class.getResourceAsStream("/openapi.yaml")) {
            if (in == null) {
                throw new IllegalStateException("openapi.yaml is missing from the build");
            }
            return Json.write(new ObjectMapper(new YAMLFactory()).readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
