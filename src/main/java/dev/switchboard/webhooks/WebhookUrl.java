package dev.switchboard.webhooks;

import dev.switchboard.support.Refusal;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A webhook URL that passed the rules every URL is held to, at registration and on every redirect:
 * absolute http or https, no credentials, no fragment, and a host that is a name or a canonical IP
 * address. Hosts ending in a number are read as IPv4 by browsers and curl in decimal, octal and hex
 * forms ({@code 2130706433}, {@code 0177.0.0.1}, {@code 0x7f.1}, {@code 127.1}); Java reads some of
 * them differently, so anything but a plain dotted quad is refused rather than guessed at. IP
 * literals and {@code localhost} are checked here; names are checked on the addresses they resolve
 * to, when the connection is made ({@link GuardedResolver}).
 */
public record WebhookUrl(URI uri) {
    private static final int MAX_LENGTH = 2048;
    private static final Pattern NUMERIC_LABEL = Pattern.compile("\\d+|0[xX][0-9a-fA-F]*");
    /** Dot-separated numeric labels: what java.net.URI leaves without a host when it is not a dotted quad. */
    private static final Pattern NUMERIC_HOST =
            Pattern.compile("(\\d+|0[xX][0-9a-fA-F]*)(\\.(\\d+|0[xX][0-9a-fA-F]*))*\\.?");

    private static final Pattern DOTTED_QUAD =
            Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");

    /** Parses and checks a URL; the problem names {@code field}. */
    public static WebhookUrl parse(String text, String field, AddressPolicy policy) {
        if (text.length() > MAX_LENGTH) {
            throw new Refusal.InvalidField(field, "must be at most " + MAX_LENGTH + " characters");
        }
        // Invisible characters (direction overrides, zero-width spaces) are never part of an address and are
        // how a URL is made to read as another where people see it: in the console, the portal, the logs.
        text.codePoints()
                .filter(c -> Character.getType(c) == Character.FORMAT || Character.isISOControl(c))
                .findFirst()
                .ifPresent(c -> {
                    throw new Refusal.InvalidField(
                            field,
                            String.format(
                                    "contains the invisible character U+%04X; percent-encode it if the address"
                                            + " really has it",
                                    c));
                });
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new Refusal.InvalidField(field, "is not a valid URL: " + e.getReason());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new Refusal.InvalidField(field, "must be an absolute http or https URL");
        }
        if (uri.getRawUserInfo() != null) {
            throw new Refusal.InvalidField(
                    field,
                    "must not carry credentials (user:password@); put a shared secret"
                            + " in the query (?token=…) and check the signature");
        }
        if (uri.getRawFragment() != null) {
            throw new Refusal.InvalidField(field, "must not have a fragment (#…)");
        }
        String host = uri.getHost();
        if (host == null || host.isEmpty()) {
            // java.net.URI takes 127.1 or 1.2.3 for no host name at all (a last label must start with a letter),
            // though curl and browsers read them as IPv4: say what they are.
            String authority =
                    uri.getRawAuthority() == null ? "" : uri.getRawAuthority().replaceFirst(":\\d*$", "");
            if (NUMERIC_HOST.matcher(authority).matches()) {
                throw numericForm(authority, field);
            }
            throw new Refusal.InvalidField(field, "names no host");
        }
        // -1 is no port (the scheme's); 0 and above 65535 parse, then fail every connection attempt.
        if (uri.getPort() != -1 && (uri.getPort() < 1 || uri.getPort() > 65_535)) {
            throw new Refusal.InvalidField(field, "has port " + uri.getPort() + "; a port is 1 to 65535");
        }
        checkHost(host, field, policy);
        return new WebhookUrl(uri);
    }

    private static Refusal.InvalidField numericForm(String host, String field) {
        return new Refusal.InvalidField(
                field,
                "host '" + host + "' is a numeric form other than a plain dotted-quad IPv4 address; write the"
                        + " address as a.b.c.d");
    }

    private static void checkHost(String host, String field, AddressPolicy policy) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            if (h.contains("%")) {
                throw new Refusal.InvalidField(field, "must not use an IPv6 zone (%…)");
            }
            literal(h.substring(1, h.length() - 1), field).ifPresent(a -> refuseIfBlocked(a, field, policy));
            return;
        }
        String lastLabel = h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
        lastLabel = lastLabel.substring(lastLabel.lastIndexOf('.') + 1);
        if (NUMERIC_LABEL.matcher(lastLabel).matches()) {
            if (!DOTTED_QUAD.matcher(h).matches()) {
                throw numericForm(host, field);
            }
            literal(h, field).ifPresent(a -> refuseIfBlocked(a, field, policy));
            return;
        }
        if (h.equals("localhost") || h.endsWith(".localhost") || h.equals("localhost.")) {
            refuseIfBlocked(InetAddress.getLoopbackAddress(), field, policy); // the name always means this machine
        }
    }

    private static Optional<InetAddress> literal(String address, String field) {
        try {
            return Optional.of(InetAddress.getByName(address)); // an IP literal: no DNS lookup happens
        } catch (UnknownHostException e) {
            throw new Refusal.InvalidField(field, "'" + address + "' is not a valid IP address");
        }
    }

    private static void refuseIfBlocked(InetAddress address, String field, AddressPolicy policy) {
        policy.refusal(address).ifPresent(why -> {
            throw new Refusal.InvalidField(field, "must not point at a " + why);
        });
    }

    public String host() {
        String host = uri.getHost();
        return host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    }

    public int port() {
        return uri.getPort() > 0 ? uri.getPort() : uri.getScheme().equalsIgnoreCase("https") ? 443 : 80;
    }

    /**
     * The URL as a receiver reads it, so that two spellings of one address compare equal: scheme and host
     * in lower case, no default port, {@code .} and {@code ..} segments resolved, escapes of unreserved
     * characters decoded ({@code %6F} is {@code o}) and the others in upper case, characters beyond ASCII
     * escaped as UTF-8, an empty path as {@code /} and an empty query as none.
     */
    public String canonical() {
        URI ascii = URI.create(uri.toASCIIString());
        String path = unreservedDecoded(ascii.getRawPath() == null ? "" : ascii.getRawPath());
        path = path.isEmpty()
                ? "/"
                : URI.create("http://h" + (path.startsWith("/") ? "" : "/") + path)
                        .normalize()
                        .getRawPath();
        String query = ascii.getRawQuery() == null || ascii.getRawQuery().isEmpty()
                ? ""
                : "?" + unreservedDecoded(ascii.getRawQuery());
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        int defaultPort = scheme.equals("https") ? 443 : 80;
        return scheme + "://" + canonicalHost() + (port() == defaultPort ? "" : ":" + port()) + path + query;
    }

    /**
     * The host in lower case without the final dot a name may have (a fully qualified spelling of the same
     * name: DNS answers {@code partner.example.} as {@code partner.example}); an IPv6 literal as the address it is ({@code [::ffff:93.184.216.34]} is
     * that IPv4 address, which is where Java connects, and {@code [2001:DB8::1]} one spelling of its address).
     */
    private String canonicalHost() {
        String host = uri.getHost().toLowerCase(Locale.ROOT);
        if (!host.startsWith("[")) {
            return host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
        }
        try {
            InetAddress address = InetAddress.getByName(host()); // a literal: no DNS lookup happens
            return address instanceof Inet6Address ? "[" + address.getHostAddress() + "]" : address.getHostAddress();
        } catch (UnknownHostException e) {
            return host; // parse() took only valid literals
        }
    }

    /** {@code raw} with its escapes of unreserved characters decoded, and the others' hex digits in upper case. */
    private static String unreservedDecoded(String raw) {
        StringBuilder out = new StringBuilder(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c != '%' || i + 2 >= raw.length()) {
                out.append(c);
                continue;
            }
            // java.net.URI took the text: every % is followed by two hex digits.
            String hex = raw.substring(i + 1, i + 3);
            char decoded = (char) HexFormat.fromHexDigits(hex);
            if (decoded < 0x80 && (Character.isLetterOrDigit(decoded) || "-._~".indexOf(decoded) >= 0)) {
                out.append(decoded);
            } else {
                out.append('%').append(hex.toUpperCase(Locale.ROOT));
            }
            i += 2;
        }
        return out.toString();
    }

    /** The URL without its query, for logs: a shared secret often travels in the query. */
    public String redacted() {
        return uri.getScheme() + "://" + uri.getRawAuthority() + (uri.getRawPath() == null ? "" : uri.getRawPath())
                + (uri.getRawQuery() == null ? "" : "?…");
    }

    /**
     * Any URL text, even one that does not parse (a redirect's Location), without what may carry a
     * secret: its query and fragment, and credentials before the host.
     */
    public static String redact(String text) {
        if (text == null) {
            return null;
        }
        int end = text.length();
        for (char c : new char[] {'?', '#'}) {
            int at = text.indexOf(c);
            end = at >= 0 ? Math.min(end, at) : end;
        }
        String kept = text.substring(0, end).replaceFirst("^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@", "$1…@");
        return end < text.length() ? kept + "?…" : kept;
    }

    /**
     * Whether the URL's query starts with the "…" that {@link #redact} puts in place of a query (written as
     * is, or percent-encoded): a URL copied from where its query was hidden, edited ("?…&v=2" as much as
     * "?…"), with that query lost.
     */
    public static boolean queryHidden(String text) {
        int at = text.indexOf('?');
        if (at < 0) {
            return false;
        }
        String query = text.substring(at + 1);
        return query.startsWith("…") || query.regionMatches(true, 0, "%E2%80%A6", 0, "%E2%80%A6".length());
    }

    @Override
    public String toString() {
        return uri.toString();
    }
}
