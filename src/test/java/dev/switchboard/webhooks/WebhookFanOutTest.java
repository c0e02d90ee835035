package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Many endpoints following one tenant share one read of its new events (the node's event tail) and
 * filter it each for itself: every endpoint still gets exactly the events it may see and asked for,
 * once each and in log order, whatever its batch size, while writers append in bursts from several
 * threads and the endpoints are at different places in the log.
 */
@Timeout(120)
class WebhookFanOutTest {
    private static final int WRITERS = 4;
    private static final int PER_WRITER = 150; // more than the tail window holds (EventTail.MAX_ENTRIES)

    private record Follower(String path, String collectionPattern, boolean seesDesks) {}

    @Test
    void everyEndpointOfATenantGetsExactlyItsEventsInOrderFromTheSharedTail() throws Exception {
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(Map.of(
                        "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
                        "SWITCHBOARD_RATE_LIMIT_REQUESTS", "100000"))) {
            server.createCollection("rooms", "eventFields", List.of("state"));
            server.createCollection("desks", "eventFields", List.of("state"));
            String tenant = server.createTenant("fan-out-" + System.nanoTime());
            // The writer, and two integrations: one may read every collection, one only rooms.
            Partner writer = Partner.on(server, tenant, List.of("*"), List.of("*"), List.of("*"));
            Partner everything = Partner.on(server, tenant, List.of("*"), List.of("*"), List.of("rooms.*", "desks.*"));
            Partner roomsOnly = Partner.on(server, tenant, List.of("rooms"), List.of("*"), List.of("*"));

            List<Follower> followers = new ArrayList<>();
            int n = 0;
            for (int batch : List.of(1, 3, 100)) {
                for (String types : List.of("*", "rooms.*", "desks.*")) {
                    String path = "/all-" + n++;
                    Map<String, Object> body = types.equals("*")
                            ? Map.of("url", receiver.url(path), "maxBatchSize", batch)
                            : Map.of("url", receiver.url(path), "maxBatchSize", batch, "eventTypes", List.of(types));
                    everything.webhook(body);
                    followers.add(new Follower(path, types, true));
                }
                String path = "/rooms-" + n++;
                roomsOnly.webhook(Map.of("url", receiver.url(path), "maxBatchSize", batch));
                followers.add(new Follower(path, "*", false));
            }

            // A first burst, then the rest from several threads while the endpoints deliver.
            writer.writeRecords("rooms", 5, Map.of("state", "free"));
            writer.writeRecords("desks", 5, Map.of("state", "free"));
            try (ExecutorService pool = Executors.newFixedThreadPool(WRITERS)) {
                List<Future<?>> writes = new ArrayList<>();
                for (int w = 0; w < WRITERS; w++) {
                    String collection = w % 2 == 0 ? "rooms" : "desks";
                    writes.add(pool.submit(() -> {
                        for (int i = 0; i < PER_WRITER / 5; i++) {
                            writer.writeRecords(collection, 5, Map.of("state", "busy"));
                        }
                    }));
                }
                for (Future<?> write : writes) {
                    write.get();
                }
            }

            // What each endpoint must get: the tenant's log, filtered as its integration and event types say.
            List<JsonNode> log = new ArrayList<>();
            for (JsonNode event : writer.access()
                    .get("/api/v1/events?limit=1000")
                    .expect(200)
                    .json()
                    .get("events")) {
                log.add(event);
            }
            assertThat(log).hasSize(10 + WRITERS * PER_WRITER).hasSizeGreaterThan(EventTail.MAX_ENTRIES);
            for (Follower follower : followers) {
                List<Long> expected = log.stream()
                        .filter(e ->
                                follower.seesDesks() || e.get("type").asText().startsWith("rooms."))
                        .filter(e -> follower.collectionPattern().equals("*")
                                || e.get("type")
                                        .asText()
                                        .startsWith(follower.collectionPattern().replace("*", "")))
                        .map(e -> e.get("seq").asLong())
                        .toList();
                try {
                    await(follower.path())
                            .atMost(Duration.ofSeconds(30))
                            .until(() -> seqs(receiver, follower.path()).size() >= expected.size());
                } catch (org.awaitility.core.ConditionTimeoutException e) {
                    // the assertion below says what is missing
                }
                assertThat(seqs(receiver, follower.path()))
                        .as("events sent to %s", follower.path())
                        .containsExactlyElementsOf(expected);
            }
        }
    }

    /**
     * A stream whose filter passes none of a long run of events in the shared window (each extension of
     * it a full read) goes on reading at once: it used to wait for a wake-up, up to a second, after every
     * empty slice, so its next event came seconds late once the writes had stopped.
     */
    @Test
    void aNarrowStreamPassesALongRunOfOtherEventsWithoutWaiting() throws Exception {
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(Map.of("SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true"))) {
            server.createCollection("rooms");
            server.createCollection("desks");
            String tenant = server.createTenant("narrow-" + System.nanoTime());
            Partner partner = Partner.on(server, tenant, List.of("*"), List.of("*"), List.of("*"));
            partner.webhook(Map.of("url", receiver.url("/desks"), "eventTypes", List.of("desks.*")));
            partner.writeRecords("desks", 1, Map.of("n", 1));
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> seqs(receiver, "/desks").size() == 1);

            // Ten windows' worth of events the endpoint does not want, appended at once (one commit, no
            // wake-up), then one it wants, whose commit wakes the stream.
            int others = 10 * 256;
            server.appendEvents(tenant, "rooms.created", others);
            long written = System.nanoTime();
            partner.writeRecords("desks", 1, Map.of("n", 2));

            await().atMost(Duration.ofSeconds(30))
                    .until(() -> seqs(receiver, "/desks").size() == 2);
            Duration took = Duration.ofNanos(System.nanoTime() - written);
            assertThat(seqs(receiver, "/desks")).containsExactly(1L, 2L + others);
            // A wait per slice would be ten seconds; reading on takes a few reads.
            assertThat(took).isLessThan(Duration.ofSeconds(3));
        }
    }

    private static List<Long> seqs(Receiver receiver, String path) {
        List<Long> seqs = new ArrayList<>();
        for (Receiver.Received request : receiver.received(path)) {
            for (JsonNode event : request.json().get("events")) {
                seqs.add(event.get("seq").asLong());
            }
        }
        return seqs;
    }
}
