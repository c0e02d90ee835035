package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import dev.switchboard.testing.RawHttp;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.ReliabilityReport;
import dev.switchboard.testing.TestServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Hostile input against every route of the served OpenAPI document (so a new route is covered
 * without a change here), each request breaking one thing of a valid one. For every request: never a
 * 5xx; every response has a {@code Request-Id}, and every error is the error JSON carrying it; a
 * refused request changes nothing in the database (all tables compared before and after); and no
 * response shows another party's data or any token or secret. The seed is printed; rerun a failure
 * with {@code bin/reliability -Dtest=HostileInputTest -Dhostile.seed=<seed>}.
 */
@Tag("reliability")
class HostileInputTest {
    private static final long SEED = Long.getLong("hostile.seed", 20261124L);
    private static final long MAX_BODY = 1024 * 1024;
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    /** A broken rule: which request, what was wrong. */
    private record Violation(int index, String request, String rule, String detail) {
        @Override
        public String toString() {
            return "#" + index + " " + request + "\n    " + rule + ": " + detail;
        }
    }

    @Test
    void everyRouteRefusesHostileInputWithAClear4xxThatChangesNothingAndShowsNothingItShouldNot() throws Exception {
        System.out.println("HostileInputTest seed: " + SEED + " (rerun with -Dhostile.seed=" + SEED + ")");
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(Map.of(
                        "SWITCHBOARD_RATE_LIMIT_REQUESTS", "1000000",
                        "SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES", "1000000",
                        "SWITCHBOARD_EVENTS_MAX_WAIT", "1s",
                        "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
                        "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS", "",
                        "SWITCHBOARD_WEBHOOKS_TIMEOUT", "1s"));
                DatabaseSnapshot database =
                        new DatabaseSnapshot(server.database().jdbcUrl())) {
            TwoPartyFixture fixture = new TwoPartyFixture(server, receiver);
            int port = server.switchboard().port();
            JsonNode openApi = Json.read(RawHttp.send(
                            "127.0.0.1",
                            port,
                            new RawHttp.Request("GET", "/api/v1/openapi.json", List.of(), null, false),
                            TIMEOUT)
                    .text());
            List<HostileRequests.Operation> operations = HostileRequests.operations(openApi);
            List<HostileRequests.Request> requests = new HostileRequests(new Random(SEED), MAX_BODY).all(operations);

            List<Violation> violations = new ArrayList<>();
            Map<String, java.util.Set<String>> written = new java.util.HashMap<>();
            int resets = 0;
            Map<Integer, Integer> byStatus = new TreeMap<>();
            int repairs = 0;
            long started = System.nanoTime();
            awaitIdle(database);
            Map<String, String> before = database.take();
            for (int i = 0; i < requests.size(); i++) {
                HostileRequests.Request request = requests.get(i);
                Sent sent = send(port, fixture, request);
                String shown = request.op().method() + " " + request.op().path() + " [" + request.what() + "] sent as "
                        + request.method() + " " + HostileRequests.abbreviate(sent.target());
                if (sent.response() == null) {
                    if (sent.bodyBytes() > MAX_BODY && sent.error().contains("Connection reset")) {
                        // The server answered without reading a body the route does not take, and closed the
                        // connection while it was still being sent: the reset can overtake the answer.
                        resets++;
                    } else {
                        violations.add(new Violation(i, shown, "no response", sent.error()));
                    }
                    continue;
                }
                RawHttp.Response response = sent.response();
                byStatus.merge(response.status(), 1, Integer::sum);
                check(i, shown, request, sent, fixture, written, violations);
                if (response.status() >= 300) {
                    Map<String, String> after = database.take();
                    Map<String, String> changed = DatabaseSnapshot.diff(before, after);
                    if (!changed.isEmpty()) {
                        violations.add(new Violation(
                                i, shown, "partial write", response.status() + " but changed " + changed.keySet()));
                        before = after;
                    }
                } else if (!request.method().equals("GET") && !request.method().equals("HEAD")) {
                    // What a caller wrote is its own data from now on: another party's id it put in a record
                    // comes back to it legitimately.
                    String viewer = viewer(request, sent, fixture);
                    fixture.forbiddenFor(viewer).keySet().stream()
                            .filter(sent.requestText()::contains)
                            .forEach(v -> written.computeIfAbsent(viewer, k -> new java.util.HashSet<>())
                                    .add(v));
                    awaitIdle(database);
                    if (!fixture.repair().isEmpty()) {
                        repairs++;
                        awaitIdle(database);
                    }
                    before = database.take();
                }
            }
            long seconds = (System.nanoTime() - started) / 1_000_000_000L;

            Map<String, Integer> classes = new TreeMap<>();
            byStatus.forEach((status, n) -> classes.merge(status / 100 + "xx", n, Integer::sum));
            long fiveHundreds = classes.getOrDefault("5xx", 0);
            Map<String, Object> figures = new LinkedHashMap<>();
            figures.put("seed", SEED);
            figures.put("operations covered (from the OpenAPI document)", operations.size());
            figures.put("requests sent", requests.size());
            figures.put("by status class", classes.toString());
            figures.put("by status", byStatus.toString());
            figures.put("5xx", fiveHundreds);
            figures.put("responses without Request-Id or error JSON", count(violations, "shape"));
            figures.put(
                    "partial writes (refused requests that changed the database)", count(violations, "partial write"));
            figures.put("leaks (another party's data, or a token, in a response)", count(violations, "leak"));
            figures.put("requests with no response", count(violations, "no response"));
            figures.put("connections reset while sending a body over the limit the route does not read", resets);
            figures.put("accepted requests whose changes the fixture put back", repairs);
            figures.put("duration", seconds + " s");
            ReliabilityReport.record(
                    "Hostile input",
                    "Every operation of the served OpenAPI document (and the WebSocket"
                            + " route as plain HTTP), each request breaking one thing of a valid one: malformed, wrong-typed,"
                            + " deeply nested, oversized and non-UTF-8 bodies; unicode edge cases, SQL and JSON-path injection"
                            + " and other parties' ids in every path parameter, query parameter, header and body field; wrong,"
                            + " revoked and wrong-kind tokens; forged cursors and numbers past every limit. Every refused"
                            + " request is checked to change no table, and every response to show nothing of the other party"
                            + " and no token.",
                    figures);
            violations.stream().limit(40).forEach(System.out::println);
            java.nio.file.Files.writeString(
                    java.nio.file.Path.of("target", "hostile-input-violations.txt"),
                    String.join(
                            "\n", violations.stream().map(Violation::toString).toList()));
            assertThat(violations)
                    .as("%d violations (seed %d); the first are printed above", violations.size(), SEED)
                    .isEmpty();
        }
    }

    private record Sent(
            String method,
            String target,
            String token,
            String tenantHeader,
            String requestText,
            long bodyBytes,
            RawHttp.Response response,
            String error) {}

    private static Sent send(int port, TwoPartyFixture fixture, HostileRequests.Request request) {
        String target = request.target(fixture::resolve);
        String token = fixture.resolve(request.token());
        List<Map.Entry<String, String>> headers = new ArrayList<>();
        if (token != null) {
            headers.add(Map.entry("Authorization", "Bearer " + token));
        }
        String tenant = null;
        for (Map.Entry<String, String> h : request.headers()) {
            String value = fixture.resolve(h.getValue());
            headers.add(Map.entry(h.getKey(), value));
            if (h.getKey().equals("Authorization") && value.regionMatches(true, 0, "Bearer ", 0, 7)) {
                token = value.substring(7).trim(); // as the server reads it
            }
            if (h.getKey().equals("Switchboard-Tenant") && request.op().tenantScoped()) {
                tenant = value;
            }
        }
        String body = fixture.resolve(request.body());
        byte[] bytes = request.rawBody() != null
                ? request.rawBody()
                : body == null ? null : body.getBytes(StandardCharsets.UTF_8);
        // What the request itself carries may come back in the answer (an id named in an error message).
        String requestText = target + "\n"
                + headers.stream()
                        .filter(h -> !h.getKey().equals("Authorization"))
                        .map(Map.Entry::getValue)
                        .toList() + "\n" + (body == null ? "" : body) + "\n" + decodedTarget(target);
        try {
            RawHttp.Response response = RawHttp.send(
                    "127.0.0.1",
                    port,
                    new RawHttp.Request(request.method(), target, headers, bytes, request.chunked()),
                    TIMEOUT);
            return new Sent(
                    request.method(),
                    target,
                    token,
                    tenant,
                    requestText,
                    bytes == null ? 0 : bytes.length,
                    response,
                    null);
        } catch (IOException | RuntimeException e) {
            return new Sent(
                    request.method(),
                    target,
                    token,
                    tenant,
                    requestText,
                    bytes == null ? 0 : bytes.length,
                    null,
                    e.toString());
        }
    }

    private static String decodedTarget(String target) {
        try {
            return java.net.URLDecoder.decode(target, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return target;
        }
    }

    private static void check(
            int i,
            String shown,
            HostileRequests.Request request,
            Sent sent,
            TwoPartyFixture fixture,
            Map<String, java.util.Set<String>> written,
            List<Violation> violations) {
        RawHttp.Response response = sent.response();
        String text = response.text();
        if (response.status() >= 500) {
            violations.add(new Violation(i, shown, "5xx", response.status() + " " + HostileRequests.abbreviate(text)));
        }
        String requestId = response.header("Request-Id");
        if (requestId == null || requestId.isBlank()) {
            violations.add(new Violation(
                    i,
                    shown,
                    "shape",
                    response.status() + " without a Request-Id header: " + HostileRequests.abbreviate(text)));
        } else if (response.status() >= 400 && !sent.method().equals("HEAD")) {
            JsonNode error = errorOf(text);
            if (error == null
                    || !error.path("code").isTextual()
                    || !error.path("message").isTextual()
                    || !error.has("details")
                    || !requestId.equals(error.path("requestId").asText())) {
                violations.add(new Violation(
                        i,
                        shown,
                        "shape",
                        response.status() + " is not the error JSON with its" + " request id: "
                                + HostileRequests.abbreviate(text)));
            }
        }
        String viewer = viewer(request, sent, fixture);
        fixture.forbiddenFor(viewer).forEach((value, symbol) -> {
            if (text.contains(value)
                    && !sent.requestText().contains(value)
                    && !written.getOrDefault(viewer, java.util.Set.of()).contains(value)) {
                violations.add(new Violation(
                        i,
                        shown,
                        "leak",
                        "the answer to " + (viewer == null ? "nobody" : viewer) + " shows " + symbol + ": "
                                + HostileRequests.abbreviate(text)));
            }
        });
    }

    private static JsonNode errorOf(String text) {
        try {
            JsonNode json = Json.read(text);
            return json.isObject()
                            && json.get("error") != null
                            && json.get("error").isObject()
                    ? json.get("error")
                    : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Whom the request acts as: a party, "admin" (acting for no party's tenant), or null (nobody). */
    private static String viewer(HostileRequests.Request request, Sent sent, TwoPartyFixture fixture) {
        if (request.op().tag().equals("operations")) {
            return "admin"; // metrics and the document name no tenant's data, only ids an operator sees
        }
        String owner = fixture.ownerOf(sent.token());
        if ("admin".equals(owner) && sent.tenantHeader() != null) {
            String party = fixture.partyOfTenant(sent.tenantHeader().trim());
            // Acting for a tenant in a tenant's routes, the admin key sees that tenant's data only.
            return party != null ? party : "admin";
        }
        return owner;
    }

    private static void awaitIdle(DatabaseSnapshot database) {
        await().atMost(Duration.ofSeconds(60))
                .pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertThat(database.webhooksBusy())
                        .as("webhook work still due")
                        .isEmpty());
    }

    private static long count(List<Violation> violations, String rule) {
        return violations.stream().filter(v -> v.rule().equals(rule)).count();
    }

    /**
     * Anyone who can reach the server can call the health checks, and, without a management port, read
     * the metrics. A flood of readiness checks holds one database connection at most; with a management
     * port the public port serves no metrics.
     */
    @Test
    void aFloodOfReadinessChecksHoldsOneConnectionAndMetricsStayOffThePublicPort() throws Exception {
        try (TestServer server = TestServer.start(Map.of("SWITCHBOARD_MANAGEMENT_PORT", "0"));
                var callers = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            int calls = 1_000;
            List<java.util.concurrent.Future<Integer>> answers = new ArrayList<>();
            long began = System.nanoTime();
            for (int i = 0; i < calls; i++) {
                answers.add(callers.submit(
                        () -> server.api(null).get("/health/ready").status()));
            }
            Map<Integer, Integer> statuses = new TreeMap<>();
            for (var answer : answers) {
                statuses.merge(answer.get(), 1, Integer::sum);
            }
            long millis = (System.nanoTime() - began) / 1_000_000;
            int healthConnections;
            try (var c = java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                    var st = c.createStatement();
                    var rs = st.executeQuery(
                            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'switchboard-health'"
                                    + " AND datname = current_database()")) {
                rs.next();
                healthConnections = rs.getInt(1);
            }
            String management =
                    "http://127.0.0.1:" + server.switchboard().managementPort().orElseThrow();
            int publicMetrics = server.api(null).get("/metrics").status();
            int managementMetrics = dev.switchboard.testing.Api.of(management, null)
                    .get("/metrics")
                    .status();
            ReliabilityReport.hostilePartner(
                    "Flood of " + calls + " concurrent GET /health/ready, and GET /metrics on the"
                            + " public port with a management port set",
                    "answers " + statuses + " in " + millis + " ms, database"
                            + " connections held for health checks: " + healthConnections + "; /metrics: "
                            + publicMetrics
                            + " on the public port, " + managementMetrics + " on the management port");
            assertThat(statuses).containsOnlyKeys(200);
            assertThat(healthConnections).isLessThanOrEqualTo(1);
            assertThat(publicMetrics).isEqualTo(404);
            assertThat(managementMetrics).isEqualTo(200);
        }
    }
}
