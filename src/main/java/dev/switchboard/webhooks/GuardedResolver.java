package dev.switchboard.webhooks;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.SocketAddressResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The webhook client's name resolver: it resolves a host once and hands the client only the
 * addresses {@link AddressGuard} allows, which are exactly the ones it then connects to. A DNS answer
 * that changes between a check and the connection (rebinding) cannot reach a refused address, because
 * there is no second lookup. When every address is refused, the attempt fails as
 * {@link BlockedAddressException} and the refusal is logged.
 */
final class GuardedResolver implements SocketAddressResolver {
    private static final Logger log = LoggerFactory.getLogger(GuardedResolver.class);

    private final Executor executor;
    private final AddressPolicy policy;

    GuardedResolver(Executor executor, AddressPolicy policy) {
        this.executor = executor;
        this.policy = policy;
    }

    /** Every address of the host was refused. */
    static final class BlockedAddressException extends UnknownHostException {
        BlockedAddressException(String message) {
            super(message);
        }
    }

    @Override
    public void resolve(String host, int port, Map<String, Object> context, Promise<List<InetSocketAddress>> promise) {
        executor.execute(() -> {
            try {
                promise.succeeded(allowed(host, port, InetAddress.getAllByName(host)));
            } catch (Throwable t) {
                promise.failed(t);
            }
        });
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
            log.warn("Webhook call refused: {}", message);
            throw new BlockedAddressException(message);
        }
        if (!refused.isEmpty()) {
            log.warn("Webhook call to {} skips refused addresses: {}", host, String.join(", ", refused));
        }
        return allowed;
    }
}
