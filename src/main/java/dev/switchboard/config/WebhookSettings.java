package dev.switchboard.config;

import java.time.Duration;
import java.util.List;

/**
 * How webhooks are delivered: which addresses may be called (besides public ones: all, or the
 * {@code allowedAddresses} ranges), how long an attempt may take, the
 * delays between attempts (their count plus one is the number of attempts before a message is
 * abandoned), when a continuously failing endpoint is disabled, how long a rotated signing secret
 * keeps signing, how long a node holds a stream, and how many requests a node sends at once (in all,
 * to one endpoint, to one integration's endpoints).
 */
public record WebhookSettings(
        boolean allowPrivateAddresses,
        List<Cidr> allowedAddresses,
        List<Duration> retryDelays,
        Duration timeout,
        Duration disableAfter,
        Duration secretGracePeriod,
        Duration leaseTime,
        int concurrency,
        int endpointConcurrency,
        int integrationConcurrency,
        Duration maxRetryAfter) {

    public WebhookSettings {
        allowedAddresses = List.copyOf(allowedAddresses);
        retryDelays = List.copyOf(retryDelays);
    }

    /** Attempts a message gets before it is abandoned. */
    public int maxAttempts() {
        return retryDelays.size() + 1;
    }
}
