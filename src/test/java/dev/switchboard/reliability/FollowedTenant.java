package dev.switchboard.reliability;

import dev.switchboard.testing.Api;
import dev.switchboard.testing.ServerProcess;
import dev.switchboard.testing.TestServer;
import java.util.Map;

/**
 * A tenant with a {@code rooms} collection and one partner integration connected to it, whose events
 * endpoint follows the tenant: what the kill scenarios write to and watch.
 *
 * @param token   the connection's access token (writes, WebSockets)
 * @param webhook the endpoint's id
 */
record FollowedTenant(String tenant, String token, String webhook) {
    static final String COLLECTION = "rooms";

    /** Creates it all through {@code server}'s admin API; the endpoint posts to {@code url} in messages of up to {@code maxBatchSize}. */
    static FollowedTenant create(ServerProcess server, String tenant, String url, int maxBatchSize) {
        Api admin = server.api(TestServer.ADMIN_KEY);
        admin.post("/api/v1/collections", Map.of("name", COLLECTION)).expect(201);
        admin.post("/api/v1/tenants", Map.of("id", tenant)).expect(201);
        ConnectedPartner partner = ConnectedPartner.create(admin, tenant, "partner");
        String token = partner.accessToken();
        String webhook = server.api(partner.clientKey())
                .post("/api/v1/webhooks", Map.of("url", url, "maxBatchSize", maxBatchSize))
                .expect(201)
                .json()
                .get("id")
                .asText();
        return new FollowedTenant(tenant, token, webhook);
    }

    /** The tenant's whole log, read through {@code server}. */
    TenantLog log(ServerProcess server) {
        return TenantLog.read(server.api(TestServer.ADMIN_KEY).withHeader("Switchboard-Tenant", tenant));
    }
}
