package dev.switchboard.store;

import java.util.Arrays;
import java.util.Optional;

/**
 * What a partner portal session may do besides reading its integration's endpoints, messages,
 * attempts and event catalog ({@code read}, always granted). Spelled as in the API.
 */
public enum Capability {
    read,
    /** Create, update and delete the integration's webhook endpoints. */
    manage_endpoints,
    /** Retry messages, replay a stream, send a test event. */
    retry,
    /** See a signing secret (once, when it is created or rotated) and rotate it. */
    secrets;

    /**
     * Whether it acts on endpoints, each of which (with its signing secret) serves every tenant of the
     * integration: a session narrowed to one tenant never has it, whatever its link said.
     */
    public boolean reachesEveryTenant() {
        return this == manage_endpoints || this == secrets;
    }

    public static Optional<Capability> parse(String text) {
        return Arrays.stream(values()).filter(c -> c.name().equals(text)).findFirst();
    }
}
