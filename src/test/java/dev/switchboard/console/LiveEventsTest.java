package dev.switchboard.console;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.ConsoleSession;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.RawWebSocket;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.WsClient;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The console's live events: an operator session opens a tenant's WebSocket with its cookie (from a
 * page of the server's own origin), receives every event of the tenant, and sends no requests.
 */
class LiveEventsTest {
    static TestServer server;
    static String host;
    static Partner partner;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        server.createCollection("orders");
        server.createCollection("rooms");
        partner = Partner.create(server, List.of("orders.*"));
        host = server.baseUrl().substring("http://".length());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void anOperatorSessionFollowsATenantsEventsReadOnly() {
        ConsoleSession operator = ConsoleSession.signIn(server);
        try (WsClient ws = WsClient.connect(
                server,
                Map.of("Cookie", "sb_session=" + operator.cookie(), "Origin", "http://" + host),
                "?tenantId=" + partner.tenant() + "&after=0")) {
            partner.writeRecords("orders", 2, Map.of("n", 1));
            // A type the partner's integration does not receive: the operator sees it too.
            server.adminFor(partner.tenant())
                    .post("/api/v1/collections/rooms/records", Map.of("data", Map.of("n", 2)))
                    .expect(201);
            org.awaitility.Awaitility.await()
                    .atMost(java.time.Duration.ofSeconds(15))
                    .until(() -> ws.events().size() >= 3);
            List<String> types =
                    ws.events().stream().map(e -> e.get("type").asText()).toList();
            assertThat(types).containsExactly("orders.created", "orders.created", "rooms.created");

            JsonNode refused = ws.request("r1", "records.create", Map.of("collection", "orders", "data", Map.of()));
            assertThat(refused.get("status").asInt()).isEqualTo(403);
            assertThat(refused.get("error").get("code").asText()).isEqualTo("read_only");
        }
    }

    @Test
    void operatorsSocketsAreNotCountedAgainstAPartnerConnectionsSocketLimit() {
        try (TestServer capped = TestServer.start(Map.of("SWITCHBOARD_WEBSOCKETS_MAX_SOCKETS_PER_CONNECTION", "1"))) {
            Partner p = Partner.create(capped, List.of("orders.*"));
            String origin = "http://" + capped.baseUrl().substring("http://".length());
            ConsoleSession first = ConsoleSession.signIn(capped);
            ConsoleSession second = ConsoleSession.signIn(capped);
            try (WsClient a = WsClient.connect(
                            capped,
                            Map.of("Cookie", "sb_session=" + first.cookie(), "Origin", origin),
                            "?tenantId=" + p.tenant());
                    WsClient b = WsClient.connect(
                            capped,
                            Map.of("Cookie", "sb_session=" + first.cookie(), "Origin", origin),
                            "?tenantId=" + p.tenant());
                    WsClient c = WsClient.connect(
                            capped,
                            Map.of("Cookie", "sb_session=" + second.cookie(), "Origin", origin),
                            "?tenantId=" + p.tenant());
                    WsClient partnerSocket = WsClient.connect(capped, p.accessToken(), null)) {
                a.await("live");
                b.await("live");
                c.await("live");
                partnerSocket.await("live");
                capped.adminFor(p.tenant())
                        .post("/api/v1/events", Map.of("type", "device.command"))
                        .expect(201);
                for (WsClient ws : List.of(a, b, c)) {
                    org.awaitility.Awaitility.await()
                            .atMost(java.time.Duration.ofSeconds(10))
                            .until(() -> ws.events().size() == 1);
                    assertThat(ws.isClosed()).isFalse();
                }
            }
        }
    }

    @Test
    void signingOutOnAnyNodeClosesTheSessionsSockets() {
        ConsoleSession operator = ConsoleSession.signIn(server);
        ConsoleSession other = ConsoleSession.signIn(server);
        try (TestServer secondNode = TestServer.start(server.database(), Map.of(), java.time.InstantSource.system());
                WsClient ws = WsClient.connect(
                        server,
                        Map.of("Cookie", "sb_session=" + operator.cookie(), "Origin", "http://" + host),
                        "?tenantId=" + partner.tenant());
                WsClient kept = WsClient.connect(
                        server,
                        Map.of("Cookie", "sb_session=" + other.cookie(), "Origin", "http://" + host),
                        "?tenantId=" + partner.tenant())) {
            // Signed out through the other node: this node's socket of that session ends within seconds.
            new ConsoleSession(secondNode.baseUrl(), operator.cookie(), operator.csrfToken(), operator.json())
                    .api()
                    .delete("/console/api/session")
                    .expect(204);
            assertThat(ws.awaitClose()).isEqualTo(1000);
            assertThat(kept.isClosed()).isFalse();
        }
    }

    private static String upgrade(String query, String... headers) throws IOException {
        return RawWebSocket.browserUpgrade(server, query, headers);
    }

    @Test
    void theSessionCookieOpensASocketOnlyFromTheServersOwnPagesForAnOperatorAndAKnownTenant() throws IOException {
        ConsoleSession operator = ConsoleSession.signIn(server);
        String cookie = "Cookie: sb_session=" + operator.cookie();
        String origin = "Origin: http://" + host;
        String tenant = "?tenantId=" + partner.tenant();
        assertThat(upgrade(tenant, cookie, origin)).isEqualTo("101");
        assertThat(upgrade(tenant, cookie, "Origin: https://evil.example")).isEqualTo("403 origin_not_allowed");
        assertThat(upgrade(tenant, cookie)).startsWith("403");
        assertThat(upgrade("", cookie, origin)).isEqualTo("400 invalid_field");
        assertThat(upgrade("?tenantId=nowhere", cookie, origin)).isEqualTo("400 invalid_field");
        // PostgreSQL's text cannot hold NUL: the lookup failed there, a 500.
        assertThat(upgrade("?tenantId=a%00b", cookie, origin)).isEqualTo("400 invalid_field");
        // A tenant id no tenant can have is refused without being repeated back.
        java.util.List<String> headers = new java.util.ArrayList<>(RawWebSocket.upgradeHeaders().stream()
                .filter(h -> !h.startsWith("Host:"))
                .toList());
        headers.add("Host: " + host);
        headers.add(cookie);
        headers.add(origin);
        try (RawWebSocket refused =
                RawWebSocket.open(server, "GET", "/api/v1/ws?tenantId=" + "t".repeat(6_000), headers, 0)) {
            assertThat(refused.status).isEqualTo(400);
            assertThat(refused.body).contains("at most").doesNotContain("t".repeat(100));
        }
        assertThat(upgrade(tenant, "Cookie: sb_session=sb_session_unknown", origin))
                .isEqualTo("401 unauthorized");

        String link = partner.client()
                .post("/api/v1/portal-sessions", Map.of())
                .expect(201)
                .json()
                .get("url")
                .asText();
        ConsoleSession portal = ConsoleSession.portal(server, link);
        assertThat(upgrade(tenant, "Cookie: sb_session=" + portal.cookie(), origin))
                .isEqualTo("403 forbidden");
        // Under its own name, a portal session's cookie is no credential of a socket at all.
        assertThat(upgrade(tenant, "Cookie: sb_portal_session=" + portal.cookie(), origin))
                .isEqualTo("401 unauthorized");

        operator.api().delete("/console/api/session").expect(204);
        assertThat(upgrade(tenant, cookie, origin)).isEqualTo("401 unauthorized");
    }

    @Test
    void theOriginsAllowedTheAccessTokenCookieMayNotUseAnOperatorsSession() throws IOException {
        try (TestServer withApp =
                TestServer.start(Map.of("SWITCHBOARD_WEBSOCKETS_ALLOWED_ORIGINS", "https://app.example.com"))) {
            withApp.createTenant("shown");
            ConsoleSession operator = ConsoleSession.signIn(withApp);
            String cookie = "Cookie: sb_session=" + operator.cookie();
            assertThat(RawWebSocket.browserUpgrade(
                            withApp, "?tenantId=shown", cookie, "Origin: https://app.example.com"))
                    .isEqualTo("403 origin_not_allowed");
            assertThat(RawWebSocket.browserUpgrade(withApp, "?tenantId=shown", cookie, "Origin: " + withApp.baseUrl()))
                    .isEqualTo("101");
            // the page it is allowed for still opens its connection's socket with the AccessToken cookie
            assertThat(RawWebSocket.browserUpgrade(
                            withApp,
                            "",
                            "Cookie: AccessToken=" + withApp.partnerToken("shown"),
                            "Origin: https://app.example.com"))
                    .isEqualTo("101");
        }
    }
}
