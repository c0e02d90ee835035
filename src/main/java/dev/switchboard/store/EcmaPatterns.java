package dev.switchboard.store;

/**
 * A JSON Schema {@code pattern} is an ECMA-262 regular expression, which Java's differs from where it
 * matters to a check: Java's {@code $} also matches before a final line break, so {@code ^[a-z]+$} took
 * {@code "abc\n"} (a value a schema was written to keep out, and a header injected downstream); Java's
 * {@code \s} is ASCII white space only, so {@code ^\S+$} took a no-break space. This rewrites those
 * parts in Java's syntax, and the two things a character class means otherwise in Java ({@code [} opens a
 * nested class, {@code &&} intersects), so the pattern matches what the schema's author meant.
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
            } else if (c == '[') {
                inClass = true;
                // An empty class ([] or [^]) is ECMA-262's alone: Java refuses it, and so the schema is refused.
                java.append(c);
            } else if (c == '$') {
                java.append("\\z");
            } else {
                java.append(c);
            }
        }
        return java.toString();
    }
}
