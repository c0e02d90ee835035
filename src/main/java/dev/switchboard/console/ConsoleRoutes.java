package dev.switchboard.console;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.auth.Authenticator;
import dev.switchboard.config.ConsoleSettings;
import dev.switchboard.store.Capability;
import dev.switchboard.store.ConsoleSession;
import dev.switchboard.store.ConsoleSessionStore;
import dev.switchboard.support.Json;
import dev.switchboard.support.JsonInput;
import dev.switchboard.support.Refusal;
import dev.switchboard.web.RequestBodies;
import dev.switchboard.web.RouteGroup;
import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRoutingApi;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Signing in to the operator console and opening a partner portal session (docs/console.md).
 *
 * <ul>
 *   <li>{@code POST /console/api/session {"adminKey"}}: the admin key exchanged for an operator session;
 *       the key itself is never stored, and a wrong one counts against the address like a refused token.
 *   <li>{@code GET /console/api/session}: what the cookie's session is (operator or portal), its CSRF
 *       token and idle expiry, and the brand the pages show; 401 without a live session.
 *   <li>{@code DELETE /console/api/session}: signs out (CSRF token required).
 *   <li>{@code POST /portal/api/session {"token"}}: a portal link's token exchanged, once, for a portal
 *       session.
 * </ul>
 *
 * An operator session is the {@code sb_session} cookie, a portal session the {@code sb_portal_session}
 * cookie (so one browser holds both; a page names its kind in {@code X-Switchboard-Session}): {@code
 * HttpOnly}, {@code SameSite=Strict}, {@code Path=/}, and {@code Secure} when the request came over https
 * (directly or per {@code X-Forwarded-Proto}).
 */
public final class ConsoleRoutes implements RouteGroup {
    private static final int MAX_SECRET_LENGTH = 200;
    /** A sign-in body: one field holding at most {@link #MAX_SECRET_LENGTH} characters, with room to spare. */
    static final int MAX_BODY_BYTES = 4096;

    private final Authenticator auth;
    private final ConsoleSessionStore sessions;
    private final ConsoleSettings settings;

    public ConsoleRoutes(Authenticator auth, ConsoleSessionStore sessions, ConsoleSettings settings) {
        this.auth = auth;
        this.sessions = sessions;
        this.settings = settings;
    }

    @Override
    public void register(JavalinDefaultRoutingApi routes) {
        routes.post("/console/api/session", this::signIn);
        routes.get("/console/api/session", this::current);
        routes.delete("/console/api/session", this::signOut);
        routes.post("/portal/api/session", this::openPortal);
    }

    private void signIn(Context ctx) {
        String key = secret(body(ctx, "adminKey"), "adminKey");
        auth.verifyAdminKey(key, ctx);
        ConsoleSessionStore.Opened opened = sessions.openOperator(settings.sessionIdleTimeout());
        answer(ctx, opened.session(), opened.cookie());
    }

    /**
     * Any page can send a browser to a portal link of its own integration's, and the portal page exchanges it:
     * where the browser has a live portal session, the link is not used unless the request says
     * {@code "replace": true} (the page asks its visitor first), or the visitor would go on, unaware, in that
     * integration's portal. The session replaced is ended.
     */
    private void openPortal(Context ctx) {
        JsonNode body = body(ctx, "token", "replace");
        String token = secret(body, "token");
        JsonNode replace = body.get("replace");
        if (replace != null && !replace.isNull() && !replace.isBoolean()) {
            throw new Refusal.InvalidField("replace", "must be true or false");
        }
        Optional<ConsoleSession> current = Authenticator.portalCookie(ctx).flatMap(c -> auth.liveSession(ctx, c));
        if (current.isPresent() && (replace == null || !replace.asBoolean())) {
            ConsoleSession open = current.get();
            throw new Refusal.Conflict(
                    "portal_session_open",
                    "this browser has a portal session for integration '" + open.integrationName()
                            + "': the link opens one in its place only when sent with \"replace\": true (the portal"
                            + " page asks first); the link was not used",
                    Map.of("integrationId", open.integrationId(), "integrationName", open.integrationName()));
        }
        ConsoleSessionStore.Opened opened =
                auth.attempt(token, ctx, () -> sessions.exchangeLink(token, settings.sessionIdleTimeout()));
        current.ifPresent(replaced -> sessions.delete(replaced.id()));
        answer(ctx, opened.session(), opened.cookie());
    }

    private void current(Context ctx) {
        Optional<Authenticator.SessionCookie> cookie = Authenticator.sessionCookie(ctx);
        ConsoleSession session = cookie.flatMap(c -> auth.liveSession(ctx, c)).orElse(null);
        if (session == null) {
            cookie.ifPresent(c -> clearCookie(ctx, c.name()));
            throw new Refusal.Unauthenticated(cookie.map(Authenticator.SessionCookie::ended)
                    .orElse("no live console or portal session: sign in"));
        }
        ctx.json(describe(session, cookie.get().value()));
    }

    private void signOut(Context ctx) {
        Authenticator.SessionCookie cookie = Authenticator.sessionCookie(ctx)
                .orElseThrow(() -> new Refusal.Unauthenticated("no session cookie: there is nothing to sign out of"));
        // Authenticates the cookie as any request (the CSRF token is required, an unknown cookie is 401), even
        // beside an Authorization header, which would otherwise be authenticated instead and end nothing.
        try {
            auth.authenticateSession(ctx, cookie);
        } catch (Refusal.Unauthenticated e) {
            clearCookie(ctx, cookie.name()); // expired or unknown: the browser need not keep sending it
            throw e;
        }
        Authenticator.session(ctx).ifPresent(s -> {
            if (!sessions.delete(s.id())) {
                // Another sign-out with this cookie ended it first: that one is the change (and its entry).
                clearCookie(ctx, cookie.name());
                throw new Refusal.Unauthenticated("this session was signed out already");
            }
        });
        clearCookie(ctx, cookie.name());
        ctx.status(204);
    }

    /** Sets the session's cookie: each kind has its own name, so signing in to one leaves the other signed in. */
    private void answer(Context ctx, ConsoleSession session, String cookie) {
        auth.opened(ctx, session, cookie);
        String name = session.isPortal() ? Authenticator.PORTAL_COOKIE : Authenticator.SESSION_COOKIE;
        setCookie(ctx, name, cookie, "");
        ctx.header("Cache-Control", "no-store");
        ctx.json(describe(session, cookie));
    }

    private static void clearCookie(Context ctx, String name) {
        setCookie(ctx, name, "", "; Max-Age=0");
    }

    /** A session cookie, set or cleared with the same attributes (a browser clears only the cookie they match). */
    private static void setCookie(Context ctx, String name, String value, String lifetime) {
        ctx.header(
                "Set-Cookie",
                name + "=" + value + "; Path=/" + lifetime + "; HttpOnly; SameSite=Strict"
                        + (secure(ctx) ? "; Secure" : ""));
    }

    private Map<String, Object> describe(ConsoleSession session, String cookie) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("kind", session.kind().name());
        json.put("sessionId", session.id());
        json.put("csrfToken", Authenticator.csrfToken(cookie));
        json.put("idleExpiresAt", session.idleExpiresAt());
        json.put("expiresAt", session.absoluteExpiresAt());
        if (session.isPortal()) {
            json.put("integrationId", session.integrationId());
            json.put("integrationName", session.integrationName());
            json.put("tenantId", session.tenantId());
            List<String> capabilities = java.util.Arrays.stream(Capability.values())
                    .filter(session::may)
                    .map(Capability::name)
                    .toList();
            json.put("capabilities", capabilities);
        }
        json.put("brand", Map.of("name", settings.brandName(), "accentColor", settings.accentColor()));
        return json;
    }

    /** A request over https, or through a proxy that ended TLS and said so. */
    static boolean secure(Context ctx) {
        String forwarded = ctx.header("X-Forwarded-Proto");
        if (forwarded != null && !forwarded.isBlank()) {
            return forwarded.split(",")[0].trim().equalsIgnoreCase("https");
        }
        return "https".equalsIgnoreCase(ctx.scheme());
    }

    /** A sign-in's or link exchange's JSON body, read strictly: a field other than {@code fields} is 400. */
    private static JsonNode body(Context ctx, String... fields) {
        // Sent as JSON only: a page on another origin can POST text/plain without asking, and would open a
        // session of its choosing in the visitor's browser (a portal link of the attacker's integration,
        // where the visitor then adds endpoints). Content-Type application/json makes the browser ask first,
        // and no answer here lets it.
        String type = ctx.header("Content-Type"); // as sent: the servlet's reading fails on a charset it cannot name
        if (type == null || !type.toLowerCase(java.util.Locale.ROOT).matches("application/json\\s*(;.*)?")) {
            throw new Refusal.Invalid(
                    "invalid_content_type",
                    "a sign-in or portal link exchange must be sent with Content-Type: application/json");
        }
        byte[] bytes = RequestBodies.of(ctx);
        // Before parsing: anyone may send these, with no credentials to count against a limit, and a tree
        // of a body holding only {} and [] takes about 30 times its bytes (a MiB's body, 30 MB of heap).
        if (bytes.length > MAX_BODY_BYTES) {
            throw new Refusal.Invalid(
                    "body_too_large",
                    "a sign-in or portal link exchange's body is at most " + MAX_BODY_BYTES + " bytes");
        }
        JsonNode body;
        try {
            body = Json.readTree(Json.MAPPER, Json.utf8(bytes, "the request body"));
        } catch (java.io.IOException e) {
            throw new Refusal.Invalid("invalid_json", "the request body is not valid JSON");
        }
        if (body == null || !body.isObject()) {
            throw new Refusal.Invalid(
                    "invalid_json", "the request body must be a JSON object {\"" + fields[0] + "\": …}");
        }
        List<String> known = List.of(fields);
        body.fieldNames().forEachRemaining(f -> {
            if (!known.contains(f)) {
                throw new Refusal.InvalidField(
                        f, "is not a field of this request (expected: " + String.join(", ", known) + ")");
            }
        });
        return body;
    }

    /** The secret of a sign-in body: a missing or long value is 400. */
    private static String secret(JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null || !value.isTextual() || value.asText().isBlank()) {
            throw new Refusal.InvalidField(field, "is required, a string");
        }
        if (value.asText().length() > MAX_SECRET_LENGTH) {
            throw new Refusal.InvalidField(field, "is longer than " + MAX_SECRET_LENGTH + " characters");
        }
        JsonInput.checkText(value.asText(), field);
        return value.asText();
    }
}
