package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.FaultyReceiver;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.ReliabilityReport;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Receivers that fail in every way we know: each failure is classified and retried as documented, a
 * healthy endpoint following the same tenant keeps its latency, and the retries of many streams that
 * failed together are spread out by jitter rather than arriving as a storm.
 */
@Tag("reliability")
@Timeout(300)
class ReceiverFaultsTest {
    private static final Map<String, String> SETTINGS = Map.of(
            "SWITCHBOARD_WEBHOOKS_ALLOWED_ADDRESSES", "127.0.0.1/32",
            "SWITCHBOARD_WEBHOOKS_TIMEOUT", "1s",
            "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS", "1s,1s",
            "SWITCHBOARD_WEBHOOKS_LEASE_TIME", "3s",
            "SWITCHBOARD_WEBHOOKS_MAX_RETRY_AFTER", "2s",
            "SWITCHBOARD_RATE_LIMIT_REQUESTS", "1000000");

    /** Fault path → the outcome every attempt must have, and whether the message ends delivered. */
    private static final Map<String, Expected> FAULTS = new LinkedHashMap<>();

    static {
        FAULTS.put("/hang", new Expected("timeout", "failed"));
        FAULTS.put("/reset", new Expected("connection_error", "failed"));
        FAULTS.put("/trickle", new Expected("timeout", "failed"));
        FAULTS.put("/huge", new Expected("http_error", "failed")); // a 2xx is read to its end, at most 1 MiB
        FAULTS.put("/loop", new Expected("redirect_error", "failed"));
        FAULTS.put("/private", new Expected("redirect_error", "failed"));
        FAULTS.put("/metadata", new Expected("redirect_error", "failed"));
        FAULTS.put("/mapped", new Expected("redirect_error", "failed"));
        FAULTS.put("/busy", new Expected(null, "delivered"));
        FAULTS.put("/gone", new Expected("gone", "pending"));
    }

    private record Expected(String outcome, String status) {}

    @Test
    void everyReceiverFaultIsClassifiedRetriedAsDocumentedAndHealthyEndpointsKeepTheirLatency() throws Exception {
        try (TestServer server = TestServer.start(SETTINGS);
                Receiver healthy = new Receiver();
                FaultyReceiver faulty = new FaultyReceiver()) {
            server.createCollection("rooms");
            String tenant = server.createTenant("faults");
            JsonNode good = server.createIntegration("healthy", List.of("*"), List.of("*"), List.of("*"));
            Api writer = server.api(server.connect(good.get("id").asText(), tenant)
                    .get("accessToken")
                    .asText());
            server.api(good.get("clientKey").asText())
                    .post("/api/v1/webhooks", Map.of("url", healthy.url("/healthy"), "maxBatchSize", 1))
                    .expect(201);

            latencies(writer, healthy, 10); // warm-up
            List<Long> baseline = latencies(writer, healthy, 60);

            JsonNode bad = server.createIntegration("faulty", List.of("*"), List.of("*"), List.of("*"));
            server.connect(bad.get("id").asText(), tenant);
            Api badClient = server.api(bad.get("clientKey").asText());
            Map<String, String> endpointOf = new LinkedHashMap<>();
            for (String path : FAULTS.keySet()) {
                endpointOf.put(
                        path,
                        badClient
                                .post("/api/v1/webhooks", Map.of("url", faulty.url(path)))
                                .expect(201)
                                .json()
                                .get("id")
                                .asText());
            }
            List<Long> withFaults = latencies(writer, healthy, 60);

            Map<String, Object> outcomes = new LinkedHashMap<>();
            for (Map.Entry<String, Expected> fault : FAULTS.entrySet()) {
                String path = "/api/v1/webhooks/" + endpointOf.get(fault.getKey());
                JsonNode first = await().atMost(Duration.ofSeconds(60))
                        .until(() -> firstMessage(badClient, path), m -> m != null && settled(m, fault.getValue()));
                List<String> seen = new ArrayList<>();
                first.get("attempts")
                        .forEach(a -> seen.add(a.get("outcome").asText()
                                + (a.get("status").isNull()
                                        ? ""
                                        : " " + a.get("status").asInt())));
                outcomes.put(
                        fault.getKey(),
                        String.join(", ", seen) + " → " + first.get("status").asText());
                if (fault.getValue().outcome() != null) {
                    assertThat(first.get("attempts"))
                            .as(fault.getKey())
                            .allSatisfy(a -> assertThat(a.get("outcome").asText())
                                    .isEqualTo(fault.getValue().outcome()));
                }
                assertThat(first.get("status").asText())
                        .as(fault.getKey())
                        .isEqualTo(fault.getValue().status());
            }
            assertThat(badClient
                            .get("/api/v1/webhooks/" + endpointOf.get("/gone"))
                            .json()
                            .get("state")
                            .asText())
                    .isEqualTo("disabled");
            List<Instant> busy = faulty.arrivals("/busy");
            assertThat(Duration.between(busy.get(0), busy.get(1)))
                    .as("Retry-After: 1 is honoured")
                    .isGreaterThanOrEqualTo(Duration.ofSeconds(1));
            JsonNode huge = firstMessage(badClient, "/api/v1/webhooks/" + endpointOf.get("/huge"));
            assertThat(huge.get("attempts").get(0).get("error").asText())
                    .as("a 2xx is a delivery only when its whole answer arrives")
                    .contains("over 1048576 bytes");
            assertThat(huge.get("attempts").get(0).get("durationMs").asInt())
                    .as("the rest of a huge body is not read")
                    .isLessThan(1000);
            assertThat(firstMessage(badClient, "/api/v1/webhooks/" + endpointOf.get("/loop"))
                            .get("attempts"))
                    .as("a redirect loop stops after 5 hops per attempt")
                    .allSatisfy(a -> assertThat(a.get("error").asText()).contains("more than 5 redirects"));
            for (String refused : List.of("/private", "/metadata", "/mapped")) {
                assertThat(firstMessage(badClient, "/api/v1/webhooks/" + endpointOf.get(refused))
                                .get("attempts")
                                .get(0)
                                .get("error")
                                .asText())
                        .as(refused)
                        .contains("may not call");
            }

            long p50Before = percentile(baseline, 50), p99Before = percentile(baseline, 99);
            long p50After = percentile(withFaults, 50), p99After = percentile(withFaults, 99);
            assertThat(p99After)
                    .as("a healthy endpoint's p99 with ten failing endpoints beside it")
                    .isLessThan(Math.max(2 * p99Before, p99Before + 100));

            Map<String, Object> figures = new LinkedHashMap<>();
            figures.put("Healthy endpoint p50 / p99, alone (ms)", p50Before + " / " + p99Before);
            figures.put("Healthy endpoint p50 / p99, beside the faults (ms)", p50After + " / " + p99After);
            outcomes.forEach((path, seen) -> figures.put("`" + path + "` attempts", seen));
            ReliabilityReport.record(
                    "Receiver faults",
                    "Ten endpoints of one tenant fail in every known way (timeout 1 s, delays 1s,1s: three attempts) while"
                            + " a healthy endpoint of the same tenant is measured, event sent → request received, 60 events"
                            + " alone and 60 beside the faults. Every attempt is classified as documented; a 2xx whose body"
                            + " runs past 1 MiB is a failed attempt, the rest not read; redirects to private, metadata and IPv4-mapped addresses are refused.",
                    figures);
        }
    }

    @Test
    void retriesOfStreamsThatFailedTogetherAreSpreadByJitter() {
        try (TestServer server = TestServer.start(SETTINGS);
                Receiver failing = new Receiver()) {
            failing.answer(r -> Receiver.Reply.status(500));
            server.createCollection("rooms");
            JsonNode integration = server.createIntegration("storm", List.of("*"), List.of("*"), List.of("*"));
            List<Api> writers = new ArrayList<>();
            int streams = 32;
            for (int i = 0; i < streams; i++) {
                String tenant = server.createTenant("storm-" + i);
                writers.add(server.api(server.connect(integration.get("id").asText(), tenant)
                        .get("accessToken")
                        .asText()));
            }
            server.api(integration.get("clientKey").asText())
                    .post("/api/v1/webhooks", Map.of("url", failing.url("/storm"), "retryDelays", List.of("2s")))
                    .expect(201);
            writers.parallelStream()
                    .forEach(w -> w.post("/api/v1/collections/rooms/records", Map.of("data", Map.of()))
                            .expect(201));

            await().atMost(Duration.ofSeconds(30))
                    .until(() -> failing.received().size() >= 2 * streams);
            Map<String, List<Instant>> byMessage = new ConcurrentHashMap<>();
            failing.received()
                    .forEach(r -> byMessage
                            .computeIfAbsent(r.header("webhook-id"), k -> new ArrayList<>())
                            .add(r.at()));
            List<Instant> firsts =
                    byMessage.values().stream().map(l -> l.get(0)).sorted().toList();
            List<Instant> retries =
                    byMessage.values().stream().map(l -> l.get(1)).sorted().toList();
            long firstSpread =
                    Duration.between(firsts.getFirst(), firsts.getLast()).toMillis();
            long retrySpread =
                    Duration.between(retries.getFirst(), retries.getLast()).toMillis();
            int busiest = busiestWindow(retries, Duration.ofMillis(100));
            assertThat(retrySpread)
                    .as("retries spread by ±20 %% jitter around 2 s")
                    .isGreaterThan(300);
            assertThat(firstSpread)
                    .as("first attempts are not held back by the endpoint's share")
                    .isLessThan(1000);
            assertThat(busiest).as("no 100 ms window holds most retries").isLessThan(streams / 2);
            ReliabilityReport.record(
                    "Retry spread",
                    streams + " tenants' streams to one endpoint fail at once (500); their second attempts follow a 2 s"
                            + " delay with ±20 % jitter.",
                    Map.of(
                            "Streams",
                            streams,
                            "First attempts spread over (ms)",
                            firstSpread,
                            "Retries spread over (ms)",
                            retrySpread,
                            "Most retries in any 100 ms",
                            busiest));
        }
    }

    private static boolean settled(JsonNode message, Expected expected) {
        int attempts = message.get("attempts").size();
        return switch (expected.status()) {
            case "pending" ->
                attempts >= 1
                        && message.get("attempts")
                                .get(0)
                                .get("outcome")
                                .asText()
                                .equals(expected.outcome());
            default -> message.get("status").asText().equals(expected.status()) && attempts >= 1;
        };
    }

    private static JsonNode firstMessage(Api client, String endpointPath) {
        JsonNode messages = client.get(endpointPath + "/messages?limit=500")
                .expect(200)
                .json()
                .get("messages");
        return messages.isEmpty() ? null : messages.get(messages.size() - 1);
    }

    /** Writes events one at a time, each waiting for its webhook: milliseconds from POST sent to request received. */
    private static List<Long> latencies(Api writer, Receiver healthy, int count) {
        List<Long> millis = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Instant sent = Instant.now();
            String id = writer.post("/api/v1/collections/rooms/records", Map.of("data", Map.of("i", i)))
                    .expect(201)
                    .json()
                    .get("id")
                    .asText();
            Instant received = await().atMost(Duration.ofSeconds(10))
                    .until(
                            () -> healthy.received().stream()
                                    .filter(r -> r.body().contains(id))
                                    .map(Receiver.Received::at)
                                    .findFirst()
                                    .orElse(null),
                            java.util.Objects::nonNull);
            millis.add(Duration.between(sent, received).toMillis());
        }
        return millis;
    }

    private static long percentile(List<Long> values, int p) {
        List<Long> sorted = values.stream().sorted().toList();
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }

    private static int busiestWindow(List<Instant> sorted, Duration window) {
        int best = 0;
        for (int i = 0, j = 0; i < sorted.size(); i++) {
            while (Duration.between(sorted.get(j), sorted.get(i)).compareTo(window) > 0) {
                j++;
            }
            best = Math.max(best, i - j + 1);
        }
        return best;
    }
}
