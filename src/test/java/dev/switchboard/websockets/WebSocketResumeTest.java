package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.events.Retention;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.WsClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

class WebSocketResumeTest {

    @Test
    void resumeReplaysFromThePositionThenContinuesLiveWithNoGapAndNoDuplicateUnderConcurrentWrites() throws Exception {
        try (TestServer server = TestServer.start()) {
            server.createTenant("resume");
            Api app = server.adminFor("resume");
            String token = server.partnerToken("resume");
            for (int i = 0; i < 40; i++) {
                app.post("/api/v1/events", Map.of("type", "device.command", "subject", "before-" + i))
                        .expect(201);
            }
            int writers = 4;
            int perWriter = 60;
            long total = 40 + (long) writers * perWriter;
            List<WsClient> clients = new ArrayList<>();
            List<Long> positions = new ArrayList<>();
            try (ExecutorService pool = Executors.newFixedThreadPool(writers)) {
                List<CompletableFuture<Void>> writes = new ArrayList<>();
                for (int w = 0; w < writers; w++) {
                    int writer = w;
                    writes.add(CompletableFuture.runAsync(
                            () -> {
                                for (int i = 0; i < perWriter; i++) {
                                    app.post(
                                                    "/api/v1/events",
                                                    Map.of("type", "device.command", "subject", "w" + writer + "-" + i))
                                            .expect(201);
                                }
                            },
                            pool));
                }
                // Clients resume from different positions while the writers run, so seams fall mid-stream.
                for (long after : new long[] {0, 5, 17, 33, 39, 40}) {
                    clients.add(WsClient.connect(server, token, "?after=" + after));
                    positions.add(after);
                }
                CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new))
                        .join();
            }
            for (int i = 0; i < clients.size(); i++) {
                WsClient client = clients.get(i);
                long after = positions.get(i);
                client.awaitEvents((int) (total - after));
                Awaitility.await()
                        .pollDelay(Duration.ofMillis(200))
                        .atMost(Duration.ofSeconds(5))
                        .until(() -> client.events().size() >= total - after);
                assertThat(client.seqs())
                        .as("after=" + after)
                        .containsExactlyElementsOf(
                                LongStream.rangeClosed(after + 1, total).boxed().toList());
                client.close();
            }
        }
    }

    @Test
    void theLiveMessageTellsWhereTheReplayEndedAndAResumeAtTheHeadReplaysNothing() {
        try (TestServer server = TestServer.start()) {
            server.createTenant("resume-head");
            Api app = server.adminFor("resume-head");
            String token = server.partnerToken("resume-head");
            for (int i = 0; i < 3; i++) {
                app.post("/api/v1/events", Map.of("type", "device.command")).expect(201);
            }
            try (WsClient replay = WsClient.connect(server, token, "?after=1");
                    WsClient atHead = WsClient.connect(server, token, "?after=3")) {
                assertThat(replay.await("live").get("position").asLong()).isEqualTo(3);
                assertThat(replay.seqs()).containsExactly(2L, 3L);
                assertThat(atHead.await("live").get("position").asLong()).isEqualTo(3);
                assertThat(atHead.events()).isEmpty();
                // The replay comes before "live" in the stream of messages.
                assertThat(replay.messages().getLast().path("type").asText()).isEqualTo("live");
            }
        }
    }

    @Test
    void aPositionOlderThanTheRetentionGetsResumeFailedThenLiveEvents() {
        AtomicReference<Instant> now = new AtomicReference<>(Instant.now());
        try (TestServer server = TestServer.start(TestDatabase.create(), Map.of(), now::get)) {
            server.createTenant("resume-expired");
            Api app = server.adminFor("resume-expired");
            String token = server.partnerToken("resume-expired");
            for (int i = 0; i < 3; i++) {
                app.post("/api/v1/events", Map.of("type", "device.command")).expect(201);
            }
            now.set(now.get().plus(Duration.ofDays(8)));
            Retention retention = new Retention(
                    server.switchboard().database().dataSource(),
                    Duration.ofDays(7),
                    Duration.ofDays(90),
                    now::get,
                    new SimpleMeterRegistry());
            assertThat(retention.runOnce()).isGreaterThanOrEqualTo(3); // and the connection.created lifecycle event
            app.post("/api/v1/events", Map.of("type", "device.command")).expect(201); // seq 4, retained

            try (WsClient ws = WsClient.connect(server, token, "?after=1")) {
                JsonNode failed = ws.await("resume_failed");
                assertThat(failed.get("code").asText()).isEqualTo("position_expired");
                assertThat(failed.get("after").asLong()).isEqualTo(1);
                assertThat(failed.get("oldestSeq").asLong()).isEqualTo(4);
                assertThat(failed.get("headSeq").asLong()).isEqualTo(4);
                assertThat(failed.get("message").asText()).contains("resynchronise");
                ws.await("live");
                app.post("/api/v1/events", Map.of("type", "device.command")).expect(201);
                assertThat(ws.awaitEvents(1))
                        .extracting(e -> e.get("seq").asLong())
                        .containsExactly(5L);
                List<String> types =
                        ws.messages().stream().map(m -> m.path("type").asText()).toList();
                assertThat(types).containsSubsequence("resume_failed", "live", "events");
            }
        }
    }
}
