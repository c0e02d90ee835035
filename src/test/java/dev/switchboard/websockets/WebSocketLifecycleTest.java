package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.config.WebSocketSettings;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.CapturedLogs;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.RawWebSocket;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.WsClient;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

class WebSocketLifecycleTest {

    private static String[] connection(TestServer server, String tenant) {
        Partner partner = Partner.on(server, tenant, List.of("*"), List.of("*"), List.of("*"));
        return new String[] {partner.connectionId(), partner.accessToken()};
    }

    @Test
    void disablingDeletingOrRotatingAConnectionClosesItsSocketsWithATerminalCode() {
        try (TestServer server = TestServer.start()) {
            server.createTenant("lifecycle");
            String[] disabled = connection(server, "lifecycle");
            String[] deleted = connection(server, "lifecycle");
            String[] rotated = connection(server, "lifecycle");
            String[] untouched = connection(server, "lifecycle");
            try (WsClient a = WsClient.connect(server, disabled[1], null);
                    WsClient a2 = WsClient.connect(server, disabled[1], null);
                    WsClient b = WsClient.connect(server, deleted[1], null);
                    WsClient c = WsClient.connect(server, rotated[1], null);
                    WsClient d = WsClient.connect(server, untouched[1], null)) {
                List.of(a, a2, b, c, d).forEach(ws -> ws.await("live"));
                server.admin
                        .post("/api/v1/connections/" + disabled[0] + "/disable", "")
                        .expect(200);
                server.admin.delete("/api/v1/connections/" + deleted[0]).expect(204);
                server.admin
                        .post("/api/v1/connections/" + rotated[0] + "/rotate-token", "")
                        .expect(200);
                assertThat(a.awaitClose()).isEqualTo(CloseCode.CONNECTION_DISABLED.code());
                assertThat(a.closeReason()).isEqualTo("connection_disabled");
                assertThat(a2.awaitClose()).isEqualTo(CloseCode.CONNECTION_DISABLED.code());
                assertThat(b.awaitClose()).isEqualTo(CloseCode.CONNECTION_DELETED.code());
                assertThat(c.awaitClose()).isEqualTo(CloseCode.TOKEN_ROTATED.code());
                server.adminFor("lifecycle")
                        .post("/api/v1/events", Map.of("type", "device.command"))
                        .expect(201);
                assertThat(d.awaitEvents(1)).hasSize(1);
                assertThat(d.isClosed()).isFalse();
            }
        }
    }

    @Test
    void socketsWhoseUpgradePassedJustBeforeTheirConnectionWasDisabledAreClosedOnceTheyRegister() throws Exception {
        try (TestServer server = TestServer.start()) {
            server.createTenant("race");
            String[] conn = connection(server, "race");
            WebSockets websockets = server.switchboard().websockets();
            int racing = 8;
            CountDownLatch held = new CountDownLatch(racing);
            CountDownLatch release = new CountDownLatch(1);
            ExecutorService clients = Executors.newFixedThreadPool(racing);
            try (WsClient witness = WsClient.connect(server, conn[1], null)) {
                witness.await("live");
                // Every upgrade below has had its token checked and waits just before its socket is registered.
                websockets.beforeRegistering(() -> {
                    held.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                List<Future<WsClient>> upgrades = new ArrayList<>();
                for (int i = 0; i < racing; i++) {
                    upgrades.add(clients.submit(() -> WsClient.connect(server, conn[1], null)));
                }
                assertThat(held.await(20, TimeUnit.SECONDS))
                        .as("every upgrade passed its checks")
                        .isTrue();
                server.admin
                        .post("/api/v1/connections/" + conn[0] + "/disable", "")
                        .expect(200);
                // The witness is closed by the re-check that listed the connection's sockets: that listing is
                // over, and it could not contain the held ones, which are registered only now.
                assertThat(witness.awaitClose()).isEqualTo(CloseCode.CONNECTION_DISABLED.code());
                websockets.beforeRegistering(() -> {});
                release.countDown();
                for (Future<WsClient> upgrade : upgrades) {
                    try (WsClient ws = upgrade.get(20, TimeUnit.SECONDS)) {
                        assertThat(ws.awaitClose()).isEqualTo(CloseCode.CONNECTION_DISABLED.code());
                        assertThat(ws.events()).isEmpty();
                    }
                }
                Awaitility.await()
                        .atMost(Duration.ofSeconds(10))
                        .until(() -> server.metric("switchboard_websockets_connections") == 0);
            } finally {
                release.countDown();
                clients.shutdownNow();
            }
        }
    }

    @Test
    void closingTheServerClosesSocketsWithTheReconnectCode() {
        TestServer server = TestServer.start();
        try {
            server.createTenant("shutdown");
            try (WsClient ws = WsClient.connect(server, server.partnerToken("shutdown"), null)) {
                ws.await("live");
                server.close();
                assertThat(ws.awaitClose()).isEqualTo(CloseCode.SERVER_RESTARTING.code());
                assertThat(CloseCode.SERVER_RESTARTING.reconnect()).isEqualTo(CloseCode.Reconnect.WITH_BACKOFF);
            }
        } finally {
            server.close();
        }
    }

    @Test
    void socketsOpenedTogetherAreFirstPingedAtSpreadTimesWithinTheInterval() throws Exception {
        // Interval and timeout 1 s: the sweeper ticks every 250 ms. A socket's first ping comes once
        // half an interval to a whole one has passed, at random; pinged all at once, every one of these
        // sockets would wait a whole interval (1 s) and they would stay in step ever after.
        try (TestServer server = TestServer.start(
                Map.of("SWITCHBOARD_WEBSOCKETS_PING_INTERVAL", "1s", "SWITCHBOARD_WEBSOCKETS_PING_TIMEOUT", "1s"))) {
            server.createTenant("pings");
            String token = server.partnerToken("pings");
            List<RawWebSocket> sockets = new ArrayList<>();
            List<Long> openedAt = new ArrayList<>();
            try {
                for (int i = 0; i < 16; i++) {
                    openedAt.add(System.nanoTime());
                    RawWebSocket socket = RawWebSocket.open(server, "/api/v1/ws", token, 0);
                    assertThat(socket.status).isEqualTo(101);
                    socket.readTimeout(Duration.ofSeconds(5));
                    sockets.add(socket);
                }
                List<Future<Long>> firstPings = new ArrayList<>();
                try (ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor()) {
                    for (int i = 0; i < sockets.size(); i++) {
                        RawWebSocket socket = sockets.get(i);
                        long opened = openedAt.get(i);
                        firstPings.add(readers.submit(() -> {
                            while (socket.read().opcode() != RawWebSocket.PING) {
                                // "live", then nothing until the ping
                            }
                            return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - opened);
                        }));
                    }
                }
                List<Long> millis = new ArrayList<>();
                for (Future<Long> f : firstPings) {
                    millis.add(f.get());
                }
                assertThat(millis).allSatisfy(ms -> assertThat(ms).isBetween(400L, 2_500L));
                assertThat(millis.stream().mapToLong(Long::longValue).min().orElseThrow())
                        .as("the earliest first ping of 16 sockets, in ms after opening: %s", millis)
                        .isLessThan(900);
            } finally {
                for (RawWebSocket socket : sockets) {
                    socket.close();
                }
            }
        }
    }

    /**
     * A message begun in fragments and never finished held its fragments for as long as the socket answered
     * pings, outside every budget: a thousand sockets of one token held about 85 MB of a node's heap. They
     * now take room from the budget request bodies share, and the socket is closed with 4104 once the
     * message is not whole within a heartbeat (interval and timeout), its room given back.
     */
    @Test
    void aMessageLeftUnfinishedHoldsRoomUntilItsSocketIsClosedWithinAHeartbeat() throws Exception {
        try (TestServer server = TestServer.start(
                Map.of("SWITCHBOARD_WEBSOCKETS_PING_INTERVAL", "2s", "SWITCHBOARD_WEBSOCKETS_PING_TIMEOUT", "2s"))) {
            server.createTenant("unfinished");
            String token = server.partnerToken("unfinished");
            String held = "switchboard_http_request_bodies_bytes";
            double before = server.metric(held);
            try (RawWebSocket socket = RawWebSocket.open(server, "/api/v1/ws", token, 0)) {
                assertThat(socket.status).isEqualTo(101);
                socket.readTimeout(Duration.ofSeconds(10));
                long started = System.nanoTime();
                socket.send(0x1, ("[\"" + "x".repeat(30_000)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                socket.send(0x0, "x".repeat(10_000).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> server.metric(held) >= before + 80_000);

                RawWebSocket.Frame frame = socket.readAnsweringPings(); // a live client, but for its message
                while (frame.opcode() != 0x8) {
                    frame = socket.readAnsweringPings();
                }
                assertThat(frame.closeCode()).isEqualTo(CloseCode.MESSAGE_INCOMPLETE.code());
                assertThat(Duration.ofNanos(System.nanoTime() - started))
                        .isBetween(Duration.ofSeconds(4), Duration.ofSeconds(9));
            }
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> server.metric(held) <= before);
            assertThat(server.metric("switchboard_websockets_closes_total\\{reason=\"message_incomplete\"}"))
                    .isEqualTo(1);
        }
    }

    @Test
    void aClientThatDoesNotAnswerPingsIsClosedWhileOneThatDoesStaysOpen() throws Exception {
        try (TestServer server = TestServer.start(Map.of(
                "SWITCHBOARD_WEBSOCKETS_PING_INTERVAL", "200ms", "SWITCHBOARD_WEBSOCKETS_PING_TIMEOUT", "400ms"))) {
            server.createTenant("heartbeat");
            String token = server.partnerToken("heartbeat");
            try (WsClient healthy = WsClient.connect(server, token, null);
                    RawWebSocket dead = RawWebSocket.open(server, "/api/v1/ws", token, 0)) {
                assertThat(dead.status).isEqualTo(101);
                long started = System.nanoTime();
                // The raw client reads (and sees the pings) but never answers them.
                int code = dead.readUntilClose();
                assertThat(code).isEqualTo(CloseCode.PING_TIMEOUT.code());
                assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
                // The healthy client stays open past Jetty's idle timeout too (1.2 s here): the pings keep it busy.
                Duration idle = WebSocketRoutes.idleTimeout(new WebSocketSettings(
                        Duration.ofMillis(200), Duration.ofMillis(400), 1 << 20, 64 * 1024, 1000, List.of()));
                Awaitility.await()
                        .during(idle.multipliedBy(2))
                        .atMost(idle.multipliedBy(3))
                        .until(() -> !healthy.isClosed());
            }
        }
    }

    @Test
    void aClientThatStopsReadingIsClosedAsASlowConsumerWhileAnotherKeepsReceiving() throws Exception {
        try (TestServer server = TestServer.start(
                Map.of("SWITCHBOARD_WEBSOCKETS_QUEUE_SIZE", "64KiB", "SWITCHBOARD_WEBSOCKETS_PING_TIMEOUT", "2s"))) {
            server.createTenant("slow");
            Api app = server.adminFor("slow");
            String token = server.partnerToken("slow");
            String padding = "x".repeat(32 * 1024);
            try (WsClient healthy = WsClient.connect(server, token, null);
                    RawWebSocket slow = RawWebSocket.open(server, "/api/v1/ws", token, 4096)) {
                assertThat(slow.status).isEqualTo(101);
                healthy.await("live");
                int sent = 0;
                long slowestDelivery = 0;
                // Write until the server gives up on the client that never reads (bounded: the kernel
                // buffers on loopback hold a few MiB, then the 64 KiB queue fills).
                while (server.metric("switchboard_websockets_closes_total\\{reason=\"slow_consumer\"}") < 1
                        && sent < 2000) {
                    long before = System.nanoTime();
                    app.post("/api/v1/events", Map.of("type", "device.command", "data", Map.of("pad", padding)))
                            .expect(201);
                    sent++;
                    healthy.awaitEvents(sent);
                    slowestDelivery = Math.max(slowestDelivery, System.nanoTime() - before);
                }
                assertThat(server.metric("switchboard_websockets_closes_total\\{reason=\"slow_consumer\"}"))
                        .isEqualTo(1);
                assertThat(healthy.seqs()).hasSize(sent);
                assertThat(Duration.ofNanos(slowestDelivery)).isLessThan(Duration.ofSeconds(2));
                // The slow socket is gone from the server (its close frame waits behind unread data, so
                // the server drops the TCP connection after the ping timeout).
                Awaitility.await()
                        .atMost(Duration.ofSeconds(10))
                        .until(() -> server.metric("switchboard_websockets_connections") == 1);
                app.post("/api/v1/events", Map.of("type", "device.command")).expect(201);
                healthy.awaitEvents(sent + 1);
            }
        }
    }

    @Test
    void eventsWrittenThroughOneNodeReachSocketsOnAnotherAndItsDisableClosesThem() {
        try (TestServer a = TestServer.start();
                TestServer b = TestServer.start(a.database(), Map.of(), InstantSource.system())) {
            a.createTenant("two-nodes");
            String[] conn = connection(a, "two-nodes");
            try (WsClient onB = WsClient.connect(b, conn[1], null);
                    WsClient onA = WsClient.connect(a, conn[1], null)) {
                onB.await("live");
                onA.await("live");
                for (int i = 0; i < 5; i++) {
                    a.adminFor("two-nodes")
                            .post("/api/v1/events", Map.of("type", "device.command"))
                            .expect(201);
                }
                b.adminFor("two-nodes")
                        .post("/api/v1/events", Map.of("type", "device.command"))
                        .expect(201);
                assertThat(onB.awaitEvents(6))
                        .extracting(e -> e.get("seq").asLong())
                        .containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
                assertThat(onA.awaitEvents(6))
                        .extracting(e -> e.get("seq").asLong())
                        .containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
                a.admin.post("/api/v1/connections/" + conn[0] + "/disable", "").expect(200);
                assertThat(onB.awaitClose()).isEqualTo(CloseCode.CONNECTION_DISABLED.code());
                assertThat(onA.awaitClose()).isEqualTo(CloseCode.CONNECTION_DISABLED.code());
            }
        }
    }

    @Test
    void narrowingAnIntegrationsEventTypesAppliesToItsOpenSockets() {
        try (TestServer server = TestServer.start()) {
            server.createTenant("narrowed");
            server.createCollection("reservations");
            Api app = server.adminFor("narrowed");
            JsonNode integration = server.createIntegration("to-narrow", List.of("*"), List.of("*"), List.of("*"));
            String token = server.connect(integration.get("id").asText(), "narrowed")
                    .get("accessToken")
                    .asText();
            try (WsClient ws = WsClient.connect(server, token, null)) {
                ws.await("live");
                server.admin
                        .patch(
                                "/api/v1/integrations/" + integration.get("id").asText(),
                                Map.of("eventTypes", List.of("reservations.*")))
                        .expect(200);
                // The change reaches open sockets through the control channel, a moment after the answer:
                // write a command and a reservation per round until a round's command is filtered out.
                boolean filtered = false;
                for (int round = 1; round <= 20 && !filtered; round++) {
                    long commandsBefore = count(ws, "device.command");
                    app.post("/api/v1/events", Map.of("type", "device.command")).expect(201);
                    app.post("/api/v1/collections/reservations/records", Map.of("data", Map.of()))
                            .expect(201);
                    int reservations = round;
                    // Frames come in seq order: once the reservation is here, so is the command if it was sent.
                    Awaitility.await()
                            .atMost(Duration.ofSeconds(10))
                            .until(() -> count(ws, "reservations.created") == reservations);
                    filtered = count(ws, "device.command") == commandsBefore;
                }
                assertThat(filtered).isTrue();
                assertThat(ws.isClosed()).isFalse();
            }
        }
    }

    @Test
    void changesANodeMissedWhileNotListeningApplyBeforeItReadsWhatWasWrittenMeanwhile() throws Exception {
        try (TestServer a = TestServer.start();
                TestServer b = TestServer.start(a.database(), Map.of(), InstantSource.system());
                CapturedLogs logs = new CapturedLogs()) {
            a.createTenant("deaf");
            a.createCollection("reservations");
            String[] toDisable = connection(a, "deaf");
            JsonNode narrowed = a.createIntegration("narrowed-unheard", List.of("*"), List.of("*"), List.of("*"));
            String narrowedToken = a.connect(narrowed.get("id").asText(), "deaf")
                    .get("accessToken")
                    .asText();
            try (WsClient disabledOnB = WsClient.connect(b, toDisable[1], null);
                    WsClient narrowedOnB = WsClient.connect(b, narrowedToken, null)) {
                disabledOnB.await("live");
                narrowedOnB.await("live");
                double feedReads = b.feedReads();
                CompletableFuture<Api.Response> poll =
                        CompletableFuture.supplyAsync(() -> b.api(toDisable[1]).get("/api/v1/events?wait=25"));
                b.awaitLongPollWaiting(feedReads);

                // Both nodes stop hearing each other's notices (their listening connections are ended), and
                // node A disables one connection, narrows the other's integration and writes while node B
                // cannot hear of it; B listens again a second later.
                a.endListeningConnections();
                Awaitility.await("both listeners lost")
                        .atMost(Duration.ofSeconds(5))
                        .until(() -> count(logs, "The event listener lost its database connection") == 2);
                long listening = count(logs, "Listening for events committed by other nodes");
                a.admin
                        .post("/api/v1/connections/" + toDisable[0] + "/disable", "")
                        .expect(200);
                a.admin
                        .patch(
                                "/api/v1/integrations/" + narrowed.get("id").asText(),
                                Map.of("eventTypes", List.of("reservations.*")))
                        .expect(200);
                Api app = a.adminFor("deaf");
                app.post("/api/v1/events", Map.of("type", "device.command")).expect(201);
                app.post("/api/v1/collections/reservations/records", Map.of("data", Map.of()))
                        .expect(201);
                assertThat(count(logs, "Listening for events committed by other nodes"))
                        .as("node B still deaf when the changes and the writes were made")
                        .isEqualTo(listening);

                assertThat(disabledOnB.awaitClose()).isEqualTo(CloseCode.CONNECTION_DISABLED.code());
                assertThat(disabledOnB.events()).isEmpty();
                assertThat(poll.get(20, TimeUnit.SECONDS).status()).isEqualTo(401);
                // Frames come in seq order: once the reservation is here, the command was passed over.
                assertThat(narrowedOnB.awaitEvents(1))
                        .extracting(e -> e.get("type").asText())
                        .containsExactly("reservations.created");
                assertThat(narrowedOnB.isClosed()).isFalse();
            }
        }
    }

    /**
     * The re-check after a node listens again holds its listener thread: once a lookup fails (here the
     * connections table is locked, so each lookup waits out the lock timeout), the sockets left are closed at
     * once to reconnect and be checked at their upgrade, not one lock timeout after another.
     */
    @Test
    void aReCheckThatCannotReadTheDatabaseClosesTheSocketsLeftAtOnce() throws Exception {
        try (TestServer server = TestServer.start();
                CapturedLogs logs = new CapturedLogs()) {
            server.createTenant("locked-out");
            List<WsClient> sockets = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    WsClient ws = WsClient.connect(server, connection(server, "locked-out")[1], null);
                    ws.await("live");
                    sockets.add(ws);
                }
                try (Connection locker =
                        DriverManager.getConnection(server.database().jdbcUrl())) {
                    locker.setAutoCommit(false);
                    locker.createStatement().execute("LOCK TABLE connections IN ACCESS EXCLUSIVE MODE");
                    server.endListeningConnections();
                    Awaitility.await()
                            .atMost(Duration.ofSeconds(8))
                            .until(() -> sockets.stream().allMatch(WsClient::isClosed));
                    locker.rollback();
                }
                assertThat(sockets)
                        .allSatisfy(ws -> assertThat(ws.awaitClose()).isEqualTo(CloseCode.TRY_AGAIN_LATER.code()));
                assertThat(count(logs, "Could not re-check the access of 4 WebSockets"))
                        .isEqualTo(1);
            } finally {
                sockets.forEach(WsClient::close);
            }
        }
    }

    /**
     * A wake-up that reads nothing (a resync finds no new event) leaves no time behind: the next event's
     * fan-out is timed from its own wake-up, where it used to be timed from the resync's, seconds before.
     */
    @Test
    void aWakeUpThatReadsNothingDoesNotLengthenTheNextFanOutsTime() throws Exception {
        try (TestServer server = TestServer.start();
                CapturedLogs logs = new CapturedLogs()) {
            server.createTenant("quiet-resync");
            try (WsClient ws = WsClient.connect(server, connection(server, "quiet-resync")[1], null)) {
                ws.await("live");
                server.endListeningConnections();
                Awaitility.await("the listener back, and every feed woken")
                        .atMost(Duration.ofSeconds(10))
                        .until(() -> count(logs, "Listening for events committed by other nodes") >= 1);
                Thread.sleep(2_000);
                server.adminFor("quiet-resync")
                        .post("/api/v1/events", Map.of("type", "device.command"))
                        .expect(201);
                ws.awaitEvents(1);
                assertThat(server.metric("switchboard_websockets_fanout_seconds_max"))
                        .as("the fan-out's time, from its own wake-up")
                        .isLessThan(1.0);
            }
        }
    }

    private static long count(CapturedLogs logs, String text) {
        return logs.lines().stream().filter(l -> l.contains(text)).count();
    }

    @Test
    void aConnectionMayHoldOnlySoManySocketsPerNode() throws Exception {
        try (TestServer server = TestServer.start(Map.of("SWITCHBOARD_WEBSOCKETS_MAX_SOCKETS_PER_CONNECTION", "2"))) {
            server.createTenant("capped");
            String token = server.partnerToken("capped");
            try (WsClient first = WsClient.connect(server, token, null);
                    WsClient second = WsClient.connect(server, token, null)) {
                // A socket counts once it is open on the server, which "live" proves.
                first.await("live");
                second.await("live");
                try (RawWebSocket third = RawWebSocket.open(server, "/api/v1/ws", token, 0)) {
                    assertThat(third.status).isEqualTo(429);
                    assertThat(third.body).contains("too_many_sockets");
                }
            }
        }
    }

    @Test
    void upgradesThatRacePastTheSocketLimitAreClosed() throws Exception {
        try (TestServer server = TestServer.start(Map.of("SWITCHBOARD_WEBSOCKETS_MAX_SOCKETS_PER_CONNECTION", "2"))) {
            server.createTenant("raced");
            String token = server.partnerToken("raced");
            List<RawWebSocket> sockets = new ArrayList<>();
            try {
                List<Future<RawWebSocket>> opening = new ArrayList<>();
                try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                    for (int i = 0; i < 8; i++) {
                        opening.add(pool.submit(() -> RawWebSocket.open(server, "/api/v1/ws", token, 0)));
                    }
                }
                for (Future<RawWebSocket> f : opening) {
                    sockets.add(f.get());
                }
                int live = 0;
                for (RawWebSocket socket : sockets) {
                    if (socket.status == 429) {
                        assertThat(socket.body).contains("too_many_sockets");
                        continue;
                    }
                    assertThat(socket.status).isEqualTo(101);
                    RawWebSocket.Frame first = socket.read();
                    if (first.opcode() == 0x8) {
                        assertThat(first.closeCode()).isEqualTo(CloseCode.TOO_MANY_SOCKETS.code());
                    } else {
                        assertThat(first.text()).contains("\"live\"");
                        live++;
                    }
                }
                assertThat(live).isEqualTo(2);
            } finally {
                for (RawWebSocket socket : sockets) {
                    socket.close();
                }
            }
        }
    }

    private static long count(WsClient ws, String type) {
        return ws.events().stream()
                .filter(e -> e.get("type").asText().equals(type))
                .count();
    }
}
