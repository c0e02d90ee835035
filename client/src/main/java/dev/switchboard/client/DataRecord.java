package dev.switchboard.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;

/**
 * A record of a collection, as the records API returns it.
 *
 * @param id the record's id ({@code rec_…})
 * @param version 1 when created, one more on each update (pass it as {@code ifMatch})
 * @param createdAt when it was created
 * @param updatedAt when it last changed
 * @param data the JSON document
 */
public record DataRecord(String id, long version, Instant createdAt, Instant updatedAt, JsonNode data) {

    static DataRecord from(JsonNode json) {
        return new DataRecord(
                json.path("id").asText(),
                json.path("version").asLong(),
                Instant.parse(json.path("createdAt").asText()),
                Instant.parse(json.path("updatedAt").asText()),
                json.get("data"));
    }
}
