package dev.switchboard.config;

import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** How a setting's text becomes its value. Each throws with a message saying what it expected. */
final class Parsers {
    private static final Pattern WHOLE_NUMBER = Pattern.compile("-?[0-9]+");
    private static final Pattern SIZE = Pattern.compile("(\\d{1,12})\\s*(B|KiB|MiB|GiB)?");

    private Parsers() {}

    static int wholeNumber(String text) {
        try {
            // Spaces around it are dropped, as around a duration or a size (" 200" from a quoted variable).
            String digits = text.trim();
            // ASCII digits only: Integer.parseInt also takes a leading + and other scripts' digits.
            if (!WHOLE_NUMBER.matcher(digits).matches()) {
                throw new NumberFormatException();
            }
            return Integer.parseInt(digits);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a whole number");
        }
    }

    static String trimmed(String text) {
        return text.trim();
    }

    static boolean bool(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("'" + text + "' is not true or false");
        };
    }

    /** Bytes, written {@code 512}, {@code 512KiB}, {@code 1MiB}, {@code 1GiB}. */
    static long size(String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size (write e.g. 512KiB, 1MiB)");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2);
        long bytes = switch (unit) {
            case "KiB" -> 1L << 10;
            case "MiB" -> 1L << 20;
            case "GiB" -> 1L << 30;
            default -> 1;
        };
        try {
            return Math.multiplyExact(n, bytes);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("'" + text + "' is larger than any size a setting takes");
        }
    }

    /**
     * Comma-separated values ({@code 1m,5m}); empty means none, and an empty item (a stray comma) is
     * refused by the item's parser. A list in the YAML file arrives here joined with commas, so both ways
     * of writing it read the same.
     */
    static <T> ListParser<T> list(Function<String, T> parser) {
        return new ListParser<>(parser);
    }

    /** The parser of a list setting, so the loader knows which settings a YAML list may give. */
    record ListParser<T>(Function<String, T> item) implements Function<String, List<T>> {
        @Override
        public List<T> apply(String text) {
            List<T> all = new ArrayList<>();
            if (!text.isBlank()) {
                for (String part : text.split(",", -1)) {
                    all.add(item.apply(part));
                }
            }
            return all;
        }
    }

    /** Empty (or blank) means unset; anything else is parsed without its surrounding spaces. */
    static <T> Function<String, Optional<T>> optional(Function<String, T> parser) {
        return text -> text == null || text.isBlank() ? Optional.empty() : Optional.of(parser.apply(text.trim()));
    }

    static boolean isBase64Of32Bytes(String text) {
        try {
            return Base64.getDecoder().decode(text.trim()).length == 32;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
