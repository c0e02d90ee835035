package dev.switchboard.webhooks;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The webhook connections' name resolver: it resolves a host once and hands back only the
 * addresses {@link AddressGuard} allows, which are exactly the ones a connection is then made to. A DNS answer
 * that changes between a check and the connection (rebinding) cannot reach a refused address, because
 * there is no second lookup. When every address is refused, the attempt fails as
 * {@link BlockedAddressException} and the refusal is logged.
 */
final class GuardedResolver {
    private static final Logger log = LoggerFactory.getLogger(GuardedResolver.class);

    /** A host's addresses, as the system resolver gives them. */
    @FunctionalInterface
    interface Lookup {
        InetAddress[] addresses(String host) throws UnknownHostException;
    }

    /**
     * Lookups run here, on platform threads of their own: the system resolver's call cannot be interrupted,
     * so an attempt waits for it only until its deadline and leaves it to finish (or fail) on its own.
     */
    private static final ExecutorService LOOKUPS = Executors.newCachedThreadPool(
            Thread.ofPlatform().name("webhook-dns-", 0).daemon().factory());

    private final AddressPolicy policy;
    private final Lookup lookup;

    GuardedResolver(AddressPolicy policy) {
        this(policy, InetAddress::getAllByName);
    }

    GuardedResolver(AddressPolicy policy, Lookup lookup) {
        this.policy = policy;
        this.lookup = lookup;
    }

    /** Every address of the host was refused. */
    static final class BlockedAddressException extends UnknownHostException {
        BlockedAddressException(String message) {
            super(message);
        }
    }

    /**
     * The addresses of {@code host} that may be called, in the resolver's order. A lookup still unanswered
     * at {@code deadline} ({@link System#nanoTime}) fails the attempt as a timeout: a receiver's name
     * servers that do not answer would otherwise hold it for the resolver's retries (tens of seconds),
     * past the attempt's timeout and, with it, the stream's lease.
     */
    List<InetSocketAddress> resolve(String host, int port, long deadline) throws IOException {
        Future<InetAddress[]> looking = LOOKUPS.submit(() -> lookup.addresses(host));
        try {
            return allowed(host, port, looking.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
            looking.cancel(true);
            throw new SocketTimeoutException("resolving " + host + ": no answer before the deadline");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException("resolving " + host + ": " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            looking.cancel(true);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while resolving " + host);
        }
    }

    List<InetSocketAddress> allowed(String host, int port, InetAddress[] addresses) throws BlockedAddressException {
        List<InetSocketAddress> allowed = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        for (InetAddress address : addresses) {
            var refusal = policy.refusal(address);
            if (refusal.isPresent()) {
                refused.add(address.getHostAddress() + " (" + refusal.get() + ")");
            } else {
                allowed.add(new InetSocketAddress(address, port));
            }
        }
        if (allowed.isEmpty()) {
            String message = host + " resolves only to refused addresses: " + String.join(", ", refused);
            if (warnNow("refused " + host)) {
                log.warn(
                        "Webhook call refused: {} (each attempt records it; said again for this host in 10 minutes)",
                        message);
            }
            throw new BlockedAddressException(message);
        }
        if (!refused.isEmpty() && warnNow("skipped " + host)) {
            log.warn(
                    "Webhook call to {} skips refused addresses: {} (said again for this host in 10 minutes)",
                    host,
                    String.join(", ", refused));
        }
        return allowed;
    }

    /**
     * Whether to log about a host now: at most once per {@link #WARN_EVERY_NANOS}, since a partner's host
     * that resolves to refused addresses would otherwise write a line per connection (per message, for a
     * receiver that closes each one). Bounded: forgotten whole past 10,000 hosts.
     */
    private static boolean warnNow(String key) {
        long now = System.nanoTime();
        if (WARNED.size() > 10_000) {
            WARNED.clear();
        }
        Long last = WARNED.get(key);
        if (last != null && now - last < WARN_EVERY_NANOS) {
            return false;
        }
        WARNED.put(key, now);
        return true;
    }

    private static final long WARN_EVERY_NANOS = TimeUnit.MINUTES.toNanos(10);
    private static final Map<String, Long> WARNED = new ConcurrentHashMap<>();
}
