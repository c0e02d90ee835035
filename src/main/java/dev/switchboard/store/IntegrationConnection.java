package dev.switchboard.store;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.time.Instant;

/** An integration connected to one tenant; its access token is what the partner calls with. */
public record IntegrationConnection(@JsonIgnore long pk, String id, String integrationId, String tenantId, String state,
                                    Instant createdAt, Instant updatedAt) {
    public boolean enabled() {
        return state.equals("enabled");
    }
}
