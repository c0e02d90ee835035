package dev.switchboard.websockets;

import dev.switchboard.auth.Authenticator;
import dev.switchboard.auth.TenantAccess;
import dev.switchboard.events.EventFilter;
import dev.switchboard.store.ConnectionStore;

/**
 * What a socket was granted at its upgrade: its connection, integration and tenant stream, the hash
 * of the token it used (to re-check it when the connection changes), and the events it may receive
 * (the same filter as the feed). A socket an operator's console session opened ({@code
 * operatorSessionId} set) has no connection: it receives every event of the tenant and sends no requests.
 */
record SocketAccess(
        long connectionPk,
        String connectionId,
        long integrationPk,
        long streamPk,
        String tokenHash,
        EventFilter filter,
        String operatorSessionId) {

    /** No connection or integration has this pk: an operator's socket is listed under none. */
    static final long NONE = -1;

    /** An operator's read-only socket on the tenant of {@code access}. */
    static SocketAccess operator(String sessionId, TenantAccess access) {
        return new SocketAccess(
                NONE,
                "operator session " + sessionId,
                NONE,
                access.tenant().streamPk(),
                null,
                access.eventFilter(),
                sessionId);
    }

    boolean readOnly() {
        return operatorSessionId != null;
    }

    static SocketAccess of(Authenticator.Access access) {
        ConnectionStore.Grant grant = access.grant();
        return new SocketAccess(
                grant.connection().pk(),
                grant.connection().id(),
                grant.integration().pk(),
                grant.tenant().streamPk(),
                access.tokenHash(),
                filterOf(grant),
                null);
    }

    static EventFilter filterOf(ConnectionStore.Grant grant) {
        return new TenantAccess(
                        grant.tenant(),
                        grant.integration().permissions(),
                        grant.integration().eventTypes(),
                        grant.connection().id(),
                        grant.connection().pk())
                .eventFilter();
    }
}
