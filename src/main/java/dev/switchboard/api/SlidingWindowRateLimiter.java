package dev.switchboard.api;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.time.InstantSource;
import java.util.OptionalLong;

/**
 * At most {@code limit} requests per key in any window of {@code window}: an exact sliding window,
 * kept as a ring of the last {@code limit} request times per key. A request is allowed when the
 * oldest of those is older than the window; otherwise the answer says how long until it will be.
 * (Bucket4j's token buckets refill gradually; the contract here is a sliding window, which this is.)
 * Limits are per node: several nodes behind a load balancer each allow the full rate.
 */
public final class SlidingWindowRateLimiter {
    private final int limit;
    private final long windowNanos;
    private final InstantSource clock;
    private final Cache<String, Ring> rings;

    public SlidingWindowRateLimiter(int limit, Duration window, InstantSource clock) {
        this.limit = limit;
        this.windowNanos = window.toNanos();
        this.clock = clock;
        this.rings = Caffeine.newBuilder().expireAfterAccess(window).maximumSize(1_000_000).build();
    }

    /** Records a request; empty when allowed, else the wait before the next request would be. */
    public OptionalLong acquire(String key) {
        return rings.get(key, k -> new Ring(limit)).acquire(nanos(), windowNanos);
    }

    public int limit() {
        return limit;
    }

    private long nanos() {
        var now = clock.instant();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    private static final class Ring {
        private final long[] times;
        private int next;
        private int size;

        Ring(int limit) {
            this.times = new long[limit];
        }

        synchronized OptionalLong acquire(long now, long window) {
            if (size == times.length) {
                long oldest = times[next];
                long waitNanos = oldest + window - now;
                if (waitNanos > 0) {
                    return OptionalLong.of(waitNanos);
                }
            } else {
                size++;
            }
            times[next] = now;
            next = (next + 1) % times.length;
            return OptionalLong.empty();
        }
    }
}
