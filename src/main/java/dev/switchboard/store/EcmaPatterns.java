package dev.switchboard.store;

/**
 * A JSON Schema {@code pattern} is an ECMA-262 regular expression, which Java's differs from where it
 * matters to a check: Java's {@code $} also matches before a final line break, so {@code ^[a-z]+$} took
 * {@code "abc\n"} (a value a schema was written to keep out, and a header injected downstream); Java's
 * {@code \s} is ASCII white space only, so {@code ^\S+$} took a no-break space. This rewrites those
 * parts in Java's syntax, and the two things a character class means otherwise in Java ({@code [} opens a
 * nested class, {@code &&} intersects), so the pattern matches what the schema's author meant; so too
 * {@code .} (Java's leaves out U+0085 as well), the empty class {@code []} and its negation {@code [^]},
 * {@code [\b]} and {@code \0}, which Java refuses or reads otherwise. Syntax only Java has ({@code (?i)},
 * {@code \p{Lu}}, {@code a++}, {@code \z}) is not refused: it keeps Java's meaning (README says so).
 */
final class EcmaPatterns {
    /** ECMA-262's WhiteSpace and LineTerminator: what {@code \s} matches there. */
    private static final String SPACE =
            "\\t\\n\\x0B\\f\\r \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF";

    private EcmaPatterns() {}

    /** The Java regular expression that matches as {@code ecma} does under ECMA-262 (without flags). */
    static String toJava(String ecma) {
        StringBuilder java = new StringBuilder(ecma.length() + 16);
        boolean inClass = false;
        for (int i = 0; i < ecma.length(); i++) {
            char c = ecma.charAt(i);
            if (c == '\\' && i + 1 < ecma.length()) {
                char next = ecma.charAt(++i);
                if (next == 's') {
                    java.append(inClass ? SPACE : "[" + SPACE + "]");
                } else if (next == 'S') {
                    java.append("[^").append(SPACE).append(']'); // in a class, Java takes a class as a union
                } else if (next == 'b' && inClass) {
                    java.append("\\x08"); // backspace in an ECMA-262 class; Java refuses it there
                } else if (next == '0' && (i + 1 == ecma.length() || !Character.isDigit(ecma.charAt(i + 1)))) {
                    java.append("\\x00"); // NUL; Java reads \0 as the start of an octal escape
                } else {
                    java.append(c).append(next);
                }
            } else if (inClass) {
                if (c == ']') {
                    inClass = false;
                    java.append(c);
                } else if (c == '[' || (c == '&' && i + 1 < ecma.length() && ecma.charAt(i + 1) == '&')) {
                    java.append('\\').append(c); // literal in ECMA-262
                } else {
                    java.append(c);
                }
            } else if (c == '[' && ecma.startsWith("]", i + 1)) {
                java.append("(?!)"); // ECMA-262's empty class matches nothing; Java refuses it
                i += 1;
            } else if (c == '[' && ecma.startsWith("^]", i + 1)) {
                java.append("[\\s\\S]"); // and its negation matches any character
                i += 2;
            } else if (c == '[') {
                inClass = true;
                java.append(c);
            } else if (c == '$') {
                java.append("\\z");
            } else if (c == '.') {
                java.append("[^\\n\\r\\u2028\\u2029]"); // Java's also leaves out U+0085
            } else {
                java.append(c);
            }
        }
        return java.toString();
    }
}
