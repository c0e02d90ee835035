package dev.switchboard.websockets;

import dev.switchboard.config.WebOrigin;
import dev.switchboard.support.Refusal;
import io.javalin.http.Context;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Which pages may open a socket with the token from the {@code AccessToken} cookie. A browser attaches
 * that cookie to an upgrade whichever site's page asks for it, and WebSockets have no same-origin rule
 * of their own; so without this check a page on any other site (or a sibling subdomain) could open
 * {@code /api/v1/ws?after=0} in a visitor's browser and read the tenant's retained log. The upgrade's
 * {@code Origin} header is set by the browser and cannot be changed by the page, so it is what is
 * checked: it must be the server's own origin or one in {@code websockets.allowedOrigins}.
 *
 * <p>An upgrade with the cookie and no {@code Origin} is refused: every browser sends one on a
 * WebSocket upgrade, so its absence means a client that is not a browser (which can send the token in
 * {@code Authorization}) or an intermediary that removed it, and then nothing says where the page came
 * from. Tokens in {@code Authorization} or {@code access_token} are not ambient: a page that sends one
 * already holds it, so they are not checked here.
 */
final class CookieOrigins {
    private static final int SHOWN = 100;

    private final List<WebOrigin> allowed;

    CookieOrigins(List<WebOrigin> allowed) {
        this.allowed = List.copyOf(allowed);
    }

    /**
     * Refuses (403) an upgrade authorised by the AccessToken cookie unless its page's origin is the
     * server's own or one in {@code websockets.allowedOrigins}.
     */
    void require(Context ctx, String cookie) {
        require(ctx, cookie, allowed);
    }

    /**
     * Refuses (403) an upgrade authorised by a console session's cookie unless its page is the server's
     * own: only the console, which Switchboard serves itself, opens such sockets. The origins allowed
     * the AccessToken cookie (the platform's own pages, each showing one connection's events) would
     * otherwise be able to read every tenant's log with the session of an operator who visits them.
     */
    void requireOwn(Context ctx, String cookie) {
        require(ctx, cookie, List.of());
    }

    private static void require(Context ctx, String cookie, List<WebOrigin> allowed) {
        String header = ctx.header("Origin");
        if (header == null || header.isBlank()) {
            throw new Refusal.Forbidden(
                    "origin_not_allowed",
                    "the socket is authorised by the " + cookie + " cookie, which"
                            + " is accepted only on upgrades that carry an Origin header (browsers always send one); clients"
                            + " that are not browsers send 'Authorization: Bearer <token>'");
        }
        Optional<WebOrigin> origin = WebOrigin.tryParse(header);
        Optional<WebOrigin> own = own(ctx);
        if (origin.isPresent() && (origin.equals(own) || allowed.contains(origin.get()))) {
            return;
        }
        throw new Refusal.Forbidden(
                "origin_not_allowed",
                "the socket is authorised by the " + cookie + " cookie, which is"
                        + " accepted only from this server's own origin ("
                        + own.map(WebOrigin::toString).orElse("unknown:" + " no usable Host header")
                        + (allowed.isEmpty() ? ")" : ") or one listed in websockets.allowedOrigins")
                        + "; Origin '" + abbreviate(header) + "' is not");
    }

    /**
     * This server's origin as the browser addressed it: the {@code Host} header, with the scheme the
     * client used. Behind a proxy that ends TLS, the connection Switchboard sees is plain HTTP, so the
     * first value of {@code X-Forwarded-Proto} (http or https) is taken as that scheme when present.
     * Trusting it gives a hostile page nothing: a page cannot set headers on a WebSocket upgrade, and a
     * client that can set them is not a browser, so not riding on a visitor's cookie. A proxy that
     * rewrites {@code Host} makes the own origin unknowable here: list the public origin in
     * {@code websockets.allowedOrigins}.
     */
    static Optional<WebOrigin> own(Context ctx) {
        String host = ctx.header("Host");
        if (host == null || host.isBlank() || host.contains("/") || host.contains("@")) {
            return Optional.empty();
        }
        String scheme = ctx.scheme();
        String forwarded = ctx.header("X-Forwarded-Proto");
        if (forwarded != null) {
            String first = forwarded.split(",", 2)[0].trim().toLowerCase(Locale.ROOT);
            if (first.equals("http") || first.equals("https")) {
                scheme = first;
            }
        }
        return WebOrigin.tryParse(scheme + "://" + host.trim());
    }

    private static String abbreviate(String text) {
        return text.length() <= SHOWN ? text : text.substring(0, SHOWN) + "…";
    }
}
