package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.Json;
import dev.switchboard.testing.RawHttp;
import dev.switchboard.testing.RawWebSocket;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** HTTP as its RFCs and the proxies and balancers in front of the server read it: HEAD, repeated headers, 401. */
class HttpSemanticsTest {
    static TestServer server;
    static String token;
    static int port;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        server.createCollection("reservations");
        server.createTenant("hotel-1");
        token = server.partnerToken("hotel-1");
        port = server.switchboard().port();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static RawHttp.Response send(String method, String target, List<Map.Entry<String, String>> headers)
            throws Exception {
        return RawHttp.send(
                "127.0.0.1", port, new RawHttp.Request(method, target, headers, null, false), Duration.ofSeconds(10));
    }

    /**
     * The framework answered a HEAD on a GET route 200 without running the route: {@code HEAD /health/ready}
     * said ready with the database down, and a HEAD with no token 200 where the GET says 401.
     */
    @Test
    void aHeadIsAnsweredAsItsGetIsWithoutTheBody() throws Exception {
        var access = Map.entry("Authorization", "Bearer " + token);
        var admin = Map.entry("Authorization", "Bearer " + TestServer.ADMIN_KEY);
        record Target(String path, List<Map.Entry<String, String>> headers) {}
        for (Target target : List.of(
                new Target("/health/ready", List.of()),
                new Target("/metrics", List.of()),
                new Target("/api/v1/collections/reservations/records/rec_nope", List.of()),
                new Target("/api/v1/collections/reservations/records/rec_nope", List.of(access)),
                new Target("/api/v1/connection", List.of(access)),
                new Target("/api/v1/tenants/nope", List.of(admin)),
                new Target("/api/v1/ws", List.of(access)),
                new Target("/examples/websocket.html", List.of()),
                new Target("/console", List.of()))) {
            RawHttp.Response get = send("GET", target.path(), target.headers());
            RawHttp.Response head = send("HEAD", target.path(), target.headers());
            String what = "HEAD " + target.path() + " " + target.headers().size();
            assertThat(head.status()).as(what).isEqualTo(get.status());
            assertThat(head.header("Content-Type")).as(what).isEqualTo(get.header("Content-Type"));
            assertThat(head.header("Content-Security-Policy"))
                    .as(what)
                    .isEqualTo(get.header("Content-Security-Policy"));
            assertThat(head.body()).as(what).isEmpty();
        }
        assertThat(send("HEAD", "/api/v1/connection", List.of()).status()).isEqualTo(401);
    }

    /** A list header may come as several lines (RFC 9110, 5.3): If-None-Match's second line was not read. */
    @Test
    void anIfNoneMatchListOnSeveralLinesIsReadWhole() throws Exception {
        String id = server.api(token)
                .post("/api/v1/collections/reservations/records", java.util.Map.of("data", java.util.Map.of()))
                .expect(201)
                .json()
                .get("id")
                .asText();
        String path = "/api/v1/collections/reservations/records/" + id;
        var access = Map.entry("Authorization", "Bearer " + token);
        RawHttp.Response notModified = send(
                "GET", path, List.of(access, Map.entry("If-None-Match", "\"2\""), Map.entry("If-None-Match", "\"1\"")));
        assertThat(notModified.status()).isEqualTo(304);
        assertThat(notModified.header("ETag")).isEqualTo("\"1\"");
        RawHttp.Response changed = send(
                "GET", path, List.of(access, Map.entry("If-None-Match", "\"2\""), Map.entry("If-None-Match", "\"3\"")));
        assertThat(changed.status()).isEqualTo(200);
    }

    /** Sent twice, the first copy was read: a proxy checking or setting one and the server could each read another. */
    @Test
    void aHeaderThatIsSentOnceIsRefusedWhenSentTwice() throws Exception {
        var access = Map.entry("Authorization", "Bearer " + token);
        var admin = Map.entry("Authorization", "Bearer " + TestServer.ADMIN_KEY);
        for (var headers : List.of(
                List.of(access, Map.entry("Authorization", "Bearer sb_access_other")),
                List.of(
                        admin,
                        Map.entry("Switchboard-Tenant", "hotel-1"),
                        Map.entry("Switchboard-Tenant", "hotel-2")))) {
            RawHttp.Response refused = send("GET", "/api/v1/events?limit=1", headers);
            assertThat(refused.status()).isEqualTo(400);
            assertThat(Json.read(refused.text()).at("/error/code").asText()).isEqualTo("invalid_header");
        }
        List<String> twoKeys = new ArrayList<>(RawWebSocket.upgradeHeaders());
        twoKeys.add("Sec-WebSocket-Key: c2Vjb25kIGtleSBoZXJlIQ==");
        twoKeys.add("Authorization: Bearer " + token);
        try (RawWebSocket refused = RawWebSocket.open(server, "GET", "/api/v1/ws", twoKeys, 0)) {
            assertThat(refused.status).isEqualTo(400);
            assertThat(Json.read(refused.body).at("/error/code").asText()).isEqualTo("invalid_header");
        }
    }

    /** The router took /api/v1/ws/ for the socket's path and upgraded it into a socket nothing served. */
    @Test
    void aSocketOpensAtItsPathAlone() throws Exception {
        try (RawWebSocket refused = RawWebSocket.open(server, "/api/v1/ws/", token, 0)) {
            assertThat(refused.status).isEqualTo(404);
            assertThat(Json.read(refused.body).at("/error/code").asText()).isEqualTo("route_not_found");
        }
    }

    /** The path exists: a method it does not take was 404 route_not_found, with nothing saying what it takes. */
    @Test
    void aMethodAPathDoesNotTakeIs405NamingThoseItTakes() throws Exception {
        var admin = Map.entry("Authorization", "Bearer " + TestServer.ADMIN_KEY);
        RawHttp.Response refused = send("PUT", "/api/v1/tenants", List.of(admin));
        assertThat(refused.status()).isEqualTo(405);
        assertThat(refused.header("Allow")).isEqualTo("GET, POST, HEAD");
        assertThat(Json.read(refused.text()).at("/error/code").asText()).isEqualTo("method_not_allowed");
        assertThat(send("DELETE", "/health/live", List.of()).header("Allow")).isEqualTo("GET, HEAD");
        assertThat(send("POST", "/api/v1/nowhere", List.of(admin)).status()).isEqualTo(404);
    }

    /**
     * A handshake is a GET. Other methods carrying the upgrade headers had the token checked (and counted),
     * then the servlet's defaults answered: 405 without Allow, 501, and a TRACE echoing the credentials.
     */
    @Test
    void anotherMethodWithTheUpgradeHeadersIsAnsweredAsWithoutThemBeforeItsTokenIsRead() throws Exception {
        List<Map.Entry<String, String>> upgrade = List.of(
                Map.entry("Connection", "Upgrade"),
                Map.entry("Upgrade", "websocket"),
                Map.entry("Sec-WebSocket-Version", "13"),
                Map.entry("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                Map.entry("Cookie", "AccessToken=sb_access_cookie-secret"));
        for (String credential : List.of(token, "sb_access_not-a-token")) {
            List<Map.Entry<String, String>> headers = new java.util.ArrayList<>(upgrade);
            headers.add(Map.entry("Authorization", "Bearer " + credential));
            for (String method : List.of("POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")) {
                RawHttp.Response refused = send(method, "/api/v1/ws", headers);
                assertThat(refused.status()).as(method).isEqualTo(405);
                assertThat(refused.header("Allow")).as(method).isEqualTo("GET, HEAD");
                assertThat(Json.read(refused.text()).at("/error/code").asText())
                        .as(method)
                        .isEqualTo("method_not_allowed");
                assertThat(refused.text()).as(method).doesNotContain(credential).doesNotContain("cookie-secret");
            }
            assertThat(send("HEAD", "/api/v1/ws", headers).status()).isEqualTo(426);
        }
    }

    @Test
    void a401NamesTheSchemeAndNoAnswerIsSniffed() throws Exception {
        RawHttp.Response unauthorized = send("GET", "/api/v1/connection", List.of());
        assertThat(unauthorized.status()).isEqualTo(401);
        assertThat(unauthorized.header("WWW-Authenticate")).isEqualTo("Bearer");
        assertThat(unauthorized.header("X-Content-Type-Options")).isEqualTo("nosniff");
        try (RawWebSocket refused = RawWebSocket.open(server, "/api/v1/ws", "sb_access_not-a-token", 0)) {
            assertThat(refused.status).isEqualTo(401);
            assertThat(refused.head).contains("WWW-Authenticate: Bearer").contains("X-Content-Type-Options: nosniff");
        }
    }
}
