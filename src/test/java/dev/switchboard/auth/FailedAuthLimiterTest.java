package dev.switchboard.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.time.Duration;
import java.time.InstantSource;
import org.junit.jupiter.api.Test;

/** Guesses sent at once are held to the limit as those sent one after another are. */
@Fast
class FailedAuthLimiterTest {
    @Test
    void checksUnderWayCountAsRefusalsToComeSoABurstGetsNoMoreGuesses() {
        FailedAuthLimiter limiter = new FailedAuthLimiter(2, Duration.ofMinutes(1), InstantSource.system());
        FailedAuthLimiter.Check first = limiter.begin("203.0.113.7", "a");
        FailedAuthLimiter.Check second = limiter.begin("203.0.113.7", "b");
        assertThat(first.waitTime()).isEmpty();
        assertThat(second.waitTime()).isEmpty();
        assertThat(limiter.begin("203.0.113.7", "c").waitTime())
                .as("two checks under way may both be refused: a third waits for them")
                .hasValue(Duration.ofSeconds(1).toNanos());
        assertThat(limiter.begin("198.51.100.1", "c").waitTime())
                .as("another address")
                .isEmpty();

        first.succeeded(); // a good token: no guess after all
        FailedAuthLimiter.Check third = limiter.begin("203.0.113.7", "c");
        assertThat(third.waitTime()).isEmpty();
        second.failed();
        third.failed();
        assertThat(limiter.begin("203.0.113.7", "d").waitTime().orElseThrow())
                .as("two refused in the window: until the first leaves it")
                .isGreaterThan(Duration.ofSeconds(50).toNanos());
        assertThat(limiter.begin("203.0.113.7", "a").waitTime())
                .as("the good token from this address is still checked")
                .isEmpty();
    }

    /**
     * Good tokens checked at once from one address (a gateway opening its sockets) wait for the checks under
     * way instead of being refused: 100 at once had 48 refused with 429 where no token had failed.
     */
    @Test
    void goodTokensCheckedAtOnceFromOneAddressAreAllCheckedAndGuessesStillStopAtTheLimit() throws Exception {
        FailedAuthLimiter limiter = new FailedAuthLimiter(20, Duration.ofMinutes(1), InstantSource.system());
        java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 100; i++) {
                String token = "good-" + i;
                threads.submit(() -> {
                    FailedAuthLimiter.Check check = limiter.begin("203.0.113.9", token);
                    if (check.waitTime().isPresent()) {
                        refused.incrementAndGet();
                        return null;
                    }
                    Thread.sleep(5); // the token's lookup
                    check.succeeded();
                    return null;
                });
            }
        }
        assertThat(refused).as("good tokens refused").hasValue(0);

        java.util.concurrent.atomic.AtomicInteger checked = new java.util.concurrent.atomic.AtomicInteger();
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 250; i++) {
                String guess = "guess-" + i;
                threads.submit(() -> {
                    FailedAuthLimiter.Check check = limiter.begin("203.0.113.9", guess);
                    if (check.waitTime().isEmpty()) {
                        checked.incrementAndGet();
                        Thread.sleep(5);
                        check.failed();
                    }
                    return null;
                });
            }
        }
        assertThat(checked).as("guesses looked at").hasValue(20);
    }

    @Test
    void aCheckThatEndsForAnotherReasonCountsNothing() {
        FailedAuthLimiter limiter = new FailedAuthLimiter(1, Duration.ofMinutes(1), InstantSource.system());
        FailedAuthLimiter.Check check = limiter.begin("203.0.113.7", "a");
        check.end(); // the database was unreachable, say
        check.end();
        assertThat(limiter.begin("203.0.113.7", "b").waitTime()).isEmpty();
    }
}
