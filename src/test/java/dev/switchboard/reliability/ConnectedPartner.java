package dev.switchboard.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import java.util.List;
import java.util.Map;

/**
 * A new partner integration that reads and writes every collection and receives every event type,
 * connected to an existing tenant through a server's admin API (a server process's, so no in-process
 * fixture applies).
 *
 * @param integration the integration as its create call returned it (with its client key)
 * @param accessToken the connection's access token
 */
record ConnectedPartner(JsonNode integration, String accessToken) {
    static ConnectedPartner create(Api admin, String tenant, String name) {
        JsonNode integration = admin.post(
                        "/api/v1/integrations",
                        Map.of(
                                "name",
                                name,
                                "permissions",
                                Map.of("read", List.of("*"), "write", List.of("*")),
                                "eventTypes",
                                List.of("*")))
                .expect(201)
                .json();
        String token = admin.post(
                        "/api/v1/integrations/" + integration.get("id").asText() + "/connections",
                        Map.of("tenantId", tenant))
                .expect(201)
                .json()
                .get("accessToken")
                .asText();
        return new ConnectedPartner(integration, token);
    }

    String clientKey() {
        return integration.get("clientKey").asText();
    }
}
