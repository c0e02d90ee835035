package dev.switchboard.testing;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The set-up most tests start from: a tenant, an integration (the partner app) and the connection
 * between them, on a {@link TestServer}. {@code client} carries the integration's client key (it manages
 * webhooks), {@code access} the connection's access token (it reads and writes the tenant's records).
 */
public record Partner(
        TestServer server, String tenant, String integrationId, String connectionId, Api client, Api access) {

    /** A new tenant, and a new integration with every collection readable and writable, receiving {@code eventTypes}. */
    public static Partner create(TestServer server, List<String> eventTypes) {
        return on(server, server.createTenant("hotel-" + System.nanoTime()), List.of("*"), List.of("*"), eventTypes);
    }

    /** A new integration with these permissions and event types, connected to the existing {@code tenant}. */
    public static Partner on(
            TestServer server, String tenant, List<String> read, List<String> write, List<String> eventTypes) {
        return connect(
                server, server.createIntegration("partner-" + System.nanoTime(), read, write, eventTypes), tenant);
    }

    /** {@code integration} (as its create call returned it, with its client key) connected to {@code tenant}. */
    public static Partner connect(TestServer server, JsonNode integration, String tenant) {
        String integrationId = integration.get("id").asText();
        JsonNode connection = server.connect(integrationId, tenant);
        JsonNode clientKey = integration.get("clientKey");
        return new Partner(
                server,
                tenant,
                integrationId,
                connection.get("id").asText(),
                clientKey == null ? null : server.api(clientKey.asText()),
                server.api(connection.get("accessToken").asText()));
    }

    /** As the retention leaves the tenant's log: its events up to {@code seq} deleted. */
    public void dropEventsUpTo(long seq) throws java.sql.SQLException {
        try (java.sql.Connection c =
                        java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                var delete = c.prepareStatement("DELETE FROM events WHERE seq <= ? AND stream_pk = (SELECT s.pk"
                        + " FROM streams s JOIN tenants t ON t.pk = s.tenant_pk WHERE t.id = ?)")) {
            delete.setLong(1, seq);
            delete.setString(2, tenant);
            delete.executeUpdate();
        }
    }

    /** The connection's access token, as a partner sends it. */
    public String accessToken() {
        return access.token();
    }

    /** Creates an endpoint with the client key; returns it (with its secret). */
    public JsonNode webhook(Map<String, Object> body) {
        return client.post("/api/v1/webhooks", body).expect(201).json();
    }

    /** Creates {@code count} records in {@code collection} with the access token; returns their ids in order. */
    public List<String> writeRecords(String collection, int count, Map<String, Object> data) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ids.add(access.post("/api/v1/collections/" + collection + "/records", Map.of("data", data))
                    .expect(201)
                    .json()
                    .get("id")
                    .asText());
        }
        return ids;
    }
}
