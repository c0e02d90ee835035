package dev.switchboard.console;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.ConsoleSession;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the console reads and does beyond the management API: the message log filtered by tenant,
 * status, event type and time; "retry all failed" by the same filter; an endpoint's streams with their
 * lag; the overview; the event catalog.
 */
class ConsoleDataTest {
    static TestServer server;
    static Receiver receiver;
    static Partner onA;
    static Partner onB;
    static Partner onC;
    static String failing;
    static String healthy;
    static Instant started;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true"));
        receiver = new Receiver();
        receiver.answer(r -> Receiver.Reply.status(r.path().equals("/fail") ? 503 : 200));
        server.createCollection(
                "orders",
                "eventFields",
                List.of("state", "total"),
                "schema",
                Map.of(
                        "type",
                        "object",
                        "properties",
                        Map.of(
                                "state",
                                Map.of("enum", List.of("open", "paid")),
                                "total",
                                Map.of("type", "integer", "minimum", 0))));
        server.createCollection("customers");
        server.createCollection("secrets");
        started = Instant.now().minusSeconds(1);
        JsonNode integration = server.createIntegration(
                "shop",
                List.of("orders", "customers"),
                List.of("orders", "customers"),
                List.of("orders.*", "customers.created"));
        onA = Partner.connect(server, integration, server.createTenant("data-a"));
        onB = Partner.connect(server, integration, server.createTenant("data-b"));
        onC = Partner.connect(server, integration, server.createTenant("data-c"));
        failing = onA.webhook(Map.of("url", receiver.url("/fail"), "retryDelays", List.of()))
                .get("id")
                .asText();
        healthy = onA.webhook(Map.of("url", receiver.url("/ok"))).get("id").asText();
        onA.writeRecords("orders", 1, Map.of("state", "open", "total", 5));
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> messages(failing, "?status=failed").size() == 1);
        onB.writeRecords("customers", 1, Map.of("name", "Ann"));
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> messages(failing, "?status=failed").size() == 2);
    }

    @AfterAll
    static void stop() {
        server.close();
        receiver.close();
    }

    private static List<JsonNode> messages(String endpoint, String query) {
        List<JsonNode> out = new ArrayList<>();
        server.admin
                .get("/api/v1/webhooks/" + endpoint + "/messages" + query)
                .expect(200)
                .json()
                .get("messages")
                .forEach(out::add);
        return out;
    }

    @Test
    void theMessageLogIsFilteredByTenantStatusEventTypeAndTime() {
        assertThat(messages(failing, "?tenantId=data-a"))
                .extracting(m -> m.get("tenantId").asText())
                .containsExactly("data-a");
        assertThat(messages(failing, "?tenantId=data-b&status=failed")).hasSize(1);
        assertThat(messages(failing, "?tenantId=data-b&status=delivered")).isEmpty();
        // Other tests write to tenant data-c; these look at data-a (an order) and data-b (a customer).
        assertThat(messages(failing, "?eventType=orders.*"))
                .extracting(m -> m.get("tenantId").asText())
                .contains("data-a")
                .doesNotContain("data-b");
        assertThat(messages(failing, "?tenantId=data-a&eventType=orders.created"))
                .hasSize(1);
        assertThat(messages(failing, "?eventType=customers.created"))
                .extracting(m -> m.get("tenantId").asText())
                .containsExactly("data-b");
        assertThat(messages(failing, "?tenantId=data-a&eventType=orders.deleted"))
                .isEmpty();
        assertThat(messages(failing, "?tenantId=data-b&eventType=*")).hasSize(1);
        assertThat(messages(failing, "?tenantId=data-a&from=" + started)).hasSize(1);
        assertThat(messages(failing, "?from=" + Instant.now().plusSeconds(3600)))
                .isEmpty();
        assertThat(messages(failing, "?to=" + started)).isEmpty();
        assertThat(messages(
                        failing,
                        "?tenantId=data-b&from=" + started + "&to="
                                + Instant.now().plusSeconds(60)))
                .hasSize(1);

        for (String[] bad : List.of(
                new String[] {"?eventType=orders..x", "eventType"},
                new String[] {"?from=yesterday", "from"},
                new String[] {"?to=2026-13-01T00:00:00Z", "to"},
                new String[] {"?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"},
                new String[] {"?status=lost", "status"})) {
            Api.Response r = server.admin.get("/api/v1/webhooks/" + failing + "/messages" + bad[0]);
            assertThat(r.status()).as(bad[0]).isEqualTo(400);
            assertThat(r.json().get("error").get("details").get("field").asText())
                    .as(bad[0])
                    .isEqualTo(bad[1]);
        }
    }

    @Test
    void anEventTypeFilterLooksOnlyAtTheEventsAMessageCarries() {
        // Its own integration, so the other tests' streams and tenants stay as they expect them.
        JsonNode integration = server.createIntegration(
                "passing",
                List.of("orders", "customers"),
                List.of("orders", "customers"),
                List.of("orders.*", "customers.created"));
        Partner partner = Partner.connect(server, integration, server.createTenant("data-passing"));
        String ordersOnly = partner.webhook(Map.of("url", receiver.url("/ok"), "eventTypes", List.of("orders.created")))
                .get("id")
                .asText();
        server.admin
                .patch("/api/v1/webhooks/" + ordersOnly, Map.of("state", "disabled"))
                .expect(200);
        // Read in one page once enabled: the order's message covers the customer event it passes over.
        partner.writeRecords("orders", 1, Map.of("state", "open", "total", 1));
        partner.writeRecords("customers", 1, Map.of("name", "Bo"));
        server.admin
                .patch("/api/v1/webhooks/" + ordersOnly, Map.of("state", "enabled"))
                .expect(200);
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> messages(ordersOnly, "?status=delivered").size() == 1);

        assertThat(messages(ordersOnly, "?eventType=orders.created")).hasSize(1);
        assertThat(messages(ordersOnly, "?eventType=customers.created")).isEmpty();
        assertThat(messages(ordersOnly, "?eventType=customers.*")).isEmpty();
    }

    @Test
    void retryAllRetriesTheFailedMessagesTheFilterPicks() {
        String path = "/api/v1/webhooks/" + failing + "/messages/retry";
        Api.Response bad = server.admin.post(path, Map.of("status", "delivered"));
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.json().get("error").get("details").get("field").asText()).isEqualTo("status");
        assertThat(server.admin.post(path, Map.of("eventType", "no such")).status())
                .isEqualTo(400);
        assertThat(server.admin
                        .post(
                                path,
                                Map.of("from", Instant.now().plusSeconds(3600).toString()))
                        .expect(202)
                        .json()
                        .get("retried")
                        .asInt())
                .isZero();
        assertThat(server.admin
                        .post(path, Map.of("eventType", "customers.*"))
                        .expect(202)
                        .json()
                        .get("retried")
                        .asInt())
                .isEqualTo(1);
        // Only B's message is sent again, and fails again (a second attempt); A's keeps its one attempt.
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> messages(failing, "?tenantId=data-b&status=failed").stream()
                        .anyMatch(m -> m.get("attempts").size() == 2));
        assertThat(messages(failing, "?tenantId=data-a").getFirst().get("attempts"))
                .hasSize(1);
        Api readOnly = ConsoleSession.portal(
                        server,
                        onA.client()
                                .post("/api/v1/portal-sessions", Map.of())
                                .expect(201)
                                .json()
                                .get("url")
                                .asText())
                .api();
        assertThat(readOnly.post(path, "").status()).isEqualTo(403);
    }

    @Test
    void anEndpointsStreamsShowTheirPositionLagAndState() {
        onC.access()
                .post("/api/v1/collections/orders/records", Map.of("data", Map.of("state", "open")))
                .expect(201);
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> streams(healthy).stream()
                        .allMatch(s -> s.get("state").asText().equals("caught_up")));
        server.admin
                .post("/api/v1/connections/" + onC.connectionId() + "/disable", "")
                .expect(200);
        server.adminFor("data-c")
                .post("/api/v1/collections/orders/records", Map.of("data", Map.of("state", "paid")))
                .expect(201);
        List<JsonNode> streams = streams(healthy);
        assertThat(streams).extracting(s -> s.get("tenantId").asText()).containsExactly("data-a", "data-b", "data-c");
        JsonNode c = streams.get(2);
        assertThat(c.get("state").asText()).isEqualTo("paused");
        assertThat(c.get("lagEvents").asLong()).isEqualTo(1);
        assertThat(c.get("head").asLong()).isEqualTo(c.get("position").asLong() + 1);
        assertThat(c.get("lagSeconds").isNumber())
                .as("the waiting event's age, not null")
                .isTrue();
        assertThat(c.get("lagSeconds").asDouble()).isBetween(0.0, 60.0);
        assertThat(streams.get(0).get("state").asText()).isEqualTo("caught_up");
        assertThat(streams.get(0).get("lagEvents").asLong()).isZero();
        assertThat(streams.get(0).get("lagSeconds").isNull()).isTrue();
        server.admin
                .post("/api/v1/connections/" + onC.connectionId() + "/enable", "")
                .expect(200);

        // A portal session narrowed to a tenant sees that tenant's stream only; the client key sees all.
        Api narrowed = ConsoleSession.portal(
                        server,
                        onA.client()
                                .post("/api/v1/portal-sessions", Map.of("tenantId", "data-b"))
                                .expect(201)
                                .json()
                                .get("url")
                                .asText())
                .api();
        assertThat(narrowed.get("/api/v1/webhooks/" + healthy + "/streams")
                        .expect(200)
                        .json()
                        .get("streams"))
                .extracting(s -> s.get("tenantId").asText())
                .containsExactly("data-b");
        assertThat(onA.client()
                        .get("/api/v1/webhooks/" + healthy + "/streams")
                        .expect(200)
                        .json()
                        .get("streams"))
                .hasSize(3);
        assertThat(server.api(onA.accessToken())
                        .get("/api/v1/webhooks/" + healthy + "/streams")
                        .status())
                .isEqualTo(403);

        // A page at a time, by tenant: an integration may be connected to thousands of tenants.
        JsonNode first = server.admin
                .get("/api/v1/webhooks/" + healthy + "/streams?limit=2")
                .expect(200)
                .json();
        assertThat(first.get("streams"))
                .extracting(s -> s.get("tenantId").asText())
                .containsExactly("data-a", "data-b");
        assertThat(first.get("cursor").asText()).isEqualTo("data-b");
        JsonNode second = server.admin
                .get("/api/v1/webhooks/" + healthy + "/streams?limit=2&cursor=data-b")
                .expect(200)
                .json();
        assertThat(second.get("streams"))
                .extracting(s -> s.get("tenantId").asText())
                .containsExactly("data-c");
        assertThat(second.get("cursor").isNull()).isTrue();
    }

    private static List<JsonNode> streams(String endpoint) {
        List<JsonNode> out = new ArrayList<>();
        server.admin
                .get("/api/v1/webhooks/" + endpoint + "/streams")
                .expect(200)
                .json()
                .get("streams")
                .forEach(out::add);
        return out;
    }

    @Test
    void theOverviewCountsEverythingAndListsFailingEndpointsFirst() {
        JsonNode overview = ConsoleSession.signIn(server)
                .api()
                .get("/api/v1/overview")
                .expect(200)
                .json();
        assertThat(overview.get("tenants").asLong()).isGreaterThanOrEqualTo(3);
        assertThat(overview.get("integrations").asLong()).isGreaterThanOrEqualTo(1);
        assertThat(overview.get("connections").get("enabled").asLong()).isGreaterThanOrEqualTo(2);
        assertThat(overview.get("endpoints").get("failing").asLong()).isGreaterThanOrEqualTo(1);
        List<String> ids = new ArrayList<>();
        overview.get("endpointList").forEach(e -> ids.add(e.get("id").asText()));
        assertThat(ids).contains(failing, healthy);
        assertThat(ids.indexOf(failing)).isLessThan(ids.indexOf(healthy));
        JsonNode first = overview.get("endpointList").get(ids.indexOf(failing));
        assertThat(first.get("state").asText()).isEqualTo("failing");
        assertThat(first.get("integrationName").asText()).isEqualTo("shop");
        assertThat(first.get("lastError").asText()).isNotEmpty();
        assertThat(onA.client().get("/api/v1/overview").status()).isEqualTo(403);
    }

    @Test
    void theEventCatalogShowsEachCollectionsTypesSchemaAndAnExample() {
        JsonNode all =
                server.admin.get("/api/v1/event-catalog").expect(200).json().get("collections");
        List<String> names = new ArrayList<>();
        all.forEach(c -> names.add(c.get("name").asText()));
        assertThat(names).contains("orders", "customers", "secrets");
        JsonNode orders = null;
        for (JsonNode c : all) {
            if (c.get("name").asText().equals("orders")) {
                orders = c;
            }
        }
        assertThat(orders.get("schema").get("type").asText()).isEqualTo("object");
        assertThat(orders.get("eventTypes"))
                .extracting(t -> t.get("type").asText())
                .containsExactly("orders.created", "orders.updated", "orders.deleted");
        JsonNode example = orders.get("eventTypes").get(0).get("example");
        assertThat(example.get("type").asText()).isEqualTo("orders.created");
        assertThat(example.get("data").get("state").asText()).isEqualTo("open");
        assertThat(example.get("data").get("total").asInt()).isZero();
        assertThat(example.get("data").get("version").asInt()).isEqualTo(1);

        // An integration sees what it may read and receive only.
        JsonNode mine =
                onA.client().get("/api/v1/event-catalog").expect(200).json().get("collections");
        List<String> types = new ArrayList<>();
        mine.forEach(
                c -> c.get("eventTypes").forEach(t -> types.add(t.get("type").asText())));
        assertThat(types)
                .containsExactlyInAnyOrder("orders.created", "orders.updated", "orders.deleted", "customers.created");
        assertThat(server.api(onA.accessToken()).get("/api/v1/event-catalog").status())
                .isEqualTo(403);
    }
}
