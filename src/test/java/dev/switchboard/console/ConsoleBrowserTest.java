package dev.switchboard.console;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Browser;
import dev.switchboard.testing.ConsoleSession;
import dev.switchboard.testing.HeadlessChromium;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The console and the partner portal in a real headless Chromium, against the real server and a real
 * webhook receiver: what a user sees and does, screen by screen, with no error in the page's console.
 *
 * <p>Each screen is captured as a PNG in {@code target/console-screenshots/}, or in the folder
 * {@code CONSOLE_SCREENSHOTS} names ({@code CONSOLE_SCREENSHOTS=docs/console bin/test -Dtest=ConsoleBrowserTest}
 * refreshes the README's pictures).
 */
@Browser
class ConsoleBrowserTest {
    private static final int WIDE = 1280;
    private static final Path SHOTS =
            Path.of(System.getenv().getOrDefault("CONSOLE_SCREENSHOTS", "target/console-screenshots"));
    /**
     * The browser logs every 4xx answer as a failed load. These are answers the page expects and shows (no session
     * yet, a refused action, a used link), not errors of the page; anything else in the console fails the test.
     */
    private static final Pattern EXPECTED_REFUSAL =
            Pattern.compile("Failed to load resource: the server responded with a status of (401|403|410) .*");

    static TestServer server;
    static Receiver receiver;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of(
                "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
                "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS", "100ms,100ms",
                "SWITCHBOARD_PORTAL_NAME", "Hotel Cloud",
                "SWITCHBOARD_PORTAL_ACCENT_COLOR", "#0f766e"));
        receiver = new Receiver();
        server.createCollection(
                "reservations",
                "eventFields",
                List.of("state"),
                "schema",
                Map.of(
                        "type",
                        "object",
                        "required",
                        List.of("state"),
                        "properties",
                        Map.of("state", Map.of("type", "string"))));
    }

    @AfterAll
    static void stop() {
        receiver.close();
        server.close();
    }

    @Test
    void anOperatorSignsInAddsAnEndpointThenRetriesAndReplaysAFailingReceiversMessage() throws Exception {
        server.createTenant("hotel-1");
        JsonNode integration = server.createIntegration(
                "Door keys", List.of("reservations"), List.of("reservations"), List.of("reservations.*"));
        String integrationId = integration.get("id").asText();
        String accessToken =
                server.connect(integrationId, "hotel-1").get("accessToken").asText();
        // The receiver's answer is shown: a direction override in it is shown as what it is, not obeyed.
        receiver.answer(
                r -> Receiver.Reply.status(500).withBody("{\"error\":\"receiver is down\",\"log\":\"\u202Egnp.exe\"}"));

        try (HeadlessChromium browser = new HeadlessChromium()) {
            browser.viewport(WIDE, 900);
            browser.timeZone("Pacific/Auckland");
            // Opening a screen while signed out asks for the key, then goes to that screen.
            browser.load(server.baseUrl() + "/console/integrations/" + integrationId);
            browser.waitFor("#admin-key");
            assertThat(browser.evaluate("location.pathname + location.search").asText())
                    .isEqualTo("/console/signin?next=%2Fconsole%2Fintegrations%2F" + integrationId);
            assertThat(browser.evaluate("document.title").asText()).isEqualTo("Sign in · Switchboard console");
            shot(browser, "sign-in");
            browser.type("#admin-key", "sb_admin_not-the-key");
            browser.click("#sign-in");
            browser.waitForText("#notice", "not the admin key");
            browser.type("#admin-key", TestServer.ADMIN_KEY);
            browser.press("Enter");
            browser.waitForText("main h1", "Door keys");
            // Each screen's title names it, and what it shows.
            waitForTitle(browser, "Integration Door keys · Hotel Cloud console");
            assertThat(browser.evaluate("JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})")
                            .asText())
                    .doesNotContain("sb_admin");
            assertThat(browser.evaluate("document.cookie").asText()).doesNotContain("sb_session"); // HttpOnly

            // Add an endpoint; its signing secret is shown once.
            browser.click("details.add summary");
            browser.type("#new-url", receiver.url("/hooks"));
            browser.type("#new-types", "reservations.*");
            browser.click("#create-endpoint");
            String signingSecret = browser.waitForText("#created .secret-value", "whsec_");
            assertThat(signingSecret).startsWith("whsec_");
            waitUntil(browser, "document.activeElement === document.querySelector('#created .secret-value')");
            // It can be copied with its button: the clipboard, or where the browser refuses it, the value selected.
            browser.click("#created button.copy");
            String copied = Awaitility.await()
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> browser.text("#created .copied"), t -> !t.isEmpty());
            if (!copied.equals("Copied.")) {
                assertThat(copied).contains("Ctrl+C");
                assertThat(browser.evaluate("getSelection().toString()").asText())
                        .isEqualTo(signingSecret);
            }
            JsonNode endpoint = server.admin
                    .get("/api/v1/webhooks?integrationId=" + integrationId)
                    .expect(200)
                    .json()
                    .at("/webhooks/0");
            String webhookId = endpoint.get("id").asText();
            assertThat(endpoint.get("url").asText()).isEqualTo(receiver.url("/hooks"));
            browser.waitForText("#endpoints", receiver.url("/hooks"));
            shot(browser, "integration");

            // A partner's write becomes a message the receiver refuses three times.
            server.api(accessToken)
                    .post("/api/v1/collections/reservations/records", Map.of("data", Map.of("state", "confirmed")))
                    .expect(201);
            browser.click("#created a");
            browser.waitFor("#message-filter");
            waitForTitle(browser, "Endpoint " + receiver.url("/hooks") + " · Hotel Cloud console");
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> {
                        browser.click("#apply-filter");
                        return browser.exists("tr[data-message] .badge.failed");
                    });
            browser.click("tr[data-message] a.open-message");
            browser.waitForText("#message-status", "failed");
            String attempts = browser.text("table.attempts tbody");
            assertThat(browser.evaluate("document.querySelectorAll('table.attempts tbody tr').length")
                            .asInt())
                    .isEqualTo(3);
            assertThat(attempts)
                    .contains("500")
                    .contains("receiver is down")
                    .contains("http_error")
                    .contains("⟨U+202E⟩gnp.exe");
            assertThat(browser.text("#message details.event summary")).contains("#1 reservations.created");

            // Times are the viewer's: the page runs in Auckland, whatever the server's zone.
            JsonNode created = browser.evaluate(
                    "(t => ({iso: t.getAttribute('datetime'), text: t.textContent}))(document.querySelector('#message dd time'))");
            String auckland = DateTimeFormatter.ofPattern("h:mm:ss")
                    .format(Instant.parse(created.get("iso").asText()).atZone(ZoneId.of("Pacific/Auckland")));
            assertThat(created.get("text").asText()).contains(auckland);
            shot(browser, "endpoint");

            // Retry it once the receiver answers again: the page follows it until it is delivered.
            receiver.answer(r -> Receiver.Reply.status(200));
            String messageId = browser.evaluate("document.querySelector('#message h3 code').textContent")
                    .asText();
            browser.click("#retry-message");
            browser.waitForText("#message-status", "delivered");
            // The button went with the failure: the focus is on the message, not lost to the page's body.
            waitUntil(browser, "document.activeElement === document.querySelector('#message h3')");
            assertThat(receiver.received("/hooks").getLast().header("webhook-id"))
                    .isEqualTo(messageId);
            assertThat(browser.evaluate("document.querySelectorAll('table.attempts tbody tr').length")
                            .asInt())
                    .isEqualTo(4);

            // Replay from position 1, after a confirmation.
            int before = receiver.received("/hooks").size();
            browser.type("#replay-seq", "1");
            browser.click("#replay");
            browser.waitFor("dialog.confirm");
            assertThat(browser.evaluate("document.activeElement.textContent").asText())
                    .isEqualTo("Cancel"); // the safe answer has the focus
            browser.press("Escape"); // and Escape says no
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !browser.exists("dialog.confirm"));
            assertThat(browser.text("#replay-result")).isEmpty();
            browser.click("#replay");
            browser.waitFor("dialog.confirm");
            browser.click("dialog.confirm button[value=yes]");
            browser.waitForText("#replay-result", "1 stream will send the log again");
            Awaitility.await()
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> receiver.received("/hooks").size() > before);
            assertThat(receiver.received("/hooks")
                            .getLast()
                            .json()
                            .at("/events/0/seq")
                            .asLong())
                    .isEqualTo(1);
            assertNoConsoleErrors(browser, "endpoint");

            // Skip to content is a place on the screen: the screen is not drawn again, so what was typed stays.
            browser.evaluate("window.filterForm = document.querySelector('#message-filter')");
            browser.type("#filter-tenant", "hotel");
            browser.evaluate("document.querySelector('.skip').focus()");
            browser.press("Enter");
            waitUntil(browser, "location.hash === '#main'");
            assertThat(browser.evaluate("document.activeElement.id").asText()).isEqualTo("main");
            assertThat(browser.evaluate("document.querySelector('#message-filter') === window.filterForm")
                            .asBoolean())
                    .as("the same screen, not drawn again")
                    .isTrue();
            assertThat(browser.evaluate("document.querySelector('#filter-tenant').value")
                            .asText())
                    .isEqualTo("hotel");
            browser.evaluate("document.querySelector('#filter-tenant').value = ''");

            // Settings, and a test event.
            browser.type("#edit-batch", "50");
            browser.click("#save-endpoint");
            browser.waitForText("#notice", "Saved.");
            assertThat(server.admin
                            .get("/api/v1/webhooks/" + webhookId)
                            .expect(200)
                            .json()
                            .get("maxBatchSize")
                            .asInt())
                    .isEqualTo(50);
            int beforeTest = receiver.received("/hooks").size();
            browser.click("#send-test");
            browser.waitForText("#action-result", "is on its way");
            waitUntil(browser, "document.activeElement.id === 'send-test'");
            Awaitility.await()
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> receiver.received("/hooks").size() > beforeTest);
            // A rotated signing secret is shown once, with the focus on it.
            browser.click("#rotate-secret");
            browser.click("dialog.confirm button[value=yes]");
            browser.waitForText("#action-result .secret-value", "whsec_");
            waitUntil(browser, "document.activeElement === document.querySelector('#action-result .secret-value')");

            // A connection is disabled only after a confirmation.
            browser.load(server.baseUrl() + "/console/integrations/" + integrationId);
            browser.click("#connections button");
            browser.waitForText("dialog.confirm", "Disable the connection to hotel-1?");
            browser.click("dialog.confirm button[value=yes]");
            browser.waitForText("#connections .badge", "disabled");
            // The table was drawn again: the focus is on the row's button that took the place of Disable.
            waitUntil(browser, "document.activeElement.textContent.startsWith('Enable the connection to hotel-1')");
            assertThat(server.api(accessToken).get("/api/v1/events").status()).isEqualTo(401);
            browser.click("#connections button");
            browser.click("dialog.confirm button[value=yes]");
            browser.waitForText("#connections .badge", "enabled");
            server.api(accessToken).get("/api/v1/events").expect(200);

            // Rotating its token shows the new one once, above the table, with the focus on it; the old one is refused.
            browser.click("#connections button[data-action=rotate]");
            browser.waitForText("dialog.confirm", "Rotate the access token of hotel-1");
            browser.click("dialog.confirm button[value=yes]");
            browser.waitFor("#connection-token .secret-value");
            assertThat(browser.text("#connection-token")).contains("shown once; copy it now");
            String rotated = browser.text("#connection-token .secret-value");
            waitUntil(browser, "document.activeElement === document.querySelector('#connection-token .secret-value')");
            server.api(rotated).get("/api/v1/connection").expect(200);
            assertThat(server.api(accessToken).get("/api/v1/connection").status())
                    .isEqualTo(401);
            // So is a portal link.
            browser.click("#portal-link button[type=submit]");
            browser.waitForText("#portal-url", "/portal#token=");
            waitUntil(browser, "document.activeElement === document.querySelector('#portal-url')");
            // A screen that cannot be shown says why as every refusal does: the reason, its status and code.
            browser.load(server.baseUrl() + "/console/endpoints/wh_01m95gzatwfx08h8yj76qh6r08");
            browser.waitForText("main", "(404 not_found)");
            browser.clearConsole(); // the 404, which the browser logs

            // The other screens, each by its own address. The node writes its delivery counts every 10 s:
            // now, so the charts show this test's messages.
            server.switchboard().deliveryStats().flush();
            browser.load(server.baseUrl() + "/console");
            browser.waitFor("#counts .tile");
            browser.waitFor("#delivery svg.chart");
            waitForTitle(browser, "Overview · Hotel Cloud console");
            assertThat(browser.evaluate("document.querySelector('#delivery svg.chart').getAttribute('aria-label')")
                            .asText())
                    .contains("Messages by outcome")
                    .containsPattern("[1-9][0-9]* failed")
                    .containsPattern("[1-9][0-9]* delivered");
            assertThat(browser.text("#attention")).contains(receiver.url("/hooks"));
            shot(browser, "overview");

            browser.load(server.baseUrl() + "/console/live?tenantId=hotel-1");
            browser.waitForText("#live-status", "live");
            server.adminFor("hotel-1")
                    .post(
                            "/api/v1/events",
                            Map.of("type", "device.command", "subject", "door-7", "data", Map.of("action", "unlock")))
                    .expect(201);
            browser.waitForText("#live-events", "device.command");
            browser.click("#live-pause");
            server.adminFor("hotel-1")
                    .post("/api/v1/events", Map.of("type", "device.command", "subject", "door-8"))
                    .expect(201);
            browser.waitForText("#live-pause", "Resume (1 waiting)");
            assertThat(browser.text("#live-events")).doesNotContain("door-8");
            browser.click("#live-pause");
            browser.waitForText("#live-events", "door-8");
            browser.click("#live-events li:last-child summary");
            shot(browser, "live-events");

            // A link to a tenant that does not exist says so, and follows no other tenant in its place.
            browser.load(server.baseUrl() + "/console/live?tenantId=no-such-tenant");
            assertThat(browser.waitForText("#live-unknown", "no-such-tenant")).contains("No tenant");
            assertThat(browser.text("#live-status")).isEqualTo("closed");
            browser.clearConsole(); // the 404 of that lookup, which the browser logs

            // A link to a collection scrolls to it once the screen is drawn; the contents' links keep the screen.
            server.createCollection("zones");
            browser.viewport(WIDE, 400);
            browser.load(server.baseUrl() + "/console/catalog#c-zones");
            browser.waitFor("#c-zones");
            waitUntil(
                    browser,
                    "scrollY > 0 && (Math.abs(document.getElementById('c-zones').getBoundingClientRect().top) < 2"
                            + " || scrollY + innerHeight >= document.documentElement.scrollHeight - 1)");
            browser.evaluate("window.catalogHeading = document.querySelector('main h1')");
            browser.click(".toc a[href='#c-reservations']");
            waitUntil(browser, "location.hash === '#c-reservations'");
            assertThat(browser.evaluate("document.querySelector('main h1') === window.catalogHeading")
                            .asBoolean())
                    .as("the same screen, not drawn again")
                    .isTrue();
            browser.viewport(WIDE, 900);
            browser.waitForText("main", "reservations.created");
            shot(browser, "event-catalog");

            browser.load(server.baseUrl() + "/console/audit");
            browser.waitForText("#audit", "webhook");
            shot(browser, "audit-log");

            browser.viewport(390, 844);
            browser.load(server.baseUrl() + "/console/endpoints/" + webhookId + "?message=" + messageId);
            browser.waitForText("#message-status", "delivered");
            shot(browser, "endpoint-narrow");
            assertThat(browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
                            .asBoolean())
                    .as("nothing wider than a phone's screen")
                    .isTrue();

            browser.viewport(WIDE, 900);
            browser.click("#sign-out");
            browser.waitFor("#admin-key");
            Api.Response after = server.api(null).get("/console/api/session");
            assertThat(after.status()).isEqualTo(401);
            assertNoConsoleErrors(browser, "the console");
        }
    }

    @Test
    void aPortalLinkOpensThePortalOnceWithTheSessionsCapabilities() throws Exception {
        Failed failed = failedMessage("portal-1", "Booking engine", "/portal-hooks");
        String link = portalLink(failed.integrationId(), List.of("read", "retry"), "1h");
        assertThat(link).startsWith(server.baseUrl() + "/portal#token=");

        try (HeadlessChromium browser = new HeadlessChromium()) {
            browser.viewport(WIDE, 900);
            browser.load(link);
            browser.waitFor("#endpoints table");
            assertThat(browser.evaluate("location.hash").asText()).isEmpty(); // the secret is not left in the address
            assertThat(browser.text("#brand")).isEqualTo("Hotel Cloud · Webhooks");
            assertThat(browser.evaluate("document.title").asText()).isEqualTo("Endpoints · Hotel Cloud · Webhooks");
            assertThat(browser.evaluate(
                                    "getComputedStyle(document.querySelector('#nav a[aria-current]')).backgroundColor")
                            .asText())
                    .isEqualTo("rgb(15, 118, 110)"); // the platform's accent colour
            assertThat(browser.text("main")).contains("Booking engine").contains("read, retry");
            assertThat(browser.exists("#new-endpoint"))
                    .as("no manage_endpoints: no form to add one")
                    .isFalse();
            shot(browser, "portal");

            browser.click("#endpoints a");
            browser.waitFor("tr[data-message] .badge.failed");
            browser.click("tr[data-message] a.open-message");
            browser.waitForText("#message-status", "failed");
            assertThat(browser.exists("#endpoint-settings")).isFalse();
            assertThat(browser.exists("#rotate-secret")).isFalse();
            // Every failed message of the endpoint sent again, after a confirmation: the page follows each
            // answer's cursor until the endpoint's newest message has been looked at.
            failed.receiver().answer(r -> Receiver.Reply.status(204));
            int attempts = failed.receiver().received("/portal-hooks").size();
            browser.click("#retry-all");
            browser.waitForText("dialog.confirm", "Send every failed message that matches the filter again");
            browser.click("dialog.confirm button[value=yes]");
            browser.waitForText("#notice", "1 failed message will be sent again.");
            Awaitility.await()
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> failed.receiver().received("/portal-hooks").size() > attempts);
            assertThat(failed.receiver().received("/portal-hooks").getLast().header("webhook-id"))
                    .isEqualTo(failed.messageId());
            shot(browser, "portal-endpoint");

            // A link opened where a portal session is live replaces it only once the visitor says so: any
            // page could send the browser to a link of its own integration's. Declined, the session stays
            // and the link is not used.
            String declined = portalLink(failed.integrationId(), List.of("read", "manage_endpoints"), "1h");
            browser.open(declined);
            answerTheReplaceQuestion(browser, "no");
            browser.waitForText("#notice", "The link was not used: you are still in the portal of Booking engine.");
            assertThat(browser.evaluate("location.hash").asText()).isEmpty();
            assertThat(browser.text("#who")).contains("Booking engine");
            // Opened in a new page, by the address another site sends it to, it asks the same.
            browser.load("about:blank");
            browser.load(declined);
            answerTheReplaceQuestion(browser, "no");
            browser.waitFor("#endpoints table");
            assertThat(browser.text("main")).contains("read, retry").doesNotContain("manage_endpoints");
            assertThat(exchanged(declined)).as("the declined link was not used").isEqualTo(200);

            // A second link opened in the same tab while it shows /portal changes only the address's
            // fragment: it is exchanged all the same, once confirmed, and leaves the address.
            String readOnly = portalLink(failed.integrationId(), List.of("read"), "1h");
            browser.load(server.baseUrl() + "/portal");
            browser.waitFor("#endpoints table");
            browser.open(readOnly);
            answerTheReplaceQuestion(browser, "yes");
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> browser.text("main").contains("you may: read")
                            && !browser.text("main").contains("read, retry"));
            assertThat(browser.evaluate("location.hash").asText()).isEmpty();
            assertThat(exchanged(readOnly)).as("the second link was used").isEqualTo(410);

            // The first link has been used: opened again in the same tab (so by its fragment), it is refused
            // and says so, and the session the tab has, with its screen, stays.
            browser.open(link);
            answerTheReplaceQuestion(browser, "yes");
            assertThat(browser.waitForText("#notice", "already used")).contains("This link was already used");
            assertThat(browser.evaluate("location.hash").asText()).isEmpty();
            assertThat(browser.text("main")).contains("you may: read");
            assertThat(browser.text("#who")).contains("Booking engine");
            browser.clearConsole(); // the 410, which the browser logs
            assertNoConsoleErrors(browser, "the portal");
        } finally {
            failed.receiver().close();
        }
    }

    /**
     * A pending message whose retry is an hour away is read once, not every 1.5 s: each read renews the
     * session, so a page left open on it kept an unattended console signed in.
     */
    @Test
    void aMessageWaitingLongForItsRetryIsNotReadAgainAndAgain() throws Exception {
        Failed waiting = failingMessage("hotel-wait", "Night audit", "/night", List.of("1h"), "pending");
        String webhookId = waiting.webhookId();
        String messageId = waiting.messageId();
        try (Receiver failing = waiting.receiver();
                HeadlessChromium browser = new HeadlessChromium()) {
            signIn(browser);
            browser.load(server.baseUrl() + "/console/endpoints/" + webhookId + "?message=" + messageId);
            browser.waitForText("#message-status", "pending");
            Thread.sleep(5_000);
            int reads = browser.evaluate("performance.getEntriesByType('resource').filter(e => e.name.endsWith("
                            + "'/messages/" + messageId + "')).length")
                    .asInt();
            assertThat(reads).as("reads of the message in 5 s").isEqualTo(1);
            assertNoConsoleErrors(browser, "the endpoint screen");
        }
    }

    @Test
    void anOperatorWhoOpensAPortalLinkStaysSignedInToTheConsole() throws Exception {
        String integrationId = server.createIntegration("Spa bookings", List.of(), List.of(), List.of())
                .get("id")
                .asText();
        String link = portalLink(integrationId, List.of("read"), "1h");

        try (HeadlessChromium browser = new HeadlessChromium()) {
            signIn(browser);

            // The same browser opens the portal: each has a session cookie of its own, so neither ends the other.
            browser.load(link);
            browser.waitForText("#who", "Spa bookings");
            assertThat(browser.text("#brand")).endsWith("· Webhooks");
            browser.load(server.baseUrl() + "/console/integrations/" + integrationId);
            browser.waitForText("main h1", "Spa bookings");
            assertThat(browser.text("#who")).contains("Operator");
            browser.load(server.baseUrl() + "/portal");
            browser.waitForText("#who", "Spa bookings");
            assertNoConsoleErrors(browser, "the console beside the portal");
        }
    }

    /** Live events' socket is closed as normal (1000) when its session ends: the page says the session ended. */
    @Test
    void liveEventsSaysSoWhenItsSessionEndsElsewhere() throws Exception {
        server.createTenant("live-ended");
        try (HeadlessChromium browser = new HeadlessChromium()) {
            signIn(browser);
            browser.load(server.baseUrl() + "/console/live?tenantId=live-ended");
            browser.waitForText("#live-status", "live");
            // Signed out as another tab would: the page's socket is closed by the node's next look (5 s).
            assertThat(browser.await("import('/console/assets/api.js')"
                                    + ".then(api => api.del('/console/api/session')).then(() => 'signed out')")
                            .asText())
                    .isEqualTo("signed out");
            Awaitility.await()
                    .atMost(Duration.ofSeconds(15))
                    .until(() -> browser.exists("#notice:not([hidden])")
                            && browser.text("#notice").contains("Your session has ended. Sign in again."));
            browser.waitFor("#admin-key");
        }
    }

    @Test
    void anExpiredPortalLinkIsRefused() throws Exception {
        AtomicReference<Duration> ahead = new AtomicReference<>(Duration.ZERO);
        InstantSource clock = () -> Instant.now().plus(ahead.get());
        try (TestServer later = TestServer.start(TestDatabase.create(), Map.of(), clock);
                HeadlessChromium browser = new HeadlessChromium()) {
            String integrationId = later.createIntegration("Late partner", List.of(), List.of(), List.of())
                    .get("id")
                    .asText();
            String link = later.admin
                    .post(
                            "/api/v1/portal-sessions",
                            Map.of("integrationId", integrationId, "capabilities", List.of("read"), "ttl", "1m"))
                    .expect(201)
                    .json()
                    .get("url")
                    .asText();
            ahead.set(Duration.ofMinutes(2));
            browser.load(link);
            assertThat(browser.waitForText("#link-error", "expired")).contains("This link has expired");
            assertThat(browser.exists("#endpoints")).isFalse();
            assertNoConsoleErrors(browser, "an expired link");
        }
    }

    @Test
    void aReadOnlyPortalSessionShowsNoActionAndTheServerRefusesItsRetry() throws Exception {
        Failed failed = failedMessage("portal-2", "Channel manager", "/read-only-hooks");
        String link = portalLink(failed.integrationId(), List.of("read"), "1h");
        try (HeadlessChromium browser = new HeadlessChromium()) {
            openEndpointWithItsFailedMessage(browser, link);
            browser.click("tr[data-message] a.open-message");
            browser.waitForText("#message-status", "failed");
            for (String action : List.of(
                    "#retry-message",
                    "#retry-all",
                    "#replay-form",
                    "#send-test",
                    "#rotate-secret",
                    "#endpoint-settings")) {
                assertThat(browser.exists(action)).as(action).isFalse();
            }
            // The page leaves the action out, but the server is what refuses it: ask from the page with the
            // session's cookie and CSRF token, through the page's own action runner.
            String retry = "/api/v1/webhooks/" + failed.webhookId() + "/messages/" + failed.messageId() + "/retry";
            String refused = browser.await(
                            "Promise.all([import('/console/assets/api.js'), import('/console/assets/dom.js')])"
                                    + ".then(([api, dom]) => dom.act(null, () => api.post('" + retry + "'))"
                                    + ".then(() => api.post('" + retry
                                    + "').then(() => 'accepted', e => e.status + ' ' + e.code)))")
                    .asText();
            assertThat(refused).isEqualTo("403 capability_missing");
            assertThat(browser.waitForText("#notice", "403 capability_missing")).contains("retry");
            assertThat(server.admin
                            .get("/api/v1/webhooks/" + failed.webhookId() + "/messages/" + failed.messageId())
                            .expect(200)
                            .json()
                            .get("status")
                            .asText())
                    .isEqualTo("failed");
            shot(browser, "portal-read-only");

            // The portal has no sign-in: once its session has ended it says to ask for a new link.
            String ended = browser.await("import('/console/assets/api.js').then(api => api.del('/console/api/session')"
                            + ".then(() => api.get('/api/v1/webhooks')).then(() => 'accepted', e => e.status))")
                    .asText();
            assertThat(ended).isEqualTo("401");
            assertThat(browser.waitForText("#notice", "portal session has ended"))
                    .contains("new portal link")
                    .doesNotContain("sign in")
                    .doesNotContain("401");
        } finally {
            failed.receiver().close();
        }
    }

    @Test
    void aPortalSessionLimitedToOneTenantShowsItsEndpointWithoutTheChartsItMayNotRead() throws Exception {
        Failed failed = failedMessage("portal-3", "Door keys", "/tenant-hooks");
        String link = server.admin
                .post(
                        "/api/v1/portal-sessions",
                        Map.of(
                                "integrationId",
                                failed.integrationId(),
                                "capabilities",
                                List.of("read"),
                                "ttl",
                                "1h",
                                "tenantId",
                                "portal-3"))
                .expect(201)
                .json()
                .get("url")
                .asText();
        try (HeadlessChromium browser = new HeadlessChromium()) {
            openEndpointWithItsFailedMessage(browser, link);
            // The delivery charts count every tenant's messages: refused to this session, so not shown with a 403.
            assertThat(browser.exists("#delivery")).isFalse();
            assertThat(browser.text("main")).doesNotContain("403");
            assertThat(browser.consoleErrors()).as("no refused request at all").isEmpty();
        } finally {
            failed.receiver().close();
        }
    }

    /**
     * An integration connected to thousands of tenants: its connections came a thousand at once (3,000 buttons,
     * seconds to draw) and the rest only through the API. They come a page at a time, with a button for more.
     */
    @Test
    void anIntegrationsConnectionsComeAPageAtATime() throws Exception {
        String integrationId = server.createIntegration("Channel manager", List.of("*"), List.of(), List.of("*"))
                .get("id")
                .asText();
        for (int i = 0; i < 101; i++) {
            server.connect(integrationId, server.createTenant(String.format("chain-%03d", i)));
        }
        try (HeadlessChromium browser = new HeadlessChromium()) {
            signIn(browser);
            browser.load(server.baseUrl() + "/console/integrations/" + integrationId);
            browser.waitFor("#more-connections");
            assertThat(browser.evaluate("document.querySelectorAll('#connections tbody tr').length")
                            .asInt())
                    .isEqualTo(100);
            browser.click("#more-connections");
            waitUntil(browser, "document.querySelectorAll('#connections tbody tr').length === 101");
            assertThat(browser.exists("#more-connections"))
                    .as("the last page has no button")
                    .isFalse();
            // The focus is on the first row the button added, so Tab goes on through the new rows.
            waitUntil(
                    browser,
                    "document.querySelectorAll('#connections tbody tr')[100].contains(document.activeElement)");
            assertNoConsoleErrors(browser, "a second page of connections");
        }
    }

    /** A request that gets no answer says so in a sentence, not the browser's "Failed to fetch". */
    @Test
    void aRequestThatGetsNoAnswerSaysTheServerCouldNotBeReached() throws Exception {
        try (HeadlessChromium browser = new HeadlessChromium()) {
            signIn(browser);
            // A URL with credentials in it is refused by fetch before anything is sent, as when the server is down.
            String said = browser.await(
                            "Promise.all([import('/console/assets/api.js'), import('/console/assets/dom.js')])"
                                    + ".then(([api, dom]) => dom.act(null, () => api.get('http://user:pw@127.0.0.1:9/'))"
                                    + ".then(() => document.querySelector('#notice').innerText))")
                    .asText();
            assertThat(said)
                    .contains("The server could not be reached; check that it is running and try again.")
                    .doesNotContain("Failed to fetch");
            assertNoConsoleErrors(browser, "a request without an answer");
        }
    }

    private static void waitForTitle(HeadlessChromium browser, String title) {
        Awaitility.await()
                .atMost(Duration.ofSeconds(20))
                .alias("the title " + title)
                .until(() -> browser.evaluate("document.title").asText(), title::equals);
    }

    /** Waits until a JavaScript condition holds in the page. */
    private static void waitUntil(HeadlessChromium browser, String condition) {
        Awaitility.await()
                .atMost(Duration.ofSeconds(20))
                .alias(condition)
                .until(() -> browser.evaluate("!!(" + condition + ")").asBoolean());
    }

    /** Opens a portal link in a wide window, then its endpoint, and waits for the failed message to be listed. */
    private static void openEndpointWithItsFailedMessage(HeadlessChromium browser, String link) throws Exception {
        browser.viewport(WIDE, 900);
        browser.load(link);
        browser.waitFor("#endpoints table");
        browser.click("#endpoints a");
        browser.waitFor("tr[data-message] .badge.failed");
    }

    /** An integration connected to a tenant, with an endpoint on a receiver that answered 500 until it gave up. */
    private record Failed(String integrationId, String webhookId, String messageId, Receiver receiver) {}

    /** Signs in to the console with the admin key, in a wide window. */
    private static void signIn(HeadlessChromium browser) throws Exception {
        browser.viewport(WIDE, 900);
        browser.load(server.baseUrl() + "/console/signin");
        browser.waitFor("#admin-key");
        browser.type("#admin-key", TestServer.ADMIN_KEY);
        browser.press("Enter");
        browser.waitForText("#who", "Operator");
    }

    private static Failed failedMessage(String tenant, String name, String path) {
        return failingMessage(tenant, name, path, null, "failed");
    }

    /**
     * A partner's write to a new integration's endpoint whose receiver answers 500, once the message has
     * {@code status} after its first attempt ({@code retryDelays}: the endpoint's, or null for the server's).
     */
    private static Failed failingMessage(
            String tenant, String name, String path, List<String> retryDelays, String status) {
        server.createTenant(tenant);
        String integrationId = server.createIntegration(
                        name, List.of("reservations"), List.of("reservations"), List.of("*"))
                .get("id")
                .asText();
        String token = server.connect(integrationId, tenant).get("accessToken").asText();
        Receiver failing = new Receiver();
        failing.answer(r -> Receiver.Reply.status(500).withBody("down for maintenance"));
        Map<String, Object> endpoint =
                new java.util.HashMap<>(Map.of("url", failing.url(path), "integrationId", integrationId));
        if (retryDelays != null) {
            endpoint.put("retryDelays", retryDelays);
        }
        String webhookId = server.admin
                .post("/api/v1/webhooks", endpoint)
                .expect(201)
                .json()
                .get("id")
                .asText();
        server.api(token)
                .post("/api/v1/collections/reservations/records", Map.of("data", Map.of("state", "confirmed")))
                .expect(201);
        String messageId = Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(
                        () -> server.admin
                                .get("/api/v1/webhooks/" + webhookId + "/messages?status=" + status)
                                .expect(200)
                                .json()
                                .at("/messages/0"),
                        m -> !m.isMissingNode() && m.get("attempts").size() >= 1)
                .get("id")
                .asText();
        return new Failed(integrationId, webhookId, messageId, failing);
    }

    /** Answers the portal's question before a link replaces the portal session the browser has. */
    private static void answerTheReplaceQuestion(HeadlessChromium browser, String answer) {
        browser.waitForText("dialog.confirm", "in place of the one you have for Booking engine");
        browser.click("dialog.confirm button[value=" + answer + "]");
    }

    /** The status of a portal link's exchange made outside the browser (200 when the link was still unused). */
    private static int exchanged(String link) {
        return Api.of(server.baseUrl(), null)
                .post("/portal/api/session", Map.of("token", ConsoleSession.token(link)))
                .status();
    }

    private static String portalLink(String integrationId, List<String> capabilities, String ttl) {
        return server.admin
                .post(
                        "/api/v1/portal-sessions",
                        Map.of("integrationId", integrationId, "capabilities", capabilities, "ttl", ttl))
                .expect(201)
                .json()
                .get("url")
                .asText();
    }

    private static void shot(HeadlessChromium browser, String name) throws Exception {
        browser.screenshot(SHOTS.resolve(name + ".png"), 2400);
        assertNoConsoleErrors(browser, name);
    }

    private static void assertNoConsoleErrors(HeadlessChromium browser, String where) {
        assertThat(browser.consoleErrors().stream()
                        .filter(e -> !(e.source().equals("network")
                                && EXPECTED_REFUSAL.matcher(e.text()).matches()))
                        .toList())
                .as("errors in the browser's console on " + where)
                .isEmpty();
    }
}
