package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.RawWebSocket;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.WsClient;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.LongStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class WebSocketTest {
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        server.createCollection("reservations");
        server.createCollection("customers");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Api tenant(String id) {
        server.createTenant(id);
        return server.adminFor(id);
    }

    private static void publish(Api app, String type, String subject) {
        app.post("/api/v1/events", Map.of("type", type, "subject", subject)).expect(201);
    }

    @Test
    void eventsWrittenThroughTheApiArePushedLiveInOrderAsTheFeedShowsThem() {
        Api app = tenant("ws-live");
        String token = server.partnerToken("ws-live");
        publish(app, "device.command", "before-connect");
        try (WsClient ws = WsClient.connect(server, token, null)) {
            JsonNode live = ws.await("live");
            assertThat(live.get("position").asLong()).isEqualTo(1); // starts at the head: no replay without after
            publish(app, "device.command", "door-1");
            app.post("/api/v1/collections/reservations/records", Map.of("data", Map.of("state", "new")))
                    .expect(201);
            List<JsonNode> events = ws.awaitEvents(2);
            assertThat(events).extracting(e -> e.get("seq").asLong()).containsExactly(2L, 3L);
            JsonNode feed = server.api(token)
                    .get("/api/v1/events?after=1")
                    .expect(200)
                    .json()
                    .get("events");
            assertThat(events.get(0)).isEqualTo(feed.get(0));
            assertThat(events.get(1)).isEqualTo(feed.get(1));
        }
    }

    /**
     * Creates and custom events reach this node's sockets from their writers, without a read of the log;
     * updates still come through the log. Written concurrently, mixed, all must arrive once, in seq
     * order, exactly as the log serves them: same fields, same key order and numbers in data.
     */
    @Test
    void eventsHandedOverByTheirWritersOrReadFromTheLogArriveOnceInOrderAsTheLogServesThem() throws Exception {
        server.createCollection("handover", "eventFields", List.of("zeta", "a", "big", "text"));
        Api app = tenant("ws-handover");
        String token = server.partnerToken("ws-handover");
        Api partner = server.api(token);
        String first = partner.post(
                        "/api/v1/collections/handover/records",
                        Map.of("data", Map.of("zeta", 1, "a", 1.5, "big", 1e10, "text", "ü \"quoted\"")))
                .expect(201)
                .json()
                .get("id")
                .asText();
        try (WsClient ws = WsClient.connect(server, token, null)) {
            ws.await("live");
            int writers = 4;
            int each = 15;
            ExecutorService threads = Executors.newFixedThreadPool(writers);
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int writer = w;
                done.add(threads.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        Map<String, Object> data = Map.of("zeta", writer, "a", i + 0.25, "big", 2e12, "text", "é" + i);
                        switch (i % 3) {
                            case 0 ->
                                partner.post("/api/v1/collections/handover/records", Map.of("data", data))
                                        .expect(201);
                            case 1 ->
                                app.post(
                                                "/api/v1/events",
                                                Map.of("type", "device.command", "subject", "s" + writer, "data", data))
                                        .expect(201);
                            default ->
                                partner.patch("/api/v1/collections/handover/records/" + first, Map.of("data", data))
                                        .expect(200);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
            threads.shutdown();
            int total = writers * each;
            List<JsonNode> live = ws.awaitEvents(total);
            JsonNode feed = partner.get("/api/v1/events?after=1&limit=1000")
                    .expect(200)
                    .json()
                    .get("events");
            assertThat(live).hasSize(total);
            assertThat(ws.seqs())
                    .isEqualTo(LongStream.rangeClosed(2, total + 1).boxed().toList());
            for (int i = 0; i < total; i++) {
                // Serialized again, so key order and number forms count, not only equal values.
                assertThat(Json.MAPPER.writeValueAsString(live.get(i)))
                        .isEqualTo(Json.MAPPER.writeValueAsString(feed.get(i)));
            }
        }
    }

    @Test
    void theTokenCanComeFromTheCookieOrTheQueryForBrowsers() {
        Api app = tenant("ws-token-places");
        String token = server.partnerToken("ws-token-places");
        // A browser sends the page's origin with the cookie; this one is the server's own.
        try (WsClient byCookie = WsClient.connect(
                        server, Map.of("Cookie", "AccessToken=" + token, "Origin", server.baseUrl()), null);
                WsClient byQuery = WsClient.connect(server, Map.of(), "?access_token=" + token)) {
            byCookie.await("live");
            byQuery.await("live");
            publish(app, "device.command", "door-2");
            assertThat(byCookie.awaitEvents(1)).hasSize(1);
            assertThat(byQuery.awaitEvents(1)).hasSize(1);
        }
    }

    @Test
    void aBadTokenIsRefusedBeforeTheUpgradeWithTheErrorJson() throws Exception {
        tenant("ws-refused");
        try (RawWebSocket refused = RawWebSocket.open(server, "/api/v1/ws", "sb_access_not-a-token", 0)) {
            assertThat(refused.status).isEqualTo(401);
            assertThat(refused.head).containsIgnoringCase("Request-Id:");
            assertThat(refused.body).as(refused.head + refused.body).contains("\"error\"");
            assertThat(Json.read(refused.body).get("error").get("code").asText())
                    .isEqualTo("unauthorized");
        }
        assertThatUpgradeFails(Map.of("Authorization", "Bearer sb_access_not-a-token"), null, 401);
        assertThatUpgradeFails(Map.of(), null, 401);
        assertThatUpgradeFails(Map.of("Authorization", "Bearer " + TestServer.ADMIN_KEY), null, 403);
        String token = server.partnerToken("ws-refused");
        assertThatUpgradeFails(Map.of("Authorization", "Bearer " + token), "?after=-1", 400);
        assertThatUpgradeFails(Map.of("Authorization", "Bearer " + token), "?after=abc", 400);
        assertThatUpgradeFails(Map.of("Authorization", "Bearer " + token), "?after=%EF%BC%91", 400); // a fullwidth 1
        assertThatUpgradeFails(Map.of("Authorization", "Bearer " + token), "?after=99", 400);
        assertThatUpgradeFails(Map.of("Authorization", "Bearer " + token), "?after=0&after=1", 400);
        // Without an upgrade, the route says what it is.
        Api.Response plain = server.api(token).get("/api/v1/ws");
        assertThat(plain.status()).isEqualTo(426);
        assertThat(plain.errorCode()).isEqualTo("upgrade_required");
    }

    @Test
    void aHandshakeWhoseKeyIsNotSixteenBytesInBase64IsRefusedWithTheErrorJson() throws Exception {
        tenant("ws-key");
        String token = server.partnerToken("ws-key");
        for (String key : List.of("", "not base64!", "c2hvcnQ=", "A".repeat(200))) {
            List<String> headers = new java.util.ArrayList<>(RawWebSocket.upgradeHeaders().stream()
                    .filter(h -> !h.startsWith("Sec-WebSocket-Key:"))
                    .toList());
            headers.add("Sec-WebSocket-Key: " + key);
            headers.add("Authorization: Bearer " + token);
            try (RawWebSocket refused = RawWebSocket.open(server, "GET", "/api/v1/ws", headers, 0)) {
                assertThat(refused.status).as("key '%s'", key).isEqualTo(400);
                assertThat(Json.read(refused.body).get("error").get("code").asText())
                        .isEqualTo("invalid_handshake");
            }
        }
    }

    @Test
    void aHandshakeOfAnotherVersionOrWithoutItsUpgradeHeadersGets426AndNoSubprotocolIsEchoed() throws Exception {
        tenant("ws-version");
        String token = server.partnerToken("ws-version");
        // (Upgrade: websocket without Connection: Upgrade is refused by Jetty's parser, 400 malformed_request.)
        Map<String, String> broken = Map.of(
                "Sec-WebSocket-Version:", "Sec-WebSocket-Version: 8",
                "Upgrade:", "Upgrade: foo");
        for (var change : broken.entrySet()) {
            List<String> headers = new java.util.ArrayList<>(RawWebSocket.upgradeHeaders().stream()
                    .map(h -> h.startsWith(change.getKey()) ? change.getValue() : h)
                    .toList());
            headers.add("Authorization: Bearer " + token);
            try (RawWebSocket refused = RawWebSocket.open(server, "GET", "/api/v1/ws", headers, 0)) {
                assertThat(refused.status).as(change.getValue()).isEqualTo(426);
                assertThat(refused.head).as(change.getValue()).containsIgnoringCase("Sec-WebSocket-Version: 13");
                assertThat(Json.read(refused.body).get("error").get("code").asText())
                        .isEqualTo("upgrade_required");
            }
        }
        // The server speaks no subprotocol: one a client offers is not answered as accepted.
        List<String> headers = new java.util.ArrayList<>(RawWebSocket.upgradeHeaders());
        headers.add("Authorization: Bearer " + token);
        headers.add("Sec-WebSocket-Protocol: foo");
        try (RawWebSocket socket = RawWebSocket.open(server, "GET", "/api/v1/ws", headers, 0)) {
            assertThat(socket.status).isEqualTo(101);
            assertThat(socket.head).doesNotContainIgnoringCase("Sec-WebSocket-Protocol");
        }
    }

    /**
     * A message never finished (empty continuation frames without end) or a flood of pings counted against no
     * limit: two such sockets held a 2-core node's threads, every request waiting for seconds. Past 4,000
     * frames in 10 s the socket is closed with 4102 and no longer read.
     */
    @Test
    void aSocketFloodingFramesIsClosedAndNoLongerRead() throws Exception {
        tenant("ws-frames");
        String token = server.partnerToken("ws-frames");
        // A message in fragments (cut in three, a two-byte character split between two) is one message; one
        // over the size limit in fragments is closed with 1009.
        try (RawWebSocket socket = RawWebSocket.open(server, "/api/v1/ws", token, 0)) {
            byte[] message = "{\"type\":\"pé\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            int split = message.length - 3; // between the two bytes of é
            socket.send(0x1, java.util.Arrays.copyOfRange(message, 0, 5));
            socket.send(0x0, java.util.Arrays.copyOfRange(message, 5, split));
            socket.send(0x80, java.util.Arrays.copyOfRange(message, split, message.length));
            RawWebSocket.Frame answer = socket.readAnsweringPings();
            while (!answer.text().contains("unknown_type")) {
                answer = socket.readAnsweringPings();
            }
            assertThat(answer.text()).contains("'pé' is not a message type");
        }
        try (RawWebSocket socket = RawWebSocket.open(server, "/api/v1/ws", token, 0)) {
            byte[] part = "x".repeat(40_000).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            socket.send(0x1, "[\"".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            socket.send(0x0, part);
            socket.send(0x0, part);
            assertThat(socket.readUntilClose()).isEqualTo(1009);
        }
        double before = server.metric("switchboard_websockets_closes_total\\{reason=\"too_many_messages\"}");
        for (int opcode : List.of(0x0 /* continuation */, 0x9 /* ping */)) {
            try (RawWebSocket socket = RawWebSocket.open(server, "/api/v1/ws", token, 0)) {
                if (opcode == 0x0) {
                    socket.send(0x1, "{".getBytes(java.nio.charset.StandardCharsets.UTF_8)); // a text message begun
                }
                byte[] one = RawWebSocket.frame(opcode == 0x9 ? 0x80 | opcode : opcode, 0, new byte[0], true);
                java.io.ByteArrayOutputStream flood = new java.io.ByteArrayOutputStream();
                for (int i = 0; i < 5_000; i++) {
                    flood.write(one);
                }
                try {
                    socket.sendRaw(flood.toByteArray());
                } catch (java.net.SocketException closedMeanwhile) {
                    // the server may close before the last frames are written
                }
                socket.readTimeout(Duration.ofSeconds(10));
                int code = -1;
                try {
                    for (RawWebSocket.Frame f = socket.read(); ; f = socket.read()) {
                        if (f.opcode() == 0x8) {
                            code = f.closeCode();
                            break;
                        }
                    }
                } catch (java.io.EOFException | java.net.SocketException ended) {
                    // ended before the close frame was read: counted below
                }
                assertThat(code).as("opcode %d", opcode).isIn(4102, -1);
                assertThat(socket.readUntilClose())
                        .as("the server ends the connection")
                        .isEqualTo(-1);
            }
        }
        assertThat(server.metric("switchboard_websockets_closes_total\\{reason=\"too_many_messages\"}") - before)
                .isEqualTo(2);
    }

    /**
     * A parameter the socket does not take was ignored: a mistyped {@code ?afer=5} opened the socket at the live
     * end, and {@code ?tenantId=} beside an access token suggested another tenant's events.
     */
    @Test
    void aHandshakeWithAParameterTheSocketDoesNotTakeIsRefused() throws Exception {
        tenant("ws-params");
        String token = server.partnerToken("ws-params");
        for (String query : List.of("?afer=5", "?tenantId=hotel-other")) {
            List<String> headers = new java.util.ArrayList<>(RawWebSocket.upgradeHeaders());
            headers.add("Authorization: Bearer " + token);
            try (RawWebSocket refused = RawWebSocket.open(server, "GET", "/api/v1/ws" + query, headers, 0)) {
                assertThat(refused.status).as(query).isEqualTo(400);
                JsonNode error = Json.read(refused.body).get("error");
                assertThat(error.get("details").get("field").asText())
                        .isEqualTo(query.substring(1, query.indexOf('=')));
            }
        }
        List<String> headers = new java.util.ArrayList<>(RawWebSocket.upgradeHeaders());
        headers.add("Authorization: Bearer " + token);
        List<String> otherTenant = new java.util.ArrayList<>(headers);
        otherTenant.add("Switchboard-Tenant: hotel-other");
        try (RawWebSocket refused = RawWebSocket.open(server, "GET", "/api/v1/ws", otherTenant, 0)) {
            // The socket would have carried the token's tenant's events as the other's.
            assertThat(refused.status).isEqualTo(400);
            assertThat(Json.read(refused.body).at("/error/code").asText()).isEqualTo("invalid_header");
        }
        try (RawWebSocket twice = RawWebSocket.open(server, "GET", "/api/v1/ws?after=1&after=2", headers, 0)) {
            assertThat(twice.status).isEqualTo(400);
            // None of the socket's parameters is a list: the lists' advice is not for it.
            assertThat(Json.read(twice.body).at("/error/message").asText())
                    .isEqualTo("after: is given more than once; give it once");
        }
        try (RawWebSocket socket = RawWebSocket.open(server, "/api/v1/ws?after=0", token, 0)) {
            assertThat(socket.status).isEqualTo(101);
        }
    }

    @Test
    void closesJettyMakesForABrokenProtocolAreCountedByTheirDocumentedReason() throws Exception {
        tenant("ws-broken");
        String token = server.partnerToken("ws-broken");
        String tooBig = "switchboard_websockets_closes_total\\{reason=\"message_too_big\"}";
        String invalid = "switchboard_websockets_closes_total\\{reason=\"invalid_payload\"}";
        double tooBigBefore = server.metric(tooBig);
        double invalidBefore = server.metric(invalid);
        try (RawWebSocket socket = RawWebSocket.open(server, "/api/v1/ws", token, 0)) {
            socket.sendText("{\"type\":\"ping\",\"pad\":\"" + "x".repeat(70_000) + "\"}");
            assertThat(socket.readUntilClose()).isEqualTo(1009);
        }
        try (RawWebSocket socket = RawWebSocket.open(server, "/api/v1/ws", token, 0)) {
            socket.send(RawWebSocket.FIN | RawWebSocket.TEXT, new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'});
            assertThat(socket.readUntilClose()).isEqualTo(1007);
        }
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> server.metric(tooBig) == tooBigBefore + 1);
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> server.metric(invalid) == invalidBefore + 1);
    }

    private static void assertThatUpgradeFails(Map<String, String> headers, String query, int status) {
        try {
            WsClient.connect(server, headers, query).close();
            throw new AssertionError("the upgrade should have failed with " + status);
        } catch (CompletionException e) {
            assertThat(e.getCause()).isInstanceOf(WebSocketHandshakeException.class);
            assertThat(((WebSocketHandshakeException) e.getCause())
                            .getResponse()
                            .statusCode())
                    .isEqualTo(status);
        }
    }

    @Test
    void aSocketCarriesOnlyWhatItsIntegrationMayReceiveAndNeverAnotherTenantsEvents() {
        Api app = tenant("ws-filter");
        Api other = tenant("ws-filter-other");
        String token = Partner.on(
                        server,
                        "ws-filter",
                        List.of("reservations"),
                        List.of("*"),
                        List.of("reservations.*", "customers.*", "device.command"))
                .accessToken();
        try (WsClient ws = WsClient.connect(server, token, null)) {
            ws.await("live");
            publish(other, "device.command", "other-tenant");
            app.post("/api/v1/collections/customers/records", Map.of("data", Map.of()))
                    .expect(201); // not readable
            publish(app, "device.status", "not-receivable");
            app.post("/api/v1/collections/reservations/records", Map.of("data", Map.of()))
                    .expect(201);
            publish(app, "device.command", "door-3");
            List<JsonNode> events = ws.awaitEvents(2);
            assertThat(events)
                    .extracting(e -> e.get("type").asText())
                    .containsExactly("reservations.created", "device.command");
            assertThat(events).extracting(e -> e.get("seq").asLong()).containsExactly(3L, 4L);
        }
    }

    /**
     * After the integration's event types narrow, a subscription is checked against what the socket
     * may receive now: one outside it is refused, never answered "subscribed" to receive nothing.
     */
    @Test
    void aSubscriptionOutsideNarrowedPermissionsIsRefused() {
        tenant("ws-narrowed");
        Partner partner =
                Partner.on(server, "ws-narrowed", List.of("*"), List.of("*"), List.of("device.*", "reservations.*"));
        try (WsClient ws = WsClient.connect(server, partner.accessToken(), null)) {
            ws.await("live");
            ws.send("{\"type\":\"subscribe\",\"eventTypes\":[\"device.*\"]}");
            ws.await("subscribed");
            server.admin
                    .patch(
                            "/api/v1/integrations/" + partner.integrationId(),
                            Map.of("eventTypes", List.of("reservations.*")))
                    .expect(200);
            // The change reaches the socket shortly after; until then a subscription is answered as before.
            // Each answer is looked for among the messages after its request (an earlier "subscribed" reads the same).
            Predicate<JsonNode> answer = m -> m.path("type").asText().equals("subscribed")
                    || m.path("type").asText().equals("error");
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
                int seen = ws.messages().size();
                ws.send("{\"type\":\"subscribe\",\"eventTypes\":[\"device.command\"]}");
                JsonNode answered = Awaitility.await()
                        .atMost(Duration.ofSeconds(10))
                        .until(
                                () -> ws.messages().stream()
                                        .skip(seen)
                                        .filter(answer)
                                        .findFirst(),
                                java.util.Optional::isPresent)
                        .orElseThrow();
                return answered.path("code").asText().equals("empty_subscription");
            });
        }
    }

    @Test
    void subscribeNarrowsWhatTheSocketReceivesAndNeverWidensIt() {
        Api app = tenant("ws-subscribe");
        String token = Partner.on(
                        server, "ws-subscribe", List.of("*"), List.of("*"), List.of("device.*", "reservations.*"))
                .accessToken();
        try (WsClient ws = WsClient.connect(server, token, null)) {
            ws.await("live");
            ws.send("{\"type\":\"subscribe\",\"eventTypes\":[\"device.*\",\"customers.*\"]}");
            assertThat(ws.await("subscribed").get("eventTypes"))
                    .extracting(JsonNode::asText)
                    .containsExactly("device.*");
            ws.send("{\"type\":\"subscribe\",\"eventTypes\":[\"*\"]}"); // cannot widen back
            assertThat(ws.await(m -> m.path("type").asText().equals("subscribed")
                            && m != ws.messages().get(1)))
                    .isNotNull();
            ws.send("{\"type\":\"subscribe\",\"eventTypes\":[\"reservations.*\"]}"); // disjoint: refused, unchanged
            assertThat(ws.await("error").get("code").asText()).isEqualTo("empty_subscription");
            app.post("/api/v1/collections/reservations/records", Map.of("data", Map.of()))
                    .expect(201);
            publish(app, "device.command", "door-4");
            assertThat(ws.awaitEvents(1))
                    .extracting(e -> e.get("type").asText())
                    .containsExactly("device.command");
            assertThat(ws.messages().stream()
                            .filter(m -> m.path("type").asText().equals("subscribed")))
                    .allSatisfy(m -> assertThat(m.get("eventTypes"))
                            .extracting(JsonNode::asText)
                            .containsExactly("device.*"));
        }
    }

    @Test
    void aPingMessageIsAnsweredWithAPong() {
        tenant("ws-ping");
        try (WsClient ws = WsClient.connect(server, server.partnerToken("ws-ping"), null)) {
            ws.send("{\"type\":\"ping\"}");
            ws.await("pong");
        }
    }

    @Test
    void malformedAndUnknownMessagesGetAnErrorAndTheSocketStaysOpen() {
        Api app = tenant("ws-malformed");
        try (WsClient ws = WsClient.connect(server, server.partnerToken("ws-malformed"), null)) {
            ws.await("live");
            ws.send("not json");
            ws.send("[1,2]");
            ws.send("{\"type\":\"dance\"}");
            ws.send("{\"type\":\"subscribe\",\"eventTypes\":\"device.*\"}");
            ws.send("{\"type\":\"subscribe\",\"eventTypes\":[\"Device Commands\"]}");
            ws.send("{\"type\":\"subscribe\",\"eventTypes\":[\"*\"],\"extra\":1}");
            ws.send("{\"type\":\"ping\"}");
            ws.await("pong");
            List<String> codes = ws.messages().stream()
                    .filter(m -> m.path("type").asText().equals("error"))
                    .map(m -> m.get("code").asText())
                    .toList();
            assertThat(codes)
                    .containsExactly(
                            "malformed_message",
                            "malformed_message",
                            "unknown_type",
                            "invalid_field",
                            "invalid_field",
                            "invalid_field");
            assertThat(ws.messages().stream()
                            .filter(m -> m.path("type").asText().equals("error")))
                    .allSatisfy(m -> assertThat(m.get("message").asText()).isNotBlank());
            publish(app, "device.command", "still-open");
            assertThat(ws.awaitEvents(1)).hasSize(1);
            assertThat(ws.isClosed()).isFalse();
        }
    }

    @Test
    void aMessageOverTheSizeLimitClosesWithMessageTooBig() {
        tenant("ws-big");
        try (WsClient ws = WsClient.connect(server, server.partnerToken("ws-big"), null)) {
            ws.await("live");
            ws.send("{\"type\":\"ping\",\"pad\":\"" + "x".repeat(64 * 1024) + "\"}");
            assertThat(ws.awaitClose()).isEqualTo(CloseCode.MESSAGE_TOO_BIG.code());
        }
    }

    @Test
    void aBinaryFrameClosesWithUnsupportedData() {
        tenant("ws-binary");
        try (WsClient ws = WsClient.connect(server, server.partnerToken("ws-binary"), null)) {
            ws.await("live");
            ws.sendBinary(new byte[] {1, 2, 3});
            assertThat(ws.awaitClose()).isEqualTo(CloseCode.BINARY_NOT_SUPPORTED.code());
        }
    }

    @Test
    void aFloodOfMessagesClosesTheSocket() {
        tenant("ws-flood");
        try (WsClient ws = WsClient.connect(server, server.partnerToken("ws-flood"), null)) {
            ws.await("live");
            for (int i = 0; i <= ClientMessages.MAX_PER_WINDOW && !ws.isClosed(); i++) {
                ws.send("{\"type\":\"subscribe\",\"eventTypes\":[\"device.*\"]}");
            }
            assertThat(ws.awaitClose()).isEqualTo(CloseCode.TOO_MANY_MESSAGES.code());
        }
    }

    @Test
    void theMetricsCountOpenSocketsAndFramesSent() {
        Api app = tenant("ws-metrics");
        double framesBefore = server.metric("switchboard_websockets_frames_sent_total");
        try (WsClient ws = WsClient.connect(server, server.partnerToken("ws-metrics"), null)) {
            ws.await("live");
            publish(app, "device.command", "counted");
            ws.awaitEvents(1);
            assertThat(server.metric("switchboard_websockets_connections")).isGreaterThanOrEqualTo(1);
            assertThat(server.metric("switchboard_websockets_frames_sent_total") - framesBefore)
                    .as("the live frame and the events frame")
                    .isGreaterThanOrEqualTo(2);
            String metrics = server.api(null).get("/metrics").body();
            assertThat(metrics)
                    .contains("switchboard_websockets_connections")
                    .contains("switchboard_websockets_frames_sent_total")
                    .contains("switchboard_websockets_closes_total{reason=\"slow_consumer\"}")
                    .contains("switchboard_websockets_fanout_seconds");
        }
    }
}
