package dev.switchboard.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.time.InstantSource;
import java.util.OptionalLong;

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
    private final SlidingWindowRateLimiter failures;
    private final Cache<String, Boolean> trusted;

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

    /** Empty when a request from {@code address} with this token (by its hash) may be checked; else how long to wait. */
    OptionalLong waitTime(String address, String tokenHash) {
        if (failures == null || trusted.getIfPresent(address + " " + tokenHash) != null) {
            return OptionalLong.empty();
        }
        return failures.waitTime(address);
    }

    void failed(String address) {
        if (failures != null) {
            failures.acquire(address);
        }
    }

    void succeeded(String address, String tokenHash) {
        if (failures != null) {
            trusted.put(address + " " + tokenHash, Boolean.TRUE);
        }
    }

    int limit() {
        return failures == null ? 0 : failures.limit();
    }
}
