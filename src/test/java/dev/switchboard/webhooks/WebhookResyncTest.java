package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.switchboard.testing.CapturedLogs;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A node whose listening connection was lost may have missed another node's notice of an endpoint
 * change. When it listens again, its busy stream workers read their endpoint again, as they do on a
 * notice, instead of going on with what they read before.
 */
@Timeout(60)
class WebhookResyncTest {

    @Test
    void aChangeMissedWhileNotListeningReachesBusyWorkersWhenTheNodeListensAgain() throws Exception {
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(Map.of(
                        "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
                        "SWITCHBOARD_RATE_LIMIT_REQUESTS", "100000"));
                CapturedLogs logs = new CapturedLogs()) {
            server.createTenant("inn");
            String id = Partner.on(server, "inn", List.of("*"), List.of("*"), List.of("*"))
                    .webhook(Map.of("url", receiver.url("/before"), "maxBatchSize", 1))
                    .get("id")
                    .asText();
            // A steady flow keeps the stream's worker busy: it never idles long enough to let the stream go.
            AtomicBoolean writing = new AtomicBoolean(true);
            Thread writer = Thread.ofVirtual().start(() -> {
                while (writing.get()) {
                    server.adminFor("inn")
                            .post("/api/v1/events", Map.of("type", "device.command"))
                            .expect(201);
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            try {
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> !receiver.received("/before").isEmpty());
                try (Connection c =
                        DriverManager.getConnection(server.database().jdbcUrl())) {
                    // Another node's change whose notice this node misses: written without one.
                    try (PreparedStatement ps =
                            c.prepareStatement("UPDATE webhook_endpoints SET url = ? WHERE id = ?")) {
                        ps.setString(1, receiver.url("/after"));
                        ps.setString(2, id);
                        assertThat(ps.executeUpdate()).isEqualTo(1);
                    }
                }
                server.endListeningConnections();
                await("the listener back")
                        .atMost(Duration.ofSeconds(10))
                        .until(() -> logs.lines().stream()
                                .filter(l -> l.contains("Listening for events committed by other nodes"))
                                .findAny()
                                .isPresent());
                await("requests to the endpoint's new URL")
                        .atMost(Duration.ofSeconds(10))
                        .until(() -> !receiver.received("/after").isEmpty());
            } finally {
                writing.set(false);
                writer.join();
            }
        }
    }
}
