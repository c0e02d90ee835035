package dev.switchboard.support;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.Iterator;
import java.util.Map;

/**
 * Checks client JSON for what PostgreSQL's jsonb cannot store, so such input gets a 400 naming the
 * field instead of failing in the database: the NUL character, unpaired UTF-16 surrogates, and
 * numbers that could not be read back. jsonb keeps numbers as {@code numeric} and writes them out in
 * full ({@code 1e300} comes back as 1 and 300 zeros), so a number is refused when its full form is
 * longer than {@link Json#MAX_NUMBER_LENGTH}, the most the server parses: stored, it would make its
 * record unreadable to every later change.
 */
public final class JsonInput {

    private JsonInput() {}

    public static void check(JsonNode node, String path) {
        check(node, new Where(null, path, -1));
    }

    private static void check(JsonNode node, Where where) {
        if (node.isTextual()) {
            String problem = problem(node.textValue());
            if (problem != null) {
                throw new Refusal.InvalidField(where.toString(), problem);
            }
        } else if (node.isBigDecimal() || node.isBigInteger()) {
            if (writtenOutLength(node.decimalValue()) > Json.MAX_NUMBER_LENGTH) {
                throw new Refusal.InvalidField(
                        where.toString(),
                        "number has more than " + Json.MAX_NUMBER_LENGTH + " characters written out in full");
            }
        } else if (node.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> field = fields.next();
                Where child = new Where(where, field.getKey(), -1);
                String problem = problem(field.getKey());
                if (problem != null) {
                    throw new Refusal.InvalidField(child.toString(), problem);
                }
                check(field.getValue(), child);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                check(node.get(i), new Where(where, null, i));
            }
        }
    }

    /**
     * Where a value is, written out only for a refusal: a path built as text for every value copied it
     * once per value, and long keys nested deep made one body of a megabyte cost seconds of CPU.
     */
    private record Where(Where parent, String key, int index) {
        @Override
        public String toString() {
            java.util.ArrayDeque<Where> chain = new java.util.ArrayDeque<>();
            for (Where w = this; w != null; w = w.parent) {
                chain.push(w);
            }
            StringBuilder path = new StringBuilder();
            for (Where w : chain) {
                if (w.parent == null) {
                    path.append(w.key);
                } else if (w.key != null) {
                    path.append(path.isEmpty() ? "" : ".").append(w.key);
                } else {
                    path.append('[').append(w.index).append(']');
                }
            }
            return path.toString();
        }
    }

    /** The length of {@code value.toPlainString()}, without building it (1e999999999 would be a gigabyte). */
    static long writtenOutLength(BigDecimal value) {
        long integerDigits = Math.max(1, (long) value.precision() - value.scale());
        long fractionDigits = Math.max(0, value.scale());
        return integerDigits + (fractionDigits > 0 ? fractionDigits + 1 : 0) + (value.signum() < 0 ? 1 : 0);
    }

    public static void checkText(String text, String path) {
        String problem = problem(text);
        if (problem != null) {
            throw new Refusal.InvalidField(path, problem);
        }
    }

    /** True when {@link #checkText} accepts the text: no NUL, no unpaired UTF-16 surrogate. */
    public static boolean isWellFormed(String text) {
        return problem(text) == null;
    }

    private static String problem(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == 0) {
                return "text must not contain the NUL character (\\u0000)";
            }
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                    continue;
                }
                return "text contains an unpaired UTF-16 surrogate";
            }
            if (Character.isLowSurrogate(c)) {
                return "text contains an unpaired UTF-16 surrogate";
            }
        }
        return null;
    }
}
