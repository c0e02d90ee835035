package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.WsClient;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.LongStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A write's response precedes its event's frame on the socket that made it, under concurrent writers:
 * sockets on two nodes each keep several creates in flight while HTTP writers on both nodes write to
 * the same tenant. Every response comes once, before the frame with its seq, and every socket ends
 * with every event exactly once, in seq order. The same holds while a socket replays the log.
 */
@Timeout(180)
class WebSocketRequestOrderTest {
    private static final int SOCKETS_PER_NODE = 3;
    private static final int WRITES_PER_SOCKET = 48;
    private static final int IN_FLIGHT = 8;
    private static final int HTTP_WRITES_PER_NODE = 60;
    private static final int BACKLOG = 600;
    private static final int RESUMES = 20;

    @Test
    void eachWritesResponsePrecedesItsEventUnderConcurrentWritersOnTwoNodes() throws Exception {
        Map<String, String> unlimited = Map.of("SWITCHBOARD_RATE_LIMIT_REQUESTS", "1000000");
        try (TestServer nodeA = TestServer.start(unlimited);
                TestServer nodeB = TestServer.start(nodeA.database(), unlimited, InstantSource.system())) {
            nodeA.createCollection("orders");
            nodeA.createTenant("busy");
            String token = nodeA.partnerToken("busy");
            List<WsClient> sockets = new ArrayList<>();
            try {
                for (TestServer node : List.of(nodeA, nodeB)) {
                    for (int i = 0; i < SOCKETS_PER_NODE; i++) {
                        WsClient ws = WsClient.connect(node, token, null);
                        ws.await("live");
                        sockets.add(ws);
                    }
                }
                try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                    List<Future<?>> writers = new ArrayList<>();
                    for (WsClient ws : sockets) {
                        writers.add(pool.submit(() -> writeInWaves(ws)));
                    }
                    for (Api http : List.of(nodeA.api(token), nodeB.api(token))) {
                        writers.add(pool.submit(() -> {
                            for (int i = 0; i < HTTP_WRITES_PER_NODE; i++) {
                                http.post("/api/v1/collections/orders/records", Map.of("data", Map.of("n", i)))
                                        .expect(201);
                            }
                            return null;
                        }));
                    }
                    for (Future<?> f : writers) {
                        f.get();
                    }
                }
                int total = sockets.size() * WRITES_PER_SOCKET + 2 * HTTP_WRITES_PER_NODE;
                for (WsClient ws : sockets) {
                    Awaitility.await()
                            .atMost(Duration.ofSeconds(30))
                            .until(() -> ws.events().size() >= total);
                    assertThat(ws.seqs())
                            .containsExactlyElementsOf(
                                    LongStream.rangeClosed(1, total).boxed().toList());
                    List<JsonNode> messages = ws.messages();
                    List<JsonNode> responses = ws.responses();
                    assertThat(responses).hasSize(WRITES_PER_SOCKET);
                    Set<String> ids = new HashSet<>();
                    for (JsonNode response : responses) {
                        assertThat(ids.add(response.get("id").asText())).isTrue();
                        assertThat(response.get("status").asInt()).isEqualTo(201);
                        long seq = response.get("seq").asLong();
                        int responseAt = messages.indexOf(response);
                        int eventAt = WebSocketRequestsTest.indexOfEvent(messages, seq);
                        assertThat(responseAt)
                                .as("the response with seq %d comes before its event", seq)
                                .isLessThan(eventAt);
                    }
                }
            } finally {
                sockets.forEach(WsClient::close);
            }
        }
    }

    /**
     * A socket that resumes from an old position replays the log up to its head while its own writes
     * commit: a page read after a write's commit holds that write's event, and must wait for its
     * response too. Each socket writes at once, while the replay of the backlog is still running.
     */
    @Test
    void aWriteMadeWhileTheSocketReplaysTheLogIsAnsweredBeforeItsEvent() throws Exception {
        try (TestServer server = TestServer.start(Map.of("SWITCHBOARD_RATE_LIMIT_REQUESTS", "1000000"))) {
            server.createCollection("orders");
            server.createTenant("replaying");
            String token = server.partnerToken("replaying");
            Api http = server.api(token);
            for (int i = 0; i < BACKLOG; i++) {
                http.post("/api/v1/collections/orders/records", Map.of("data", Map.of("n", i)))
                        .expect(201);
            }
            long total = BACKLOG;
            for (int round = 0; round < RESUMES; round++) {
                try (WsClient ws = WsClient.connect(server, token, "?after=" + (total - BACKLOG))) {
                    List<String> ids = new ArrayList<>();
                    for (int i = 0; i < IN_FLIGHT; i++) {
                        String id = round + "-" + i;
                        ids.add(id);
                        ws.sendRequest(id, "records.create", Map.of("collection", "orders", "data", Map.of("w", id)));
                    }
                    ids.forEach(ws::awaitResponse);
                    total += IN_FLIGHT;
                    long last = total;
                    Awaitility.await()
                            .atMost(Duration.ofSeconds(30))
                            .until(() -> ws.seqs().contains(last) || ws.isClosed());
                    List<JsonNode> messages = ws.messages();
                    assertThat(ws.seqs())
                            .containsExactlyElementsOf(LongStream.rangeClosed(total - BACKLOG - IN_FLIGHT + 1, total)
                                    .boxed()
                                    .toList());
                    for (JsonNode response : ws.responses()) {
                        long seq = response.get("seq").asLong();
                        assertThat(messages.indexOf(response))
                                .as("round %d: the response with seq %d comes before its event", round, seq)
                                .isLessThan(WebSocketRequestsTest.indexOfEvent(messages, seq));
                    }
                }
            }
        }
    }

    /** Writes in waves of {@value #IN_FLIGHT} requests in flight at once. */
    private static Void writeInWaves(WsClient ws) {
        String me = Integer.toHexString(System.identityHashCode(ws));
        for (int wave = 0; wave < WRITES_PER_SOCKET / IN_FLIGHT; wave++) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < IN_FLIGHT; i++) {
                String id = me + "-" + wave + "-" + i;
                ids.add(id);
                ws.sendRequest(id, "records.create", Map.of("collection", "orders", "data", Map.of("w", id)));
            }
            ids.forEach(ws::awaitResponse);
        }
        return null;
    }
}
