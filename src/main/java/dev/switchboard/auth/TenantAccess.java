package dev.switchboard.auth;

import dev.switchboard.events.EventFilter;
import dev.switchboard.store.Permissions;
import dev.switchboard.store.Tenant;
import dev.switchboard.support.Refusal;
import java.util.List;

/**
 * What a request may do within one tenant: the admin key acting for a tenant may do everything; an
 * access token what its integration is permitted. {@code principal} scopes idempotency keys.
 */
public record TenantAccess(Tenant tenant, Permissions permissions, List<String> eventTypes, String principal) {

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
