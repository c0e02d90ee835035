package dev.switchboard.support;

/**
 * Whole numbers written as clients and receivers are told to write them: an optional minus and ASCII
 * digits. {@link Long#parseLong} also takes a plus sign and the digits of every script ({@code ١},
 * {@code １}), which read as numbers no other implementation of the same API would agree on.
 */
public final class WholeNumbers {
    private WholeNumbers() {}

    /** The number {@code text} writes, or null when it is not one (or has more than 18 digits). */
    public static Long parse(String text) {
        if (text == null) {
            return null;
        }
        int start = text.startsWith("-") ? 1 : 0;
        int length = text.length() - start;
        if (length < 1 || length > 18) {
            return null;
        }
        long value = 0;
        for (int i = start; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return null;
            }
            value = value * 10 + (c - '0');
        }
        return start == 1 ? -value : value;
    }
}
