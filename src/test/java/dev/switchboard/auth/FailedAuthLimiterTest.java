package dev.switchboard.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.ClientAddress;
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
        assertThat(checkedAtOnce(limiter, "good-", 100, true))
                .as("good tokens checked")
                .isEqualTo(100);
        assertThat(checkedAtOnce(limiter, "guess-", 250, false))
                .as("guesses looked at")
                .isEqualTo(20);
    }

    /**
     * Checks {@code count} tokens from one address at once, each looked up for 5 ms and found good or not;
     * returns how many were checked rather than refused.
     */
    private static int checkedAtOnce(FailedAuthLimiter limiter, String prefix, int count, boolean good)
            throws InterruptedException {
        java.util.concurrent.atomic.AtomicInteger checked = new java.util.concurrent.atomic.AtomicInteger();
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < count; i++) {
                String token = prefix + i;
                threads.submit(() -> {
                    FailedAuthLimiter.Check check = limiter.begin("203.0.113.9", token);
                    if (check.waitTime().isEmpty()) {
                        checked.incrementAndGet();
                        Thread.sleep(5); // the token's lookup
                        if (good) {
                            check.succeeded();
                        } else {
                            check.failed();
                        }
                    }
                    return null;
                });
            }
        }
        return checked.get();
    }

    @Test
    void aCheckThatEndsForAnotherReasonCountsNothing() {
        FailedAuthLimiter limiter = new FailedAuthLimiter(1, Duration.ofMinutes(1), InstantSource.system());
        FailedAuthLimiter.Check check = limiter.begin("203.0.113.7", "a");
        check.end(); // the database was unreachable, say
        check.end();
        assertThat(limiter.begin("203.0.113.7", "b").waitTime()).isEmpty();
    }

    @Test
    void refusedSecretsFromOneSlash64ShareOneLimit() {
        FailedAuthLimiter limiter =
                new FailedAuthLimiter(2, java.time.Duration.ofMinutes(1), java.time.InstantSource.system());
        limiter.begin(ClientAddress.of("2001:db8::1"), "a").failed();
        limiter.begin(ClientAddress.of("2001:db8::2"), "b").failed();
        assertThat(limiter.begin(ClientAddress.of("2001:db8::3"), "some token").waitTime())
                .isPresent();
        assertThat(limiter.begin(ClientAddress.of("2001:db8:1::3"), "some token")
                        .waitTime())
                .isEmpty();
    }
}
