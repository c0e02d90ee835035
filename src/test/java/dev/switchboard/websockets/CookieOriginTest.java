package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.RawWebSocket;
import dev.switchboard.testing.TestServer;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A token in the AccessToken cookie opens a socket only for a page of the server's own origin or of
 * one in websockets.allowedOrigins: the browser sends the cookie whichever site's page connects.
 */
class CookieOriginTest {
    static TestServer server;
    static String token;
    static String host;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of(
                "SWITCHBOARD_WEBSOCKETS_ALLOWED_ORIGINS", "https://App.Example.com, https://admin.example.com:8443"));
        server.createTenant("origins");
        token = server.partnerToken("origins");
        host = server.baseUrl().substring("http://".length());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String upgrade(String query, String... headers) throws IOException {
        return RawWebSocket.browserUpgrade(server, query, headers);
    }

    @Test
    void aCookieTokenOpensASocketFromTheServersOwnOriginAndFromAnAllowedOne() throws IOException {
        String cookie = "Cookie: AccessToken=" + token;
        assertThat(upgrade("?after=0", cookie, "Origin: http://" + host)).isEqualTo("101");
        assertThat(upgrade("?after=0", cookie, "Origin: https://app.example.com"))
                .isEqualTo("101");
        assertThat(upgrade("?after=0", cookie, "Origin: https://admin.example.com:8443"))
                .isEqualTo("101");
        // Behind a proxy that ends TLS, the page is https and the proxy says so.
        assertThat(upgrade("?after=0", cookie, "Origin: https://" + host, "X-Forwarded-Proto: https"))
                .isEqualTo("101");
    }

    @Test
    void aCookieTokenFromAnotherSitesPageIsRefusedBeforeTheUpgradeWithTheErrorJson() throws IOException {
        String cookie = "Cookie: AccessToken=" + token;
        String port = host.substring(host.indexOf(':') + 1);
        for (String origin : List.of(
                "https://evil.example",
                "http://127.0.0.1:1",
                "http://localhost:" + port,
                "https://" + host,
                "https://app.example.com:444",
                "http://app.example.com",
                "https://evil.app.example.com",
                "https://app.example.com.evil.example",
                "null",
                "file://",
                "x")) {
            assertThat(upgrade("?after=0", cookie, "Origin: " + origin))
                    .as(origin)
                    .isEqualTo("403 origin_not_allowed");
        }
        // The page is plain http but the proxy says the socket came over https: not the same origin.
        assertThat(upgrade("?after=0", cookie, "Origin: http://" + host, "X-Forwarded-Proto: https"))
                .isEqualTo("403 origin_not_allowed");
        // Every browser sends Origin on a WebSocket upgrade; with the cookie and none, nothing says whose page it is.
        assertThat(upgrade("?after=0", cookie)).isEqualTo("403 origin_not_allowed");
        // The origin is checked before the token is: another site learns nothing about the visitor's cookie.
        assertThat(upgrade("", "Cookie: AccessToken=sb_access_unknown", "Origin: https://evil.example"))
                .isEqualTo("403 origin_not_allowed");
    }

    @Test
    void tokensInTheHeaderOrTheQueryAreNotTiedToAnOrigin() throws IOException {
        assertThat(upgrade("", "Authorization: Bearer " + token, "Origin: https://evil.example"))
                .isEqualTo("101");
        assertThat(upgrade("?access_token=" + token, "Origin: https://evil.example"))
                .isEqualTo("101");
        // A token the page chose to send wins over the cookie the browser adds by itself.
        assertThat(upgrade(
                        "?access_token=" + token,
                        "Cookie: AccessToken=sb_access_other",
                        "Origin: https://evil.example"))
                .isEqualTo("101");
    }
}
