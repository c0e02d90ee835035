package dev.switchboard.web;

import dev.switchboard.support.JsonInput;
import dev.switchboard.support.Refusal;
import dev.switchboard.support.Utf8;
import io.javalin.http.Context;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A request's query string, checked before any route reads a parameter. The parsers that read it are
 * lenient: a malformed {@code %}-escape dropped the parameter's value ({@code ?types=x%} read no filter and
 * listed every event, {@code ?cursor=%ZZ} started the paging over) and bytes that are not UTF-8 became
 * U+FFFD, while the WebSocket handshake's own reading failed with a 500. So each escape must be {@code %}
 * and two hex digits, the decoded bytes UTF-8, and no value may hold NUL (PostgreSQL text cannot).
 */
public final class QueryStrings {
    private QueryStrings() {}

    /** Refuses (400 {@code invalid_query}, or {@code invalid_field} for a NUL) a query string that cannot be read as sent. */
    public static void check(Context ctx) {
        String query = ctx.queryString();
        if (query == null || query.isEmpty()) {
            return;
        }
        checkEncoding(query);
        ctx.queryParamMap().forEach((name, values) -> values.forEach(v -> JsonInput.checkText(v, name)));
    }

    /**
     * Refuses (400 {@code invalid_field}) a parameter not in {@code names}, "is not {@code what}" and what it
     * takes, or one given twice ({@code ?ids=a&ids=b} was read as {@code ids=a} alone); {@code listValues}:
     * some take comma-separated lists, which the second refusal then says.
     */
    public static void only(Context ctx, String what, List<String> names, boolean listValues) {
        ctx.queryParamMap().forEach((name, values) -> {
            if (!names.contains(name)) {
                throw new Refusal.InvalidField(
                        name,
                        "is not " + what + " (it takes " + (names.isEmpty() ? "none" : String.join(", ", names)) + ")");
            }
            if (values.size() > 1) {
                throw new Refusal.InvalidField(
                        name,
                        "is given more than once; give it once" + (listValues ? " (lists are comma-separated)" : ""));
            }
        });
    }

    static void checkEncoding(String query) {
        ByteArrayOutputStream decoded = new ByteArrayOutputStream(query.length());
        int plain = 0; // where the text since the last escape starts
        for (int i = query.indexOf('%'); i >= 0; i = query.indexOf('%', i)) {
            decoded.writeBytes(query.substring(plain, i).getBytes(StandardCharsets.UTF_8));
            if (i + 2 >= query.length() || hex(query.charAt(i + 1)) < 0 || hex(query.charAt(i + 2)) < 0) {
                String escape = query.substring(i, Math.min(query.length(), i + 3));
                throw new Refusal.Invalid(
                        "invalid_query",
                        "the query string has a malformed %-escape at character " + (i + 1) + " ('" + escape
                                + "'): a % is followed by two hex digits (send a % itself as %25)");
            }
            decoded.write(hex(query.charAt(i + 1)) * 16 + hex(query.charAt(i + 2)));
            i += 3;
            plain = i;
        }
        decoded.writeBytes(query.substring(plain).getBytes(StandardCharsets.UTF_8));
        if (Utf8.decode(decoded.toByteArray()).isEmpty()) {
            throw new Refusal.Invalid(
                    "invalid_query", "the query string's %-escapes are not UTF-8: encode each character's UTF-8 bytes");
        }
    }

    private static int hex(char c) {
        return c < 0x80 ? Character.digit(c, 16) : -1;
    }
}
