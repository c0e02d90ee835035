package dev.switchboard.console;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.ConsoleSession;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import java.sql.DriverManager;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The operator console's session: the admin key exchanged for an HttpOnly, SameSite=Strict cookie that
 * authorises the API as the admin key, every change checked for the CSRF token, sign-out, idle expiry,
 * and the limits that apply to keys.
 */
class OperatorSessionTest {
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Api anonymous() {
        return Api.of(server.baseUrl(), null);
    }

    @Test
    void signingInSetsAnHttpOnlyStrictCookieAndAnswersTheCsrfToken() throws Exception {
        Api.Response r = anonymous()
                .post("/console/api/session", Map.of("adminKey", TestServer.ADMIN_KEY))
                .expect(200);
        String setCookie = r.header("Set-Cookie");
        assertThat(setCookie)
                .startsWith("sb_session=sb_session_")
                .contains("; Path=/", "; HttpOnly", "; SameSite=Strict");
        assertThat(setCookie).doesNotContain("Secure");
        JsonNode json = r.json();
        assertThat(json.get("kind").asText()).isEqualTo("operator");
        assertThat(json.get("csrfToken").asText()).hasSizeGreaterThan(30);
        assertThat(Instant.parse(json.get("idleExpiresAt").asText()))
                .isBetween(
                        Instant.now().plus(Duration.ofMinutes(29)),
                        Instant.now().plus(Duration.ofMinutes(31)));
        assertThat(json.get("brand").get("name").asText()).isEqualTo("Switchboard");
        assertThat(json.get("brand").get("accentColor").asText()).isEqualTo("#2563eb");
        assertThat(json.toString()).doesNotContain(TestServer.ADMIN_KEY);

        // Behind a proxy that ended TLS, the cookie is Secure.
        Api.Response viaHttps = anonymous()
                .withHeader("X-Forwarded-Proto", "https")
                .post("/console/api/session", Map.of("adminKey", TestServer.ADMIN_KEY))
                .expect(200);
        assertThat(viaHttps.header("Set-Cookie")).contains("; Secure");

        // The row holds a hash of the cookie, never the cookie or the admin key.
        String cookie = ConsoleSession.cookie(r);
        try (var c = DriverManager.getConnection(server.database().jdbcUrl());
                var rs = c.createStatement().executeQuery("SELECT * FROM console_sessions")) {
            int columns = rs.getMetaData().getColumnCount();
            int rows = 0;
            while (rs.next()) {
                rows++;
                for (int i = 1; i <= columns; i++) {
                    String value = rs.getString(i);
                    if (value != null) {
                        assertThat(value).doesNotContain(cookie).doesNotContain(TestServer.ADMIN_KEY);
                    }
                    byte[] bytes = rs.getBytes(i);
                    if (bytes != null) {
                        assertThat(new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1))
                                .doesNotContain(TestServer.ADMIN_KEY)
                                .doesNotContain(cookie);
                    }
                }
            }
            assertThat(rows).isGreaterThanOrEqualTo(2);
        }
    }

    @Test
    void theCookieAuthorisesTheApiAsTheAdminKeyAndChangesNeedTheCsrfToken() {
        ConsoleSession session = ConsoleSession.signIn(server);
        Api.Response tenants = session.api().get("/api/v1/tenants").expect(200);
        assertThat(tenants.json().has("tenants")).isTrue();
        // Authorised by a cookie, which no cache keys on: nothing may keep the answer (nor the CSRF token).
        assertThat(tenants.header("Cache-Control")).isEqualTo("no-store");
        assertThat(session.api().get("/console/api/session").header("Cache-Control"))
                .isEqualTo("no-store");
        JsonNode current = session.api().get("/console/api/session").expect(200).json();
        assertThat(current.get("kind").asText()).isEqualTo("operator");
        assertThat(current.get("csrfToken").asText()).isEqualTo(session.csrfToken());

        String id = "csrf-" + System.nanoTime();
        Api.Response noToken = session.withoutCsrf().post("/api/v1/tenants", Map.of("id", id));
        assertThat(noToken.status()).isEqualTo(403);
        assertThat(noToken.errorCode()).isEqualTo("csrf_token_invalid");
        Api.Response wrongToken =
                session.withoutCsrf().withHeader("X-CSRF-Token", "nope").post("/api/v1/tenants", Map.of("id", id));
        assertThat(wrongToken.status()).isEqualTo(403);
        assertThat(wrongToken.errorCode()).isEqualTo("csrf_token_invalid");
        // Another session's token is not this one's.
        ConsoleSession other = ConsoleSession.signIn(server);
        assertThat(session.withoutCsrf()
                        .withHeader("X-CSRF-Token", other.csrfToken())
                        .post("/api/v1/tenants", Map.of("id", id))
                        .status())
                .isEqualTo(403);
        server.admin.get("/api/v1/tenants/" + id).expect(404);

        session.api().post("/api/v1/tenants", Map.of("id", id)).expect(201);
        server.admin.get("/api/v1/tenants/" + id).expect(200);
        // The admin key acting for a tenant: the session does too, with the tenant header.
        session.api().withHeader("Switchboard-Tenant", id).get("/api/v1/events").expect(200);
    }

    @Test
    void aRequestWithAnAuthorizationHeaderIgnoresTheCookie() {
        ConsoleSession session = ConsoleSession.signIn(server);
        Api.Response r = session.api()
                .withHeader("Authorization", "Bearer sb_client_not-a-key")
                .get("/api/v1/tenants");
        assertThat(r.status()).isEqualTo(401);
    }

    @Test
    void badSignInsAreRefusedNamingWhatIsWrong() {
        Api.Response wrong =
                anonymous().post("/console/api/session", Map.of("adminKey", "sb_admin_wrong-key-000000000"));
        assertThat(wrong.status()).isEqualTo(401);
        assertThat(wrong.header("Set-Cookie")).isNull();
        Api.Response missing = anonymous().post("/console/api/session", Map.of());
        assertThat(missing.status()).isEqualTo(400);
        assertThat(missing.json().get("error").get("details").get("field").asText())
                .isEqualTo("adminKey");
        Api.Response extra =
                anonymous().post("/console/api/session", Map.of("adminKey", TestServer.ADMIN_KEY, "remember", true));
        assertThat(extra.status()).isEqualTo(400);
        assertThat(extra.json().get("error").get("message").asText()).startsWith("remember:");
        assertThat(anonymous().post("/console/api/session", "{not json").status())
                .isEqualTo(400);
        assertThat(anonymous()
                        .post("/console/api/session", Map.of("adminKey", 42))
                        .status())
                .isEqualTo(400);
        // A client key is not the admin key.
        JsonNode integration = server.createIntegration("signin-" + System.nanoTime(), List.of(), List.of(), List.of());
        assertThat(anonymous()
                        .post(
                                "/console/api/session",
                                Map.of("adminKey", integration.get("clientKey").asText()))
                        .status())
                .isEqualTo(401);
    }

    /**
     * Anyone may send a sign-in, with nothing to count against a limit, and a body of nothing but {} and
     * [] takes about 30 times its bytes as a tree: it is refused by its size, before it is parsed.
     */
    @Test
    void aSignInBodyLargerThanASignInNeedsIsRefusedBeforeItIsParsed() {
        String large = "{\"adminKey\":[" + "{},".repeat(2000) + "{}]}";
        for (String path : List.of("/console/api/session", "/portal/api/session")) {
            Api.Response r = anonymous().post(path, large);
            assertThat(r.status()).as(path).isEqualTo(400);
            assertThat(r.json().get("error").get("code").asText()).as(path).isEqualTo("body_too_large");
        }
        Api.Response padded = anonymous()
                .post(
                        "/console/api/session",
                        "{\"adminKey\": \"" + TestServer.ADMIN_KEY + "\"" + " ".repeat(3000) + "}");
        assertThat(padded.status()).as("a body that fits").isEqualTo(200);
    }

    /** Each cookie holds its own kind of session: an operator's sent as the portal's cookie is no session. */
    @Test
    void anOperatorSessionSentAsThePortalsCookieIsNoSession() {
        ConsoleSession session = ConsoleSession.signIn(server);
        Api asPortal = Api.of(server.baseUrl(), null)
                .withHeader("Cookie", "sb_portal_session=" + session.cookie())
                .withHeader("X-Switchboard-Session", "portal");
        assertThat(asPortal.get("/api/v1/tenants").status()).isEqualTo(401);
        assertThat(asPortal.get("/console/api/session").status()).isEqualTo(401);
        session.api().get("/api/v1/tenants").expect(200);
    }

    @Test
    void signingOutNeedsTheCsrfTokenAndEndsTheSessionEverywhere() {
        ConsoleSession session = ConsoleSession.signIn(server);
        Api.Response noToken = session.withoutCsrf().delete("/console/api/session");
        assertThat(noToken.status()).isEqualTo(403);
        assertThat(noToken.errorCode()).isEqualTo("csrf_token_invalid");
        session.api().get("/api/v1/tenants").expect(200);

        Api.Response out = session.api().delete("/console/api/session").expect(204);
        assertThat(out.header("Set-Cookie")).startsWith("sb_session=;").contains("Max-Age=0");
        Api.Response after = session.api().get("/api/v1/tenants");
        assertThat(after.status()).isEqualTo(401);
        assertThat(session.api().get("/console/api/session").status()).isEqualTo(401);
        assertThat(anonymous().get("/console/api/session").status()).isEqualTo(401);
        assertThat(anonymous().delete("/console/api/session").status()).isEqualTo(401);
        // A cookie that names no session any more is cleared, so the browser stops sending it.
        Api.Response stale = session.api().delete("/console/api/session");
        assertThat(stale.status()).isEqualTo(401);
        assertThat(stale.header("Set-Cookie")).startsWith("sb_session=;").contains("Max-Age=0");

        // An Authorization header beside the cookie does not stand in for it: the cookie's session ends, or
        // the sign-out is refused, never answered 204 with the session still alive.
        ConsoleSession other = ConsoleSession.signIn(server);
        other.api()
                .withHeader("Authorization", "Bearer " + TestServer.ADMIN_KEY)
                .delete("/console/api/session")
                .expect(204);
        assertThat(other.api().get("/console/api/session").status()).isEqualTo(401);
        assertThat(other.withoutCsrf()
                        .withHeader("Authorization", "Bearer " + TestServer.ADMIN_KEY)
                        .delete("/console/api/session")
                        .errorCode())
                .isEqualTo("unauthorized");
    }

    @Test
    void changingTheAdminKeyEndsTheSessionsOpenedWithTheOldOne() {
        var database = TestDatabase.create();
        ConsoleSession session;
        try (TestServer first = TestServer.start(database, Map.of(), java.time.InstantSource.system())) {
            session = ConsoleSession.signIn(first);
            session.api().get("/api/v1/tenants").expect(200);
        }
        // A restart with the same key keeps it.
        try (TestServer same = TestServer.start(database, Map.of(), java.time.InstantSource.system())) {
            on(session, same).api().get("/api/v1/tenants").expect(200);
        }
        // The key changed (because it leaked, say): a session the old key opened is refused everywhere.
        String newKey = "sb_admin_the-new-admin-key-0123456789abcdef";
        try (TestServer changed =
                TestServer.start(database, Map.of("SWITCHBOARD_ADMIN_KEY", newKey), java.time.InstantSource.system())) {
            ConsoleSession old = on(session, changed);
            assertThat(old.api().get("/api/v1/tenants").status()).isEqualTo(401);
            assertThat(old.api()
                            .post("/api/v1/tenants", Map.of("name", "Mallory"))
                            .status())
                    .isEqualTo(401);
            assertThat(old.api().get("/console/api/session").status()).isEqualTo(401);
            ConsoleSession fresh = ConsoleSession.of(
                    changed.baseUrl(),
                    Api.of(changed.baseUrl(), null)
                            .post("/console/api/session", Map.of("adminKey", newKey))
                            .expect(200));
            fresh.api().get("/api/v1/tenants").expect(200);
        }
    }

    /** The same cookie and CSRF token, presented to another node of the database. */
    private static ConsoleSession on(ConsoleSession session, TestServer node) {
        return new ConsoleSession(node.baseUrl(), session.cookie(), session.csrfToken(), session.json());
    }

    @Test
    void aSessionExpiresAfterTheIdleTimeoutAndEachRequestExtendsIt() {
        AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-01T12:00:00Z"));
        try (TestServer clocked = TestServer.start(
                TestDatabase.create(), Map.of("SWITCHBOARD_CONSOLE_SESSION_IDLE_TIMEOUT", "1m"), now::get)) {
            ConsoleSession kept = ConsoleSession.signIn(clocked);
            ConsoleSession idle = ConsoleSession.signIn(clocked);
            assertThat(Instant.parse(kept.json().get("idleExpiresAt").asText()))
                    .isEqualTo(Instant.parse("2026-12-01T12:01:00Z"));
            for (int i = 0; i < 4; i++) {
                now.set(now.get().plusSeconds(45));
                kept.api().get("/api/v1/tenants").expect(200);
            }
            // 3 minutes after signing in, 45 s after its last request.
            JsonNode current =
                    kept.api().get("/console/api/session").expect(200).json();
            assertThat(Instant.parse(current.get("idleExpiresAt").asText())).isAfter(now.get());
            assertThat(idle.api().get("/api/v1/tenants").status()).isEqualTo(401);
            assertThat(idle.api().get("/console/api/session").status()).isEqualTo(401);

            now.set(now.get().plusSeconds(61));
            assertThat(kept.api().get("/api/v1/tenants").status()).isEqualTo(401);
        }
    }

    @Test
    void anAddressSendingManyUnknownCookiesHasTheRestTakenAsUnknownWithoutALookup() {
        try (TestServer here = TestServer.start(Map.of("SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES", "3"));
                TestServer elsewhere = TestServer.start(here.database(), Map.of(), InstantSource.system())) {
            ConsoleSession signedInHere = ConsoleSession.signIn(here);
            ConsoleSession signedInElsewhere = ConsoleSession.signIn(elsewhere);
            Api anonymous = Api.of(here.baseUrl(), null);
            for (int i = 0; i < 60; i++) {
                assertThat(anonymous
                                .withHeader("Cookie", "sb_session=sb_session_made-up-" + i)
                                .get("/api/v1/tenants")
                                .status())
                        .isEqualTo(401);
            }
            // From now on a cookie this node has not seen naming a session from this address is not looked up:
            // a live session opened on another node gets 429 here (not 401: its page keeps the cookie)...
            Api withCookie = anonymous.withHeader("Cookie", "sb_session=" + signedInElsewhere.cookie());
            Api.Response unlooked = withCookie.get("/console/api/session");
            assertThat(unlooked.status()).isEqualTo(429);
            assertThat(unlooked.header("Set-Cookie")).isNull();
            assertThat(signedInElsewhere.api().get("/api/v1/tenants").status()).isEqualTo(200);
            // ...while the session used here, and one opened by signing in again, go on working,
            signedInHere.api().get("/api/v1/tenants").expect(200);
            ConsoleSession.signIn(here).api().get("/api/v1/tenants").expect(200);
            // and signing out is always looked up.
            withCookie
                    .withHeader("X-CSRF-Token", signedInElsewhere.csrfToken())
                    .delete("/console/api/session")
                    .expect(204);
            assertThat(signedInElsewhere.api().get("/api/v1/tenants").status()).isEqualTo(401);
        }
    }

    @Test
    void failedSignInsCountAgainstTheFailedAuthenticationLimitAndSessionsAgainstTheRateLimit() {
        try (TestServer limited = TestServer.start(Map.of(
                "SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES", "3",
                "SWITCHBOARD_RATE_LIMIT_REQUESTS", "20"))) {
            ConsoleSession session = ConsoleSession.signIn(limited);
            List<Integer> statuses = new ArrayList<>();
            for (int i = 0; i < 25; i++) {
                statuses.add(session.api().get("/api/v1/tenants").status());
            }
            assertThat(statuses.subList(0, 20)).containsOnly(200);
            assertThat(statuses.subList(20, 25)).containsOnly(429);
            // Signing out is not counted: a session at its limit can still be ended.
            session.api().delete("/console/api/session").expect(204);
            assertThat(session.api().get("/api/v1/tenants").status()).isEqualTo(401);

            Api anonymous = Api.of(limited.baseUrl(), null);
            // An unknown or expired cookie is 401 and is not a guess: a page left open does not lock its operator out.
            for (int i = 0; i < 5; i++) {
                assertThat(anonymous
                                .withHeader("Cookie", "sb_session=sb_session_expired-" + i)
                                .get("/api/v1/tenants")
                                .status())
                        .isEqualTo(401);
            }
            for (int i = 0; i < 3; i++) {
                assertThat(anonymous
                                .post("/console/api/session", Map.of("adminKey", "sb_admin_guess-" + i + "-0000000000"))
                                .status())
                        .isEqualTo(401);
            }
            Api.Response blocked =
                    anonymous.post("/console/api/session", Map.of("adminKey", "sb_admin_guess-x-00000000"));
            assertThat(blocked.status()).isEqualTo(429);
            assertThat(blocked.header("Retry-After")).isNotNull();
            // As with tokens, the key this address already signed in with goes on working; other guesses do not.
            anonymous
                    .post("/console/api/session", Map.of("adminKey", TestServer.ADMIN_KEY))
                    .expect(200);
            assertThat(anonymous
                            .post("/console/api/session", Map.of("adminKey", "sb_admin_guess-y-00000000"))
                            .status())
                    .isEqualTo(429);
        }
    }
}
