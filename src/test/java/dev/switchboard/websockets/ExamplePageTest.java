package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Api;
import dev.switchboard.testing.HeadlessChromium;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** The browser example, in a real headless Chromium: it connects with the query token and shows events live. */
class ExamplePageTest {

    @Test
    void theExamplePageShowsAnEventWrittenThroughTheApiAsItHappens() throws Exception {
        try (TestServer server = TestServer.start(); HeadlessChromium browser = new HeadlessChromium()) {
            server.createTenant("browser");
            Api app = server.adminFor("browser");
            String token = server.partnerToken("browser");
            browser.open(server.baseUrl() + "/examples/websocket.html?access_token=" + token);
            Awaitility.await().atMost(Duration.ofSeconds(20))
                    .until(() -> browser.evaluate("document.getElementById('status').textContent").asText().equals("live"));

            app.post("/api/v1/events", Map.of("type", "device.command", "subject", "door-7",
                    "data", Map.of("action", "unlock"))).expect(201);
            String items = "[...document.querySelectorAll('#events li.event')].map(li => li.textContent)";
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> !browser.strings(items).isEmpty());
            List<String> shown = browser.strings(items);
            assertThat(shown).hasSize(1);
            assertThat(shown.getFirst()).contains("#1 device.command door-7").contains("unlock");
            assertThat(browser.evaluate("document.getElementById('position').textContent").asText()).isEqualTo("1");
        }
    }
}
