package dev.switchboard.store;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonRawValue;
import java.time.Instant;

/** A record as the API returns it; {@code data} is the stored JSON text, written out unparsed. */
@JsonPropertyOrder({"id", "version", "createdAt", "updatedAt", "data"})
public record StoredRecord(
        String id,
        int version,
        Instant createdAt,
        Instant updatedAt,
        @JsonRawValue String data) {}
