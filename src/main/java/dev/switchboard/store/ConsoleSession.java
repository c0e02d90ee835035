package dev.switchboard.store;

import java.time.Instant;
import java.util.Set;

/**
 * A signed-in browser: the operator (who gave the admin key) or a partner through a portal link, for
 * one integration, optionally narrowed to one tenant, with its capabilities. {@code integrationPk},
 * {@code integrationId} and {@code integrationName} are null for an operator, {@code tenantPk} and
 * {@code tenantId} when the session sees every tenant.
 */
public record ConsoleSession(
        String id,
        Kind kind,
        Long integrationPk,
        String integrationId,
        String integrationName,
        Long tenantPk,
        String tenantId,
        Set<Capability> capabilities,
        Instant idleExpiresAt,
        Instant absoluteExpiresAt) {

    public enum Kind {
        operator,
        portal
    }

    public ConsoleSession {
        capabilities = Set.copyOf(capabilities);
    }

    public boolean isPortal() {
        return kind == Kind.portal;
    }

    /**
     * An operator may do everything; a portal session what its capabilities say ({@code read} always),
     * except, when narrowed to a tenant, what reaches every tenant ({@link Capability#reachesEveryTenant}).
     */
    public boolean may(Capability capability) {
        return kind == Kind.operator
                || capability == Capability.read
                || capabilities.contains(capability) && !(tenantPk != null && capability.reachesEveryTenant());
    }
}
