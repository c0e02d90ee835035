package dev.switchboard.client;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The connection an access token belongs to.
 *
 * @param id the connection's id ({@code con_…})
 * @param tenantId the tenant whose records and events the token reads
 * @param integrationId the integration (partner application) it connects
 * @param state {@code enabled} (a disabled connection's token is refused)
 */
public record ConnectionInfo(String id, String tenantId, String integrationId, String state) {
    static ConnectionInfo from(JsonNode json) {
        return new ConnectionInfo(
                json.path("id").asText(),
                json.path("tenantId").asText(),
                json.path("integrationId").asText(),
                json.path("state").asText());
    }
}
