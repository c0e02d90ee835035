package dev.switchboard.console;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.CapturedLogs;
import dev.switchboard.testing.ConsoleSession;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.TestServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every change made through the API gets one audit entry: who (and through which session), what, when. */
class AuditLogTest {
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        server.createCollection("orders");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** The newest entries, newest first. */
    private static List<JsonNode> entries(int limit) {
        List<JsonNode> out = new ArrayList<>();
        server.admin
                .get("/api/v1/audit-log?limit=" + limit)
                .expect(200)
                .json()
                .get("entries")
                .forEach(out::add);
        return out;
    }

    private static JsonNode latest() {
        return entries(1).getFirst();
    }

    @Test
    void eachKindOfActorsChangesAreRecordedWithWhoWhatAndWhen() {
        Instant before = Instant.now().minusSeconds(1);
        String tenant = server.createTenant("audited-" + System.nanoTime());
        JsonNode created = latest();
        assertThat(created.get("action").asText()).isEqualTo("tenant.create");
        assertThat(created.get("actor").get("kind").asText()).isEqualTo("admin_key");
        assertThat(created.get("target").get("type").asText()).isEqualTo("tenant");
        assertThat(created.get("target").get("id").asText()).isEqualTo(tenant);
        assertThat(Instant.parse(created.get("at").asText()))
                .isBetween(before, Instant.now().plusSeconds(1));
        assertThat(created.get("requestId").asText()).startsWith("req_");
        assertThat(created.get("id").asText()).startsWith("aud_");

        Partner partner = Partner.on(server, tenant, List.of("orders"), List.of("orders"), List.of("orders.*"));
        JsonNode hook = partner.webhook(Map.of("url", "https://partner.example/hooks?token=shared-secret"));
        JsonNode byClient = latest();
        assertThat(byClient.get("action").asText()).isEqualTo("webhook.create");
        assertThat(byClient.get("actor").get("kind").asText()).isEqualTo("client_key");
        assertThat(byClient.get("actor").get("integrationId").asText()).isEqualTo(partner.integrationId());
        assertThat(byClient.get("target").get("id").asText())
                .isEqualTo(hook.get("id").asText());
        assertThat(byClient.get("details").get("request").get("url").asText())
                .isEqualTo("https://partner.example/hooks?…");
        assertThat(byClient.toString()).doesNotContain("shared-secret").doesNotContain("whsec_");

        ConsoleSession operator = ConsoleSession.signIn(server);
        JsonNode signIn = latest();
        assertThat(signIn.get("action").asText()).isEqualTo("session.sign_in");
        assertThat(signIn.get("actor").get("kind").asText()).isEqualTo("operator");
        String sessionId = operator.json().get("sessionId").asText();
        assertThat(signIn.get("actor").get("sessionId").asText()).isEqualTo(sessionId);
        assertThat(signIn.toString()).doesNotContain(TestServer.ADMIN_KEY);

        String path = "/api/v1/webhooks/" + hook.get("id").asText();
        operator.api().patch(path, Map.of("maxBatchSize", 7)).expect(200);
        JsonNode byOperator = latest();
        assertThat(byOperator.get("action").asText()).isEqualTo("webhook.update");
        assertThat(byOperator.get("actor").get("kind").asText()).isEqualTo("operator");
        assertThat(byOperator.get("actor").get("sessionId").asText()).isEqualTo(sessionId);
        assertThat(byOperator.get("details").get("request").get("maxBatchSize").asInt())
                .isEqualTo(7);

        String link = partner.client()
                .post("/api/v1/portal-sessions", Map.of("capabilities", List.of("manage_endpoints")))
                .expect(201)
                .json()
                .get("url")
                .asText();
        assertThat(latest().get("action").asText()).isEqualTo("portal_link.create");
        assertThat(latest().toString()).doesNotContain(ConsoleSession.token(link));
        ConsoleSession portal = ConsoleSession.portal(server, link);
        JsonNode opened = latest();
        assertThat(opened.get("action").asText()).isEqualTo("portal_session.open");
        assertThat(opened.get("actor").get("kind").asText()).isEqualTo("portal");
        assertThat(opened.toString()).doesNotContain(ConsoleSession.token(link));
        portal.api().patch(path, Map.of("maxBatchSize", 9)).expect(200);
        JsonNode byPortal = latest();
        assertThat(byPortal.get("action").asText()).isEqualTo("webhook.update");
        assertThat(byPortal.get("actor").get("kind").asText()).isEqualTo("portal");
        assertThat(byPortal.get("actor").get("sessionId").asText())
                .isEqualTo(portal.json().get("sessionId").asText());
        assertThat(byPortal.get("actor").get("integrationId").asText()).isEqualTo(partner.integrationId());

        operator.api().delete("/console/api/session").expect(204);
        JsonNode signOut = latest();
        assertThat(signOut.get("action").asText()).isEqualTo("session.sign_out");
        assertThat(signOut.get("target").get("id").asText()).isEqualTo(sessionId);
    }

    /**
     * The same delete (or sign-out) sent several times at once happens once: one 204 and one entry, the others
     * refused as the later one-after-another calls are. Each was answered 204 and recorded, under each actor.
     */
    @Test
    void aChangeSentSeveralTimesAtOnceIsMadeAndRecordedOnce() throws Exception {
        Partner partner = Partner.create(server, List.of("*"));
        String webhook = partner.webhook(Map.of("url", "https://partner.example/once"))
                .get("id")
                .asText();
        ConsoleSession operator = ConsoleSession.signIn(server);
        String sessionId = operator.json().get("sessionId").asText();
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            List<java.util.concurrent.Future<Integer>> deletes = new ArrayList<>();
            List<java.util.concurrent.Future<Integer>> signOuts = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                Api caller = i % 2 == 0 ? partner.client() : server.admin;
                deletes.add(threads.submit(
                        () -> caller.delete("/api/v1/webhooks/" + webhook).status()));
                signOuts.add(threads.submit(
                        () -> operator.api().delete("/console/api/session").status()));
            }
            List<Integer> deleted = new ArrayList<>();
            List<Integer> signedOut = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                deleted.add(deletes.get(i).get());
                signedOut.add(signOuts.get(i).get());
            }
            assertThat(deleted).containsOnlyOnce(204).containsOnly(204, 404);
            assertThat(signedOut).containsOnlyOnce(204).containsOnly(204, 401);
        }
        List<JsonNode> recent = entries(100);
        assertThat(recent)
                .filteredOn(e -> e.get("target").get("id").asText().equals(webhook))
                .extracting(e -> e.get("action").asText())
                .containsExactly("webhook.delete", "webhook.create");
        assertThat(recent)
                .filteredOn(e -> e.get("target").get("id").asText().equals(sessionId))
                .extracting(e -> e.get("action").asText())
                .containsExactly("session.sign_out", "session.sign_in");
    }

    @Test
    void aRouteThatTakesNoBodyRefusesOneWithFieldsAndRecordsNothing() {
        String tenant = server.createTenant("unstorable-" + System.nanoTime());
        Partner partner = Partner.on(server, tenant, List.of("orders"), List.of("orders"), List.of("orders.*"));
        String id = partner.webhook(Map.of("url", "https://partner.example/hooks"))
                .get("id")
                .asText();
        JsonNode before = latest();
        // Bodies jsonb could not store (the NUL character, a number of 200,000 digits written out): refused as
        // any body with fields is, with nothing changed and so nothing recorded.
        for (String body : List.of("{\"x\":\"\\u0000\"}", "{\"n\":1e200000}")) {
            assertThat(partner.client()
                            .send("POST", "/api/v1/webhooks/" + id + "/rotate-secret", body)
                            .status())
                    .as(body)
                    .isEqualTo(400);
        }
        assertThat(partner.client()
                        .send("DELETE", "/api/v1/webhooks/" + id, "{\"x\":\"\\u0000\"}")
                        .status())
                .isEqualTo(400);
        assertThat(latest().get("id")).isEqualTo(before.get("id"));
        partner.client().get("/api/v1/webhooks/" + id).expect(200);
    }

    /** Whatever a caller sends with a route that reads no body is not kept: 4 KiB of its choosing an entry. */
    @Test
    void aRouteThatReadsNoBodyKeepsNoneOfWhatWasSent() {
        String tenant = server.createTenant("chatty-" + System.nanoTime());
        Partner partner = Partner.on(server, tenant, List.of("orders"), List.of("orders"), List.of("orders.*"));
        String id = partner.webhook(Map.of("url", "https://partner.example/hooks"))
                .get("id")
                .asText();
        assertThat(latest().path("details").path("request").path("url").asText())
                .as("a route that reads its body keeps it")
                .isEqualTo("https://partner.example/hooks");
        // An empty object, however padded, is no body: accepted, and nothing of it kept.
        String stored = " ".repeat(3000) + "{}";
        partner.client()
                .send("POST", "/api/v1/webhooks/" + id + "/test", stored)
                .expect(202);
        JsonNode tested = latest();
        assertThat(tested.get("action").asText()).isEqualTo("webhook.test");
        assertThat(tested.path("details").has("request")).isFalse();
    }

    @Test
    void refusedRequestsReadsAndAccessTokenWritesAddNoEntry() {
        String tenant = server.createTenant("quiet-" + System.nanoTime());
        Partner partner = Partner.on(server, tenant, List.of("orders"), List.of("orders"), List.of("orders.*"));
        String newest = latest().get("id").asText();
        server.admin.post("/api/v1/tenants", Map.of("id", "bad id!")).expect(400);
        server.admin.get("/api/v1/tenants").expect(200);
        partner.access()
                .post("/api/v1/collections/orders/records", Map.of("data", Map.of("n", 1)))
                .expect(201);
        partner.client().post("/api/v1/webhooks", Map.of("url", "ftp://nope")).expect(400);
        Api.Response wrongKey = Api.of(server.baseUrl(), null)
                .post("/console/api/session", Map.of("adminKey", "sb_admin_not-the-key-000000000"));
        assertThat(wrongKey.status()).isEqualTo(401);
        assertThat(latest().get("id").asText()).isEqualTo(newest);

        // The admin key writing a tenant's records is recorded, without the record's data; its target is the
        // record created, not the collection named in the path.
        Api keyed = server.adminFor(tenant).withHeader("Idempotency-Key", "audited-order");
        String recordId = keyed.post("/api/v1/collections/orders/records", Map.of("data", Map.of("card", "4111")))
                .expect(201)
                .json()
                .get("id")
                .asText();
        JsonNode record = latest();
        // A retry replayed for its key changed nothing: no second entry.
        assertThat(keyed.post("/api/v1/collections/orders/records", Map.of("data", Map.of("card", "4111")))
                        .expect(201)
                        .header("Idempotent-Replayed"))
                .isEqualTo("true");
        assertThat(latest().get("id")).isEqualTo(record.get("id"));
        assertThat(record.get("action").asText()).isEqualTo("record.create");
        assertThat(record.get("target").get("type").asText()).isEqualTo("record");
        assertThat(record.get("target").get("id").asText()).isEqualTo(recordId);
        assertThat(record.get("details").get("collection").asText()).isEqualTo("orders");
        assertThat(record.toString()).doesNotContain("4111");

        // Likewise a connection, created under its integration's path.
        JsonNode other = server.createIntegration("connected-" + System.nanoTime(), List.of(), List.of(), List.of());
        JsonNode connection = server.connect(other.get("id").asText(), tenant);
        JsonNode connected = latest();
        assertThat(connected.get("action").asText()).isEqualTo("connection.create");
        assertThat(connected.get("target").get("type").asText()).isEqualTo("connection");
        assertThat(connected.get("target").get("id").asText())
                .isEqualTo(connection.get("id").asText());
    }

    @Test
    void aPublishedCustomEventIsRecordedOnceInItsOwnTransactionWithoutItsData() {
        String tenant = server.createTenant("publisher-" + System.nanoTime());
        String newest = latest().get("id").asText();
        server.adminFor(tenant)
                .post("/api/v1/events", Map.of("type", "Not A Type", "data", Map.of()))
                .expect(400);
        assertThat(latest().get("id").asText()).as("a refused publish").isEqualTo(newest);

        JsonNode event = server.adminFor(tenant)
                .post(
                        "/api/v1/events",
                        Map.of("type", "door.opened", "subject", "room-12", "data", Map.of("pin", "8841")))
                .expect(201)
                .json();

        List<JsonNode> recent = entries(2);
        JsonNode published = recent.get(0);
        assertThat(published.get("action").asText()).isEqualTo("event.publish");
        assertThat(published.get("actor").get("kind").asText()).isEqualTo("admin_key");
        assertThat(published.get("target").get("type").asText()).isEqualTo("event");
        assertThat(published.get("target").get("id").asText())
                .isEqualTo(event.get("id").asText());
        assertThat(published.get("requestId").asText()).startsWith("req_");
        assertThat(published.toString()).doesNotContain("8841");
        assertThat(recent.get(1).get("id").asText()).as("written once").isEqualTo(newest);
    }

    @Test
    void theLogIsPagedNewestFirstAndReadByTheOperatorOnly() {
        for (int i = 0; i < 3; i++) {
            server.createTenant("paged-" + i + "-" + System.nanoTime());
        }
        JsonNode first =
                server.admin.get("/api/v1/audit-log?limit=2").expect(200).json();
        assertThat(first.get("entries")).hasSize(2);
        String cursor = first.get("cursor").asText();
        JsonNode second = server.admin
                .get("/api/v1/audit-log?limit=2&cursor=" + cursor)
                .expect(200)
                .json();
        long a = Long.parseLong(first.get("entries").get(1).get("id").asText().substring(4));
        long b = Long.parseLong(second.get("entries").get(0).get("id").asText().substring(4));
        assertThat(b).isLessThan(a);
        assertThat(ConsoleSession.signIn(server).api().get("/api/v1/audit-log").status())
                .isEqualTo(200);

        Api.Response badCursor = server.admin.get("/api/v1/audit-log?cursor=yesterday");
        assertThat(badCursor.status()).isEqualTo(400);
        assertThat(badCursor.json().get("error").get("details").get("field").asText())
                .isEqualTo("cursor");
        assertThat(server.admin.get("/api/v1/audit-log?limit=0").status()).isEqualTo(400);
        JsonNode integration = server.createIntegration("reader-" + System.nanoTime(), List.of(), List.of(), List.of());
        assertThat(server.api(integration.get("clientKey").asText())
                        .get("/api/v1/audit-log")
                        .status())
                .isEqualTo(403);
    }

    @Test
    void aChangeWhoseEntryCannotBeWrittenStandsAndTheEntryIsLoggedAsAnError() throws Exception {
        // The database refuses audit entries (as when it goes away right after the change): the change
        // is made, so its answer must say so; a 5xx would have the client repeat a change that stands.
        String tenant = "unaudited-" + System.nanoTime();
        try (Connection c = DriverManager.getConnection(server.database().jdbcUrl());
                Statement s = c.createStatement();
                CapturedLogs logs = new CapturedLogs()) {
            s.execute("CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS"
                    + " $$BEGIN RAISE EXCEPTION 'audit entries refused'; END$$");
            s.execute("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log"
                    + " FOR EACH ROW EXECUTE FUNCTION refuse_audit()");
            try {
                server.admin.post("/api/v1/tenants", Map.of("id", tenant)).expect(201);
                server.admin.get("/api/v1/tenants/" + tenant).expect(200);
                assertThat(logs.lines())
                        .anySatisfy(line -> assertThat(line)
                                .startsWith("ERROR")
                                .contains("tenant.create")
                                .contains(tenant)
                                .contains("audit entries refused"));
            } finally {
                s.execute("DROP TRIGGER refuse_audit ON audit_log");
                s.execute("DROP FUNCTION refuse_audit()");
            }
        }
        assertThat(entries(20))
                .noneSatisfy(entry -> assertThat(entry.toString()).contains(tenant));
    }
}
