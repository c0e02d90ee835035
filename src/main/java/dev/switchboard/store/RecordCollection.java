package dev.switchboard.store;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonNodePath;
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

    RecordCollection withValidator(JsonSchema compiled) {
        return new RecordCollection(pk, name, schema, eventFields, source, createdAt, updatedAt, compiled);
    }

    /** The most violations a refused write lists. */
    public static final int LISTED_VIOLATIONS = 20;
    /** Data with more values than this is checked only up to its first violation. */
    static final int FULLY_CHECKED_VALUES = 10_000;

    /**
     * Schema violations of {@code data}: none when it is valid (or there is no schema), else the first
     * {@value #LISTED_VIOLATIONS} by path and how many were found. Each violation found costs time and
     * memory (a 1 MiB array of half a million wrong items made as many, 300 MB of them), so the check
     * stops at the first one, and only data of at most {@value #FULLY_CHECKED_VALUES} values is checked
     * again for all of them.
     */
    public Violations violations(JsonNode data) {
        if (validator == null) {
            return Violations.NONE;
        }
        if (schema.isBoolean() && !schema.booleanValue()) {
            // The library's own words for it name no collection: "schema for 'null' is false".
            return new Violations(
                    List.of(Violation.ofData("the schema of collection '" + name + "' is false: it accepts no record")),
                    1);
        }
        try {
            return ValidationBudget.within(() -> {
                Set<ValidationMessage> first = validator.validate(data, context -> context.setFailFast(true));
                if (first.isEmpty()) {
                    return Violations.NONE;
                }
                if (!fewValues(data)) {
                    return new Violations(List.of(violation(first.iterator().next())), 1);
                }
                List<Violation> all = validator.validate(data).stream()
                        .map(RecordCollection::violation)
                        .sorted(java.util.Comparator.comparing(Violation::path))
                        .toList();
                return new Violations(all.subList(0, Math.min(all.size(), LISTED_VIOLATIONS)), all.size());
            });
        } catch (ValidationBudget.Exceeded slow) {
            return new Violations(
                    List.of(Violation.ofData(
                            "cannot be checked: checking it against the schema of collection '" + name + "' "
                                    + slow.getMessage() + " (a pattern that backtracks on a value like this, many"
                                    + " patterns over many values, or alternatives that fail deep down)")),
                    1);
        } catch (StackOverflowError tooDeep) {
            // A $ref loop the check at creation could not reach with an empty object (one under a property,
            // say), or a pattern whose regular expression recurses once per character of a long value: the
            // write is refused as data the schema cannot accept, not answered 500.
            return new Violations(
                    List.of(Violation.ofData(
                            "cannot be checked: the schema of collection '" + name + "' goes too deep for this data"
                                    + " (a $ref that refers to itself without end, or a regular expression, a"
                                    + " pattern's or a format's, too complex for a value this long)")),
                    1);
        }
    }

    private static boolean fewValues(JsonNode data) {
        java.util.ArrayDeque<JsonNode> left = new java.util.ArrayDeque<>(List.of(data));
        int seen = 0;
        while (!left.isEmpty()) {
            if (++seen > FULLY_CHECKED_VALUES) {
                return false;
            }
            left.pop().forEach(left::push); // an object's values, an array's items
        }
        return true;
    }

    /** The first violations by path ({@code listed}), and how many were found in all. */
    public record Violations(List<Violation> listed, int found) {
        static final Violations NONE = new Violations(List.of(), 0);
    }

    /**
     * One violation: its {@code path} as shown ({@code data.a.b}, {@code data.a[0]}), and the names and indexes
     * it walks ({@code at}), which the path cannot give back when a key holds a dot or a bracket.
     */
    public record Violation(
            String path, String message, @JsonIgnore List<Object> at) {
        static Violation ofData(String message) {
            return new Violation("data", message, List.of());
        }
    }

    private static Violation violation(ValidationMessage m) {
        JsonNodePath instance = m.getInstanceLocation();
        String location = instance.toString(); // "$" or "$.state"
        String message = m.getMessage();
        if (message.startsWith(location + ": ")) {
            message = message.substring(location.length() + 2); // the path is reported on its own
        }
        List<Object> at = new java.util.ArrayList<>(instance.getNameCount());
        for (int i = 0; i < instance.getNameCount(); i++) {
            at.add(instance.getElement(i));
        }
        return new Violation("data" + location.substring(1), message, List.copyOf(at));
    }
}
