package dev.switchboard.console;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.ConsoleSession;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Partner portal links and sessions: a link is used once (two concurrent exchanges: exactly one wins),
 * a portal session sees its own integration only (and only its tenant, when narrowed), and every action
 * is checked against its capabilities on the server.
 */
class PortalSessionTest {
    static TestServer server;
    static Receiver receiver;
    /** Integration X, connected to tenants A and B; its endpoint's messages fail (one attempt each). */
    static Partner xOnA;

    static Partner xOnB;
    /** Integration Y, connected to tenant A; its endpoint's messages are delivered. */
    static Partner yOnA;

    static String endpointX;
    static String endpointY;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true"));
        receiver = new Receiver();
        receiver.answer(
                r -> Receiver.Reply.status(r.path().equals("/x") ? 500 : 200).withBody("answer of " + r.path()));
        server.createCollection("orders");
        // Y's events are of another collection, which X does not receive: X's streams carry X's writes only.
        server.createCollection("rooms");
        String tenantA = server.createTenant("tenant-a");
        String tenantB = server.createTenant("tenant-b");
        JsonNode x = server.createIntegration("X", List.of("orders"), List.of("orders"), List.of("orders.*"));
        xOnA = Partner.connect(server, x, tenantA);
        xOnB = Partner.connect(server, x, tenantB);
        yOnA = Partner.on(server, tenantA, List.of("rooms"), List.of("rooms"), List.of("rooms.*"));
        endpointX = xOnA.webhook(Map.of("url", receiver.url("/x"), "retryDelays", List.of()))
                .get("id")
                .asText();
        endpointY = yOnA.webhook(Map.of("url", receiver.url("/y"))).get("id").asText();
        xOnA.writeRecords("orders", 1, Map.of("n", 1));
        xOnB.writeRecords("orders", 1, Map.of("n", 2));
        yOnA.writeRecords("rooms", 1, Map.of("n", 3));
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> failed(endpointX).size() == 2);
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> server.admin
                                .get("/api/v1/webhooks/" + endpointY + "/messages?status=delivered")
                                .json()
                                .get("messages")
                                .size()
                        == 1);
    }

    @AfterAll
    static void stop() {
        server.close();
        receiver.close();
    }

    private static List<JsonNode> failed(String endpoint) {
        List<JsonNode> out = new ArrayList<>();
        server.admin
                .get("/api/v1/webhooks/" + endpoint + "/messages?status=failed")
                .expect(200)
                .json()
                .get("messages")
                .forEach(out::add);
        return out;
    }

    /**
     * A page on another origin could POST a link of its own integration as text/plain (the browser asks
     * no one first) and swap the visitor's portal session for one of its choosing. Only JSON is taken,
     * and the refused request leaves the link unused.
     */
    @Test
    void aSessionIsOpenedOnlyFromJsonSoAnotherSiteCannotOpenOneInTheVisitorsBrowser() throws Exception {
        String token = ConsoleSession.token(link(xOnA.client(), Map.of("capabilities", List.of("read"))));
        for (String type : List.of("text/plain", "application/x-www-form-urlencoded", "multipart/form-data")) {
            HttpResponse<String> refused = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create(server.baseUrl() + "/portal/api/session"))
                                    .header("Content-Type", type)
                                    .POST(HttpRequest.BodyPublishers.ofString("{\"token\":\"" + token + "\"}"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).as(type).isEqualTo(400);
            assertThat(refused.body()).as(type).contains("invalid_content_type");
        }
        // JSON with a charset no one can name is still JSON: read as UTF-8, where reading the type failed (500).
        HttpResponse<String> oddCharset = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create(server.baseUrl() + "/portal/api/session"))
                                .header("Content-Type", "application/json; charset=\"no such\"")
                                .POST(HttpRequest.BodyPublishers.ofString("{\"token\":\"sb_portal_unknown\"}"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(oddCharset.statusCode()).isBetween(400, 499);
        assertThat(oddCharset.body()).doesNotContain("invalid_content_type");
        ConsoleSession.portal(server, "/portal#token=" + token)
                .api()
                .get("/console/api/session")
                .expect(200);
    }

    /**
     * A page on another site can also send the browser to a link of its own integration, which the portal page
     * exchanges: where the browser has a live portal session, the link is used only when the request says to
     * replace it (the page asks its visitor first), and the session replaced ends.
     */
    @Test
    void aLinkReplacesTheBrowsersLivePortalSessionOnlyWhenAskedTo() {
        ConsoleSession visitor = portal(List.of("read", "manage_endpoints"), null);
        String other = link(xOnA.client(), Map.of("capabilities", List.of("read")));
        Api browser = visitor.withoutCsrf(); // the exchange takes no CSRF token: it is how a session begins

        Api.Response refused = browser.post("/portal/api/session", Map.of("token", ConsoleSession.token(other)));
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.errorCode()).isEqualTo("portal_session_open");
        assertThat(refused.json().at("/error/details/integrationName").asText()).isEqualTo("X");
        assertThat(refused.header("Set-Cookie")).isNull();
        visitor.api().get("/console/api/session").expect(200);
        assertField(
                browser.post("/portal/api/session", Map.of("token", ConsoleSession.token(other), "replace", "yes")),
                "replace");

        Api.Response replaced =
                browser.post("/portal/api/session", Map.of("token", ConsoleSession.token(other), "replace", true));
        assertThat(replaced.status())
                .as("the refused exchanges left the link unused")
                .isEqualTo(200);
        ConsoleSession opened = ConsoleSession.of(server.baseUrl(), replaced);
        assertThat(opened.json().get("capabilities"))
                .extracting(JsonNode::asText)
                .containsExactly("read");
        assertThat(visitor.api().get("/console/api/session").status())
                .as("the replaced session")
                .isEqualTo(401);
        opened.api().get("/console/api/session").expect(200);

        // Without a live session (none, or one that ended) the link opens one as before.
        String third = link(xOnA.client(), Map.of("capabilities", List.of("read")));
        visitor.withoutCsrf()
                .post("/portal/api/session", Map.of("token", ConsoleSession.token(third)))
                .expect(200);
    }

    private static String link(Api api, Map<String, Object> body) {
        return api.post("/api/v1/portal-sessions", body)
                .expect(201)
                .json()
                .get("url")
                .asText();
    }

    private static ConsoleSession portal(List<String> capabilities, String tenant) {
        Map<String, Object> body = new java.util.HashMap<>();
        body.put("capabilities", capabilities);
        if (tenant != null) {
            body.put("tenantId", tenant);
        }
        return ConsoleSession.portal(server, link(xOnA.client(), body));
    }

    @Test
    void aLinkIsMadeByTheClientKeyOrTheAdminAndBadInputIsRefusedNamingTheField() {
        JsonNode made = xOnA.client()
                .post("/api/v1/portal-sessions", Map.of("capabilities", List.of("retry"), "ttl", "10m"))
                .expect(201)
                .json();
        assertThat(made.get("url").asText()).startsWith(server.baseUrl() + "/portal#token=sb_portal_");
        assertThat(Instant.parse(made.get("expiresAt").asText()))
                .isBetween(
                        Instant.now().plus(Duration.ofMinutes(9)), Instant.now().plus(Duration.ofMinutes(11)));
        assertThat(made.get("capabilities")).extracting(JsonNode::asText).containsExactly("read", "retry");

        Map<String, Object> forX = Map.of("integrationId", xOnA.integrationId());
        server.admin.post("/api/v1/portal-sessions", forX).expect(201);
        ConsoleSession.signIn(server)
                .api()
                .post("/api/v1/portal-sessions", forX)
                .expect(201);

        assertField(server.admin.post("/api/v1/portal-sessions", Map.of()), "integrationId");
        assertField(server.admin.post("/api/v1/portal-sessions", Map.of("integrationId", "int_nope")), "integrationId");
        assertField(
                xOnA.client().post("/api/v1/portal-sessions", Map.of("capabilities", List.of("read", "admin"))),
                "capabilities[1]");
        assertField(xOnA.client().post("/api/v1/portal-sessions", Map.of("ttl", "30s")), "ttl");
        assertField(xOnA.client().post("/api/v1/portal-sessions", Map.of("ttl", "25h")), "ttl");
        assertField(xOnA.client().post("/api/v1/portal-sessions", Map.of("ttl", "soon")), "ttl");
        Api.Response nowhere = yOnA.client().post("/api/v1/portal-sessions", Map.of("tenantId", "nowhere"));
        Api.Response elsewhere = yOnA.client().post("/api/v1/portal-sessions", Map.of("tenantId", xOnB.tenant()));
        assertField(nowhere, "tenantId");
        assertField(elsewhere, "tenantId");
        // The same answer: a client key learns nothing of which tenants exist.
        assertThat(elsewhere.json().at("/error/message").asText().replace(xOnB.tenant(), "nowhere"))
                .isEqualTo(nowhere.json().at("/error/message").asText());
        assertField(
                yOnA.client().post("/api/v1/portal-sessions", Map.of("integrationId", xOnA.integrationId())),
                "integrationId");
        assertField(xOnA.client().post("/api/v1/portal-sessions", Map.of("scope", "all")), "scope");
        assertThat(xOnA.access().post("/api/v1/portal-sessions", Map.of()).status())
                .isEqualTo(403);
        assertThat(Api.of(server.baseUrl(), null)
                        .post("/api/v1/portal-sessions", Map.of())
                        .status())
                .isEqualTo(401);
    }

    private static void assertField(Api.Response r, String field) {
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.json().get("error").get("details").get("field").asText()).isEqualTo(field);
    }

    @Test
    void aLinkOpensOnePortalSessionAndIsThenRefusedAsUsed() {
        String url = link(xOnA.client(), Map.of("capabilities", List.of("retry"), "tenantId", "tenant-a"));
        ConsoleSession session = ConsoleSession.portal(server, url);
        JsonNode json = session.json();
        assertThat(json.get("kind").asText()).isEqualTo("portal");
        assertThat(json.get("integrationId").asText()).isEqualTo(xOnA.integrationId());
        assertThat(json.get("integrationName").asText()).isEqualTo("X");
        assertThat(json.get("tenantId").asText()).isEqualTo("tenant-a");
        assertThat(json.get("capabilities")).extracting(JsonNode::asText).containsExactly("read", "retry");
        assertThat(session.api()
                        .get("/console/api/session")
                        .expect(200)
                        .json()
                        .get("kind")
                        .asText())
                .isEqualTo("portal");

        Api anonymous = Api.of(server.baseUrl(), null);
        Api.Response again = anonymous.post("/portal/api/session", Map.of("token", ConsoleSession.token(url)));
        assertThat(again.status()).isEqualTo(410);
        assertThat(again.errorCode()).isEqualTo("link_already_used");
        assertThat(again.header("Set-Cookie")).isNull();
        Api.Response unknown = anonymous.post("/portal/api/session", Map.of("token", "sb_portal_unknown"));
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.errorCode()).isEqualTo("link_not_found");
        assertField(anonymous.post("/portal/api/session", Map.of()), "token");
        assertField(anonymous.post("/portal/api/session", Map.of("token", "x".repeat(201))), "token");
    }

    @Test
    void anOperatorSessionAndAPortalSessionLiveSideBySideInOneBrowser() {
        ConsoleSession operator = ConsoleSession.signIn(server);
        Api.Response opened = Api.of(server.baseUrl(), null)
                .post("/portal/api/session", Map.of("token", ConsoleSession.token(link(xOnA.client(), Map.of()))))
                .expect(200);
        // A cookie of its own: a browser signed in to the console keeps that session when it opens the portal.
        assertThat(opened.header("Set-Cookie")).startsWith("sb_portal_session=");
        ConsoleSession portal = ConsoleSession.of(server.baseUrl(), opened);
        String cookies = "sb_session=" + operator.cookie() + "; sb_portal_session=" + portal.cookie();
        Api console = Api.of(server.baseUrl(), null)
                .withHeader("Cookie", cookies)
                .withHeader("X-Switchboard-Session", "console")
                .withHeader("X-CSRF-Token", operator.csrfToken());
        Api portalPage = Api.of(server.baseUrl(), null)
                .withHeader("Cookie", cookies)
                .withHeader("X-Switchboard-Session", "portal")
                .withHeader("X-CSRF-Token", portal.csrfToken());

        assertThat(sessionKind(console)).isEqualTo("operator");
        assertThat(sessionKind(portalPage)).isEqualTo("portal");
        console.get("/api/v1/integrations").expect(200);
        assertThat(portalPage.get("/api/v1/integrations").status()).isEqualTo(403);
        // Without the header, as from a script: the console's cookie first.
        assertThat(sessionKind(Api.of(server.baseUrl(), null).withHeader("Cookie", cookies)))
                .isEqualTo("operator");
        Api.Response unknownKind = Api.of(server.baseUrl(), null)
                .withHeader("Cookie", cookies)
                .withHeader("X-Switchboard-Session", "operator")
                .get("/console/api/session");
        assertThat(unknownKind.status()).isEqualTo(400);
        assertThat(unknownKind.errorCode()).isEqualTo("invalid_header");
        assertThat(unknownKind.json().get("error").get("message").asText()).contains("X-Switchboard-Session");

        // Signing out of the portal ends that session and clears its cookie only.
        Api.Response out = portalPage.delete("/console/api/session");
        assertThat(out.status()).isEqualTo(204);
        assertThat(out.header("Set-Cookie")).startsWith("sb_portal_session=;").contains("Max-Age=0");
        assertThat(portalPage.get("/console/api/session").status()).isEqualTo(401);
        assertThat(sessionKind(console)).isEqualTo("operator");
    }

    /** The kind of session a client's requests are made with. */
    private static String sessionKind(Api api) {
        return api.get("/console/api/session").expect(200).json().get("kind").asText();
    }

    @Test
    void twoConcurrentExchangesOfOneLinkOpenExactlyOneSession() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            for (int round = 0; round < 10; round++) {
                String token = ConsoleSession.token(link(xOnA.client(), Map.of()));
                CountDownLatch go = new CountDownLatch(1);
                List<Future<Api.Response>> tries = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    tries.add(pool.submit(() -> {
                        go.await();
                        return Api.of(server.baseUrl(), null).post("/portal/api/session", Map.of("token", token));
                    }));
                }
                go.countDown();
                List<Integer> statuses = new ArrayList<>();
                for (Future<Api.Response> f : tries) {
                    Api.Response r = f.get();
                    statuses.add(r.status());
                    if (r.status() == 410) {
                        assertThat(r.errorCode()).isEqualTo("link_already_used");
                    }
                }
                assertThat(statuses).as("round %d", round).containsOnlyOnce(200).containsOnly(200, 410);
            }
        } finally {
            pool.shutdownNow();
        }
        try (var c = java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                var rs = c.createStatement()
                        .executeQuery("SELECT count(*) FROM portal_links l WHERE"
                                + " (SELECT count(*) FROM console_sessions s WHERE s.link_id = l.id) > 1")) {
            rs.next();
            assertThat(rs.getInt(1)).isZero();
        }
    }

    /** A backend that calls the server by an internal name would otherwise hand partners a link on that name. */
    @Test
    void withAPublicUrlLinksAreMadeOnItWhateverHostTheRequestNamed() {
        try (TestServer behindAProxy =
                TestServer.start(Map.of("SWITCHBOARD_PUBLIC_URL", "https://switchboard.example.com/"))) {
            JsonNode integration = behindAProxy.createIntegration("public", List.of(), List.of(), List.of());
            String url = behindAProxy
                    .api(integration.get("clientKey").asText())
                    .post("/api/v1/portal-sessions", Map.of())
                    .expect(201)
                    .json()
                    .get("url")
                    .asText();
            assertThat(url).startsWith("https://switchboard.example.com/portal#token=sb_portal_");
        }
    }

    @Test
    void anExpiredLinkIsRefused() {
        AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-01T12:00:00Z"));
        try (TestServer clocked = TestServer.start(TestDatabase.create(), Map.of(), now::get)) {
            JsonNode integration = clocked.createIntegration("late", List.of(), List.of(), List.of());
            Api client = clocked.api(integration.get("clientKey").asText());
            String url = client.post("/api/v1/portal-sessions", Map.of("ttl", "1m"))
                    .expect(201)
                    .json()
                    .get("url")
                    .asText();
            now.set(now.get().plusSeconds(61));
            Api.Response late = Api.of(clocked.baseUrl(), null)
                    .post("/portal/api/session", Map.of("token", ConsoleSession.token(url)));
            assertThat(late.status()).isEqualTo(410);
            assertThat(late.errorCode()).isEqualTo("link_expired");
        }
    }

    @Test
    void aPortalSessionForXNeverSeesYsEndpointsOrMessagesNorTheOperatorsApi() {
        ConsoleSession session = portal(List.of("read", "manage_endpoints", "retry", "secrets"), null);
        Api api = session.api();
        JsonNode webhooks = api.get("/api/v1/webhooks").expect(200).json().get("webhooks");
        assertThat(webhooks).extracting(w -> w.get("id").asText()).containsExactly(endpointX);
        api.get("/api/v1/webhooks?integrationId=" + yOnA.integrationId()).expect(400);
        assertThat(api.get("/api/v1/webhooks/" + endpointX + "/messages")
                        .expect(200)
                        .json()
                        .get("messages"))
                .hasSize(2);
        String yMessage = server.admin
                .get("/api/v1/webhooks/" + endpointY + "/messages")
                .json()
                .get("messages")
                .get(0)
                .get("id")
                .asText();
        for (String path : List.of(
                "/api/v1/webhooks/" + endpointY,
                "/api/v1/webhooks/" + endpointY + "/messages",
                "/api/v1/webhooks/" + endpointY + "/messages/" + yMessage,
                "/api/v1/webhooks/" + endpointX + "/messages/" + yMessage)) {
            assertThat(api.get(path).expect(404).errorCode()).as(path).isEqualTo("not_found");
        }
        JsonNode yBefore =
                server.admin.get("/api/v1/webhooks/" + endpointY).expect(200).json();
        for (Api.Response refused : List.of(
                api.post("/api/v1/webhooks/" + endpointY + "/messages/" + yMessage + "/retry", ""),
                api.post("/api/v1/webhooks/" + endpointY + "/replay", Map.of("fromSeq", 1)),
                api.patch("/api/v1/webhooks/" + endpointY, Map.of("maxBatchSize", 1)),
                api.delete("/api/v1/webhooks/" + endpointY))) {
            assertThat(refused.expect(404).errorCode()).isEqualTo("not_found");
        }
        JsonNode yAfter =
                server.admin.get("/api/v1/webhooks/" + endpointY).expect(200).json();
        assertThat(yAfter.get("maxBatchSize")).as("Y's endpoint, unchanged").isEqualTo(yBefore.get("maxBatchSize"));
        assertThat(yAfter.get("state")).isEqualTo(yBefore.get("state"));
        assertThat(api.post(
                                "/api/v1/webhooks",
                                Map.of("url", receiver.url("/z"), "integrationId", yOnA.integrationId()))
                        .expect(400)
                        .json()
                        .path("error")
                        .path("details")
                        .path("field")
                        .asText())
                .isEqualTo("integrationId");

        // The operator's API, the partner's records and events, and more portal links are not the portal's.
        for (String path : List.of(
                "/api/v1/tenants",
                "/api/v1/integrations",
                "/api/v1/integrations/" + yOnA.integrationId(),
                "/api/v1/collections/orders/records",
                "/api/v1/events")) {
            assertThat(api.get(path).status()).as(path).isEqualTo(403);
        }
        assertThat(api.get("/api/v1/integrations/" + xOnA.integrationId()).status())
                .isEqualTo(200);
        assertThat(api.post("/api/v1/tenants", Map.of("id", "portal-made")).status())
                .isEqualTo(403);
        Api.Response escalate = api.post("/api/v1/portal-sessions", Map.of("capabilities", List.of("secrets")));
        assertThat(escalate.status()).isEqualTo(403);
    }

    @Test
    void aPortalSessionNarrowedToATenantSeesAndRetriesOnlyThatTenantsMessages() {
        ConsoleSession session = portal(List.of("retry"), "tenant-a");
        Api api = session.api();
        JsonNode messages = api.get("/api/v1/webhooks/" + endpointX + "/messages")
                .expect(200)
                .json()
                .get("messages");
        assertThat(messages).extracting(m -> m.get("tenantId").asText()).containsExactly("tenant-a");
        String ofB = failed(endpointX).stream()
                .filter(m -> m.get("tenantId").asText().equals("tenant-b"))
                .findFirst()
                .orElseThrow()
                .get("id")
                .asText();
        assertThat(api.get("/api/v1/webhooks/" + endpointX + "/messages/" + ofB).status())
                .isEqualTo(404);
        assertThat(api.post("/api/v1/webhooks/" + endpointX + "/messages/" + ofB + "/retry", "")
                        .status())
                .isEqualTo(404);
        assertField(api.get("/api/v1/webhooks/" + endpointX + "/messages?tenantId=tenant-b"), "tenantId");
        assertField(
                api.post("/api/v1/webhooks/" + endpointX + "/replay", Map.of("fromSeq", 1, "tenantId", "tenant-b")),
                "tenantId");
        assertField(
                api.post("/api/v1/webhooks/" + endpointX + "/messages/retry", Map.of("tenantId", "tenant-b")),
                "tenantId");
        // Filters in the query (where the list takes them) are refused, not ignored into "retry everything".
        assertField(api.post("/api/v1/webhooks/" + endpointX + "/messages/retry?tenantId=tenant-a", ""), "tenantId");
        // Retrying "all failed" retries tenant A's only; B's stays failed.
        JsonNode retried = api.post("/api/v1/webhooks/" + endpointX + "/messages/retry", "")
                .expect(202)
                .json();
        assertThat(retried.get("retried").asInt()).isEqualTo(1);
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> failed(endpointX).size() == 2
                        && failed(endpointX).stream()
                                .anyMatch(m -> m.get("attempts").size() == 2));
        assertThat(failed(endpointX))
                .filteredOn(m -> m.get("tenantId").asText().equals("tenant-b"))
                .allMatch(m -> m.get("attempts").size() == 1);
    }

    @Test
    void aSessionForOneTenantNeitherMakesNorChangesEndpointsWhichServeEveryTenant() throws Exception {
        // Such a link is refused when it is made...
        for (String wide : List.of("manage_endpoints", "secrets")) {
            assertField(
                    xOnA.client()
                            .post(
                                    "/api/v1/portal-sessions",
                                    Map.of("tenantId", xOnA.tenant(), "capabilities", List.of(wide))),
                    "capabilities");
        }
        // ...and a session that has them anyway (one opened before links were checked) is refused on use.
        ConsoleSession session = portal(List.of("manage_endpoints", "secrets"), null);
        try (java.sql.Connection c =
                        java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                java.sql.PreparedStatement narrow = c.prepareStatement(
                        "UPDATE console_sessions SET tenant_pk = (SELECT pk FROM tenants WHERE id = ?)"
                                + " WHERE id = ?")) {
            narrow.setString(1, xOnA.tenant());
            narrow.setString(2, session.json().get("sessionId").asText());
            assertThat(narrow.executeUpdate()).isEqualTo(1);
        }
        Api narrowed = session.api();
        String hook = "/api/v1/webhooks/" + endpointX;
        List<Api.Response> refused = List.of(
                narrowed.post("/api/v1/webhooks", Map.of("url", receiver.url("/tenant-a-only"))),
                narrowed.patch(hook, Map.of("url", receiver.url("/hijacked"))),
                narrowed.delete(hook),
                narrowed.post(hook + "/rotate-secret", ""));
        for (Api.Response r : refused) {
            assertThat(r.status()).as(r.body()).isEqualTo(403);
            assertThat(r.json().at("/error/message").asText()).contains("tenant '" + xOnA.tenant() + "' only");
        }
        assertThat(server.admin.get(hook).json().get("url").asText()).isEqualTo(receiver.url("/x"));
    }

    @Test
    void aLifecycleEndpointTakesTheSecretsCapabilityAndIsNeverReplayed() {
        Api manager = portal(List.of("manage_endpoints", "retry"), null).api();
        Api.Response created =
                manager.post("/api/v1/webhooks", Map.of("url", receiver.url("/lc"), "kind", "lifecycle"));
        assertThat(created.status()).as(created.body()).isEqualTo(403);
        assertThat(created.json().at("/error/message").asText()).contains("'secrets'");

        String lifecycle = xOnA.webhook(Map.of("url", receiver.url("/lc"), "kind", "lifecycle"))
                .get("id")
                .asText();
        String hook = "/api/v1/webhooks/" + lifecycle;
        assertThat(manager.patch(hook, Map.of("url", receiver.url("/elsewhere")))
                        .status())
                .isEqualTo(403);
        assertThat(manager.patch(hook, Map.of("state", "enabled")).status()).isEqualTo(403);
        // No one replays it, not even the client key: its messages carry access tokens.
        for (Api api : List.of(manager, xOnA.client(), server.admin)) {
            Api.Response replay = api.post(hook + "/replay", Map.of("fromSeq", 1));
            assertThat(replay.status()).as(replay.body()).isEqualTo(400);
            assertThat(replay.json().at("/error/message").asText()).contains("not replayed");
        }

        Api keeper = portal(List.of("manage_endpoints", "secrets"), null).api();
        keeper.patch(hook, Map.of("maxBatchSize", 1)).expect(200);
        keeper.delete(hook).expect(204);
    }

    @Test
    void aMessageCursorFromAnotherIntegrationsEndpointIsRefused() {
        String ofY = server.admin
                .get("/api/v1/webhooks/" + endpointY + "/messages")
                .expect(200)
                .json()
                .at("/messages/0/id")
                .asText();
        // Y's message is newer than X's: taken as a position, it would page through X's messages. Refused as a
        // removed message is: nothing tells X whether it exists.
        Api.Response refused = xOnA.client().get("/api/v1/webhooks/" + endpointX + "/messages?cursor=" + ofY);
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.json().at("/error/message").asText())
                .startsWith("cursor: is not a message of this endpoint");
        JsonNode page = xOnA.client()
                .get("/api/v1/webhooks/" + endpointX + "/messages?limit=1")
                .expect(200)
                .json();
        assertThat(xOnA.client()
                        .get("/api/v1/webhooks/" + endpointX + "/messages?limit=1&cursor="
                                + page.get("cursor").asText())
                        .expect(200)
                        .json()
                        .get("messages"))
                .hasSize(1);
    }

    @Test
    void aSessionWithoutSecretsSeesAWebhookUrlWithoutItsQuery() {
        String secretUrl = receiver.url("/q?token=PartnerShared5ecret");
        String id = xOnA.webhook(Map.of("url", secretUrl)).get("id").asText();
        String hook = "/api/v1/webhooks/" + id;
        String shown = receiver.url("/q") + "?…";
        Api manager = portal(List.of("manage_endpoints"), null).api();
        assertThat(manager.get(hook).expect(200).json().get("url").asText()).isEqualTo(shown);
        assertThat(manager.get("/api/v1/webhooks?limit=1000").expect(200).body())
                .contains(shown)
                .doesNotContain("PartnerShared5ecret");
        // Sent back as shown (the console's form), the URL stays as it was.
        JsonNode patched = manager.patch(hook, Map.of("url", shown, "maxBatchSize", 7))
                .expect(200)
                .json();
        assertThat(patched.get("url").asText()).isEqualTo(shown);
        assertThat(server.admin.get(hook).json().get("url").asText()).isEqualTo(secretUrl);
        assertThat(server.admin.get(hook).json().get("maxBatchSize").asInt()).isEqualTo(7);
        // Changed elsewhere (a new path), the "?…" would replace the query it stands for: refused, and the
        // same for a new endpoint, written as shown or percent-encoded.
        for (String hiding : List.of(
                receiver.url("/q2") + "?…", receiver.url("/q2") + "?%e2%80%a6", receiver.url("/q") + "?…&v=2")) {
            Api.Response changed = manager.patch(hook, Map.of("url", hiding));
            assertThat(changed.status()).as(hiding).isEqualTo(400);
            assertThat(changed.json().at("/error/message").asText()).contains("?…");
            assertThat(manager.post("/api/v1/webhooks", Map.of("url", hiding)).status())
                    .as(hiding)
                    .isEqualTo(400);
        }
        assertThat(server.admin.get(hook).json().get("url").asText()).isEqualTo(secretUrl);
        // With the secrets capability, and for the client key, it is whole.
        assertThat(portal(List.of("secrets"), null)
                        .api()
                        .get(hook)
                        .json()
                        .get("url")
                        .asText())
                .isEqualTo(secretUrl);
        assertThat(xOnA.client().get(hook).json().get("url").asText()).isEqualTo(secretUrl);
        xOnA.client().delete(hook).expect(204);
    }

    @Test
    void deletingATenantsConnectionEndsThePortalSessionsAndLinksForThatTenant() {
        String tenantC = server.createTenant("tenant-c");
        JsonNode connection = server.connect(xOnA.integrationId(), tenantC);
        ConsoleSession forC = portal(List.of("retry"), tenantC);
        String unopened = link(xOnA.client(), Map.of("tenantId", tenantC));
        ConsoleSession forA = portal(List.of("retry"), xOnA.tenant());
        forC.api().get("/api/v1/webhooks/" + endpointX + "/messages").expect(200);

        server.admin
                .delete("/api/v1/connections/" + connection.get("id").asText())
                .expect(204);
        assertThat(forC.api().get("/api/v1/webhooks/" + endpointX + "/messages").status())
                .isEqualTo(401);
        Api.Response exchanged = Api.of(server.baseUrl(), null)
                .post("/portal/api/session", Map.of("token", ConsoleSession.token(unopened)));
        assertThat(exchanged.status()).isEqualTo(404);
        // Another tenant's session is untouched.
        forA.api().get("/api/v1/webhooks/" + endpointX + "/messages").expect(200);
    }

    /**
     * A link exchanged while its connection is deleted: the exchange (link used, session created) commits
     * after the delete looked for sessions and before it looked for unused links, and its session was
     * left behind, to see the tenant again if it were reconnected. The link's row is held here so that the
     * exchange and then the delete wait for it, in that order.
     */
    @Test
    void aLinkExchangedWhileItsConnectionIsBeingDeletedLeavesNoSession() throws Exception {
        String tenantD = server.createTenant("tenant-d");
        JsonNode connection = server.connect(xOnA.integrationId(), tenantD);
        JsonNode created = xOnA.client()
                .post("/api/v1/portal-sessions", Map.of("tenantId", tenantD))
                .expect(201)
                .json();
        String token = ConsoleSession.token(created.get("url").asText());
        Api.Response exchanged;
        try (java.sql.Connection hold =
                java.sql.DriverManager.getConnection(server.database().jdbcUrl())) {
            hold.setAutoCommit(false);
            try (var s = hold.prepareStatement("SELECT 1 FROM portal_links WHERE id = ? FOR UPDATE")) {
                s.setString(1, created.get("id").asText());
                s.executeQuery().close();
            }
            var exchange = java.util.concurrent.CompletableFuture.supplyAsync(
                    () -> Api.of(server.baseUrl(), null).post("/portal/api/session", Map.of("token", token)));
            awaitLockWaits(hold, 1);
            var delete = java.util.concurrent.CompletableFuture.supplyAsync(() -> server.admin.delete(
                    "/api/v1/connections/" + connection.get("id").asText()));
            awaitLockWaits(hold, 2);
            hold.commit();
            exchanged = exchange.get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(delete.get(30, java.util.concurrent.TimeUnit.SECONDS).status())
                    .isEqualTo(204);
        }
        assertThat(exchanged.status()).isEqualTo(200);
        ConsoleSession session = ConsoleSession.of(server.baseUrl(), exchanged);
        Api.Response ended = session.api().get("/console/api/session");
        assertThat(ended.status()).isEqualTo(401);
        assertThat(ended.json().at("/error/message").asText())
                .as("a portal user is told what ended and who can help")
                .contains("portal session has ended")
                .contains("new portal link");
    }

    /** Waits until {@code waiting} other sessions wait for a lock (the one {@code c} holds). */
    private static void awaitLockWaits(java.sql.Connection c, int waiting) {
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
            try (var s = c.createStatement()) {
                s.execute("SELECT pg_stat_clear_snapshot()"); // read afresh inside the transaction
            }
            try (var s = c.createStatement();
                    var rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                            + " AND datname = current_database()")) {
                rs.next();
                return rs.getInt(1) >= waiting;
            }
        });
    }

    @Test
    void everyActionIsCheckedAgainstTheSessionsCapabilities() {
        String message = failed(endpointX).getFirst().get("id").asText();
        String hook = "/api/v1/webhooks/" + endpointX;
        Api readOnly = portal(List.of(), null).api();
        readOnly.get(hook).expect(200);
        readOnly.get(hook + "/messages/" + message).expect(200);
        List<Api.Response> refused = List.of(
                readOnly.post("/api/v1/webhooks", Map.of("url", receiver.url("/new"))),
                readOnly.patch(hook, Map.of("maxBatchSize", 5)),
                readOnly.delete(hook),
                readOnly.post(hook + "/rotate-secret", ""),
                readOnly.post(hook + "/messages/" + message + "/retry", ""),
                readOnly.post(hook + "/messages/retry", ""),
                readOnly.post(hook + "/replay", Map.of("fromSeq", 1)),
                readOnly.post(hook + "/test", ""));
        for (Api.Response r : refused) {
            assertThat(r.status()).as(r.body()).isEqualTo(403);
            assertThat(r.errorCode()).isEqualTo("capability_missing");
        }
        assertThat(refused.get(0).json().get("error").get("message").asText()).contains("'manage_endpoints'");
        assertThat(refused.get(3).json().get("error").get("message").asText()).contains("'secrets'");
        assertThat(refused.get(4).json().get("error").get("message").asText()).contains("'retry'");
        assertThat(server.admin.get(hook).json().get("maxBatchSize").asInt()).isEqualTo(100);

        // manage_endpoints without secrets: endpoints are managed, their secrets not shown.
        Api manager = portal(List.of("manage_endpoints"), null).api();
        JsonNode created = manager.post("/api/v1/webhooks", Map.of("url", receiver.url("/new")))
                .expect(201)
                .json();
        assertThat(created.has("secret")).isFalse();
        String newHook = "/api/v1/webhooks/" + created.get("id").asText();
        manager.patch(newHook, Map.of("maxBatchSize", 5)).expect(200);
        assertThat(manager.post(newHook + "/rotate-secret", "").status()).isEqualTo(403);

        Api keeper = portal(List.of("secrets"), null).api();
        assertThat(keeper.post(newHook + "/rotate-secret", "")
                        .expect(200)
                        .json()
                        .get("secret")
                        .asText())
                .startsWith("whsec_");
        assertThat(keeper.delete(newHook).status()).isEqualTo(403);

        Api retrier = portal(List.of("retry"), null).api();
        retrier.post(newHook + "/test", "").expect(202);
        manager.delete(newHook).expect(204);

        // The CSRF token is required of portal sessions too.
        ConsoleSession full = portal(List.of("manage_endpoints"), null);
        Api.Response noCsrf = full.withoutCsrf().post("/api/v1/webhooks", Map.of("url", receiver.url("/csrf")));
        assertThat(noCsrf.status()).isEqualTo(403);
        assertThat(noCsrf.errorCode()).isEqualTo("csrf_token_invalid");
    }
}
