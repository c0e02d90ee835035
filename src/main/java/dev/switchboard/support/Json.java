package dev.switchboard.support;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The one Jackson configuration: strict on input (one document, no duplicate keys), ISO-8601 times on output. */
public final class Json {
    /** Deeper documents are refused: nobody's record needs it, and deep recursion is a cheap attack. */
    public static final int MAX_NESTING_DEPTH = 64;
    /** Longer numbers are refused; {@link JsonInput} holds stored numbers to it written out in full, as jsonb gives them back. */
    public static final int MAX_NUMBER_LENGTH = 100;
    /** Longer keys are refused (Jackson's default, named here so that the refusal can say it). */
    public static final int MAX_NAME_LENGTH = 50_000;

    public static final ObjectMapper MAPPER = mapper(MAX_NESTING_DEPTH);

    private Json() {}

    /**
     * {@link #MAPPER} for a document that wraps another in {@code levels} more objects (a WebSocket
     * request's message around its params, which stand where an HTTP request's body does): the wrapped
     * document may nest as deep as a body.
     */
    public static ObjectMapper wrapping(int levels) {
        return mapper(MAX_NESTING_DEPTH + levels);
    }

    private static ObjectMapper mapper(int maxNestingDepth) {
        return JsonMapper.builder(JsonFactory.builder()
                        .streamReadConstraints(StreamReadConstraints.builder()
                                .maxNestingDepth(maxNestingDepth)
                                .maxNumberLength(MAX_NUMBER_LENGTH)
                                .maxNameLength(MAX_NAME_LENGTH)
                                .build())
                        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                        // As PostgreSQL's jsonb gives numbers back: 1e99 as its 100 digits. Sizes measured on
                        // this output are then what is stored and sent (1e99 is 5 bytes, its digits 100).
                        .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
                        .build())
                .addModule(new JavaTimeModule())
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                .disable(JsonParser.Feature.ALLOW_COMMENTS)
                .serializationInclusion(JsonInclude.Include.ALWAYS)
                .build();
    }

    /**
     * A body's bytes as UTF-8 text, strictly: parsed from bytes, Jackson would also take UTF-16 and UTF-32
     * (it guesses from the first bytes), which proxies and filters that read JSON as UTF-8 see as other
     * bytes. A leading byte order mark is dropped. Refused (400, naming {@code what}) when not UTF-8.
     */
    public static String utf8(byte[] bytes, String what) {
        for (byte b : bytes) {
            // Never in JSON text (a control character must be escaped); every other character of UTF-16 or
            // UTF-32 text holds one, where it decodes as valid UTF-8.
            if (b == 0) {
                throw new Refusal.Invalid(
                        "invalid_json", what + " holds a NUL byte: it is not UTF-8 JSON (UTF-16 or UTF-32?)");
            }
        }
        String text = Utf8.decode(bytes)
                .orElseThrow(() -> new Refusal.Invalid("invalid_json", what + " is not UTF-8 (send JSON as UTF-8)"));
        return text.startsWith("\uFEFF") ? text.substring(1) : text;
    }

    /**
     * What a parse failure tells the client: the fault and where, in words, without the parser's class
     * and feature names (which Jackson's messages carry: "bound as `com.fasterxml…JsonNode`").
     */
    public static String describe(JsonProcessingException e) {
        String message = e.getOriginalMessage();
        if (e instanceof StreamConstraintsException) {
            if (message.contains("nesting depth")) {
                return "nested more than " + MAX_NESTING_DEPTH + " levels deep";
            }
            if (message.contains("Number value length")) {
                return "a number is longer than " + MAX_NUMBER_LENGTH + " characters";
            }
            if (message.contains("Name length")) {
                // Jackson's figure is how far it had read, not the key's length.
                return "a key is longer than " + MAX_NAME_LENGTH + " characters";
            }
        }
        if (message.startsWith("Trailing token")) {
            return "more follows the JSON value (send one object)";
        }
        return message.replaceAll(" ?\\((bound as|from) `[^`]*`\\)", "")
                .replaceAll(":? ?not allowed as per `[^`]*`", "")
                .replaceAll("[:;]? ?enable `[^`]*` to allow", "")
                .replaceAll(" ?\\([^()]*Feature '[^']*'[^()]*\\)", "")
                // "(start marker at [Source: REDACTED (`StreamReadFeature…` disabled); line: 1, column: 1])"
                .replaceAll("\\[Source: [^\\[\\]]*?\\); ", "[");
    }

    /**
     * Whether two trees hold the same data, numbers compared by value (a patch's {@code 1.0} or {@code 1e0}
     * is the {@code 1} stored, as the README promises numbers are kept as values, not spellings).
     */
    public static boolean sameValue(JsonNode a, JsonNode b) {
        return a.equals(
                (x, y) -> x.isNumber() && y.isNumber()
                        ? x.decimalValue().compareTo(y.decimalValue())
                        : x.equals(y) ? 0 : 1,
                b);
    }

    /**
     * A JSON tree written with every object's keys in sorted order: the same data whatever order a client's map
     * gave its keys (an idempotency key's fingerprint).
     */
    public static String writeSorted(JsonNode value) {
        try {
            return SORTED.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final com.fasterxml.jackson.databind.ObjectWriter SORTED =
            MAPPER.writer().with(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.WRITE_PROPERTIES_SORTED);

    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A client's JSON text read with {@code mapper}. A number whose exponent {@code BigDecimal} cannot hold
     * ({@code 1e99999999999}: more than about nine digits of exponent) fails the parse as malformed text
     * does: Jackson lets its {@code NumberFormatException} through, which answered 500 with a stack trace in
     * the log (and closed a socket with 1011, naming Jackson's classes).
     */
    public static JsonNode readTree(ObjectMapper mapper, String text) throws JsonProcessingException {
        try {
            return mapper.readTree(text);
        } catch (NumberFormatException e) {
            throw new JsonParseException(null, "a number's exponent is too large to be read");
        }
    }

    public static JsonNode read(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
