package dev.switchboard.config;

import java.util.function.Function;
import java.util.function.Predicate;

/**
 * One setting, described once: its path in the YAML file, its environment variable, its default as
 * the bundled defaults file writes it, how its text becomes a value, what that value must satisfy,
 * and one line saying what it does (the comment beside it in the defaults file). {@link SettingTable}
 * lists every setting; the loader reads through it and tests hold the defaults file and the README's
 * table to it.
 *
 * @param secret a key: its value is never repeated in an error message
 */
record Setting<T>(
        String path,
        String variable,
        String defaultValue,
        Function<String, T> parser,
        Check<? super T> check,
        String doc,
        boolean secret) {

    public Setting(
            String path,
            String variable,
            String defaultValue,
            Function<String, T> parser,
            Check<? super T> check,
            String doc) {
        this(path, variable, defaultValue, parser, check, doc, false);
    }

    /** What a parsed value must satisfy, and what the error says when it does not. */
    public record Check<T>(Predicate<T> test, String expectation) {
        public static final Check<Object> NONE = new Check<>(value -> true, "");
    }

    /** The same setting, its value kept out of error messages: a key. */
    public Setting<T> asSecret() {
        return new Setting<>(path, variable, defaultValue, parser, check, doc, true);
    }

    /** Whether the setting is a list (comma-separated, or a YAML list). */
    public boolean takesList() {
        return parser instanceof Parsers.ListParser;
    }

    /** How errors name the setting, so an operator finds it whichever way they set it. */
    public String name() {
        return variable + " (" + path + ")";
    }

    /** The value of this text, parsed and checked. */
    public T read(String text) {
        T value;
        try {
            value = parser.apply(text);
        } catch (RuntimeException e) {
            String why = e instanceof NumberFormatException ? "'" + text + "' is not a whole number" : e.getMessage();
            throw new ConfigException(name() + ": " + why);
        }
        if (!check.test().test(value)) {
            throw refused(text, check.expectation());
        }
        return value;
    }

    /** The error for a value this setting was given but cannot take, for checks that involve other settings too. */
    public ConfigException refused(String text, String expectation) {
        return new ConfigException(name() + ": " + expectation + " (got '" + (secret ? "<hidden>" : text) + "')");
    }
}
