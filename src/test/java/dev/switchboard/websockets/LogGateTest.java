package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.switchboard.testing.Fast;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The gate bounds the reads sockets cause, and shares its places between connections: one connection alone
 * may use them all, and a place that frees goes to the waiting connection with the fewest reads running.
 */
@Fast
class LogGateTest {
    private final LogGate gate = new LogGate(null); // the reads here are the test's, not the log's
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    /** Each read runs until it takes a permit; fair, so the reads that entered first end first. */
    private final Semaphore finish = new Semaphore(0, true);

    private final List<String> entered = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, AtomicInteger> inside = new ConcurrentHashMap<>();

    @AfterEach
    void stop() {
        finish.release(10_000);
        threads.shutdownNow();
    }

    private Future<String> read(String connection) {
        return threads.submit(() -> gate.pass(connection, () -> {
            entered.add(connection);
            AtomicInteger running = inside(connection);
            running.incrementAndGet();
            try {
                finish.acquire();
            } finally {
                running.decrementAndGet();
            }
            return connection;
        }));
    }

    private AtomicInteger inside(String connection) {
        return inside.computeIfAbsent(connection, c -> new AtomicInteger());
    }

    private List<Future<String>> reads(String connection, int count) {
        List<Future<String>> reads = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            reads.add(read(connection));
        }
        return reads;
    }

    /** Connection a's reads take every place and queue, then b's queue behind the rest of a's. */
    private List<Future<String>> aThenB(int aReads, int bReads) throws InterruptedException {
        List<Future<String>> all = new ArrayList<>(reads("a", aReads));
        awaitEntered(LogGate.CONCURRENT_READS);
        all.addAll(reads("b", bReads));
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.connectionsWaiting() == 2);
        Thread.sleep(100); // the rest of b's reads queue too
        return all;
    }

    private void awaitEntered(int count) {
        await().atMost(Duration.ofSeconds(5)).until(() -> entered.size() >= count);
    }

    /** Lets one running read end, and waits for the read given its place. */
    private void endOne() {
        int before = entered.size();
        finish.release();
        awaitEntered(before + 1);
    }

    private void endAll(List<Future<String>> reads) throws Exception {
        finish.release(10_000);
        for (Future<String> read : reads) {
            read.get(5, TimeUnit.SECONDS);
        }
        assertThat(gate.connectionsWaiting()).isZero();
    }

    @Test
    void oneConnectionAloneUsesEveryPlaceAndNoMore() throws Exception {
        List<Future<String>> replaying = reads("a", 20);
        awaitEntered(LogGate.CONCURRENT_READS);
        Thread.sleep(200); // time for a read beyond the places to enter
        assertThat(entered).hasSize(LogGate.CONCURRENT_READS);
        assertThat(inside("a").get()).isEqualTo(LogGate.CONCURRENT_READS);
        endAll(replaying);
    }

    @Test
    void anotherConnectionsReadsGoPastTheOnesWaitingBeforeThem() throws Exception {
        List<Future<String>> all = aThenB(20, 3);
        for (int i = 0; i < 3; i++) {
            endOne();
        }
        assertThat(entered.subList(LogGate.CONCURRENT_READS, LogGate.CONCURRENT_READS + 3))
                .as("first come, first served, they came after a's twelve waiting")
                .containsExactly("b", "b", "b");
        endOne();
        assertThat(entered.getLast()).as("b has no more waiting").isEqualTo("a");
        endAll(all);
    }

    @Test
    void connectionsThatBothWaitShareThePlaces() throws Exception {
        List<Future<String>> all = aThenB(40, 40);
        for (int i = 0; i < 30; i++) {
            endOne();
        }
        await().atMost(Duration.ofSeconds(5))
                .until(() -> inside("a").get() + inside("b").get() == LogGate.CONCURRENT_READS);
        assertThat(inside("a").get()).isEqualTo(LogGate.CONCURRENT_READS / 2);
        assertThat(inside("b").get()).isEqualTo(LogGate.CONCURRENT_READS / 2);
        endAll(all);
    }

    @Test
    void aReadThatFailsOrStopsWaitingLeavesNothingBehind() throws Exception {
        for (int i = 0; i < LogGate.CONCURRENT_READS + 1; i++) {
            Future<Object> failed = threads.submit(() -> gate.pass("a", () -> {
                throw new IllegalStateException("the database is gone");
            }));
            try {
                failed.get(5, TimeUnit.SECONDS);
            } catch (ExecutionException expected) {
                assertThat(expected).hasRootCauseInstanceOf(IllegalStateException.class);
            }
        }
        assertThat(gate.connectionsWaiting()).isZero();

        List<Future<String>> running = new ArrayList<>(reads("a", LogGate.CONCURRENT_READS));
        awaitEntered(LogGate.CONCURRENT_READS);
        Future<String> waiting = read("b");
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.connectionsWaiting() == 2);
        waiting.cancel(true); // its socket closed while it waited
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.connectionsWaiting() == 1);
        finish.release(); // the place is free for the next read that comes, not kept for the one that left
        await().atMost(Duration.ofSeconds(5)).until(() -> inside("a").get() == LogGate.CONCURRENT_READS - 1);
        running.add(read("c"));
        awaitEntered(LogGate.CONCURRENT_READS + 1);
        assertThat(entered).doesNotContain("b").endsWith("c");
        endAll(running);
    }
}
