package dev.switchboard.events;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Invariant 2: a reader never passes an event that commits later with a lower seq. Many writers on
 * two nodes append to two tenants at once while readers on both nodes follow the feed; every reader
 * must see every acknowledged event of its tenant exactly once, with seq increasing by exactly one.
 */
@Timeout(180)
class NoSkipInvariantTest {
    private static final int WRITERS_PER_TENANT = 12;
    private static final int WRITES_PER_WRITER = 60;
    private static final List<String> TENANTS = List.of("busy-a", "busy-b");

    @Test
    void concurrentWritersNeverMakeAReaderSkipAnEvent() throws Exception {
        Map<String, String> unlimited = Map.of("SWITCHBOARD_RATE_LIMIT_REQUESTS", "1000000");
        try (TestServer nodeA = TestServer.start(unlimited);
                TestServer nodeB = TestServer.start(nodeA.database(), unlimited, java.time.InstantSource.system())) {
            nodeA.createCollection("orders");
            Map<String, List<Api>> writersByTenant = new ConcurrentHashMap<>();
            Map<String, List<Api>> readersByTenant = new ConcurrentHashMap<>();
            for (String tenant : TENANTS) {
                nodeA.createTenant(tenant);
                String token = nodeA.partnerToken(tenant);
                writersByTenant.put(tenant, List.of(nodeA.api(token), nodeB.api(token)));
                readersByTenant.put(
                        tenant, List.of(nodeA.api(nodeA.partnerToken(tenant)), nodeB.api(nodeA.partnerToken(tenant))));
            }

            Map<String, Set<String>> acknowledged = new ConcurrentHashMap<>();
            TENANTS.forEach(t -> acknowledged.put(t, ConcurrentHashMap.newKeySet()));
            AtomicBoolean writing = new AtomicBoolean(true);
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<List<JsonNode>>> readers = new ArrayList<>();
                for (String tenant : TENANTS) {
                    for (Api reader : readersByTenant.get(tenant)) {
                        readers.add(pool.submit(() -> follow(reader, writing)));
                    }
                }
                List<Future<?>> writers = new ArrayList<>();
                for (String tenant : TENANTS) {
                    for (int w = 0; w < WRITERS_PER_TENANT; w++) {
                        Api writer = writersByTenant.get(tenant).get(w % 2);
                        writers.add(pool.submit(() -> {
                            for (int i = 0; i < WRITES_PER_WRITER; i++) {
                                String id = writer.post(
                                                "/api/v1/collections/orders/records", Map.of("data", Map.of("i", i)))
                                        .expect(201)
                                        .json()
                                        .get("id")
                                        .asText();
                                acknowledged.get(tenant).add(id);
                            }
                            return null;
                        }));
                    }
                }
                try {
                    for (Future<?> w : writers) {
                        w.get();
                    }
                } finally {
                    writing.set(false);
                }

                int r = 0;
                for (String tenant : TENANTS) {
                    for (int i = 0; i < 2; i++) {
                        List<JsonNode> seen = readers.get(r++).get();
                        assertThat(seen)
                                .extracting(e -> e.get("seq").asLong())
                                .as("seq is dense and increasing for every reader")
                                .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, seen.size())
                                        .boxed()
                                        .toList());
                        assertThat(seen)
                                .extracting(e -> e.get("subject").asText())
                                .as("every acknowledged write's event, exactly once")
                                .doesNotHaveDuplicates()
                                .containsExactlyInAnyOrderElementsOf(acknowledged.get(tenant));
                    }
                }
                assertThat(acknowledged.get("busy-a")).hasSize(WRITERS_PER_TENANT * WRITES_PER_WRITER);
            }
        }
    }

    /** Follows the feed with small pages and long polls until writing has stopped and it has caught up. */
    private static List<JsonNode> follow(Api reader, AtomicBoolean writing) {
        List<JsonNode> seen = new ArrayList<>();
        long after = 0;
        Instant idleSince = null;
        while (true) {
            JsonNode page = reader.get("/api/v1/events?limit=37&wait=1&after=" + after)
                    .expect(200)
                    .json();
            for (JsonNode e : page.get("events")) {
                long seq = e.get("seq").asLong();
                if (seq <= after) {
                    throw new AssertionError("event " + seq + " appeared behind position " + after);
                }
                seen.add(e);
                after = seq;
            }
            after = Math.max(after, page.get("next").asLong());
            if (page.get("events").isEmpty() && !writing.get()) {
                idleSince = idleSince == null ? Instant.now() : idleSince;
                if (Duration.between(idleSince, Instant.now()).toMillis() > 1500) {
                    return seen;
                }
            } else {
                idleSince = null;
            }
        }
    }
}
