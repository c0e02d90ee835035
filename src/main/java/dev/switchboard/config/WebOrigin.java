package dev.switchboard.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Optional;

/**
 * A web origin, {@code https://host[:port]}: what a browser sends in {@code Origin}. Kept normalised
 * (scheme and host in lower case, the port always explicit) so two spellings of one origin are equal;
 * {@link #toString()} writes it as browsers do, without a default port.
 */
public record WebOrigin(String scheme, String host, int port) {

    /** An origin as an operator writes it; the message of the exception says what is wrong. */
    public static WebOrigin parse(String text) {
        String t = text.trim();
        if (t.contains("*")) {
            throw new IllegalArgumentException(
                    "'" + text + "': wildcards are not supported; list each origin" + " (https://host[:port])");
        }
        URI uri;
        try {
            uri = new URI(t);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("'" + text + "' is not an origin like https://host[:port]");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException(
                    "'" + text + "' is not an origin like https://host[:port]" + " (the scheme must be http or https)");
        }
        if (uri.getHost() == null || uri.getRawUserInfo() != null) {
            throw new IllegalArgumentException("'" + text + "' is not an origin like https://host[:port]"
                    + " (it needs a host name or address, and no user)");
        }
        if (!uri.getRawPath().isEmpty() || uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new IllegalArgumentException("'" + text + "' is not an origin like https://host[:port]"
                    + " (an origin has no path, not even '/', no query and no fragment)");
        }
        int port = uri.getPort() >= 0 ? uri.getPort() : defaultPort(scheme);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("'" + text + "': the port must be between 1 and 65535");
        }
        return new WebOrigin(scheme, uri.getHost().toLowerCase(Locale.ROOT), port);
    }

    /** An origin a client sent, or one built from a request; empty when it is not a well-formed origin. */
    public static Optional<WebOrigin> tryParse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(parse(text));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static int defaultPort(String scheme) {
        return scheme.equals("https") ? 443 : 80;
    }

    @Override
    public String toString() {
        return scheme + "://" + host + (port == defaultPort(scheme) ? "" : ":" + port);
    }
}
