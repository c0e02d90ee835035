package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

@Fast
class RetryPolicyTest {
    private final RetryPolicy policy =
            new RetryPolicy(List.of(Duration.ofMinutes(1), Duration.ofMinutes(5)), Duration.ofHours(1));

    @Test
    void theDefaultScheduleGivesThreeAttemptsThenAbandons() {
        Random random = new Random(7);
        assertThat(policy.maxAttempts()).isEqualTo(3);
        assertThat(policy.nextDelay(1, Optional.empty(), random))
                .get()
                .satisfies(d -> assertThat(d).isBetween(Duration.ofSeconds(48), Duration.ofSeconds(72)));
        assertThat(policy.nextDelay(2, Optional.empty(), random))
                .get()
                .satisfies(d -> assertThat(d).isBetween(Duration.ofMinutes(4), Duration.ofMinutes(6)));
        assertThat(policy.nextDelay(3, Optional.empty(), random)).isEmpty();
    }

    @Test
    void jitterSpreadsReceiversThatFailTogether() {
        Random random = new Random(1);
        List<Duration> delays = java.util.stream.IntStream.range(0, 100)
                .mapToObj(i -> policy.nextDelay(1, Optional.empty(), random).orElseThrow())
                .toList();
        assertThat(delays.stream().distinct().count()).isGreaterThan(90);
        assertThat(delays).allSatisfy(d -> assertThat(d).isBetween(Duration.ofSeconds(48), Duration.ofSeconds(72)));
    }

    @Test
    void retryAfterLengthensTheScheduledWaitWithinTheCapAndNeverShortensIt() {
        Random random = new Random(3);
        assertThat(policy.nextDelay(1, Optional.of(Duration.ofMinutes(10)), random))
                .get()
                .satisfies(d -> assertThat(d).isBetween(Duration.ofMinutes(10), Duration.ofMinutes(11)));
        // Retry-After: 0 (or 10 s) spent every attempt within milliseconds when it replaced the schedule.
        for (Duration asked : List.of(Duration.ZERO, Duration.ofSeconds(10))) {
            assertThat(policy.nextDelay(1, Optional.of(asked), random))
                    .get()
                    .satisfies(d -> assertThat(d).isBetween(Duration.ofSeconds(48), Duration.ofSeconds(72)));
        }
        assertThat(policy.nextDelay(1, Optional.of(Duration.ofDays(3)), random))
                .as("up to the cap, jitter included")
                .contains(Duration.ofHours(1));
        assertThat(policy.nextDelay(1, Optional.of(Duration.ofMinutes(59)), random))
                .get()
                .satisfies(d -> assertThat(d).isBetween(Duration.ofMinutes(59), Duration.ofHours(1)));
        assertThat(policy.nextDelay(3, Optional.of(Duration.ofSeconds(1)), random))
                .isEmpty();
    }

    @Test
    void retryAfterIsReadAsSecondsOrAnHttpDate() {
        Instant now = Instant.parse("2026-11-24T10:00:00Z");
        assertThat(RetryPolicy.parseRetryAfter("120", now)).contains(Duration.ofSeconds(120));
        assertThat(RetryPolicy.parseRetryAfter("Tue, 24 Nov 2026 10:00:30 GMT", now))
                .contains(Duration.ofSeconds(30));
        assertThat(RetryPolicy.parseRetryAfter("Tue, 24 Nov 2026 09:00:00 GMT", now))
                .contains(Duration.ZERO);
        // However long: a receiver asking for more than a long holds still asked to wait (as long as the cap).
        assertThat(RetryPolicy.parseRetryAfter("2147483648", now)).contains(Duration.ofSeconds(2_147_483_648L));
        assertThat(RetryPolicy.parseRetryAfter("99999999999999999999999", now))
                .get()
                .satisfies(d -> assertThat(policy.nextDelay(1, Optional.of(d), new Random(1)))
                        .contains(Duration.ofHours(1)));
        assertThat(RetryPolicy.parseRetryAfter("soon", now)).isEmpty();
        assertThat(RetryPolicy.parseRetryAfter(null, now)).isEmpty();
    }
}
