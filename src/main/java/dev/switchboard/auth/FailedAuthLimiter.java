package dev.switchboard.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Makes guessing tokens slow. It counts, per client address, the requests whose token was refused
 * (unknown, revoked, or of a disabled connection) in a sliding window; once an address has had
 * {@code limit} of them, its requests are refused with 429 <em>before</em> their token is looked at,
 * until the oldest failure leaves the window. So one address gets at most {@code limit} guesses per
 * window, and a blocked address learns nothing from its answers: a right guess is refused like a
 * wrong one.
 *
 * <p>The exception is a token that authenticated from the same address within the window: it still
 * works. A partner whose server keeps calling with one revoked token does not lose its other
 * connections, and an attacker gains nothing, since only tokens already used from that address pass.
 * Callers at other addresses are never affected. Limits are per node, like the request rate limit.
 */
final class FailedAuthLimiter {
    /**
     * The most checks of one address that wait at once; more are refused at once. Requests run on virtual
     * threads, which a wait on the lock's condition does not hold to a carrier, so a gateway's burst of a
     * few hundred fits.
     */
    private static final int MAX_WAITING = 1_000;

    private final SlidingWindowRateLimiter failures;
    private final Cache<String, Boolean> trusted;
    /** Guards {@link #checking} and {@link #waiting}; {@link #ended} is signalled when a counted check ends. */
    private final ReentrantLock lock = new ReentrantLock();

    private final Condition ended = lock.newCondition();
    /** Per address, the checks under way: each may yet be a refusal. */
    private final Map<String, Integer> checking = new HashMap<>();
    /** Per address, the checks waiting for those under way to end. */
    private final Map<String, Integer> waiting = new HashMap<>();

    /** {@code limit} 0 turns the limit off. */
    FailedAuthLimiter(int limit, Duration window, InstantSource clock) {
        this.failures = limit == 0 ? null : new SlidingWindowRateLimiter(limit, window, clock);
        this.trusted = Caffeine.newBuilder()
                .maximumSize(100_000)
                .expireAfterWrite(window)
                .ticker(() -> {
                    var now = clock.instant();
                    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
                })
                .build();
    }

    /**
     * A request from {@code address} with this token (by its hash) is about to be checked: {@link
     * Check#waitTime} says whether it may be, and how long to wait when not. Until it ends, a check counts as
     * a refusal to come, so a burst of guesses sent at once cannot all pass before the first is counted
     * (250 at once had 43 checked where the limit was 20). A check that only the checks under way could
     * refuse waits for one of them to end (at most {@link SlidingWindowRateLimiter#PENDING_WAIT}, and at
     * most {@link #MAX_WAITING} of them) rather than being refused: 100 sockets opened at once from one gateway
     * with good tokens had 48 refused with 429, no token having failed. Checks take milliseconds; guesses
     * still fill the window and are refused.
     */
    Check begin(String address, String tokenHash) {
        if (failures == null || trusted.getIfPresent(address + " " + tokenHash) != null) {
            return new Check(address, tokenHash, false, OptionalLong.empty());
        }
        long deadline = System.nanoTime() + SlidingWindowRateLimiter.PENDING_WAIT.toNanos();
        lock.lock();
        try {
            while (true) {
                OptionalLong wait = failures.waitTime(address, checking.getOrDefault(address, 0));
                if (wait.isEmpty()) {
                    checking.merge(address, 1, Integer::sum);
                    return new Check(address, tokenHash, true, OptionalLong.empty());
                }
                long left = deadline - System.nanoTime();
                if (left <= 0
                        || failures.waitTime(address).isPresent() // the window is full: no check can make room
                        || waiting.getOrDefault(address, 0) >= MAX_WAITING) {
                    return new Check(address, tokenHash, false, wait);
                }
                waiting.merge(address, 1, Integer::sum);
                try {
                    ended.awaitNanos(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt(); // the node is stopping: refused as after the wait
                    return new Check(address, tokenHash, false, wait);
                } finally {
                    waiting.computeIfPresent(address, (a, n) -> n == 1 ? null : n - 1);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private void release(String address) {
        lock.lock();
        try {
            checking.computeIfPresent(address, (a, n) -> n == 1 ? null : n - 1);
            ended.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** One token's check from one address; end it with {@link #failed} or {@link #succeeded}, then {@link #end}. */
    final class Check {
        private final String address;
        private final String tokenHash;
        private final OptionalLong wait;
        private boolean counting;

        private Check(String address, String tokenHash, boolean counting, OptionalLong wait) {
            this.address = address;
            this.tokenHash = tokenHash;
            this.counting = counting;
            this.wait = wait;
        }

        /** Empty when the token may be checked; else how long the address must wait. */
        OptionalLong waitTime() {
            return wait;
        }

        /** The token was refused: it counts against the address for the window. */
        void failed() {
            if (failures != null) {
                failures.acquire(address);
            }
            end();
        }

        /** The token is good: from this address it is checked from now on, however many others failed. */
        void succeeded() {
            trust(address, tokenHash);
            end();
        }

        /** The check ended either way (or failed for another reason, counting nothing). */
        void end() {
            if (counting) {
                counting = false;
                release(address);
            }
        }
    }

    /** A token made for this address (a session it just opened) is checked from it whatever else failed. */
    void trust(String address, String tokenHash) {
        if (failures != null) {
            trusted.put(address + " " + tokenHash, Boolean.TRUE);
        }
    }

    int limit() {
        return failures == null ? 0 : failures.limit();
    }
}
