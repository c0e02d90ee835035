package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Browser;
import dev.switchboard.testing.HeadlessChromium;
import dev.switchboard.testing.TestServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** The browser example, in a real headless Chromium: it connects with the query token and shows events live. */
@Browser
class ExamplePageTest {

    @Test
    void theExamplePageShowsAnEventWrittenThroughTheApiAsItHappens() throws Exception {
        try (TestServer server = TestServer.start();
                HeadlessChromium browser = new HeadlessChromium()) {
            server.createTenant("browser");
            Api app = server.adminFor("browser");
            String token = server.partnerToken("browser");
            browser.open(server.baseUrl() + "/examples/websocket.html#access_token=" + token);
            Awaitility.await()
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> browser.evaluate("document.getElementById('status').textContent")
                            .asText()
                            .equals("live"));

            app.post(
                            "/api/v1/events",
                            Map.of("type", "device.command", "subject", "door-7", "data", Map.of("action", "unlock")))
                    .expect(201);
            String items = "[...document.querySelectorAll('#events li.event')].map(li => li.textContent)";
            Awaitility.await()
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> !browser.strings(items).isEmpty());
            List<String> shown = browser.strings(items);
            assertThat(shown).hasSize(1);
            assertThat(shown.getFirst()).contains("#1 device.command door-7").contains("unlock");
            assertThat(browser.evaluate("document.getElementById('position').textContent")
                            .asText())
                    .isEqualTo("1");
            assertThat(browser.evaluate("location.href").asText())
                    .as("the token is out of the address bar")
                    .isEqualTo(server.baseUrl() + "/examples/websocket.html");
        }
    }

    @Test
    void theExamplePageMayNotBeFramedAndRunsOnlyItsOwnScript() throws Exception {
        try (TestServer server = TestServer.start()) {
            var answer = java.net.http.HttpClient.newHttpClient()
                    .send(
                            java.net.http.HttpRequest.newBuilder(
                                            java.net.URI.create(server.baseUrl() + "/examples/websocket.html"))
                                    .build(),
                            java.net.http.HttpResponse.BodyHandlers.discarding());
            String policy =
                    answer.headers().firstValue("Content-Security-Policy").orElse("");
            assertThat(policy)
                    .contains("frame-ancestors 'none'")
                    .contains("default-src 'none'")
                    .containsPattern("script-src 'sha256-[A-Za-z0-9+/]{43}='");
            assertThat(answer.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
            assertThat(answer.headers().firstValue("Referrer-Policy")).hasValue("no-referrer");
        }
    }

    @Test
    void theExamplePageCreatesAndUpdatesARecordOverTheSocket() throws Exception {
        try (TestServer server = TestServer.start();
                HeadlessChromium browser = new HeadlessChromium()) {
            server.createCollection("reservations");
            server.createTenant("browser-form");
            String token = server.partnerToken("browser-form");
            browser.open(server.baseUrl() + "/examples/websocket.html?access_token=" + token);
            Awaitility.await()
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> browser.evaluate("document.getElementById('status').textContent")
                            .asText()
                            .equals("live"));
            String answer = "document.getElementById('answer').textContent";
            browser.evaluate("document.getElementById('save').click()");
            Awaitility.await()
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> browser.evaluate(answer).asText().startsWith("records.create: 201, event #1"));
            String id = browser.evaluate("document.getElementById('recordId').value")
                    .asText();
            assertThat(id).startsWith("rec_");
            browser.evaluate("document.getElementById('data').value = '{\"state\": \"checked_in\"}'");
            browser.evaluate("document.getElementById('save').click()");
            Awaitility.await()
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> browser.evaluate(answer).asText().startsWith("records.update: 200, event #2"));
            assertThat(server.api(token)
                            .get("/api/v1/collections/reservations/records/" + id)
                            .expect(200)
                            .json()
                            .at("/data/state")
                            .asText())
                    .isEqualTo("checked_in");
            String items = "[...document.querySelectorAll('#events li.event')].map(li => li.textContent)";
            Awaitility.await()
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> browser.strings(items).size() == 2);
        }
    }

    /**
     * The visitor's browser holds the AccessToken cookie for the server's host. A page of another origin on
     * the same host (another port: the same site, so the browser sends the cookie) tries to read the log.
     */
    @Test
    void aPageOfAnotherOriginCannotOpenASocketWithTheVisitorsCookieWhileTheServersOwnPageCan() throws Exception {
        HttpServer otherOrigin = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        otherOrigin.createContext("/", exchange -> {
            byte[] page = "<!doctype html><title>another origin</title>".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            exchange.sendResponseHeaders(200, page.length);
            exchange.getResponseBody().write(page);
            exchange.close();
        });
        otherOrigin.start();
        try (TestServer server = TestServer.start();
                HeadlessChromium browser = new HeadlessChromium()) {
            server.createTenant("visitor");
            String token = server.partnerToken("visitor");
            server.adminFor("visitor")
                    .post("/api/v1/events", Map.of("type", "device.command", "subject", "secret"))
                    .expect(201);
            String socketUrl = server.baseUrl().replace("http://", "ws://") + "/api/v1/ws?after=0";
            String connect = "window.result = 'pending'; { const ws = new WebSocket('" + socketUrl + "');"
                    + " ws.onmessage = e => { if (e.data.includes('\"events\"')) window.result = 'read: ' + e.data; };"
                    + " ws.onclose = e => { if (window.result === 'pending') window.result = 'closed ' + e.code; }; }"
                    + " 'started'";

            String own = server.baseUrl() + "/examples/websocket.html";
            open(browser, own);
            browser.evaluate("document.cookie = 'AccessToken=" + token + "; path=/'");
            browser.evaluate(connect);
            assertThat(result(browser)).startsWith("read: ").contains("secret");

            String other = "http://127.0.0.1:" + otherOrigin.getAddress().getPort() + "/";
            open(browser, other);
            browser.evaluate(connect);
            assertThat(result(browser)).isEqualTo("closed 1006"); // the upgrade was refused: nothing was read
        } finally {
            otherOrigin.stop(0);
        }
    }

    private static void open(HeadlessChromium browser, String url) {
        browser.open(url);
        Awaitility.await()
                .atMost(Duration.ofSeconds(20))
                .until(() -> browser.evaluate("location.href + ' ' + document.readyState")
                        .asText()
                        .equals(url + " complete"));
    }

    private static String result(HeadlessChromium browser) {
        Awaitility.await()
                .atMost(Duration.ofSeconds(20))
                .until(() -> !browser.evaluate("String(window.result)").asText().equals("pending"));
        return browser.evaluate("String(window.result)").asText();
    }
}
