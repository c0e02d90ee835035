package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.WsClient;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An integration's {@code eventTypes} are what its connections may receive, and an empty list grants
 * nothing: on the feed, on webhooks, and on WebSockets, replayed or live. Record events also need the
 * collection to be readable. Lifecycle events are not governed by {@code eventTypes}: a lifecycle
 * endpoint gets its integration's connection events whatever the list holds.
 */
@Timeout(120)
class EventTypeGrantsTest {
    static TestServer server;
    static Receiver receiver;

    @BeforeAll
    static void start() {
        receiver = new Receiver();
        server = TestServer.start(Map.of(
                "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
                "SWITCHBOARD_WEBHOOKS_TIMEOUT", "1s",
                "SWITCHBOARD_RATE_LIMIT_REQUESTS", "100000"));
        server.createCollection("reservations");
        server.createCollection("customers");
    }

    @AfterAll
    static void stop() {
        server.close();
        receiver.close();
    }

    private static Api tenant(String id) {
        server.createTenant(id);
        return server.adminFor(id);
    }

    /** An integration created as the operator would when leaving eventTypes out. */
    private static JsonNode integrationWithoutEventTypes(String name) {
        JsonNode created = server.admin
                .post(
                        "/api/v1/integrations",
                        Map.of("name", name, "permissions", Map.of("read", List.of("*"), "write", List.of())))
                .expect(201)
                .json();
        assertThat(created.get("eventTypes")).isEmpty();
        return created;
    }

    private static Api connect(JsonNode integration, String tenantId) {
        return Partner.connect(server, integration, tenantId).access();
    }

    /** One event of each kind a tenant's stream carries: a custom event and a record's event. */
    private static void publishBoth(Api app, String subject) {
        app.post("/api/v1/events", Map.of("type", "device.command", "subject", subject))
                .expect(201);
        app.post("/api/v1/collections/reservations/records", Map.of("data", Map.of()))
                .expect(201);
    }

    @Test
    void anIntegrationCreatedWithoutEventTypesReadsNoEventOnTheFeed() {
        Api app = tenant("grants-none");
        publishBoth(app, "door-1");
        Api partner = connect(integrationWithoutEventTypes("none"), "grants-none");

        JsonNode page = partner.get("/api/v1/events").expect(200).json();
        assertThat(page.get("events")).isEmpty();
        assertThat(page.get("next").asLong())
                .as("it moves past what it may not see")
                .isEqualTo(2);
        assertThat(partner.get("/api/v1/events?after=0&types=device.command")
                        .expect(200)
                        .json()
                        .get("events"))
                .isEmpty();
        assertThat(partner.get("/api/v1/events?after=0&types=*")
                        .expect(200)
                        .json()
                        .get("events"))
                .isEmpty();
    }

    @Test
    void revokingEveryEventTypeWithAnEmptyListStopsTheFeedAtOnce() {
        Api app = tenant("grants-revoked");
        JsonNode integration = server.createIntegration("revoked", List.of("*"), List.of(), List.of("*"));
        Api partner = connect(integration, "grants-revoked");
        publishBoth(app, "door-1");
        assertThat(partner.get("/api/v1/events").expect(200).json().get("events"))
                .hasSize(2);

        JsonNode patched = server.admin
                .patch("/api/v1/integrations/" + integration.get("id").asText(), Map.of("eventTypes", List.of()))
                .expect(200)
                .json();
        assertThat(patched.get("eventTypes")).isEmpty();
        publishBoth(app, "door-2");

        JsonNode page = partner.get("/api/v1/events?after=0").expect(200).json();
        assertThat(page.get("events")).isEmpty();
        assertThat(page.get("next").asLong()).isEqualTo(4);
    }

    @Test
    void recordEventsNeedBothAGrantedEventTypeAndAReadableCollection() {
        Api app = tenant("grants-records");
        app.post("/api/v1/collections/reservations/records", Map.of("data", Map.of()))
                .expect(201);
        app.post("/api/v1/collections/customers/records", Map.of("data", Map.of()))
                .expect(201);
        app.post("/api/v1/events", Map.of("type", "device.command")).expect(201);

        // The README's quick start: reads reservations, receives reservations.*.
        Api quickStart = connect(
                server.createIntegration(
                        "quick-start", List.of("reservations"), List.of("reservations"), List.of("reservations.*")),
                "grants-records");
        assertThat(quickStart.get("/api/v1/events").expect(200).json().get("events"))
                .extracting(e -> e.get("type").asText())
                .containsExactly("reservations.created");

        Api readsButNoTypes = connect(
                server.admin
                        .post(
                                "/api/v1/integrations",
                                Map.of("name", "reads-only", "permissions", Map.of("read", List.of("reservations"))))
                        .expect(201)
                        .json(),
                "grants-records");
        assertThat(readsButNoTypes.get("/api/v1/events").expect(200).json().get("events"))
                .isEmpty();

        Api typesButNotReadable = connect(
                server.createIntegration("types-only", List.of("customers"), List.of(), List.of("reservations.*")),
                "grants-records");
        assertThat(typesButNotReadable.get("/api/v1/events").expect(200).json().get("events"))
                .isEmpty();
    }

    @Test
    void anEventsWebhookOfAnIntegrationWithoutEventTypesSendsNothingWhileItsLifecycleEndpointGetsConnectionEvents()
            throws SQLException {
        Api app = tenant("grants-webhooks");
        JsonNode none = integrationWithoutEventTypes("webhooks-none");
        Api noneClient = server.api(none.get("clientKey").asText());
        noneClient
                .post("/api/v1/webhooks", Map.of("url", receiver.url("/none-lifecycle"), "kind", "lifecycle"))
                .expect(201);
        String eventsEndpoint = noneClient
                .post("/api/v1/webhooks", Map.of("url", receiver.url("/none-events")))
                .expect(201)
                .json()
                .get("id")
                .asText();
        Api.Response narrowed = noneClient.post(
                "/api/v1/webhooks", Map.of("url", receiver.url("/none-device"), "eventTypes", List.of("device.*")));
        assertThat(narrowed.status()).isEqualTo(400);
        assertThat(narrowed.json().get("error").get("message").asText())
                .startsWith("eventTypes[0]")
                .contains("may receive no event types");

        JsonNode all = server.createIntegration("webhooks-all", List.of("*"), List.of(), List.of("*"));
        Api allClient = server.api(all.get("clientKey").asText());
        allClient
                .post("/api/v1/webhooks", Map.of("url", receiver.url("/all-events")))
                .expect(201);
        // May receive everything, yet not Switchboard's own types: a tenant's log never holds them.
        for (String own : List.of("connection.*", "connection.created", "webhook.test")) {
            Api.Response refused = allClient.post(
                    "/api/v1/webhooks", Map.of("url", receiver.url("/all-own"), "eventTypes", List.of("*", own)));
            assertThat(refused.status()).as(own).isEqualTo(400);
            assertThat(refused.json().get("error").get("message").asText())
                    .as(own)
                    .startsWith("eventTypes[1]")
                    .contains("lifecycle endpoint");
        }
        server.connect(none.get("id").asText(), "grants-webhooks");
        server.connect(all.get("id").asText(), "grants-webhooks");
        publishBoth(app, "door-1");

        await().atMost(Duration.ofSeconds(20))
                .until(() -> receiver.received("/all-events").stream()
                                .mapToInt(r -> r.json().get("events").size())
                                .sum()
                        == 2);
        await().atMost(Duration.ofSeconds(20))
                .until(() -> !receiver.received("/none-lifecycle").isEmpty());
        JsonNode lifecycle = receiver.received("/none-lifecycle").getFirst().json();
        assertThat(lifecycle.get("type").asText()).isEqualTo("connection.created");
        assertThat(lifecycle.get("data").get("tenantId").asText()).isEqualTo("grants-webhooks");
        assertThat(lifecycle.get("data").get("accessToken").asText()).startsWith("sb_access_");

        // Its sender read past both events (its position reached the head) and had nothing to send.
        await().atMost(Duration.ofSeconds(20)).until(() -> position(eventsEndpoint) == 2);
        assertThat(receiver.received("/none-events")).isEmpty();
        assertThat(noneClient
                        .get("/api/v1/webhooks/" + eventsEndpoint + "/messages")
                        .expect(200)
                        .json()
                        .get("messages"))
                .isEmpty();
    }

    @Test
    void aWebSocketOfAnIntegrationWithoutEventTypesReplaysNothingAndReceivesNothingLive() {
        Api app = tenant("grants-ws");
        publishBoth(app, "replayed");
        JsonNode none = integrationWithoutEventTypes("ws-none");
        String token = server.connect(none.get("id").asText(), "grants-ws")
                .get("accessToken")
                .asText();
        try (WsClient ws = WsClient.connect(server, token, "?after=0")) {
            // A replay is sent before "live", so anything it carried would already be here.
            assertThat(ws.await("live").get("position").asLong()).isEqualTo(2);
            assertThat(ws.events()).isEmpty();
            ws.send("{\"type\":\"subscribe\",\"eventTypes\":[\"device.*\"]}");
            assertThat(ws.await("error").get("code").asText()).isEqualTo("empty_subscription");

            publishBoth(app, "live");
            // Grant device.* and publish until the socket sees one: a socket receives its events in order, so
            // the live events published before the grant would have come first.
            server.admin
                    .patch("/api/v1/integrations/" + none.get("id").asText(), Map.of("eventTypes", List.of("device.*")))
                    .expect(200);
            AtomicInteger sentinels = new AtomicInteger();
            await().atMost(Duration.ofSeconds(20))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> {
                        app.post(
                                        "/api/v1/events",
                                        Map.of(
                                                "type",
                                                "device.command",
                                                "subject",
                                                "granted-" + sentinels.incrementAndGet()))
                                .expect(201);
                        return !ws.events().isEmpty();
                    });
            assertThat(ws.events()).extracting(e -> e.get("subject").asText()).allMatch(s -> s.startsWith("granted-"));
            assertThat(ws.events().getFirst().get("seq").asLong()).isGreaterThan(4);
        }
    }

    /** The position of the endpoint's webhook stream on its one connected tenant. */
    private static long position(String endpointId) throws SQLException {
        try (Connection c = DriverManager.getConnection(server.database().jdbcUrl());
                PreparedStatement ps = c.prepareStatement("SELECT ws.position FROM webhook_streams ws"
                        + " JOIN webhook_endpoints e ON e.pk = ws.endpoint_pk WHERE e.id = ?")) {
            ps.setString(1, endpointId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : -1;
            }
        }
    }
}
