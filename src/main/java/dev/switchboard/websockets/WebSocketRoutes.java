package dev.switchboard.websockets;

import dev.switchboard.auth.Authenticator;
import dev.switchboard.config.WebSocketSettings;
import dev.switchboard.events.EventLog;
import dev.switchboard.support.Refusal;
import dev.switchboard.support.WholeNumbers;
import dev.switchboard.web.HttpErrors;
import dev.switchboard.web.QueryStrings;
import dev.switchboard.web.RequestIds;
import dev.switchboard.web.RouteGroup;
import dev.switchboard.web.SingleHeaders;
import io.javalin.config.JettyConfig;
import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRoutingApi;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import org.eclipse.jetty.ee10.servlet.SessionHandler;
import org.eclipse.jetty.ee10.websocket.server.JettyServerUpgradeRequest;
import org.eclipse.jetty.ee10.websocket.server.JettyServerUpgradeResponse;
import org.eclipse.jetty.session.NullSessionCache;
import org.eclipse.jetty.session.NullSessionDataStore;

/**
 * {@code GET /api/v1/ws}: checks the access token and the resume position <em>before</em> the
 * upgrade, so a bad request gets the usual error JSON and never a socket; then Jetty upgrades and
 * hands the socket to a {@link ClientSession}. Also serves the browser example under
 * {@code /examples/}.
 *
 * <p>Javalin runs the checks ({@code wsBeforeUpgrade}) and performs the upgrade for its
 * {@code ws} route, but its own socket listener does not pass pong frames on, which heartbeats
 * need; so a Jetty mapping for the same path creates our listener instead.
 */
final class WebSocketRoutes implements RouteGroup {
    static final String PATH = "/api/v1/ws";
    /** What the handshake takes: {@code tenantId} only on a console session's socket. */
    private static final List<String> PARAMETERS = List.of("after", "access_token", "tenantId");

    static final String EXAMPLE = "/examples/websocket.html";
    private static final String UPGRADE = "switchboard.websocket.upgrade";
    /** The cookie a browser page may carry its access token in. */
    private static final String ACCESS_TOKEN_COOKIE = "AccessToken";

    private final WebSockets owner;
    private final Authenticator auth;
    private final CookieOrigins cookieOrigins;
    private final String examplePage;
    private final String examplePolicy;

    WebSocketRoutes(WebSockets owner, Authenticator auth) {
        this.owner = owner;
        this.auth = auth;
        this.cookieOrigins = new CookieOrigins(owner.settings().allowedOrigins());
        this.examplePage = resource("/examples/websocket.html");
        this.examplePolicy = examplePolicy(examplePage);
    }

    /**
     * The example page's Content-Security-Policy: its own inline script and style (by hash) and sockets to
     * this server, nothing else, and never in a frame. It is served on the console's origin, which the
     * AccessToken cookie's origin check accepts, so a page of another site framing it must get nothing.
     */
    private static String examplePolicy(String page) {
        return "default-src 'none'; script-src " + inlineHash(page, "script") + "; style-src "
                + inlineHash(page, "style") + "; connect-src 'self'; frame-ancestors 'none'; base-uri 'none';"
                + " form-action 'none'";
    }

    /** The CSP source of the page's one inline {@code <tag>} element: {@code 'sha256-…'} of its text. */
    private static String inlineHash(String page, String tag) {
        int start = page.indexOf("<" + tag + ">") + tag.length() + 2;
        int end = page.indexOf("</" + tag + ">", start);
        if (start < tag.length() + 2 || end < 0) {
            throw new IllegalStateException("the example page has no <" + tag + "> element");
        }
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
                    .digest(page.substring(start, end).getBytes(StandardCharsets.UTF_8));
            return "'sha256-" + java.util.Base64.getEncoder().encodeToString(digest) + "'";
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * What the checks found, carried from the HTTP request to the socket; {@code accessChanges} is
     * {@link Sockets#accessChanges()} before the token was looked up, so the socket is checked again if
     * its access may have changed before it was registered.
     */
    private record Upgrade(SocketAccess access, Long after, long accessChanges) {}

    /** An access token and whether it came from the cookie (which a browser sends for any site's page). */
    private record Token(String value, boolean fromCookie) {}

    @Override
    public void register(JavalinDefaultRoutingApi routes) {
        routes.wsBeforeUpgrade(PATH, ctx -> {
            try {
                // Upgrades skip the HTTP before-handlers that give every request its id.
                RequestIds.ensure(ctx);
                // The router takes /api/v1/ws/ for /api/v1/ws, the socket's own mapping only the exact path: the
                // upgrade completed into a socket nothing served, uncounted against the connection's sockets.
                if (!ctx.path().equals(PATH)) {
                    throw new Refusal.NotFound(
                            "route_not_found", "route " + ctx.path() + " (sockets open at " + PATH + ")");
                }
                // A handshake is a GET (RFC 6455, 4.1). Another method carrying the upgrade headers had its token
                // checked and counted, then the servlet's defaults answered it: 405 with no Allow, 501, and a
                // TRACE echoing every header, Authorization and cookies included. It gets the answer the same
                // request without them gets.
                String method = ctx.method().name();
                if (method.equals("HEAD")) {
                    upgradeRequired(ctx, "a WebSocket handshake is a GET");
                    throw new Refusal.Invalid("upgrade_required", "not a WebSocket handshake");
                }
                if (!method.equals("GET")) {
                    ctx.header("Allow", "GET, HEAD");
                    refuse(
                            ctx,
                            new HttpErrors.HttpError(
                                    405,
                                    "method_not_allowed",
                                    method + " is not allowed on " + PATH + ": it takes GET, HEAD",
                                    null,
                                    null));
                    throw new Refusal.Invalid("method_not_allowed", "not a WebSocket handshake");
                }
                // What the HTTP before-handlers check, which upgrades skip: a NUL in ?tenantId= failed the
                // lookup in PostgreSQL, and a malformed %-escape Jetty's reading of the query, with a 500.
                QueryStrings.check(ctx);
                SingleHeaders.check(ctx.req());
                // As the HTTP API refuses a parameter a route does not take: a mistyped ?afer=5 would otherwise
                // open a socket at the live end, silently skipping what the client meant to resume; and
                // ?after=1&after=2 was read as after=1, where the event feed refuses a parameter given twice.
                QueryStrings.only(ctx, "a parameter of the socket", PARAMETERS, false);
                // Before the token is looked at: a handshake Jetty would not complete answered 405 after the
                // token was checked and counted against its rate limit.
                String upgrade = ctx.header("Upgrade");
                if (upgrade == null || !upgrade.toLowerCase(Locale.ROOT).contains("websocket")) {
                    upgradeRequired(ctx, "a WebSocket handshake carries Upgrade: websocket");
                    throw new Refusal.Invalid("upgrade_required", "not a WebSocket handshake"); // stops the upgrade
                }
                if (!"13".equals(ctx.header("Sec-WebSocket-Version"))) {
                    upgradeRequired(
                            ctx, "this server speaks WebSocket version 13 (RFC 6455): send Sec-WebSocket-Version: 13");
                    throw new Refusal.Invalid("upgrade_required", "unsupported WebSocket version");
                }
                requireHandshakeKey(ctx);
                ctx.attribute(UPGRADE, check(ctx));
            } catch (Refusal refusal) {
                if (ctx.res().isCommitted()) {
                    throw refusal;
                }
                refuse(ctx, HttpErrors.of(refusal));
                throw refusal; // stops the upgrade
            }
        });
        routes.ws(PATH, ws -> {}); // the socket is ours: see configureJetty
        // A GET that is not a WebSocket handshake (no Upgrade: websocket, or no Connection: Upgrade): what is
        // wrong is its protocol, whatever its token may read.
        routes.get(
                PATH,
                ctx -> upgradeRequired(
                        ctx,
                        "this is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket,"
                                + " Connection: Upgrade, Sec-WebSocket-Version: 13)"));
        routes.get(EXAMPLE, ctx -> {
            ctx.header("Content-Security-Policy", examplePolicy);
            ctx.header("X-Content-Type-Options", "nosniff");
            ctx.header("Referrer-Policy", "no-referrer");
            ctx.contentType("text/html; charset=utf-8").result(examplePage);
        });
    }

    @Override
    public void configureJetty(JettyConfig jetty) {
        // Javalin asks for the HTTP session of every upgrade, which creates one that would stay in memory
        // (and set a cookie) for every socket ever opened. Switchboard has no sessions: keep none.
        jetty.modifyServletContextHandler(context -> {
            SessionHandler sessions = context.getSessionHandler();
            NullSessionCache none = new NullSessionCache(sessions);
            none.setSessionDataStore(new NullSessionDataStore());
            sessions.setSessionCache(none);
            sessions.setUsingCookies(false);
        });
        var settings = owner.settings();
        jetty.modifyWebSocketServletFactory(factory -> {
            factory.setMaxTextMessageSize(settings.maxMessageBytes());
            factory.setMaxBinaryMessageSize(settings.maxMessageBytes());
            // Liveness is the heartbeat's job; Jetty's idle timeout is only a backstop behind it. Pings and
            // pongs are traffic, so a healthy idle client (answering pings) never reaches it.
            factory.setIdleTimeout(idleTimeout(settings));
            factory.addMapping(PATH, this::create);
        });
    }

    static Duration idleTimeout(WebSocketSettings settings) {
        return settings.pingInterval().plus(settings.pingTimeout()).multipliedBy(2);
    }

    private Object create(JettyServerUpgradeRequest request, JettyServerUpgradeResponse response) throws IOException {
        if (!(request.getHttpServletRequest().getAttribute(UPGRADE) instanceof Upgrade upgrade)) {
            response.sendError(401, "the upgrade was not authorised");
            return null;
        }
        // No permessage-deflate: events are small, and a compressor per socket costs far more memory than it saves.
        response.setExtensions(List.of());
        // No subprotocol: Switchboard's messages have no name to negotiate, and a client offering one must not be
        // told it was accepted (Javalin echoes the first one offered into the response's headers).
        response.setHeader("Sec-WebSocket-Protocol", List.of());
        return new ClientSession(owner, upgrade.access(), upgrade.after(), upgrade.accessChanges());
    }

    private Upgrade check(Context ctx) throws InterruptedException {
        String session = ctx.cookie(Authenticator.SESSION_COOKIE);
        if (session != null && !session.isBlank() && !hasToken(ctx)) {
            return operatorCheck(ctx, session);
        }
        // First: a request with no token (a portal session's cookie alone, say) is 401 whatever it asks for.
        Token token = token(ctx);
        if (ctx.queryParam("tenantId") != null) {
            throw new Refusal.InvalidField(
                    "tenantId",
                    "is taken by a console session's socket only: an access token's socket is its tenant's");
        }
        if (token.fromCookie()) {
            // Before the token is looked at: another site's page learns nothing of it.
            cookieOrigins.require(ctx, ACCESS_TOKEN_COOKIE);
        }
        // Read before the lookup: a change committed after this count is re-checked once the socket is registered.
        long accessChanges = owner.sockets().accessChanges();
        if (!(auth.principal(token.value(), ctx) instanceof Authenticator.Access access)) {
            throw new Refusal.Forbidden(
                    "a WebSocket carries one connection's events: connect with its access token" + " (sb_access_…)");
        }
        auth.limit(access.tokenHash());
        Authenticator.refuseOtherTenant(ctx, access);
        SocketAccess socketAccess = SocketAccess.of(access);
        Long after = after(ctx);
        // A position at or below what this node's feed has read exists; only a higher one needs the database.
        if (after != null && after > owner.hub().position(socketAccess.streamPk())) {
            long head = owner.gate().head(socketAccess);
            if (after > head) {
                throw new EventLog.PositionAhead(after, head).refusal();
            }
        }
        int max = owner.settings().maxSocketsPerConnection();
        if (owner.sockets().ofConnection(socketAccess.connectionPk()) >= max) {
            throw new Refusal.Throttled(
                    "too_many_sockets",
                    "connection '" + socketAccess.connectionId() + "' already has " + max
                            + " open WebSockets on this server (websockets.maxSocketsPerConnection)",
                    30);
        }
        return new Upgrade(socketAccess, after, accessChanges);
    }

    /**
     * A socket an operator's console session opens on {@code ?tenantId=}: the page's Origin must be the
     * server's own, and the socket receives every event of the tenant, read-only (its requests are
     * refused).
     */
    private Upgrade operatorCheck(Context ctx, String cookie) throws InterruptedException {
        cookieOrigins.requireOwn(ctx, Authenticator.SESSION_COOKIE);
        long accessChanges = owner.sockets().accessChanges();
        Authenticator.OperatorSocket operator = auth.operatorSocket(ctx, cookie, ctx.queryParam("tenantId"));
        SocketAccess access = SocketAccess.operator(operator.sessionId(), operator.access());
        Long after = after(ctx);
        if (after != null && after > owner.hub().position(access.streamPk())) {
            long head = owner.gate().head(access);
            if (after > head) {
                throw new EventLog.PositionAhead(after, head).refusal();
            }
        }
        return new Upgrade(access, after, accessChanges);
    }

    /** Whether the request carries an access token (header, parameter or AccessToken cookie), which wins over a session. */
    private static boolean hasToken(Context ctx) {
        return notBlank(ctx.header("Authorization"))
                || notBlank(ctx.queryParam("access_token"))
                || notBlank(ctx.cookie(ACCESS_TOKEN_COOKIE));
    }

    private static boolean notBlank(String text) {
        return text != null && !text.isBlank();
    }

    /**
     * 426 with the headers RFC 7231 (6.5.15) and RFC 6455 (4.4) ask for: the protocol to switch to, and
     * the WebSocket version this server speaks. Not a refusal of the request's content but of its
     * protocol: only this HTTP edge has it.
     */
    private static void upgradeRequired(Context ctx, String message) throws IOException {
        ctx.header("Upgrade", "websocket");
        ctx.header("Sec-WebSocket-Version", "13");
        refuse(ctx, new HttpErrors.HttpError(426, "upgrade_required", message, null, null));
    }

    /**
     * RFC 6455 (4.2.1) makes the server refuse a handshake whose key is not 16 bytes in base64; Jetty
     * upgrades with any value, so a client that is not speaking WebSocket at all would get a socket.
     */
    private static void requireHandshakeKey(Context ctx) {
        String key = ctx.header("Sec-WebSocket-Key");
        boolean valid;
        try {
            valid = key != null && key.length() == 24 && Base64.getDecoder().decode(key).length == 16;
        } catch (IllegalArgumentException e) {
            valid = false;
        }
        if (!valid) {
            throw new Refusal.Invalid(
                    "invalid_handshake", "Sec-WebSocket-Key must be 16 random bytes in base64" + " (RFC 6455)");
        }
    }

    /**
     * Writes the error JSON of a refused upgrade itself: Javalin maps the exception of an upgrade
     * check to a status but does not write the body.
     */
    private static void refuse(Context ctx, HttpErrors.HttpError error) throws IOException {
        byte[] body = HttpErrors.json(error.code(), error.message(), RequestIds.of(ctx), error.details())
                .getBytes(StandardCharsets.UTF_8);
        HttpServletResponse response = ctx.res();
        HttpErrors.headers(error, response::setHeader);
        response.setHeader("X-Content-Type-Options", "nosniff");
        response.setStatus(error.status());
        response.setContentType("application/json");
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
        response.flushBuffer();
    }

    /**
     * The token from the Authorization header, the access_token parameter, or the AccessToken cookie
     * (browsers). The cookie comes last: a token the client chose to send wins over the one its browser
     * attaches by itself.
     */
    private static Token token(Context ctx) {
        String header = ctx.header("Authorization");
        if (header != null && !header.isBlank()) {
            if (!header.regionMatches(true, 0, "Bearer ", 0, 7) || header.length() == 7) {
                throw new Refusal.Unauthenticated("the Authorization header must be 'Bearer <token>'");
            }
            return new Token(header.substring(7).trim(), false);
        }
        String query = ctx.queryParam("access_token");
        if (query != null && !query.isBlank()) {
            return new Token(query.trim(), false);
        }
        String cookie = ctx.cookie(ACCESS_TOKEN_COOKIE);
        if (cookie != null && !cookie.isBlank()) {
            return new Token(cookie.trim(), true);
        }
        throw new Refusal.Unauthenticated("missing access token: send 'Authorization: Bearer <token>', a cookie"
                + " AccessToken=<token>, or ?access_token=<token>");
    }

    private static Long after(Context ctx) {
        String text = ctx.queryParam("after");
        if (text == null || text.isEmpty()) {
            return null;
        }
        Long after = WholeNumbers.parse(text);
        if (after == null) {
            throw new Refusal.InvalidField("after", "'" + text + "' is not a whole number");
        }
        if (after < 0) {
            throw new Refusal.InvalidField("after", "must be 0 or more");
        }
        return after;
    }

    private static String resource(String path) {
        try (InputStream in = WebSocketRoutes.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException(path + " is missing from the build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
