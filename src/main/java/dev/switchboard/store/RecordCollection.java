package dev.switchboard.store;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.ValidationMessage;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * A named set of records. {@code schema} (optional JSON Schema, draft 2020-12) is what every write's
 * data must satisfy; {@code eventFields} are the record fields copied into its thin events.
 */
@JsonPropertyOrder({"name", "schema", "eventFields", "source", "createdAt", "updatedAt"})
public record RecordCollection(
        @JsonIgnore int pk,
        String name,
        JsonNode schema,
        List<String> eventFields,
        String source,
        Instant createdAt,
        Instant updatedAt,
        @JsonIgnore JsonSchema validator) {
    public RecordCollection {
        eventFields = List.copyOf(eventFields);
    }

    /** Schema violations of {@code data}, empty when it is valid (or there is no schema). */
    public List<Violation> violations(JsonNode data) {
        if (validator == null) {
            return List.of();
        }
        Set<ValidationMessage> messages;
        try {
            messages = validator.validate(data);
        } catch (StackOverflowError loop) {
            // A $ref loop the check at creation could not reach with an empty object (one under a property,
            // say): the write is refused as data the schema cannot accept, not answered 500.
            return List.of(new Violation(
                    "data",
                    "cannot be checked: the schema of collection '" + name
                            + "' refers to itself without end (a $ref loop) for this data"));
        }
        return messages.stream()
                .map(RecordCollection::violation)
                .sorted(java.util.Comparator.comparing(Violation::path))
                .toList();
    }

    public record Violation(String path, String message) {}

    private static Violation violation(ValidationMessage m) {
        String location = m.getInstanceLocation().toString(); // "$" or "$.state"
        String message = m.getMessage();
        if (message.startsWith(location + ": ")) {
            message = message.substring(location.length() + 2); // the path is reported on its own
        }
        return new Violation("data" + location.substring(1), message);
    }
}
