package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.WsClient;
import java.sql.Connection;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Events reach a node's sockets even while its API pool has no connection to spare: the feed reads
 * through a pool of its own. An update's event (which the feed reads from the log, unlike a create's,
 * handed over in memory) written on another node arrives while every API connection here is taken.
 */
@Timeout(120)
class WebSocketFeedPoolTest {
    @Test
    void anEventReachesTheSocketsWhileTheApiPoolIsExhausted() throws Exception {
        Map<String, String> small = Map.of("SWITCHBOARD_DATABASE_POOL_SIZE", "4");
        try (TestServer nodeA = TestServer.start(small);
                TestServer nodeB = TestServer.start(nodeA.database(), small, InstantSource.system())) {
            nodeA.createCollection("rooms");
            nodeA.createTenant("busy-api");
            String token = nodeA.partnerToken("busy-api");
            Api writer = nodeB.api(token);
            String id = writer.post("/api/v1/collections/rooms/records", Map.of("data", Map.of("state", "dirty")))
                    .expect(201)
                    .json()
                    .get("id")
                    .asText();
            try (WsClient ws = WsClient.connect(nodeA, token, null)) {
                ws.await("live");
                DataSource api = nodeA.switchboard().database().dataSource();
                List<Connection> taken = new ArrayList<>();
                try {
                    for (int i = 0; i < 4; i++) {
                        taken.add(api.getConnection());
                    }
                    writer.patch("/api/v1/collections/rooms/records/" + id, Map.of("data", Map.of("state", "clean")))
                            .expect(200);
                    // Well before the pool's 5 s wait for a connection would end.
                    List<JsonNode> events = Awaitility.await()
                            .atMost(java.time.Duration.ofSeconds(3))
                            .until(ws::events, e -> !e.isEmpty());
                    assertThat(events.getFirst().get("type").asText()).isEqualTo("rooms.updated");
                } finally {
                    for (Connection c : taken) {
                        c.close();
                    }
                }
            }
        }
    }
}
