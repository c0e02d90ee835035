package dev.switchboard.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

@Fast
class SlidingWindowRateLimiterTest {
    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));
    private final InstantSource clock = now::get;

    private void step(Duration d) {
        now.set(now.get().plus(d));
    }

    @Test
    void allowsTheLimitInAnyWindowAndSaysHowLongToWait() {
        SlidingWindowRateLimiter limiter = new SlidingWindowRateLimiter(3, Duration.ofSeconds(30), clock);
        assertThat(limiter.acquire("t")).isEmpty();
        step(Duration.ofSeconds(10));
        assertThat(limiter.acquire("t")).isEmpty();
        assertThat(limiter.acquire("t")).isEmpty();
        assertThat(limiter.acquire("t")).hasValue(Duration.ofSeconds(20).toNanos());
        assertThat(limiter.acquire("other")).isEmpty();

        step(Duration.ofSeconds(20)); // the first request leaves the window
        assertThat(limiter.acquire("t")).isEmpty();
        assertThat(limiter.acquire("t")).hasValue(Duration.ofSeconds(10).toNanos());
    }

    @Test
    void refusedRequestsDoNotUseUpTheWindow() {
        SlidingWindowRateLimiter limiter = new SlidingWindowRateLimiter(1, Duration.ofSeconds(1), clock);
        assertThat(limiter.acquire("t")).isEmpty();
        for (int i = 0; i < 5; i++) {
            assertThat(limiter.acquire("t")).isPresent();
        }
        step(Duration.ofSeconds(1));
        assertThat(limiter.acquire("t")).isEmpty();
    }

    @Test
    void aClockSetBackStartsTheWindowAgainInsteadOfHoldingTheKeyUntilItCatchesUp() {
        SlidingWindowRateLimiter limiter = new SlidingWindowRateLimiter(2, Duration.ofSeconds(30), clock);
        assertThat(limiter.acquire("t")).isEmpty();
        assertThat(limiter.acquire("t")).isEmpty();
        assertThat(limiter.acquire("t")).isPresent();
        step(Duration.ofHours(-1));
        assertThat(limiter.acquire("t")).isEmpty();
        assertThat(limiter.acquire("t")).isEmpty();
        assertThat(limiter.acquire("t")).hasValue(Duration.ofSeconds(30).toNanos());
    }

    @Test
    void aRequestThatReadTheClockJustBeforeAnotherTookTheLockCountsInTheSameWindow() {
        SlidingWindowRateLimiter limiter = new SlidingWindowRateLimiter(2, Duration.ofSeconds(30), clock);
        assertThat(limiter.acquire("t")).isEmpty();
        assertThat(limiter.acquire("t")).isEmpty();
        step(Duration.ofMillis(-1));
        assertThat(limiter.acquire("t")).isPresent();
        assertThat(limiter.waitTime("t")).isPresent();
    }
}
