package dev.switchboard.support;

/**
 * Whole numbers written as clients and receivers are told to write them: an optional minus and ASCII
 * digits. {@link Long#parseLong} also takes a plus sign and the digits of every script ({@code ١},
 * {@code １}), which read as numbers no other implementation of the same API would agree on.
 */
public final class WholeNumbers {
    private WholeNumbers() {}

    /** The number {@code text} writes, or null when it is not one or lies outside a {@code long}. */
    public static Long parse(String text) {
        if (text == null) {
            return null;
        }
        boolean negative = text.startsWith("-");
        int start = negative ? 1 : 0;
        int length = text.length() - start;
        if (length < 1 || length > 19) {
            return null;
        }
        long value = 0;
        try {
            for (int i = start; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c < '0' || c > '9') {
                    return null;
                }
                // Accumulated with its sign, so Long.MIN_VALUE, whose magnitude no long holds, is read too.
                int digit = negative ? -(c - '0') : c - '0';
                value = Math.addExact(Math.multiplyExact(value, 10), digit);
            }
        } catch (ArithmeticException outsideALong) {
            return null;
        }
        return value;
    }
}
