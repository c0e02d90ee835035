package dev.switchboard.store;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.time.Instant;
import java.util.List;

/**
 * A partner application: what it may read and write, which event types it may receive, and its
 * lifecycle stream ({@code connection.*} events addressed to it alone).
 */
public record Integration(
        @JsonIgnore long pk,
        String id,
        String name,
        Permissions permissions,
        List<String> eventTypes,
        Instant createdAt,
        Instant updatedAt,
        @JsonIgnore long streamPk) {
    public Integration {
        eventTypes = List.copyOf(eventTypes);
    }
}
