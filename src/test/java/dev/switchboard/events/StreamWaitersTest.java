package dev.switchboard.events;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
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
