package dev.switchboard.tracing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.switchboard.testing.OtlpReceiver;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.WsClient;
import io.opentelemetry.proto.trace.v1.Span.SpanKind;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Traces end to end: real nodes exporting over OTLP/HTTP to a real receiver on loopback, a real webhook
 * receiver and a real WebSocket client. A partner's write continues the trace its request came with, and
 * the deliveries it causes (a webhook attempt, a WebSocket fan-out on another node) continue that trace.
 */
@Timeout(180)
class TracingTest {
    private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String CALLER_SPAN_ID = "00f067aa0ba902b7";

    OtlpReceiver otlp;
    Receiver webhooks;
    final List<AutoCloseable> open = new ArrayList<>();

    @BeforeEach
    void receivers() {
        otlp = new OtlpReceiver();
        webhooks = new Receiver();
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
        webhooks.close();
        otlp.close();
    }

    private Map<String, String> env(String node, Map<String, String> otel) {
        Map<String, String> env = new HashMap<>(otel);
        env.put("SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true");
        env.put("SWITCHBOARD_RATE_LIMIT_REQUESTS", "100000");
        env.put("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=" + node);
        return env;
    }

    private Map<String, String> tracingOn() {
        return Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint(), "OTEL_BSP_SCHEDULE_DELAY", "50");
    }

    private TestServer start(TestServer first, String node, Map<String, String> otel) {
        TestServer server = first == null
                ? TestServer.start(env(node, otel))
                : TestServer.start(first.database(), env(node, otel), InstantSource.system());
        open.add(server);
        return server;
    }

    @Test
    void aPartnersWriteIsTheParentOfItsWebhookAttemptAndOfItsSocketFanOutOnAnotherNode() throws Exception {
        TestServer a = start(null, "node-a", tracingOn());
        TestServer b = start(a, "node-b", tracingOn());
        a.createCollection("rooms", "eventFields", List.of("state"));
        Partner partner = Partner.create(a, List.of("rooms.*"));
        partner.webhook(Map.of("url", webhooks.url("/hook?token=shared-secret")));
        WsClient socket = WsClient.connect(b, partner.accessToken(), "");
        open.add(socket);
        socket.await("live");

        String recordId = createRoomInCallersTrace(partner, socket);

        // The request continues the caller's trace, its span named by the route's template.
        OtlpReceiver.Received server = awaitSpan(s -> s.kind() == SpanKind.SPAN_KIND_SERVER
                && s.traceId().equals(TRACE_ID)
                && "201".equals(s.attribute("http.response.status_code")));
        assertThat(server.parentSpanId()).isEqualTo(CALLER_SPAN_ID);
        assertThat(server.name()).isEqualTo("POST /api/v1/collections/{collection}/records");
        assertThat(server.attribute("http.route")).isEqualTo("/api/v1/collections/{collection}/records");
        assertThat(server.attribute("http.request.method")).isEqualTo("POST");
        assertThat(server.attribute("url.path")).isEqualTo("/api/v1/collections/rooms/records");
        assertThat(server.resourceAttribute("service.name")).isEqualTo("switchboard");
        assertThat(server.resourceAttribute("service.instance.id")).isEqualTo("node-a");

        // The record and its event are one statement, a client span under the request's.
        OtlpReceiver.Received insert = awaitSpan(s -> s.name().equals("INSERT records"));
        assertThat(insert.traceId()).isEqualTo(TRACE_ID);
        assertThat(insert.parentSpanId()).isEqualTo(server.spanId());
        assertThat(insert.kind()).isEqualTo(SpanKind.SPAN_KIND_CLIENT);
        assertThat(insert.attribute("db.system.name")).isEqualTo("postgresql");
        assertThat(insert.attribute("db.collection.name")).isEqualTo("records");

        // The event keeps the request's trace context.
        assertThat(traceContext(a, recordId)).contains("00-" + TRACE_ID + "-" + server.spanId() + "-01");

        // The webhook attempt is a client span under the write, and its request carried it as traceparent.
        OtlpReceiver.Received attempt = awaitSpan(s -> s.name().equals("webhook POST"));
        assertThat(attempt.traceId()).isEqualTo(TRACE_ID);
        assertThat(attempt.parentSpanId()).isEqualTo(server.spanId());
        assertThat(attempt.kind()).isEqualTo(SpanKind.SPAN_KIND_CLIENT);
        assertThat(attempt.attribute("http.response.status_code")).isEqualTo("200");
        assertThat(attempt.attribute("switchboard.webhook.outcome")).isEqualTo("delivered");
        assertThat(attempt.attribute("url.full")).isEqualTo(webhooks.url("/hook") + "?…"); // the token left out
        assertThat(attempt.attribute("switchboard.webhook.message"))
                .isEqualTo(webhooks.received().getFirst().header("webhook-id"));
        assertThat(webhooks.received().getFirst().header("traceparent"))
                .isEqualTo("00-" + TRACE_ID + "-" + attempt.spanId() + "-01");

        // The socket follows node b: its fan-out there continues the write made on node a.
        OtlpReceiver.Received fanOut = awaitSpan(s -> s.name().equals("websocket fan-out"));
        assertThat(fanOut.traceId()).isEqualTo(TRACE_ID);
        assertThat(fanOut.parentSpanId()).isEqualTo(server.spanId());
        assertThat(fanOut.resourceAttribute("service.instance.id")).isEqualTo("node-b");
        assertThat(fanOut.attribute("switchboard.events")).isEqualTo("1");
        assertThat(fanOut.attribute("switchboard.sockets")).isEqualTo("1");

        // Webhook claims and delivery steps are statements with spans of their own.
        awaitSpan(s ->
                s.name().equals("UPDATE webhook_streams") && s.parentSpanId().isEmpty());
        awaitSpan(s -> s.name().equals("INSERT webhook_messages"));
    }

    @Test
    void aRequestWithAMethodOfItsOwnIsNamedAsAnyOtherNotByIt() throws Exception {
        TestServer a = start(null, "node-a", tracingOn());
        String traceId = UUID.randomUUID().toString().replace("-", "");
        var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(a.baseUrl() + "/api/v1/tenants"))
                .method("FOO1", java.net.http.HttpRequest.BodyPublishers.noBody())
                .header("traceparent", "00-" + traceId + "-" + CALLER_SPAN_ID + "-01")
                .build();
        try (var client = java.net.http.HttpClient.newHttpClient()) {
            client.send(request, java.net.http.HttpResponse.BodyHandlers.discarding());
        }
        // Any client may send any method: named by it, spans would grow the backend's index without end.
        OtlpReceiver.Received span = awaitSpan(s -> s.traceId().equals(traceId));
        assertThat(span.name()).isEqualTo("HTTP");
    }

    @Test
    void aMessageCarryingSeveralWritesIsLinkedToEachOfThem() {
        TestServer a = start(null, "node-a", tracingOn());
        a.createCollection("rooms");
        Partner partner = Partner.create(a, List.of("rooms.*"));
        List<String> traces = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            String traceId = UUID.randomUUID().toString().replace("-", "");
            traces.add(traceId);
            partner.access()
                    .withHeader("traceparent", "00-" + traceId + "-" + CALLER_SPAN_ID + "-01")
                    .post("/api/v1/collections/rooms/records", Map.of("data", Map.of("n", i)))
                    .expect(201);
        }
        // An endpoint made now starts after both events; a replay sends them, in one message.
        String endpoint = partner.webhook(Map.of("url", webhooks.url("/hook"), "maxBatchSize", 10))
                .get("id")
                .asText();
        partner.client()
                .post("/api/v1/webhooks/" + endpoint + "/replay", Map.of("fromSeq", 1, "tenantId", partner.tenant()))
                .expect(202);
        await().atMost(Duration.ofSeconds(30)).until(() -> webhooks.received().size() == 1);
        assertThat(webhooks.received().getFirst().json().get("events")).hasSize(2);

        List<String> writes = traces.stream()
                .map(traceId -> awaitSpan(s -> s.kind() == SpanKind.SPAN_KIND_SERVER
                                && s.traceId().equals(traceId))
                        .spanId())
                .toList();
        OtlpReceiver.Received attempt = awaitSpan(s -> s.name().equals("webhook POST"));
        assertThat(attempt.parentSpanId()).isEmpty();
        assertThat(attempt.traceId()).isNotIn(traces);
        assertThat(attempt.links())
                .containsExactly(traces.get(0) + "-" + writes.get(0), traces.get(1) + "-" + writes.get(1));
        // A trace the SDK starts has a random trace id, which its flags say (0x02) beside sampled (0x01).
        assertThat(webhooks.received().getFirst().header("traceparent"))
                .isEqualTo("00-" + attempt.traceId() + "-" + attempt.spanId() + "-03");
    }

    @Test
    void withTracingOffNothingIsExportedKeptOrSent() throws Exception {
        // An endpoint is given, but the SDK is disabled: the standard switch wins.
        TestServer a = start(
                null,
                "node-a",
                Map.of(
                        "OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint(),
                        "OTEL_BSP_SCHEDULE_DELAY", "50",
                        "OTEL_SDK_DISABLED", "true"));
        a.createCollection("rooms");
        Partner partner = Partner.create(a, List.of("rooms.*"));
        partner.webhook(Map.of("url", webhooks.url("/hook")));
        WsClient socket = WsClient.connect(a, partner.accessToken(), "");
        open.add(socket);
        socket.await("live");

        String recordId = createRoomInCallersTrace(partner, socket);

        assertThat(webhooks.received().getFirst().headers().keySet())
                .noneMatch(name -> name.equalsIgnoreCase("traceparent"));
        assertThat(traceContext(a, recordId)).isEmpty();
        a.close(); // a node with tracing on sends what it holds when it closes
        open.remove(a);
        assertThat(otlp.requests()).isZero();
    }

    /**
     * Creates a room as a caller whose own span is {@code CALLER_SPAN_ID} in {@code TRACE_ID}, and waits
     * for its event on the socket and its webhook message at the receiver; returns the record's id.
     */
    private String createRoomInCallersTrace(Partner partner, WsClient socket) throws Exception {
        String recordId = partner.access()
                .withHeader("traceparent", "00-" + TRACE_ID + "-" + CALLER_SPAN_ID + "-01")
                .post("/api/v1/collections/rooms/records", Map.of("data", Map.of("state", "free")))
                .expect(201)
                .json()
                .get("id")
                .asText();
        socket.awaitEvents(1);
        await().atMost(Duration.ofSeconds(30)).until(() -> webhooks.received().size() == 1);
        return recordId;
    }

    private OtlpReceiver.Received awaitSpan(Predicate<OtlpReceiver.Received> which) {
        await().atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(20))
                .until(() -> otlp.spans().stream().anyMatch(which));
        return otlp.spans().stream().filter(which).findFirst().orElseThrow();
    }

    /** What the event of a record's creation keeps as its trace context. */
    private static Optional<String> traceContext(TestServer server, String recordId) throws Exception {
        try (Connection c = DriverManager.getConnection(server.database().jdbcUrl());
                PreparedStatement ps = c.prepareStatement(
                        "SELECT trace_context FROM events WHERE subject = ? AND type = 'rooms.created'")) {
            ps.setString(1, recordId);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).as("the event of " + recordId).isTrue();
                return Optional.ofNullable(rs.getString(1));
            }
        }
    }
}
