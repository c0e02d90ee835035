package dev.switchboard.webhooks;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
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

    private final AddressPolicy policy;

    GuardedResolver(AddressPolicy policy) {
        this.policy = policy;
    }

    /** Every address of the host was refused. */
    static final class BlockedAddressException extends UnknownHostException {
        BlockedAddressException(String message) {
            super(message);
        }
    }

    /** The addresses of {@code host} that may be called, in the resolver's order. */
    List<InetSocketAddress> resolve(String host, int port) throws UnknownHostException {
        return allowed(host, port, InetAddress.getAllByName(host));
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
