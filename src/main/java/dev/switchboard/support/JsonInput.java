package dev.switchboard.support;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.Iterator;
import java.util.Map;

/**
 * Checks client JSON for what PostgreSQL's jsonb cannot store, so such input gets a 400 naming the
 * field instead of failing in the database: the NUL character, unpaired UTF-16 surrogates, and
 * numbers outside the range of PostgreSQL's numeric type.
 */
public final class JsonInput {
    private static final int MAX_EXPONENT = 1000;

    private JsonInput() {}

    public static void check(JsonNode node, String path) {
        if (node.isTextual()) {
            checkText(node.textValue(), path);
        } else if (node.isBigDecimal() || node.isBigInteger()) {
            BigDecimal value = node.decimalValue();
            int exponent = value.precision() - value.scale();
            if (value.signum() != 0 && (exponent > MAX_EXPONENT || exponent < -MAX_EXPONENT)) {
                throw Problem.invalidField(path, "number is out of range");
            }
        } else if (node.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> field = fields.next();
                String child = path.isEmpty() ? field.getKey() : path + "." + field.getKey();
                checkText(field.getKey(), child);
                check(field.getValue(), child);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                check(node.get(i), path + "[" + i + "]");
            }
        }
    }

    public static void checkText(String text, String path) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == 0) {
                throw Problem.invalidField(path, "text must not contain the NUL character (\\u0000)");
            }
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                    continue;
                }
                throw Problem.invalidField(path, "text contains an unpaired UTF-16 surrogate");
            }
            if (Character.isLowSurrogate(c)) {
                throw Problem.invalidField(path, "text contains an unpaired UTF-16 surrogate");
            }
        }
    }
}
