package dev.switchboard.api;

import io.javalin.http.Context;

/**
 * The server's address as the client reached it, for links it hands out: the scheme of the connection
 * (or the first {@code X-Forwarded-Proto} behind a proxy that ends TLS) and the {@code Host} header.
 */
final class BaseUrl {
    private BaseUrl() {}

    static String of(Context ctx) {
        String forwarded = ctx.header("X-Forwarded-Proto");
        String scheme = forwarded != null && !forwarded.isBlank()
                ? forwarded.split(",")[0].trim().toLowerCase(java.util.Locale.ROOT)
                : ctx.scheme();
        if (!scheme.equals("https") && !scheme.equals("http")) {
            scheme = ctx.scheme();
        }
        String host = ctx.host();
        return scheme + "://" + (host == null || host.isBlank() ? "localhost" : host);
    }
}
