package dev.switchboard.webhooks;

import java.time.Duration;
import java.util.Optional;
import java.util.random.RandomGenerator;

/** What happens to a message after an attempt: it is delivered, tried again later, or abandoned. */
public sealed interface Decision {
    /** The receiver answered 2xx: the stream moves on. */
    record Delivered() implements Decision {}

    /**
     * A failure with attempts left, or a 410 (which disables the endpoint): the message waits {@code delay}
     * and holds its stream until then.
     */
    record RetryLater(Duration delay) implements Decision {}

    /** The last attempt failed: the message is marked failed (and kept, replayable), the stream moves on. */
    record Abandoned() implements Decision {}

    /** The decision after {@code attemptsInRound} attempts of the current round, the last being {@code attempt}. */
    static Decision after(Attempt attempt, int attemptsInRound, RetryPolicy policy, RandomGenerator random) {
        if (attempt.delivered()) {
            return new Delivered();
        }
        Optional<Duration> delay = policy.nextDelay(attemptsInRound, attempt.retryAfter(), random);
        if (attempt.outcome() == Attempt.Outcome.gone) {
            // A 410 disables the endpoint: the message waits with the stream's later events and goes first
            // when the endpoint is enabled again, even when this was its last attempt.
            return new RetryLater(delay.orElse(Duration.ZERO));
        }
        return delay.<Decision>map(RetryLater::new).orElseGet(Abandoned::new);
    }
}
