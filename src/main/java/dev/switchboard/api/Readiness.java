package dev.switchboard.api;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * The answer of {@code /health/ready}, checked at most once per {@code maxAge}: load balancers, probes and
 * anyone else may call it as often as they like without each call reaching the database. Callers that
 * arrive while a check runs wait for its answer instead of starting their own. Once the node is
 * {@linkplain #drain() draining} it answers not ready at once, without asking the database, so a load
 * balancer stops sending it new requests before it stops accepting them.
 */
public final class Readiness {
    private final BooleanSupplier check;
    private final InstantSource clock;
    private final Duration maxAge;
    private final ReentrantLock checking = new ReentrantLock();
    private volatile Answer last;
    private volatile boolean draining;

    private record Answer(boolean ready, Instant at) {}

    public Readiness(BooleanSupplier check, InstantSource clock, Duration maxAge) {
        this.check = check;
        this.clock = clock;
        this.maxAge = maxAge;
    }

    /** From now on the node is not ready: it is stopping. Not undone. */
    public void drain() {
        draining = true;
    }

    public boolean draining() {
        return draining;
    }

    public boolean ready() {
        if (draining) {
            return false;
        }
        Answer answer = last;
        if (fresh(answer)) {
            return answer.ready();
        }
        checking.lock();
        try {
            answer = last;
            if (fresh(answer)) {
                return answer.ready(); // the check this caller waited for
            }
            boolean ready = check.getAsBoolean();
            last = new Answer(ready, clock.instant());
            return ready;
        } finally {
            checking.unlock();
        }
    }

    private boolean fresh(Answer answer) {
        if (answer == null) {
            return false;
        }
        Instant now = clock.instant();
        return !now.isBefore(answer.at()) && now.isBefore(answer.at().plus(maxAge));
    }
}
