package dev.switchboard.webhooks;

import dev.switchboard.config.Cidr;
import java.net.InetAddress;
import java.net.URI;
import java.util.List;
import java.util.Optional;

/**
 * Which addresses webhooks may call: those {@link AddressGuard} allows, plus the operator's
 * {@code allowedAddresses} ranges (an internal partner's subnet), or everything when the operator
 * allows private addresses altogether (development and tests).
 */
public record AddressPolicy(boolean allowPrivate, List<Cidr> allowed) {
    public AddressPolicy {
        allowed = List.copyOf(allowed);
    }

    /**
     * Whether a request that must not travel in clear text (a lifecycle message carries an access token;
     * a request that left over https keeps its data and signature encrypted) may go to {@code uri}: only
     * over https, except where private addresses are allowed (development and tests).
     */
    public boolean mayCarrySecretsTo(URI uri) {
        return allowPrivate || uri.getScheme().equalsIgnoreCase("https");
    }

    /** Why a webhook may not call the address, or empty when it may. */
    public Optional<String> refusal(InetAddress address) {
        if (allowPrivate || allowed.stream().anyMatch(c -> c.contains(address))) {
            return Optional.empty();
        }
        return AddressGuard.refusal(address);
    }
}
