package dev.switchboard.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.time.InstantSource;
import java.util.OptionalLong;

/**
 * At most {@code limit} requests per key in any window of {@code window}: an exact sliding window,
 * kept as the times of the key's requests inside the window. A request is allowed while fewer than
 * {@code limit} are; otherwise the answer says how long until the oldest leaves the window.
 * (Bucket4j's token buckets refill gradually; the contract here is a sliding window, which this is.)
 * Limits are per node: several nodes behind a load balancer each allow the full rate.
 */
public final class SlidingWindowRateLimiter {
    /** How far back the clock must go for the times kept to be dropped rather than waited for. */
    static final long CLOCK_STEP_NANOS = Duration.ofSeconds(1).toNanos();
    /** The wait while requests not yet recorded could fill the window: they are decided within it. */
    static final Duration PENDING_WAIT = Duration.ofSeconds(1);

    private final int limit;
    private final long windowNanos;
    private final InstantSource clock;
    private final Cache<String, Ring> rings;

    public SlidingWindowRateLimiter(int limit, Duration window, InstantSource clock) {
        this.limit = limit;
        this.windowNanos = window.toNanos();
        this.clock = clock;
        this.rings = Caffeine.newBuilder()
                .expireAfterAccess(window)
                .maximumSize(1_000_000)
                .build();
    }

    /** Records a request; empty when allowed, else the wait before the next request would be. */
    public OptionalLong acquire(String key) {
        return rings.get(key, k -> new Ring(limit)).acquire(nanos(), windowNanos);
    }

    /** Without recording anything: empty when a request for the key would be allowed, else the wait. */
    public OptionalLong waitTime(String key) {
        return waitTime(key, 0);
    }

    /**
     * As {@link #waitTime(String)} with {@code pending} more requests that may yet be recorded: while those
     * could fill the window, the wait is a short one ({@link #PENDING_WAIT}), until they are decided.
     */
    public OptionalLong waitTime(String key, int pending) {
        Ring ring = rings.getIfPresent(key);
        if (ring == null) {
            return pending < limit ? OptionalLong.empty() : OptionalLong.of(PENDING_WAIT.toNanos());
        }
        return ring.waitTime(nanos(), windowNanos, pending);
    }

    public int limit() {
        return limit;
    }

    private long nanos() {
        var now = clock.instant();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /**
     * The times of a key's requests still inside the window, oldest first, in a circular buffer that
     * grows only as far as requests actually arrive: memory follows traffic, not the configured limit.
     */
    private static final class Ring {
        private final int limit;
        private long[] times = new long[8];
        private int head;
        private int size;

        Ring(int limit) {
            this.limit = limit;
        }

        synchronized OptionalLong acquire(long now, long window) {
            now = settle(now, window);
            if (size >= limit) {
                return OptionalLong.of(times[head] + window - now);
            }
            if (size == times.length) {
                long[] grown = new long[Math.min(limit, times.length * 2)];
                for (int i = 0; i < size; i++) {
                    grown[i] = times[(head + i) % times.length];
                }
                times = grown;
                head = 0;
            }
            times[(head + size) % times.length] = now;
            size++;
            return OptionalLong.empty();
        }

        synchronized OptionalLong waitTime(long now, long window, int pending) {
            now = settle(now, window);
            if (size >= limit) {
                return OptionalLong.of(times[head] + window - now);
            }
            return size + pending < limit ? OptionalLong.empty() : OptionalLong.of(PENDING_WAIT.toNanos());
        }

        /**
         * Drops the times that left the window; returns the time to count {@code now} as. A reading a little
         * older than the newest time kept is a request that read the clock before another took the lock:
         * it counts as that newest time. One far older means the clock was set back (a time step, a
         * restored virtual machine): the times kept are "in the future" and would hold the key at its
         * limit until the clock caught up with them (a step of an hour, an hour of 429s), so the window
         * starts again.
         */
        private long settle(long now, long window) {
            if (size > 0) {
                long newest = times[(head + size - 1) % times.length];
                if (newest - now > CLOCK_STEP_NANOS) {
                    size = 0;
                    head = 0;
                } else {
                    now = Math.max(now, newest);
                }
            }
            while (size > 0 && times[head] + window <= now) {
                head = (head + 1) % times.length;
                size--;
            }
            return now;
        }
    }
}
