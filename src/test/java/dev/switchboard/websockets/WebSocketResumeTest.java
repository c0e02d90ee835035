package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.events.Retention;
import dev.switchboard.support.Json;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.RawWebSocket;
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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
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

    /**
     * Live events arriving while a resume reads a long history, more of them than the socket's queue
     * holds, closed the socket as a slow consumer (4100) although the client read what it was sent (the
     * more so behind one of its own writes, which holds them back), and a client resuming again on a busy
     * tenant met the same close. They are dropped and read from the log once the replay is over.
     */
    @Test
    void liveEventsPastTheQueueWhileAResumeReadsAreReadFromTheLogAfterIt() throws Exception {
        try (TestServer server = TestServer.start(Map.of("SWITCHBOARD_WEBSOCKETS_QUEUE_SIZE", "64KiB"))) {
            server.createCollection("reservations");
            server.createTenant("long-resume");
            Api app = server.adminFor("long-resume");
            String token = server.partnerToken("long-resume");
            Map<String, Object> large = Map.of("pad", "x".repeat(48 * 1024));
            int history = 200;
            int live = 10;
            for (int i = 0; i < history; i++) {
                app.post("/api/v1/events", Map.of("type", "device.command", "data", large))
                        .expect(201);
            }
            CountDownLatch written = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            WebSockets sockets = server.switchboard().websockets();
            sockets.wrapOperations(inner -> (access, method, p) -> {
                Operations.Outcome outcome = inner.perform(access, method, p);
                written.countDown();
                try { // committed: its response waits, and holds the events after it back
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return outcome;
            });
            try (RawWebSocket ws = RawWebSocket.open(server, "/api/v1/ws?after=0", token, 4096)) {
                // Not read for a while: the replay (about 10 MB) fills the kernel's buffers and the queue, and
                // waits for the client, while a write of its own and live events worth several queues arrive.
                Thread.sleep(1000);
                ws.sendText(Json.write(Map.of(
                        "type",
                        "request",
                        "id",
                        "w",
                        "method",
                        "records.create",
                        "params",
                        Map.of("collection", "reservations", "data", Map.of("state", "new")))));
                assertThat(written.await(10, TimeUnit.SECONDS)).isTrue();
                for (int i = 0; i < live; i++) {
                    app.post("/api/v1/events", Map.of("type", "device.command", "data", large))
                            .expect(201);
                }
                Thread.sleep(1000);
                release.countDown();
                ws.readTimeout(Duration.ofSeconds(30));
                List<Long> seqs = new ArrayList<>();
                long responseBefore = -1;
                boolean announcedLive = false;
                while (seqs.size() < history + 1 + live || !announcedLive) {
                    RawWebSocket.Frame frame = ws.readAnsweringPings();
                    assertThat(frame.opcode())
                            .as("closed with %s after %s events", frame.closeCode(), seqs.size())
                            .isEqualTo(RawWebSocket.TEXT);
                    JsonNode message = Json.read(frame.text());
                    switch (message.path("type").asText()) {
                        case "live" -> announcedLive = true;
                        case "response" -> {
                            assertThat(message.get("status").asInt()).isEqualTo(201);
                            assertThat(message.get("seq").asLong()).isEqualTo(history + 1);
                            responseBefore = seqs.size();
                        }
                        default ->
                            message.path("events")
                                    .forEach(e -> seqs.add(e.get("seq").asLong()));
                    }
                }
                assertThat(seqs)
                        .containsExactlyElementsOf(LongStream.rangeClosed(1, history + 1 + live)
                                .boxed()
                                .toList());
                assertThat(responseBefore)
                        .as("the write's response before its event")
                        .isBetween(0L, (long) history);
            } finally {
                release.countDown();
            }
        }
    }

    /**
     * A replay page waited only until half the queue was free, so a page of one large event after a page
     * still unsent went over a small queue: a client reading steadily through large and small events was
     * closed as a slow consumer (4100) before it caught up.
     */
    @Test
    void aReplayOfLargeAndSmallEventsToAClientReadingSteadilyIsNotCutOff() throws Exception {
        try (TestServer server = TestServer.start(Map.of("SWITCHBOARD_WEBSOCKETS_QUEUE_SIZE", "64KiB"))) {
            server.createTenant("mixed-resume");
            Api app = server.adminFor("mixed-resume");
            String token = server.partnerToken("mixed-resume");
            int history = 200;
            for (int i = 0; i < history; i++) {
                Map<String, Object> data = Map.of("pad", "x".repeat((i % 2 == 0 ? 30 : 60) * 1000));
                app.post("/api/v1/events", Map.of("type", "device.command", "data", data))
                        .expect(201);
            }
            try (RawWebSocket ws = RawWebSocket.open(server, "/api/v1/ws?after=0", token, 4096)) {
                Thread.sleep(500); // the kernel's buffers fill: from here on, pages wait in the queue
                ws.readTimeout(Duration.ofSeconds(30));
                List<Long> seqs = new ArrayList<>();
                while (true) {
                    RawWebSocket.Frame frame = ws.readAnsweringPings();
                    assertThat(frame.opcode())
                            .as("closed with %s after %s events", frame.closeCode(), seqs.size())
                            .isEqualTo(RawWebSocket.TEXT);
                    JsonNode message = Json.read(frame.text());
                    if (message.path("type").asText().equals("live")) {
                        break;
                    }
                    message.path("events").forEach(e -> seqs.add(e.get("seq").asLong()));
                    Thread.sleep(2); // a client that does some work with each frame
                }
                assertThat(seqs)
                        .containsExactlyElementsOf(
                                LongStream.rangeClosed(1, history).boxed().toList());
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
