package dev.switchboard.store;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.time.Instant;

/** A customer of the operator whose records and events are isolated; {@code streamPk} is its event log. */
public record Tenant(
        @JsonIgnore long pk,
        String id,
        String name,
        Instant createdAt,
        @JsonIgnore long streamPk) {}
