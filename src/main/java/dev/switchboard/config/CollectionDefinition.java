package dev.switchboard.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/** A collection as declared in configuration or through the admin API. */
public record CollectionDefinition(String name, JsonNode schema, List<String> eventFields) {
    public CollectionDefinition {
        eventFields = List.copyOf(eventFields);
    }
}
