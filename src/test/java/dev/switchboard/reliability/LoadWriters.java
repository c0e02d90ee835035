package dev.switchboard.reliability;

import static org.awaitility.Awaitility.await;

import dev.switchboard.testing.Api;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * Steady write load: writers creating records until closed, each asking before every write which
 * server to write through (so they follow a restart or move to a surviving node). A write is
 * acknowledged by its 201; one cut off or refused because the server is down is counted and retried
 * shortly.
 */
final class LoadWriters implements AutoCloseable {
    private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    private final AtomicInteger unanswered = new AtomicInteger();
    private final Map<Integer, AtomicInteger> refusals = new ConcurrentHashMap<>();
    private final AtomicBoolean writing = new AtomicBoolean(true);
    private final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();

    /** Starts {@code count} writers; writer {@code i} writes through {@code target.apply(i)}. */
    LoadWriters(int count, String collection, IntFunction<Api> target) {
        for (int w = 0; w < count; w++) {
            int writer = w;
            pool.submit(() -> write(collection, () -> target.apply(writer)));
        }
    }

    private Void write(String collection, Supplier<Api> target) {
        while (writing.get()) {
            try {
                Api.Response r =
                        target.get().post("/api/v1/collections/" + collection + "/records", Map.of("data", Map.of()));
                if (r.status() == 201) {
                    acknowledged.add(r.json().get("id").asText());
                } else {
                    refusals.computeIfAbsent(r.status(), s -> new AtomicInteger())
                            .incrementAndGet();
                }
            } catch (IllegalStateException e) {
                unanswered.incrementAndGet(); // the server died mid-request, or is restarting
                await().pollDelay(Duration.ofMillis(100)).until(() -> true);
            }
        }
        return null;
    }

    /** Waits until {@code more} writes beyond those acknowledged now are acknowledged. */
    void awaitMore(int more) {
        int before = acknowledged.size();
        await().atMost(Duration.ofSeconds(60)).until(() -> acknowledged.size() >= before + more);
    }

    /** The ids of the records whose creation was acknowledged. */
    Set<String> acknowledged() {
        return Set.copyOf(acknowledged);
    }

    /** Write attempts cut off or refused while a server was down. */
    int unanswered() {
        return unanswered.get();
    }

    /** Writes answered with another status than 201, by status (e.g. 502 from a proxy, 503 from a stopping node). */
    Map<Integer, Integer> refusals() {
        Map<Integer, Integer> counts = new java.util.TreeMap<>();
        refusals.forEach((status, count) -> counts.put(status, count.get()));
        return counts;
    }

    /** Stops writing and waits for the writes in progress to end. */
    @Override
    public void close() {
        writing.set(false);
        pool.close();
    }
}
