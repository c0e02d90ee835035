package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The gate bounds the reads sockets cause, and one connection's share of them: a connection replaying with
 * many sockets queues behind its own reads, and another connection's read goes past it.
 */
@Fast
class LogGateTest {
    private final LogGate gate = new LogGate(null); // the reads here are the test's, not the log's
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final CountDownLatch release = new CountDownLatch(1);

    @AfterEach
    void stop() {
        release.countDown();
        threads.shutdownNow();
    }

    @Test
    void oneConnectionsReadsTakeNoMoreThanItsShareAndAnotherConnectionsReadGoesPastThem() throws Exception {
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        List<Future<Integer>> replaying = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            replaying.add(threads.submit(() -> gate.pass("connection a", () -> {
                most.accumulateAndGet(inside.incrementAndGet(), Math::max);
                try {
                    release.await();
                } finally {
                    inside.decrementAndGet();
                }
                return 1;
            })));
        }
        awaitInside(inside, LogGate.READS_PER_CONNECTION);
        Thread.sleep(200); // time for any read beyond the share to enter
        assertThat(most.get()).isEqualTo(LogGate.READS_PER_CONNECTION);

        Future<String> other = threads.submit(() -> gate.pass("connection b", () -> "read"));
        assertThat(other.get(5, TimeUnit.SECONDS)).isEqualTo("read");

        release.countDown();
        int done = 0;
        for (Future<Integer> read : replaying) {
            done += read.get(5, TimeUnit.SECONDS);
        }
        assertThat(done).isEqualTo(20);
        assertThat(most.get()).isEqualTo(LogGate.READS_PER_CONNECTION);
        assertThat(gate.connectionsWaiting()).isZero();
    }

    @Test
    void theGateHoldsNoMoreReadsThanItsPlacesWhateverTheConnections() throws Exception {
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        int connections = LogGate.CONCURRENT_READS; // each may run its share: twice the gate's places together
        List<Future<Integer>> reads = new ArrayList<>();
        for (int c = 0; c < connections; c++) {
            for (int i = 0; i < LogGate.READS_PER_CONNECTION; i++) {
                String connection = "connection " + c;
                reads.add(threads.submit(() -> gate.pass(connection, () -> {
                    most.accumulateAndGet(inside.incrementAndGet(), Math::max);
                    try {
                        release.await();
                    } finally {
                        inside.decrementAndGet();
                    }
                    return 1;
                })));
            }
        }
        awaitInside(inside, LogGate.CONCURRENT_READS);
        Thread.sleep(200);
        assertThat(most.get()).isEqualTo(LogGate.CONCURRENT_READS);

        release.countDown();
        for (Future<Integer> read : reads) {
            read.get(5, TimeUnit.SECONDS);
        }
        assertThat(gate.connectionsWaiting()).isZero();
    }

    @Test
    void aReadThatFailsGivesItsPlacesBack() throws Exception {
        for (int i = 0; i < LogGate.READS_PER_CONNECTION + 1; i++) {
            Future<Object> failed = threads.submit(() -> gate.pass("connection a", () -> {
                throw new IllegalStateException("the database is gone");
            }));
            try {
                failed.get(5, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException expected) {
                assertThat(expected).hasRootCauseInstanceOf(IllegalStateException.class);
            }
        }
        assertThat(threads.submit(() -> gate.pass("connection a", () -> "read")).get(5, TimeUnit.SECONDS))
                .isEqualTo("read");
        assertThat(gate.connectionsWaiting()).isZero();
    }

    private static void awaitInside(AtomicInteger inside, int expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (inside.get() < expected && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(inside.get()).isEqualTo(expected);
    }
}
