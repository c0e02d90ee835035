package dev.switchboard.auth;

import dev.switchboard.events.EventFilter;
import dev.switchboard.store.Permissions;
import dev.switchboard.store.Tenant;
import dev.switchboard.support.Refusal;
import java.util.List;

/**
 * What a request may do within one tenant: the admin key acting for a tenant may do everything; an
 * access token what its integration is permitted. {@code connectionId} and {@code connectionPk} are the
 * access token's connection's, null and 0 for the admin key.
 */
public record TenantAccess(
        Tenant tenant, Permissions permissions, List<String> eventTypes, String connectionId, long connectionPk) {

    /** The admin key acting for the tenant. */
    public static TenantAccess admin(Tenant tenant) {
        return new TenantAccess(tenant, Permissions.ALL, List.of("*"), null, 0);
    }

    public boolean byAdmin() {
        return connectionId == null;
    }

    /** Whose idempotency keys a request's key is among: the admin key's, or the connection's. */
    public String idempotencyScope() {
        return byAdmin() ? "admin" : connectionId;
    }

    public boolean canRead(String collection) {
        return permissions.canRead(collection);
    }

    public void requireRead(String collection) {
        if (!permissions.canRead(collection)) {
            throw new Refusal.Forbidden("this integration may not read collection '" + collection + "'");
        }
    }

    public void requireWrite(String collection) {
        if (!permissions.canWrite(collection)) {
            throw new Refusal.Forbidden("this integration may not write collection '" + collection + "'");
        }
    }

    public EventFilter eventFilter() {
        return new EventFilter(eventTypes, permissions.readableOrNull(), List.of());
    }
}
