package dev.switchboard.testing;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/**
 * A browser's console or portal session, as the API sees it: the session cookie from {@code Set-Cookie}
 * ({@code sb_session} for an operator, {@code sb_portal_session} for a portal session) and the CSRF token
 * from the answer. {@link #api()} sends both, like the pages do.
 */
public record ConsoleSession(String baseUrl, String cookie, String csrfToken, JsonNode json) {

    /** Signs in to the console with the admin key. */
    public static ConsoleSession signIn(TestServer server) {
        Api.Response r = Api.of(server.baseUrl(), null)
                .post("/console/api/session", Map.of("adminKey", TestServer.ADMIN_KEY))
                .expect(200);
        return of(server.baseUrl(), r);
    }

    /** Opens a portal session with the token of a link's URL ({@code …/portal#token=…}). */
    public static ConsoleSession portal(TestServer server, String linkUrl) {
        Api.Response r = Api.of(server.baseUrl(), null)
                .post("/portal/api/session", Map.of("token", token(linkUrl)))
                .expect(200);
        return of(server.baseUrl(), r);
    }

    /** The token in a portal link's fragment. */
    public static String token(String linkUrl) {
        int at = linkUrl.indexOf("#token=");
        if (at < 0) {
            throw new AssertionError("not a portal link: " + linkUrl);
        }
        return linkUrl.substring(at + "#token=".length());
    }

    /** The session cookie's value in a response's {@code Set-Cookie}. */
    public static String cookie(Api.Response r) {
        String header = r.header("Set-Cookie");
        for (String name : List.of("sb_session=", "sb_portal_session=")) {
            if (header != null && header.startsWith(name)) {
                return header.substring(name.length(), header.indexOf(';'));
            }
        }
        throw new AssertionError("no session cookie set: " + header);
    }

    /** The name of this session's cookie: each kind has its own. */
    public String cookieName() {
        return "portal".equals(json.path("kind").asText()) ? "sb_portal_session" : "sb_session";
    }

    /** The session a sign-in or link exchange answered. */
    public static ConsoleSession of(String baseUrl, Api.Response r) {
        JsonNode json = r.json();
        return new ConsoleSession(baseUrl, cookie(r), json.get("csrfToken").asText(), json);
    }

    /** A client sending the cookie and the CSRF token, and no Authorization. */
    public Api api() {
        return withoutCsrf().withHeader("X-CSRF-Token", csrfToken);
    }

    /** A client sending only the cookie: what a cross-site request could make the browser send. */
    public Api withoutCsrf() {
        return Api.of(baseUrl, null).withHeader("Cookie", cookieName() + "=" + cookie);
    }
}
