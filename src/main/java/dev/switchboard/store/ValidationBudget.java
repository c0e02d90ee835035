package dev.switchboard.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonNodePath;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonValidator;
import com.networknt.schema.Keyword;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.ValidationContext;
import com.networknt.schema.i18n.DefaultMessageSource;
import com.networknt.schema.i18n.MessageSource;
import java.time.Duration;
import java.util.Locale;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The time one record's data may take to check against its collection's schema. A schema is the
 * operator's, the data a partner's: a {@code pattern} that backtracks ({@code ^(a+)+$}, or the plainer
 * {@code ^(\w+\s?)*$}) took a partner's 60 KB value 50 s to match, and alternatives that all fail deep
 * down ({@code anyOf} of two arrays of itself) took a 138-byte value to an exhausted heap; either held
 * one of the few threads that run every request. The budget is checked where such work grows: as
 * patterns read their input, as the library makes validators and as it reports each failure; past it the
 * check ends with {@link Exceeded}, and the write is refused.
 */
final class ValidationBudget {
    /** Far above what any schema takes for data within the body limit, far below a stall anyone would accept. */
    static final Duration LIMIT = Duration.ofSeconds(1);

    private static final ThreadLocal<long[]> DEADLINE = new ThreadLocal<>();

    private ValidationBudget() {}

    /** The validator settings that keep to the budget. */
    static SchemaValidatorsConfig config() {
        // From the library's defaults (how it reports paths, among others), as getSchema without a config uses.
        return SchemaValidatorsConfig.builder(new SchemaValidatorsConfig())
                .regularExpressionFactory(ValidationBudget::pattern)
                .messageSource(new Checked(DefaultMessageSource.getInstance()))
                .build();
    }

    /** Runs one validation within the budget; throws {@link Exceeded} past it. */
    static <T> T within(Supplier<T> validation) {
        DEADLINE.set(new long[] {System.nanoTime() + LIMIT.toNanos()});
        try {
            return validation.get();
        } finally {
            DEADLINE.remove();
        }
    }

    private static void check() {
        long[] deadline = DEADLINE.get();
        if (deadline != null && System.nanoTime() - deadline[0] > 0) {
            throw new Exceeded();
        }
    }

    /**
     * What the default factory makes (java.util.regex, found anywhere in the value), reading through the
     * budget, from the pattern read as the ECMA-262 expression JSON Schema says it is.
     */
    private static com.networknt.schema.regex.RegularExpression pattern(String regex) {
        Pattern pattern = Pattern.compile(EcmaPatterns.toJava(regex));
        return value -> pattern.matcher(new Budgeted(value)).find();
    }

    /**
     * {@code keyword}, checking the budget as it makes each validator: the library makes the validators
     * of a {@code $ref}'s schema for each place it is reached from, so alternatives that recurse make
     * new ones at every level. The format keyword stays as it is (the library refuses to have it replaced).
     */
    static Keyword keyword(Keyword keyword) {
        if (keyword.getValue().equals("format") || keyword instanceof Checking) {
            return keyword;
        }
        return new Checking(keyword);
    }

    private record Checking(Keyword keyword) implements Keyword {
        @Override
        public String getValue() {
            return keyword.getValue();
        }

        @Override
        public JsonValidator newValidator(
                SchemaLocation schemaLocation,
                JsonNodePath evaluationPath,
                JsonNode schemaNode,
                JsonSchema parentSchema,
                ValidationContext validationContext)
                throws Exception {
            check();
            return keyword.newValidator(schemaLocation, evaluationPath, schemaNode, parentSchema, validationContext);
        }
    }

    /**
     * The budget ran out. An {@link Error}, not an exception: the library catches and logs, as an error,
     * every exception a pattern throws, and a partner's writes would fill the log with them.
     */
    static final class Exceeded extends Error {
        Exceeded() {
            super("the schema check took longer than " + LIMIT.toMillis() + " ms", null, false, false);
        }
    }

    /** Text a pattern reads, checking the budget every few thousand characters read. */
    private record Budgeted(String text, int[] reads) implements CharSequence {
        Budgeted(String text) {
            this(text, new int[1]);
        }

        @Override
        public char charAt(int index) {
            if ((++reads[0] & 0xFFF) == 0) {
                check();
            }
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new Budgeted(text.substring(start, end), reads);
        }

        @Override
        public String toString() {
            return text;
        }
    }

    /** The library's messages, checking the budget as each failure is reported. */
    private record Checked(MessageSource messages) implements MessageSource {
        @Override
        public String getMessage(String key, Supplier<String> defaultMessage, Locale locale, Object... arguments) {
            check();
            return messages.getMessage(key, defaultMessage, locale, arguments);
        }
    }
}
