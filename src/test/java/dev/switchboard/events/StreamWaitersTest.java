package dev.switchboard.events;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

@Fast
class StreamWaitersTest {
    private static CompletableFuture<Boolean> awaitAsync(StreamWaiters.Waiter waiter, long position) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return waiter.await(position, Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void aWaitEndsOnlyForACommitAfterItsOwnPositionNotForOneThatEndedAnEarlierWait() throws Exception {
        StreamWaiters waiters = new StreamWaiters();
        try (StreamWaiters.Waiter waiter = waiters.register(7)) {
            waiters.appended(7, 1); // announced before the wait knew its position: still counts
            assertThat(waiter.await(0, Duration.ofSeconds(5))).isTrue();
            // The reader read up to 1 and found nothing it may see: the commit of 1 must not end this wait too.
            assertThat(waiter.await(1, Duration.ofMillis(200))).isFalse();
            waiters.appended(7, 1); // the same commit announced again (another node's NOTIFY)
            waiters.appended(8, 5); // another stream
            assertThat(waiter.await(1, Duration.ofMillis(200))).isFalse();

            CompletableFuture<Boolean> next = awaitAsync(waiter, 1);
            waiters.appended(7, 2);
            assertThat(next.get(5, TimeUnit.SECONDS)).isTrue();
            assertThat(waiter.await(2, Duration.ofMillis(200))).isFalse();
        }
    }

    /**
     * A reader registering while the stream's last other reader closes is still woken: the one closing
     * used to remove the set of waiters the one registering had just looked up, and the new reader, added
     * to a set no commit reached, slept until its wait ended.
     */
    @Test
    void aReaderRegisteringAsTheLastOtherOneClosesIsWoken() throws Exception {
        StreamWaiters waiters = new StreamWaiters();
        int rounds = 20_000;
        int missed = 0;
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            for (int i = 0; i < rounds; i++) {
                long stream = i;
                StreamWaiters.Waiter leaving = waiters.register(stream);
                CountDownLatch go = new CountDownLatch(1);
                Future<?> close = pool.submit(() -> {
                    go.await();
                    leaving.close();
                    return null;
                });
                Future<StreamWaiters.Waiter> register = pool.submit(() -> {
                    go.await();
                    return waiters.register(stream);
                });
                go.countDown();
                close.get();
                try (StreamWaiters.Waiter arriving = register.get()) {
                    waiters.appended(stream, 1);
                    if (!arriving.await(0, Duration.ZERO)) {
                        missed++;
                    }
                }
            }
        }
        assertThat(missed).as("readers of %d not woken by a commit", rounds).isZero();
    }

    @Test
    void aResyncEndsTheWaitInProgressOrTheNextOne() throws Exception {
        StreamWaiters waiters = new StreamWaiters();
        try (StreamWaiters.Waiter waiter = waiters.register(7)) {
            waiters.resync(); // wake-ups may have been lost before this reader waited
            assertThat(waiter.await(3, Duration.ofSeconds(5))).isTrue();
            assertThat(waiter.await(3, Duration.ofMillis(200))).isFalse();
        }
    }
}
