package dev.switchboard.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.BaseJsonValidator;
import com.networknt.schema.ExecutionContext;
import com.networknt.schema.JsonMetaSchema;
import com.networknt.schema.JsonNodePath;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonValidator;
import com.networknt.schema.Keyword;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.ValidationContext;
import com.networknt.schema.ValidationMessage;
import com.networknt.schema.ValidatorTypeCode;
import com.networknt.schema.Vocabularies;
import com.networknt.schema.Vocabulary;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * JSON Schema's {@code uniqueItems}, in time that grows with the array however its items look. The
 * schema library puts the items themselves in a hash set, and a string item hashes as its text: a
 * partner's array of 31,000 distinct strings of one hash code (a 1 MiB body) cost 12.7 s of CPU to
 * check, one comparison with every item before it. Each item here becomes a canonical text (object
 * keys sorted, numbers by value, so {@code 1} and {@code 1.0} are one number as the specification
 * says), and a set of strings keeps a bucket of equal hash codes as a sorted tree.
 */
final class UniqueItems implements Keyword {
    private static final UniqueItems KEYWORD = new UniqueItems();

    /**
     * {@code draft} checking uniqueItems this way, and making every keyword's validators within the
     * {@link ValidationBudget}: drafts 2019-09 and 2020-12 take their keywords from vocabularies (which
     * would put the library's back), the older ones from the keyword list.
     */
    static JsonMetaSchema in(JsonMetaSchema draft) {
        return JsonMetaSchema.builder(draft)
                .vocabularyFactory(iri -> {
                    Vocabulary vocabulary = Vocabularies.getVocabulary(iri);
                    if (vocabulary == null) {
                        return null;
                    }
                    Keyword[] keywords = vocabulary.getKeywords().stream()
                            .map(UniqueItems::ours)
                            .toArray(Keyword[]::new);
                    return new Vocabulary(iri, keywords);
                })
                .keywords(keywords -> keywords.replaceAll((name, keyword) -> ours(keyword)))
                .keyword(ValidationBudget.keyword(KEYWORD))
                .build();
    }

    private static Keyword ours(Keyword keyword) {
        return ValidationBudget.keyword(keyword.getValue().equals(KEYWORD.getValue()) ? KEYWORD : keyword);
    }

    @Override
    public String getValue() {
        return "uniqueItems";
    }

    @Override
    public JsonValidator newValidator(
            SchemaLocation schemaLocation,
            JsonNodePath evaluationPath,
            JsonNode schemaNode,
            JsonSchema parentSchema,
            ValidationContext validationContext) {
        return new Validator(schemaLocation, evaluationPath, schemaNode, parentSchema, validationContext);
    }

    private static final class Validator extends BaseJsonValidator {
        private final boolean unique;

        Validator(
                SchemaLocation schemaLocation,
                JsonNodePath evaluationPath,
                JsonNode schemaNode,
                JsonSchema parentSchema,
                ValidationContext validationContext) {
            super(
                    schemaLocation,
                    evaluationPath,
                    schemaNode,
                    parentSchema,
                    ValidatorTypeCode.UNIQUE_ITEMS,
                    validationContext);
            this.unique = schemaNode.isBoolean() && schemaNode.booleanValue();
        }

        @Override
        public Set<ValidationMessage> validate(
                ExecutionContext context, JsonNode node, JsonNode rootNode, JsonNodePath instanceLocation) {
            if (!unique || !node.isArray()) {
                return Set.of();
            }
            Set<String> seen = new HashSet<>();
            for (JsonNode item : node) {
                if (!seen.add(canonical(item))) {
                    return Set.of(message()
                            .instanceNode(node)
                            .instanceLocation(instanceLocation)
                            .locale(context.getExecutionConfig().getLocale())
                            .failFast(context.isFailFast())
                            .build());
                }
            }
            return Set.of();
        }
    }

    /** A text equal for two values exactly when JSON Schema calls them equal. */
    static String canonical(JsonNode value) {
        StringBuilder out = new StringBuilder();
        append(out, value);
        return out.toString();
    }

    private static void append(StringBuilder out, JsonNode value) {
        switch (value.getNodeType()) {
            case OBJECT -> {
                List<Map.Entry<String, JsonNode>> fields = new ArrayList<>(value.properties());
                fields.sort(Map.Entry.comparingByKey());
                out.append('{');
                for (Map.Entry<String, JsonNode> field : fields) {
                    appendText(out, field.getKey());
                    out.append(':');
                    append(out, field.getValue());
                    out.append(',');
                }
                out.append('}');
            }
            case ARRAY -> {
                out.append('[');
                for (JsonNode item : value) {
                    append(out, item);
                    out.append(',');
                }
                out.append(']');
            }
            // Scientific notation, never the plain digits: 1e999999 stays a few characters.
            case NUMBER -> out.append(value.decimalValue().stripTrailingZeros());
            case STRING -> appendText(out, value.textValue());
            default -> out.append(value.asText()); // true, false, null
        }
    }

    /** A string's text with its length first, so no text can be read as the end of another. */
    private static void appendText(StringBuilder out, String text) {
        out.append('"').append(text.length()).append(':').append(text);
    }
}
