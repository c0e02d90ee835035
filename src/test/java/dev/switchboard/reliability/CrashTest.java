package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.ExternalPostgres;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.ReliabilityReport;
import dev.switchboard.testing.ServerProcess;
import dev.switchboard.testing.TestServer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL at random moments under steady writes, with a webhook endpoint following: the server is
 * restarted on the same database each time, on its embedded PostgreSQL (which the kill leaves running)
 * and, separately, on an external one. Every acknowledged write must be in the log, every event must
 * reach the receiver, in order, and the only duplicates are messages that were in flight at a kill.
 */
@Tag("reliability")
@Timeout(600)
class CrashTest {
    private static final int KILLS = 5;
    private static final int WRITERS = 4;

    @TempDir
    Path dir;

    @Test
    void killedOnItsEmbeddedDatabaseItLosesNothing() {
        Map<String, String> settings = new HashMap<>(settings());
        settings.put("SWITCHBOARD_DATA_DIR", dir.resolve("data").toString());
        run("Crash, embedded PostgreSQL", settings);
    }

    @Test
    void killedOnAnExternalDatabaseItLosesNothing() {
        try (ExternalPostgres postgres = ExternalPostgres.start(dir.resolve("external"))) {
            Map<String, String> settings = new HashMap<>(settings());
            settings.put("SWITCHBOARD_DATABASE_URL", postgres.jdbcUrl());
            run("Crash, external PostgreSQL", settings);
        }
    }

    private static Map<String, String> settings() {
        return Map.of("SWITCHBOARD_ADMIN_KEY", TestServer.ADMIN_KEY,
                "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
                "SWITCHBOARD_WEBHOOKS_TIMEOUT", "1s",
                "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS", "500ms,1s,2s,4s",
                "SWITCHBOARD_WEBHOOKS_LEASE_TIME", "3s",
                "SWITCHBOARD_RATE_LIMIT_REQUESTS", "1000000");
    }

    private void run(String scenario, Map<String, String> settings) {
        long seed = System.nanoTime();
        System.out.println(scenario + ": random seed " + seed);
        Random random = new Random(seed);
        try (Receiver receiver = new Receiver()) {
            receiver.answer(r -> Receiver.Reply.status(200).after(Duration.ofMillis(20))); // so a kill can land mid-request
            AtomicReference<ServerProcess> server = new AtomicReference<>(ServerProcess.start(settings).awaitReady());
            try {
                Api admin = server.get().api(TestServer.ADMIN_KEY);
                admin.post("/api/v1/collections", Map.of("name", "rooms")).expect(201);
                admin.post("/api/v1/tenants", Map.of("id", "crashy")).expect(201);
                JsonNode integration = admin.post("/api/v1/integrations", Map.of("name", "partner",
                        "permissions", Map.of("read", List.of("*"), "write", List.of("*")), "eventTypes", List.of("*")))
                        .expect(201).json();
                String token = admin.post("/api/v1/integrations/" + integration.get("id").asText() + "/connections",
                        Map.of("tenantId", "crashy")).expect(201).json().get("accessToken").asText();
                String webhook = server.get().api(integration.get("clientKey").asText()).post("/api/v1/webhooks",
                        Map.of("url", receiver.url("/crash"), "maxBatchSize", 20)).expect(201).json().get("id").asText();

                Set<String> acknowledged = ConcurrentHashMap.newKeySet();
                AtomicInteger unanswered = new AtomicInteger();
                AtomicBoolean writing = new AtomicBoolean(true);
                List<Long> recoveries = new ArrayList<>();
                try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                    for (int w = 0; w < WRITERS; w++) {
                        pool.submit(() -> write(server, token, writing, acknowledged, unanswered));
                    }
                    for (int kill = 0; kill < KILLS; kill++) {
                        int before = acknowledged.size();
                        await().atMost(Duration.ofSeconds(60)).until(() -> acknowledged.size() >= before + 20);
                        await().pollDelay(Duration.ofMillis(200 + random.nextInt(2000))).until(() -> true);
                        server.get().kill();
                        Instant killed = Instant.now();
                        server.set(ServerProcess.start(settings).awaitReady());
                        recoveries.add(Duration.between(killed, Instant.now()).toMillis());
                    }
                    int before = acknowledged.size();
                    await().atMost(Duration.ofSeconds(60)).until(() -> acknowledged.size() >= before + 50);
                    writing.set(false);
                }

                List<JsonNode> log = readLog(server.get().api(TestServer.ADMIN_KEY).withHeader("Switchboard-Tenant", "crashy"));
                Set<String> logged = new HashSet<>();
                log.forEach(e -> logged.add(e.get("subject").asText()));
                List<String> missing = acknowledged.stream().filter(id -> !logged.contains(id)).toList();
                assertThat(missing).as("acknowledged writes missing from the log").isEmpty();

                await().atMost(Duration.ofSeconds(90)).until(() -> deliveredSeqs(receiver).containsAll(seqs(log)));
                Deliveries d = Deliveries.of(receiver);
                int failedAttempts = failedAttempts(server.get().api(TestServer.ADMIN_KEY), webhook);
                assertThat(d.outOfOrder()).as("messages that went backwards other than a re-sent one").isZero();
                assertThat(d.eventsSentTwiceOutsideARepeatedMessage()).isZero();
                assertThat(d.repeatedMessages())
                        .as("messages re-sent: the one in flight at each kill, and retries after recorded failed attempts")
                        .isLessThanOrEqualTo(KILLS + failedAttempts);

                Map<String, Object> figures = new LinkedHashMap<>();
                figures.put("Kills (SIGKILL)", KILLS);
                figures.put("Writes acknowledged", acknowledged.size());
                figures.put("Write attempts cut off or refused while the server was down", unanswered.get());
                figures.put("Events in the log", log.size());
                figures.put("Acknowledged writes missing from the log (lost)", missing.size());
                figures.put("Events delivered by webhook", d.distinctEvents());
                figures.put("Events never delivered (lost)", log.size() - d.distinctEvents());
                figures.put("Messages sent more than once (same webhook-id)", d.repeatedMessages());
                figures.put("Recorded failed attempts (timeouts under load), which also re-send", failedAttempts);
                figures.put("Events delivered twice", d.eventsDeliveredTwice());
                figures.put("Restart until ready, median (ms)", recoveries.stream().sorted().toList().get(KILLS / 2));
                figures.put("Restart until ready, slowest (ms)", recoveries.stream().mapToLong(Long::longValue).max().orElse(0));
                ReliabilityReport.record(scenario, "The server is killed with SIGKILL " + KILLS + " times at random moments"
                        + " (200 ms to 2.2 s after 20 more acknowledged writes) under " + WRITERS + " writers, with a webhook"
                        + " endpoint following (maxBatchSize 20), and restarted each time on the same database.", figures);
            } finally {
                server.get().close();
            }
        }
    }

    /** Writes records until told to stop, through whichever server is up; a write is acknowledged by its 201. */
    private static Void write(AtomicReference<ServerProcess> server, String token, AtomicBoolean writing,
                              Set<String> acknowledged, AtomicInteger unanswered) {
        while (writing.get()) {
            try {
                Api.Response r = server.get().api(token).post("/api/v1/collections/rooms/records", Map.of("data", Map.of()));
                if (r.status() == 201) {
                    acknowledged.add(r.json().get("id").asText());
                }
            } catch (IllegalStateException e) {
                unanswered.incrementAndGet(); // the server died mid-request, or is restarting
                await().pollDelay(Duration.ofMillis(100)).until(() -> true);
            }
        }
        return null;
    }

    /** Attempts the server recorded as failed (a timeout under load, say): each re-sends its message. */
    private static int failedAttempts(Api admin, String webhook) {
        int failed = 0;
        String cursor = "";
        while (true) {
            JsonNode page = admin.get("/api/v1/webhooks/" + webhook + "/messages?limit=500" + cursor).expect(200).json();
            for (JsonNode m : page.get("messages")) {
                for (JsonNode a : m.get("attempts")) {
                    failed += a.get("outcome").asText().equals("delivered") ? 0 : 1;
                }
            }
            if (page.get("cursor").isNull()) {
                return failed;
            }
            cursor = "&cursor=" + page.get("cursor").asText();
        }
    }

    private static List<JsonNode> readLog(Api api) {
        List<JsonNode> events = new ArrayList<>();
        long after = 0;
        while (true) {
            JsonNode page = api.get("/api/v1/events?limit=1000&after=" + after).expect(200).json();
            page.get("events").forEach(events::add);
            if (page.get("events").isEmpty()) {
                return events;
            }
            after = page.get("next").asLong();
        }
    }

    private static Set<Long> seqs(List<JsonNode> events) {
        Set<Long> seqs = new HashSet<>();
        events.forEach(e -> seqs.add(e.get("seq").asLong()));
        return seqs;
    }

    private static Set<Long> deliveredSeqs(Receiver receiver) {
        Set<Long> seqs = new HashSet<>();
        receiver.received().forEach(r -> r.json().get("events").forEach(e -> seqs.add(e.get("seq").asLong())));
        return seqs;
    }

    /** What the receiver saw: repeats by webhook-id and by event, and whether messages went backwards. */
    private record Deliveries(int distinctEvents, int repeatedMessages, int eventsDeliveredTwice,
                              int eventsSentTwiceOutsideARepeatedMessage, int outOfOrder) {
        static Deliveries of(Receiver receiver) {
            Map<String, Integer> messages = new HashMap<>();
            Map<Long, Integer> events = new HashMap<>();
            Set<Long> inRepeatedMessages = new HashSet<>();
            long highest = 0;
            int outOfOrder = 0;
            for (Receiver.Received r : receiver.received()) {
                String id = r.header("webhook-id");
                boolean repeat = messages.merge(id, 1, Integer::sum) > 1;
                for (JsonNode e : r.json().get("events")) {
                    long seq = e.get("seq").asLong();
                    events.merge(seq, 1, Integer::sum);
                    if (repeat) {
                        inRepeatedMessages.add(seq);
                    }
                }
                long first = r.json().get("events").get(0).get("seq").asLong();
                if (!repeat && first <= highest) {
                    outOfOrder++;
                }
                highest = Math.max(highest, r.json().get("events").get(r.json().get("events").size() - 1).get("seq").asLong());
            }
            int twice = (int) events.values().stream().filter(n -> n > 1).count();
            int outside = (int) events.entrySet().stream().filter(e -> e.getValue() > 1)
                    .filter(e -> !inRepeatedMessages.contains(e.getKey())).count();
            return new Deliveries(events.size(), (int) messages.values().stream().filter(n -> n > 1).count(), twice,
                    outside, outOfOrder);
        }
    }
}
