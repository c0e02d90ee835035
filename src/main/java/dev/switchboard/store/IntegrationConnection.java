package dev.switchboard.store;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.time.Instant;

/** An integration connected to one tenant; its access token is what the partner calls with. */
public record IntegrationConnection(
        @JsonIgnore long pk,
        String id,
        String integrationId,
        String tenantId,
        State state,
        Instant createdAt,
        Instant updatedAt) {
    /** Spelled as in the database, the JSON and the lifecycle event types ({@code connection.disabled}). */
    public enum State {
        enabled,
        disabled
    }

    public boolean enabled() {
        return state == State.enabled;
    }
}
