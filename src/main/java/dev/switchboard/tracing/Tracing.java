package dev.switchboard.tracing;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.ContextKey;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A node's traces: the OpenTelemetry SDK configured by the standard {@code OTEL_*} variables, or
 * nothing at all. Tracing is on only when those variables ask for an exporter ({@link #wanted}); off,
 * no SDK is built, no span object is made, and every method here returns at its first check.
 *
 * <p>Components below the HTTP edge do not hold a {@code Tracing}: a request's server span puts this
 * node's {@code Tracing} into the request's OpenTelemetry {@link Context}, and a statement made while
 * that context is current finds it there ({@link #statement}). Several nodes in one process (the tests
 * run many) so each trace only with their own settings.
 *
 * <p>The trace context of a write travels with the event it appends as its W3C {@code traceparent}
 * ({@link #traceparent()}, kept in {@code events.trace_context}); the deliveries the event causes
 * continue that trace ({@link #startCaused}).
 */
public final class Tracing implements AutoCloseable {
    /** Tracing off: no SDK, no spans. */
    public static final Tracing OFF = new Tracing(null);

    private static final ContextKey<Tracing> KEY = ContextKey.named("switchboard-tracing");
    private static final String SCOPE = "dev.switchboard";
    /** Links a delivery span carries at most (the SDK's default limit is 128). */
    static final int MAX_LINKS = 64;

    static final AttributeKey<String> DB_SYSTEM = AttributeKey.stringKey("db.system.name");
    static final AttributeKey<String> DB_OPERATION = AttributeKey.stringKey("db.operation.name");
    static final AttributeKey<String> DB_COLLECTION = AttributeKey.stringKey("db.collection.name");
    static final AttributeKey<String> DB_SUMMARY = AttributeKey.stringKey("db.query.summary");
    static final AttributeKey<String> HTTP_METHOD = AttributeKey.stringKey("http.request.method");
    /** The methods a span is named after; any other is "_OTHER". */
    private static final java.util.Set<String> HTTP_METHODS =
            java.util.Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE");

    static final AttributeKey<String> HTTP_ROUTE = AttributeKey.stringKey("http.route");
    static final AttributeKey<Long> HTTP_STATUS = AttributeKey.longKey("http.response.status_code");
    static final AttributeKey<String> URL_PATH = AttributeKey.stringKey("url.path");
    static final AttributeKey<String> URL_SCHEME = AttributeKey.stringKey("url.scheme");
    static final AttributeKey<String> USER_AGENT = AttributeKey.stringKey("user_agent.original");
    static final AttributeKey<String> CLIENT_ADDRESS = AttributeKey.stringKey("client.address");
    static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("switchboard.request_id");
    static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");

    private final OpenTelemetrySdk sdk;
    private final Tracer tracer;

    private Tracing(OpenTelemetrySdk sdk) {
        this.sdk = sdk;
        this.tracer = sdk == null ? OpenTelemetry.noop().getTracer(SCOPE) : sdk.getTracer(SCOPE);
    }

    /**
     * Tracing as {@code env} (the process's environment, or a test's) and the {@code otel.*} system
     * properties configure it: on when {@link #wanted}, with the SDK's autoconfiguration reading every
     * other standard variable. Switchboard's own defaults, each overridden by its variable: the service
     * name {@code switchboard}, OTLP over HTTP with protobuf, and no OpenTelemetry metrics or logs
     * (metrics are served at {@code /metrics}).
     */
    public static Tracing fromEnvironment(Map<String, String> env, String serviceVersion) {
        Map<String, String> properties = properties(env);
        if (!wanted(properties)) {
            return OFF;
        }
        Map<String, String> defaults = new HashMap<>();
        if (!properties.containsKey("otel.service.name")
                && !properties.getOrDefault("otel.resource.attributes", "").contains("service.name=")) {
            defaults.put("otel.service.name", "switchboard");
        }
        defaults.put("otel.exporter.otlp.protocol", "http/protobuf");
        defaults.put("otel.metrics.exporter", "none");
        defaults.put("otel.logs.exporter", "none");
        defaults.putAll(properties);
        String resource = defaults.getOrDefault("otel.resource.attributes", "");
        if (!resource.contains("service.version=")) {
            defaults.put(
                    "otel.resource.attributes",
                    (resource.isEmpty() ? "" : resource + ",") + "service.version=" + serviceVersion);
        }
        OpenTelemetrySdk sdk = AutoConfiguredOpenTelemetrySdk.builder()
                .addPropertiesSupplier(() -> defaults)
                .disableShutdownHook() // the node closes it, after its last span
                .build()
                .getOpenTelemetrySdk();
        return new Tracing(sdk);
    }

    /**
     * Whether the configuration asks for traces: {@code OTEL_SDK_DISABLED} is not {@code true}, and
     * an exporter is chosen ({@code OTEL_TRACES_EXPORTER} other than {@code none}), or an OTLP
     * endpoint is given ({@code OTEL_EXPORTER_OTLP_ENDPOINT} or {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT}),
     * or {@code OTEL_SDK_DISABLED=false} turns the SDK on with its defaults.
     */
    static boolean wanted(Map<String, String> properties) {
        String disabled = properties.getOrDefault("otel.sdk.disabled", "").trim();
        if (disabled.equalsIgnoreCase("true")) {
            return false;
        }
        String exporter = properties.getOrDefault("otel.traces.exporter", "").trim();
        if (exporter.equalsIgnoreCase("none")) {
            return false;
        }
        return !exporter.isEmpty()
                || !properties.getOrDefault("otel.exporter.otlp.endpoint", "").isBlank()
                || !properties
                        .getOrDefault("otel.exporter.otlp.traces.endpoint", "")
                        .isBlank()
                || disabled.equalsIgnoreCase("false");
    }

    /** {@code OTEL_FOO_BAR} as {@code otel.foo.bar}, with the {@code otel.*} system properties over them. */
    static Map<String, String> properties(Map<String, String> env) {
        Map<String, String> properties = new HashMap<>();
        env.forEach((name, value) -> {
            if (name.startsWith("OTEL_") && value != null) {
                properties.put(name.toLowerCase(Locale.ROOT).replace('_', '.'), value);
            }
        });
        System.getProperties().forEach((name, value) -> {
            if (name instanceof String key && key.startsWith("otel.") && value instanceof String v) {
                properties.put(key, v);
            }
        });
        return properties;
    }

    public boolean on() {
        return sdk != null;
    }

    /** The tracing of the current context: a request's or a delivery's, else {@link #OFF}. */
    static Tracing current() {
        Tracing tracing = Context.current().get(KEY);
        return tracing == null ? OFF : tracing;
    }

    // ---- the HTTP edge

    /** A request's server span, current on the request's thread until {@link #end}. */
    public static final class ServerSpan {
        private final Span span;
        private final Scope scope;
        /** Null for a method of the client's own: the span keeps its name. */
        private final String method;

        private ServerSpan(Span span, Scope scope, String method) {
            this.span = span;
            this.scope = scope;
            this.method = method;
        }

        /** The request's {@code Request-Id}, so a trace and the request's log lines and error JSON can be matched. */
        public void requestId(String requestId) {
            span.setAttribute(REQUEST_ID, requestId);
        }

        /** Names the span after the route that answered (its template, never the path) and ends it. */
        public void end(String route, int status) {
            try {
                if (route != null && method != null) {
                    span.updateName(method + " " + route);
                    span.setAttribute(HTTP_ROUTE, route);
                }
                span.setAttribute(HTTP_STATUS, (long) status);
                if (status >= 500) {
                    span.setAttribute(ERROR_TYPE, Integer.toString(status));
                    span.setStatus(StatusCode.ERROR);
                }
            } finally {
                scope.close();
                span.end();
            }
        }
    }

    /**
     * Starts a request's server span, continuing the trace of its {@code traceparent} header when it
     * has one, and makes it current on this thread; null when tracing is off.
     */
    public ServerSpan startServer(
            String method, String path, String scheme, String clientAddress, Function<String, String> header) {
        if (sdk == null) {
            return null;
        }
        Context parent = W3CTraceContextPropagator.getInstance().extract(Context.root(), header, HEADERS);
        // Any client may send a method of its own: spans named by it would grow the trace backend's index
        // of span names without end. As the semantic conventions say, those are "HTTP" and "_OTHER".
        boolean known = HTTP_METHODS.contains(method);
        Span span = tracer.spanBuilder(known ? method : "HTTP")
                .setParent(parent)
                .setSpanKind(SpanKind.SERVER)
                .setAttribute(HTTP_METHOD, known ? method : "_OTHER")
                .setAttribute(URL_PATH, path)
                .setAttribute(URL_SCHEME, scheme)
                .setAttribute(CLIENT_ADDRESS, clientAddress)
                .startSpan();
        String agent = header.apply("User-Agent");
        if (agent != null) {
            span.setAttribute(USER_AGENT, agent);
        }
        Scope scope = parent.with(span).with(KEY, this).makeCurrent();
        return new ServerSpan(span, scope, known ? method : null);
    }

    private static final TextMapGetter<Function<String, String>> HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Function<String, String> carrier) {
            return List.of("traceparent", "tracestate");
        }

        @Override
        public String get(Function<String, String> carrier, String key) {
            return carrier == null ? null : carrier.apply(key);
        }
    };

    // ---- statements

    /** Work that may throw a checked exception. */
    @FunctionalInterface
    public interface Work<T, E extends Exception> {
        T run() throws E;
    }

    /**
     * Runs a statement in a client span named {@code summary} (e.g. {@code INSERT records}) under the
     * current span, when the current context is traced; otherwise just runs it.
     */
    public static <T, E extends Exception> T statement(String operation, String table, Work<T, E> work) throws E {
        Tracing tracing = current();
        if (tracing.sdk == null) {
            return work.run();
        }
        return tracing.inStatement(operation, table, work);
    }

    /** Like {@link #statement(String, String, Work)}, with this node's tracing (a background write, its own trace). */
    public <T, E extends Exception> T inStatement(String operation, String table, Work<T, E> work) throws E {
        if (sdk == null) {
            return work.run();
        }
        Span span = statementSpan(operation, table).startSpan();
        try (Scope ignored = span.makeCurrent()) {
            return work.run();
        } catch (Exception | Error e) {
            span.recordException(e);
            span.setAttribute(ERROR_TYPE, e.getClass().getName());
            span.setStatus(StatusCode.ERROR);
            throw e;
        } finally {
            span.end();
        }
    }

    /**
     * Records a statement that ran from {@code startNanos} ({@link System#nanoTime}) until now, for work
     * worth a span only once its result is known (a claim that took streams, not every empty one).
     */
    public void recordStatement(String operation, String table, long startNanos, Map<String, Long> attributes) {
        if (sdk == null) {
            return;
        }
        long now = System.currentTimeMillis() * 1_000_000L;
        SpanBuilder builder = statementSpan(operation, table)
                .setParent(Context.root())
                .setStartTimestamp(now - (System.nanoTime() - startNanos), TimeUnit.NANOSECONDS);
        attributes.forEach((name, value) -> builder.setAttribute(name, value));
        builder.startSpan().end();
    }

    private SpanBuilder statementSpan(String operation, String table) {
        String summary = operation + " " + table;
        return tracer.spanBuilder(summary)
                .setSpanKind(SpanKind.CLIENT)
                .setAttribute(DB_SYSTEM, "postgresql")
                .setAttribute(DB_OPERATION, operation)
                .setAttribute(DB_COLLECTION, table)
                .setAttribute(DB_SUMMARY, summary);
    }

    // ---- what an event carries, and the deliveries it causes

    /**
     * The W3C {@code traceparent} of the current span, to keep with an event it appends; null when
     * nothing traced and sampled is current (tracing off: always), so nothing is written.
     */
    public static String traceparent() {
        SpanContext context = Span.current().getSpanContext();
        if (!context.isValid() || !context.isSampled()) {
            return null;
        }
        return "00-" + context.getTraceId() + "-" + context.getSpanId() + "-"
                + context.getTraceFlags().asHex();
    }

    /** The span context of a kept {@code traceparent}; invalid when it is not one. */
    static SpanContext parse(String traceparent) {
        if (traceparent == null || traceparent.length() != 55 || !traceparent.startsWith("00-")) {
            return SpanContext.getInvalid();
        }
        Context context = W3CTraceContextPropagator.getInstance()
                .extract(Context.root(), traceparent, new TextMapGetter<String>() {
                    @Override
                    public Iterable<String> keys(String carrier) {
                        return List.of("traceparent");
                    }

                    @Override
                    public String get(String carrier, String key) {
                        return "traceparent".equals(key) ? carrier : null;
                    }
                });
        return Span.fromContext(context).getSpanContext();
    }

    /**
     * Starts the span of a delivery (a webhook attempt, a WebSocket fan-out) caused by events whose
     * writes had the given {@code traceparent}s (nulls are skipped): a child of the write's span when
     * they all came from one, else a span of its own linked to each (up to {@value #MAX_LINKS}). Null
     * when tracing is off.
     */
    public Span startCaused(String name, SpanKind kind, Collection<String> causes) {
        if (sdk == null) {
            return null;
        }
        Set<SpanContext> distinct = new LinkedHashSet<>();
        for (String cause : causes) {
            SpanContext context = parse(cause);
            if (context.isValid() && distinct.size() < MAX_LINKS) {
                distinct.add(context);
            }
        }
        SpanBuilder builder = tracer.spanBuilder(name).setSpanKind(kind);
        if (distinct.size() == 1) {
            builder.setParent(Context.root().with(Span.wrap(distinct.iterator().next())));
        } else {
            builder.setNoParent();
            distinct.forEach(builder::addLink);
        }
        return builder.startSpan();
    }

    /** Makes a span from {@link #startCaused} current (with this node's tracing, for statements under it). */
    public Scope enter(Span span) {
        return Context.current().with(span).with(KEY, this).makeCurrent();
    }

    /** Adds the current span's {@code traceparent} to an outgoing request's headers, when one is current. */
    public static void inject(java.util.function.BiConsumer<String, String> headers) {
        String traceparent = traceparent();
        if (traceparent != null) {
            headers.accept("traceparent", traceparent);
        }
    }

    /** Sends the spans still buffered and stops the SDK. */
    @Override
    public void close() {
        if (sdk != null) {
            sdk.shutdown().join(10, TimeUnit.SECONDS);
        }
    }
}
