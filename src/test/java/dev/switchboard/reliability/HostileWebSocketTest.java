package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.bench.Latencies;
import dev.switchboard.testing.ReliabilityReport;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hostile and broken WebSocket clients against {@code GET /api/v1/ws} on one tenant, while a
 * well-behaved client on another tenant is measured. Every case ({@link WebSocketAttacks}) must get
 * the answer the README documents; no upgrade may get a 5xx; no hostile socket may see another
 * tenant's event or a type its integration may not receive; the well-behaved client must receive
 * every event in order with no gap while {@code /health/ready} stays 200; and once the hostile
 * sockets are gone, the server's open-socket gauge must be back where it was.
 */
@Tag("reliability")
class HostileWebSocketTest {
    /** Each case runs this many times, from {@link #ATTACKERS} clients at once. */
    private static final int ROUNDS = 3;
    private static final int ATTACKERS = 4;
    private static final Duration ALONE = Duration.ofSeconds(5);
    private static final String OPEN_SOCKETS = "switchboard_websockets_connections";
    /** The attacker's integration's event types; it reads only reservations, so customers events never reach it. */
    private static final List<String> ATTACKER_TYPES = List.of("device.command", "reservations.*", "customers.*");

    private record Outcome(WebSocketAttacks.Case c, String outcome) {}

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void hostileClientsGetTheDocumentedAnswersSeeNothingOfOthersAndLeaveTheServerHealthy() throws Exception {
        long started = System.nanoTime();
        try (TestServer server = TestServer.start(Map.of(
                "SWITCHBOARD_RATE_LIMIT_REQUESTS", "1000000",
                "SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES", "1000000",
                // Short heartbeats, so the server's answer to a client that goes silent comes within the scenario.
                "SWITCHBOARD_WEBSOCKETS_PING_INTERVAL", "2s",
                "SWITCHBOARD_WEBSOCKETS_PING_TIMEOUT", "2s"))) {
            server.createCollection("reservations");
            server.createCollection("customers");
            String calm = server.createTenant("calm");
            String hostile = server.createTenant("hostile");
            JsonNode attackerIntegration = server.createIntegration("attacker", List.of("reservations"), List.of(),
                    ATTACKER_TYPES);
            String attackerToken = server.connect(attackerIntegration.get("id").asText(), hostile).get("accessToken").asText();
            List<WebSocketAttacks.Refused> refused = refusedTokens(server, hostile, attackerIntegration);

            AtomicInteger hostileWrites = new AtomicInteger();
            Runnable hostileTenantWrites = () -> {
                int n = hostileWrites.getAndIncrement();
                var api = server.adminFor(hostile);
                api.post("/api/v1/events", Map.of("type", "device.command", "subject", "a-allowed-" + n)).expect(201);
                api.post("/api/v1/events", Map.of("type", "device.status", "subject", "a-forbidden-" + n)).expect(201);
                api.post("/api/v1/collections/customers/records", Map.of("data", Map.of("n", n))).expect(201);
            };
            HostileSocket.Seen seen = new HostileSocket.Seen();
            try (WellBehavedSubscriber calmClient = new WellBehavedSubscriber(server, calm, server.partnerToken(calm),
                    hostileTenantWrites)) {
                Thread.sleep(ALONE);
                double baselineSockets = server.metric(OPEN_SOCKETS);
                int attackStart = calmClient.mark();

                WebSocketAttacks.Attacker attacker = new WebSocketAttacks.Attacker(server, attackerToken, refused,
                        calmClient::head, calm, seen);
                List<WebSocketAttacks.Case> cases = WebSocketAttacks.all(attacker);
                long attackStarted = System.nanoTime();
                List<Outcome> outcomes = attack(cases);
                long attackSeconds = (System.nanoTime() - attackStarted) / 1_000_000_000L;
                int attackEnd = calmClient.mark();

                await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                        .until(() -> server.metric(OPEN_SOCKETS) <= baselineSockets);
                double leakedSockets = server.metric(OPEN_SOCKETS) - baselineSockets;
                boolean calmOpen = calmClient.socketOpen();
                calmClient.finish();

                List<Outcome> unexpected = outcomes.stream()
                        .filter(o -> !WebSocketAttacks.allowed(o.c(), o.outcome())).toList();
                long fiveHundreds = outcomes.stream().filter(o -> o.outcome().startsWith("http:5")).count();
                List<JsonNode> leaks = seen.events.stream().filter(e -> !isTheAttackersOwn(e)).toList();
                List<List<String>> widened = seen.subscriptions.stream()
                        .filter(types -> !types.stream().allMatch(HostileWebSocketTest::withinTheAttackersTypes)).toList();
                Map<String, Integer> byOutcome = new TreeMap<>();
                outcomes.forEach(o -> byOutcome.merge(o.outcome(), 1, Integer::sum));
                Latencies alone = calmClient.latencies(0, attackStart);
                Latencies underAttack = calmClient.latencies(attackStart, attackEnd);

                Map<String, Object> figures = new LinkedHashMap<>();
                figures.put("distinct cases", cases.size());
                figures.put("cases sent (each " + ROUNDS + " times, " + ATTACKERS + " clients at once)", outcomes.size());
                figures.put("by outcome", byOutcome.toString());
                figures.put("outcomes the README does not promise", unexpected.size());
                figures.put("5xx at upgrade", fiveHundreds);
                figures.put("events shown to hostile sockets (all must be their own tenant's, of permitted types)",
                        seen.events.size());
                figures.put("cross-tenant or forbidden events seen", leaks.size());
                figures.put("subscriptions widened beyond the integration", widened.size());
                figures.put("leaked sockets (open-socket gauge after the attack minus before)", leakedSockets);
                figures.put("well-behaved client: events written (each must arrive)", calmClient.mark());
                figures.put("well-behaved client: missing, duplicated or out of order", calmClient.disorder());
                figures.put("well-behaved client: p50 / p99 alone (ms)", ms(alone, 50) + " / " + ms(alone, 99));
                figures.put("well-behaved client: p50 / p99 under attack (ms)", ms(underAttack, 50) + " / "
                        + ms(underAttack, 99));
                figures.put("/health/ready not 200", calmClient.notReady() + " of " + calmClient.readyChecks());
                figures.put("attack duration", attackSeconds + " s");
                figures.put("scenario duration", (System.nanoTime() - started) / 1_000_000_000L + " s");
                ReliabilityReport.record("Hostile WebSocket clients", "Hostile and broken clients against GET /api/v1/ws"
                        + " on one tenant while a well-behaved client on another is measured: malformed and wrong-shaped"
                        + " JSON, unknown types, unicode edge cases, subscriptions with bad filters or beyond the"
                        + " integration's types, messages over 64 KiB and frames announcing gigabytes, binary, invalid"
                        + " UTF-8, stray and endless fragments, unmasked frames, reserved bits and opcodes, oversized"
                        + " control frames, floods, clients that go silent mid-frame, and broken upgrades (keys,"
                        + " versions, refused and wrong-kind tokens, another tenant's or impossible positions). Each"
                        + " must get the README's answer, no upgrade a 5xx, no hostile socket another tenant's or a"
                        + " forbidden event; the well-behaved client must miss nothing, and no socket may stay open.",
                        figures);

                unexpected.forEach(o -> System.out.println("UNEXPECTED [" + o.c().group() + "] " + o.c().name()
                        + ": " + o.outcome() + " (expected " + o.c().expected() + ")"));
                leaks.stream().limit(10).forEach(e -> System.out.println("LEAK " + e));
                assertThat(unexpected).as("outcomes the README does not promise (printed above)").isEmpty();
                assertThat(fiveHundreds).isZero();
                assertThat(leaks).as("events of another tenant or of a forbidden type").isEmpty();
                assertThat(widened).as("subscriptions beyond the integration's event types").isEmpty();
                assertThat(leakedSockets).as("sockets still open after every hostile client left").isZero();
                assertThat(calmOpen).as("the well-behaved client's socket stayed open").isTrue();
                assertThat(calmClient.disorder()).as("events the well-behaved client missed or got out of order").isZero();
                assertThat(calmClient.notReady()).as("/health/ready answers other than 200").isZero();
            }
        }
    }

    /** Runs every case {@link #ROUNDS} times from {@link #ATTACKERS} clients at once. */
    private static List<Outcome> attack(List<WebSocketAttacks.Case> cases) throws InterruptedException {
        ExecutorService attackers = Executors.newFixedThreadPool(ATTACKERS);
        List<Future<Outcome>> running = new ArrayList<>();
        for (int round = 0; round < ROUNDS; round++) {
            for (WebSocketAttacks.Case c : cases) {
                running.add(attackers.submit(() -> {
                    try {
                        return new Outcome(c, c.attack().run());
                    } catch (Exception e) {
                        return new Outcome(c, "failed: " + e);
                    }
                }));
            }
        }
        attackers.shutdown();
        List<Outcome> outcomes = new ArrayList<>();
        for (Future<Outcome> f : running) {
            try {
                outcomes.add(f.get());
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
        }
        return outcomes;
    }

    /** Tokens the upgrade must refuse: revoked ones (401) and tokens of another kind (403). */
    private static List<WebSocketAttacks.Refused> refusedTokens(TestServer server, String tenant, JsonNode integration) {
        List<WebSocketAttacks.Refused> refused = new ArrayList<>();
        for (String change : List.of("disable", "rotate-token", "delete")) {
            JsonNode spare = server.createIntegration("spare-" + change, List.of("*"), List.of("*"), List.of("*"));
            JsonNode connection = server.connect(spare.get("id").asText(), tenant);
            String path = "/api/v1/connections/" + connection.get("id").asText();
            if (change.equals("delete")) {
                server.admin.delete(path).expect(204);
            } else {
                server.admin.post(path + "/" + change, "").expect(200);
            }
            refused.add(new WebSocketAttacks.Refused("the token of a connection after " + change,
                    connection.get("accessToken").asText(), 401));
        }
        refused.add(new WebSocketAttacks.Refused("the integration's client key", integration.get("clientKey").asText(), 403));
        refused.add(new WebSocketAttacks.Refused("the admin key", TestServer.ADMIN_KEY, 403));
        return refused;
    }

    /** The attacker's tenant writes device.command (permitted), device.status and customers records (not). */
    private static boolean isTheAttackersOwn(JsonNode event) {
        return event.path("type").asText().equals("device.command")
                && event.path("subject").asText().startsWith("a-allowed-");
    }

    private static boolean withinTheAttackersTypes(String pattern) {
        return pattern.equals("device.command") || pattern.startsWith("reservations.") || pattern.startsWith("customers.");
    }

    private static String ms(Latencies latencies, double percentile) {
        return String.format("%.1f", latencies.millis(percentile));
    }
}
