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
import dev.switchboard.support.Refusal;
import java.time.Duration;
import java.util.Collection;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The time one record's data may take to check against its collection's schema, and one schema to
 * compile. A schema is the operator's, the data a partner's: a {@code pattern} that backtracks ({@code
 * ^(a+)+$}, or the plainer {@code ^(\w+\s?)*$}) took a partner's 60 KB value 50 s to match, alternatives
 * that all fail deep down ({@code anyOf} of two arrays of itself) took a 138-byte value to an exhausted
 * heap, and a thousand {@code patternProperties} took 15 s over an object of 60,000 short keys. A schema
 * whose references branch at every level ({@code anyOf} of two references to the next level, 19 deep:
 * 1.4 KB) made 2.5 million validators as it compiled, a gigabyte of heap kept for as long as the
 * collection. The budget is checked where such work grows: at every match of a pattern and as it reads
 * its input, as the library makes validators (at most {@link #MAX_VALIDATORS}) and as it reports each
 * failure; past it the work ends with {@link Exceeded}, and the write (or the schema) is refused.
 *
 * <p>A check of a partner's data runs on platform threads of its own ({@link #within}); a schema's
 * compilation, the operator's, on the caller ({@link #compiling}). A virtual thread is never taken off
 * its carrier while it computes, so two writes matching a slow pattern at once held both of this
 * machine's carriers for a second each, and every other request (health checks included) waited. On
 * platform threads the operating system shares the cores out between them and the requests.
 */
final class ValidationBudget {
    /** Far above what any schema takes for data within the body limit, far below a stall anyone would accept. */
    static final Duration LIMIT = Duration.ofSeconds(1);
    /**
     * The most validators one compilation or check may make. A schema of a thousand properties, each with
     * its own keywords and references, makes a few thousand.
     */
    static final int MAX_VALIDATORS = 50_000;
    /**
     * A schema's compilation, bounded by {@link #MAX_VALIDATORS} first: generous in time, since a stored
     * schema that misses it at a node's start (a cold JVM, a busy machine) refuses every record.
     */
    static final Duration COMPILE_LIMIT = Duration.ofSeconds(10);

    /** The deadline ({@link System#nanoTime}) and the validators made so far, while a piece of work runs. */
    private static final class Budget {
        final long deadline;
        final Duration limit;
        int validators;

        Budget(long deadline, Duration limit) {
            this.deadline = deadline;
            this.limit = limit;
        }
    }

    private static final ThreadLocal<Budget> BUDGET = new ThreadLocal<>();
    /** How long past its deadline a piece of work is waited for before its caller is answered without it. */
    private static final Duration GRACE = Duration.ofMillis(500);
    /**
     * How long a check waits for a free thread before its request is answered 503 (retry): while other
     * writes' slow checks hold every thread, a write says nothing about its own data.
     */
    static final Duration TURN = Duration.ofSeconds(1);

    private static final ExecutorService CHECKS = Executors.newFixedThreadPool(
            4 * Runtime.getRuntime().availableProcessors(),
            Thread.ofPlatform().name("schema-check-", 0).daemon().factory());

    private ValidationBudget() {}

    /** The validator settings that keep to the budget. */
    static SchemaValidatorsConfig config() {
        // From the library's defaults (how it reports paths, among others), as getSchema without a config uses.
        return SchemaValidatorsConfig.builder(new SchemaValidatorsConfig())
                .regularExpressionFactory(ValidationBudget::pattern)
                .messageSource(new Checked(DefaultMessageSource.getInstance()))
                .build();
    }

    /**
     * A schema's compilation (and its check of an empty record), within {@link #COMPILE_LIMIT} and {@link
     * #MAX_VALIDATORS}, on the calling thread: it is the operator's work, not a partner's, and a reload that
     * waited behind partners' slow checks for a thread would be refused and leave its collection refusing
     * every record.
     */
    static <T> T compiling(Supplier<T> work) {
        BUDGET.set(new Budget(System.nanoTime() + COMPILE_LIMIT.toNanos(), COMPILE_LIMIT));
        try {
            return work.get();
        } finally {
            BUDGET.remove();
        }
    }

    /**
     * Checks a partner's data within the budget, on a thread of its own, and waits for it; throws {@link
     * Exceeded} past {@link #LIMIT}, counted from when the check starts, and 503 {@code server_busy} when
     * no thread was free for {@link #TURN}. Errors it throws (a {@link StackOverflowError}) are thrown here
     * as they are.
     */
    static <T> T within(Supplier<T> work) {
        long submitted = System.nanoTime();
        AtomicBoolean started = new AtomicBoolean();
        Future<T> running = CHECKS.submit(() -> {
            long now = System.nanoTime();
            if (now - submitted > TURN.toNanos()) {
                throw busy();
            }
            started.set(true);
            BUDGET.set(new Budget(now + LIMIT.toNanos(), LIMIT));
            try {
                return work.get();
            } finally {
                BUDGET.remove();
            }
        });
        try {
            // Past the deadline with some time to spare: work the checks cannot reach (a step inside the
            // library that never makes a validator nor matches) is left to finish on its own, unanswered.
            return running.get(TURN.plus(LIMIT).plus(GRACE).toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            running.cancel(true);
            if (!started.get()) {
                throw busy();
            }
            throw new Exceeded("took longer than " + LIMIT.toMillis() + " ms");
        } catch (ExecutionException e) {
            switch (e.getCause()) {
                case RuntimeException unchecked -> throw unchecked;
                case Error error -> throw error;
                default -> throw new IllegalStateException(e.getCause());
            }
        } catch (InterruptedException e) {
            running.cancel(true);
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while checking against a schema", e);
        }
    }

    private static Refusal busy() {
        return new Refusal.Busy(
                "server_busy",
                "the server is checking as many writes against their schemas as it has threads for; retry shortly",
                1);
    }

    private static void check() {
        Budget budget = BUDGET.get();
        if (budget != null && System.nanoTime() - budget.deadline > 0) {
            throw new Exceeded("took longer than " + budget.limit.toMillis() + " ms");
        }
    }

    private static void made() {
        Budget budget = BUDGET.get();
        if (budget != null && ++budget.validators > MAX_VALIDATORS) {
            throw new Exceeded("made more than " + MAX_VALIDATORS + " validators");
        }
        check();
    }

    /**
     * The longest regular expression compiled: a schema's {@code pattern}, or a value checked against
     * {@code "format": "regex"} (drafts 07 and earlier), which is a partner's. 10,000 characters compile
     * in a few milliseconds.
     */
    static final int MAX_PATTERN = 10_000;

    /**
     * What the default factory makes (java.util.regex, found anywhere in the value), reading through the
     * budget, from the pattern read as the ECMA-262 expression JSON Schema says it is.
     */
    private static com.networknt.schema.regex.RegularExpression pattern(String regex) {
        if (regex.length() > MAX_PATTERN) {
            // Compiling is not checked against the budget (it cannot be stopped), and its time grows faster
            // than the length: a partner's 200,000-character value for "format": "regex" took 16 s.
            throw new PatternSyntaxException(
                    "longer than " + MAX_PATTERN + " characters", regex.substring(0, 40) + "…", -1);
        }
        Pattern pattern;
        try {
            pattern = Pattern.compile(EcmaPatterns.toJava(regex));
        } catch (PatternSyntaxException e) {
            // Named as the schema writes it, not as rewritten for Java.
            throw new PatternSyntaxException(e.getDescription(), regex, -1);
        }
        return value -> {
            check(); // a match of a short value reads too little to reach the check in Budgeted
            return pattern.matcher(new Budgeted(value)).find();
        };
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
            made();
            return keyword.newValidator(schemaLocation, evaluationPath, schemaNode, parentSchema, validationContext);
        }
    }

    /**
     * The budget ran out. An {@link Error}, not an exception: the library catches and logs, as an error,
     * every exception a pattern throws, and a partner's writes would fill the log with them.
     */
    static final class Exceeded extends Error {
        Exceeded(String what) {
            super(what, null, false, false);
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

    /** The longest value a message quotes in full: an {@code enum} of 100,000 values was quoted whole, 1.4 MB. */
    static final int QUOTED = 200;

    /** The library's messages, checking the budget as each failure is reported, quoting long values cut short. */
    private record Checked(MessageSource messages) implements MessageSource {
        @Override
        public String getMessage(String key, Supplier<String> defaultMessage, Locale locale, Object... arguments) {
            check();
            Object[] quoted = arguments.clone();
            for (int i = 0; i < quoted.length; i++) {
                if (quoted[i] instanceof String || quoted[i] instanceof JsonNode || quoted[i] instanceof Collection) {
                    String text = String.valueOf(quoted[i]);
                    if (text.length() > QUOTED) {
                        quoted[i] = text.substring(0, QUOTED) + "…";
                    }
                }
            }
            return messages.getMessage(key, defaultMessage, locale, quoted);
        }
    }
}
