package dev.switchboard.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * An external PostgreSQL, given either as a JDBC URL ({@code jdbc:postgresql://host/db?user=…}) or as
 * the libpq URI operators usually have ({@code postgresql://user:password@host:5432/db}). Its
 * {@link #toString} and its errors never show the password, wherever in the URL it was given.
 */
public record DatabaseUrl(String jdbcUrl, String user, String password) {
    /** The value runs to the next {@code &}: the driver takes a {@code #} or {@code ;} in it as part of the password. */
    private static final Pattern PASSWORD_PARAMETER = Pattern.compile("(?i)([?&;](?:ssl)?password=)[^&]*");

    /** A password parameter in an error's text: its value up to the next parameter or space, however masked. */
    private static final Pattern PASSWORD_IN_TEXT = Pattern.compile("(?i)((?:ssl)?password=)[^&\\s]*");

    public static DatabaseUrl parse(String text) {
        String value = text.trim();
        if (value.startsWith("jdbc:postgresql:")) {
            String authority = value.substring("jdbc:postgresql:".length()).replaceFirst("^//([^/?#]*).*$", "$1");
            if (authority.contains("@")) {
                // The driver takes it all for a host name, and its error names the password.
                throw new IllegalArgumentException("a JDBC URL takes no user:password@ (give ?user=…&password=…,"
                        + " or postgresql://user:password@host/database)");
            }
            return new DatabaseUrl(value, null, null);
        }
        if (!value.startsWith("postgresql://") && !value.startsWith("postgres://")) {
            throw new IllegalArgumentException(
                    "expected postgresql://user:password@host:port/database or jdbc:postgresql://…");
        }
        URI uri;
        try {
            uri = new URI(value);
        } catch (URISyntaxException e) {
            // The exception's own message repeats the whole URL, password included.
            throw new IllegalArgumentException(
                    "not a valid URI (" + e.getReason() + " at character " + e.getIndex() + ")");
        }
        if (uri.getHost() == null) {
            throw new IllegalArgumentException("the URL names no host");
        }
        if (uri.getPort() > 65535) {
            throw new IllegalArgumentException("the port must be 1 to 65535");
        }
        String user = null;
        String password = null;
        if (uri.getRawUserInfo() != null) {
            String[] parts = uri.getRawUserInfo().split(":", 2);
            user = percentDecode(parts[0]);
            password = parts.length > 1 ? percentDecode(parts[1]) : null;
        }
        String port = uri.getPort() > 0 ? ":" + uri.getPort() : "";
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/postgres" : uri.getRawPath();
        String query = uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery();
        return new DatabaseUrl("jdbc:postgresql://" + uri.getHost() + port + path + query, user, password);
    }

    /**
     * Percent-decoding of a URL's user info. URLDecoder decodes forms, where {@code +} is a space: a
     * generated password with a {@code +} in it would fail to authenticate.
     */
    private static String percentDecode(String raw) {
        return URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    /**
     * {@code e}, or, where its message or a cause's shows the password, an exception with the same messages,
     * the password masked, and no causes (a logged cause prints its own message). HikariCP masks a password
     * parameter only up to a {@code ;} or {@code #} in it, and its message repeats the URL.
     */
    public RuntimeException hiding(RuntimeException e) {
        StringBuilder said = new StringBuilder();
        boolean masked = false;
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String message = String.valueOf(t.getMessage());
            String clean = PASSWORD_IN_TEXT.matcher(message).replaceAll("$1***");
            if (password != null && !password.isEmpty()) {
                clean = clean.replace(password, "***");
            }
            masked |= !clean.equals(message);
            said.append(t == e ? clean : "; caused by " + t.getClass().getSimpleName() + ": " + clean);
        }
        if (!masked) {
            return e;
        }
        // Of the same kind where that decides something: a configuration error ends the start with its own status.
        RuntimeException hidden = e instanceof ConfigException
                ? new ConfigException(said.toString())
                : new IllegalStateException(said.toString());
        hidden.setStackTrace(e.getStackTrace());
        return hidden;
    }

    /** The URL as it may be logged: a password given as a parameter ({@code ?password=}) is masked. */
    @Override
    public String toString() {
        return PASSWORD_PARAMETER.matcher(jdbcUrl).replaceAll("$1***");
    }
}
