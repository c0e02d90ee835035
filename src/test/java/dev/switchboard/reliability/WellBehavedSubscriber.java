package dev.switchboard.reliability;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.bench.Latencies;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.WsClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A well-behaved client on its own tenant, measured while others attack the server: a writer
 * publishes one event every {@link #INTERVAL} (subjects {@code w-0}, {@code w-1}, …) and the client's
 * socket must receive each, in order and with no gap in {@code seq}. Latency is from the start of the
 * write's request to the event's arrival on the socket. Every few writes it also asks
 * {@code /health/ready}, and runs {@code alongside} (other writes the scenario needs over time).
 */
final class WellBehavedSubscriber implements AutoCloseable {
    static final Duration INTERVAL = Duration.ofMillis(50);

    private final TestServer server;
    private final Api tenant;
    private final WsClient client;
    private final long livePosition;
    private final Runnable alongside;
    private final Map<String, Long> sentAt = new ConcurrentHashMap<>();
    private final AtomicInteger written = new AtomicInteger();
    private final AtomicInteger notReady = new AtomicInteger();
    private final AtomicInteger readyChecks = new AtomicInteger();
    private final AtomicLong head = new AtomicLong();
    private final Thread writer;
    private volatile boolean stopping;
    private volatile RuntimeException failure;

    WellBehavedSubscriber(TestServer server, String tenantId, String token, Runnable alongside) {
        this.server = server;
        this.tenant = server.adminFor(tenantId);
        this.client = WsClient.connect(server, token, null);
        this.livePosition = client.await("live").get("position").asLong();
        this.head.set(livePosition);
        this.alongside = alongside;
        this.writer = Thread.ofPlatform().name("well-behaved-writer").start(this::write);
    }

    private void write() {
        try {
            writeUntilStopped();
        } catch (RuntimeException e) {
            failure = e;
        }
    }

    private void writeUntilStopped() {
        long next = System.nanoTime();
        for (int n = 0; !stopping; n++) {
            String subject = "w-" + n;
            sentAt.put(subject, System.nanoTime());
            JsonNode event = tenant.post("/api/v1/events", Map.of("type", "device.command", "subject", subject))
                    .expect(201)
                    .json();
            head.set(event.get("seq").asLong());
            written.incrementAndGet();
            if (n % 4 == 0) {
                readyChecks.incrementAndGet();
                if (server.api(null).get("/health/ready").status() != 200) {
                    notReady.incrementAndGet();
                }
            }
            if (n % 10 == 0) {
                alongside.run();
            }
            next += INTERVAL.toNanos();
            long wait = next - System.nanoTime();
            if (wait > 0) {
                sleep(wait);
            }
        }
    }

    /** How many events were written so far: marks where a phase starts. */
    int mark() {
        return written.get();
    }

    /** The tenant's newest position: a position no other tenant's socket may resume from. */
    long head() {
        return head.get();
    }

    /** Stops writing and waits for the socket to receive everything written. */
    void finish() throws InterruptedException {
        stopping = true;
        writer.join();
        if (failure != null) {
            throw new IllegalStateException("the well-behaved client's writes failed", failure);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> client.events().size() >= written.get());
    }

    /** Events missing, duplicated, out of order, or past a gap in {@code seq}: must be 0. */
    int disorder() {
        List<JsonNode> events = client.events();
        int wrong = Math.abs(events.size() - written.get());
        for (int i = 0; i < events.size(); i++) {
            JsonNode e = events.get(i);
            if (e.get("seq").asLong() != livePosition + 1 + i
                    || !e.get("subject").asText().equals("w-" + i)) {
                wrong++;
            }
        }
        return wrong;
    }

    /** Latencies of the events written from index {@code from} (inclusive) to {@code to} (exclusive). */
    Latencies latencies(int from, int to) {
        Latencies latencies = new Latencies();
        for (WsClient.Received r : client.received()) {
            if (!r.message().path("type").asText().equals("events")) {
                continue;
            }
            for (JsonNode e : r.message().get("events")) {
                String subject = e.get("subject").asText();
                int n = Integer.parseInt(subject.substring(2));
                if (n >= from && n < to) {
                    latencies.add(r.nanos() - sentAt.get(subject));
                }
            }
        }
        return latencies;
    }

    int readyChecks() {
        return readyChecks.get();
    }

    int notReady() {
        return notReady.get();
    }

    boolean socketOpen() {
        return !client.isClosed();
    }

    private static void sleep(long nanos) {
        try {
            Thread.sleep(Duration.ofNanos(nanos));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() throws InterruptedException {
        stopping = true;
        writer.join();
        client.close();
    }
}
