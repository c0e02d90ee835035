package dev.switchboard.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.switchboard.api.HttpApi;
import dev.switchboard.support.Json;
import dev.switchboard.support.Refusal;
import dev.switchboard.testing.Fast;
import dev.switchboard.testing.RawHttp;
import dev.switchboard.tracing.Tracing;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The bodies a server receives at once are bounded: bodies are read before a request is authenticated,
 * and hundreds of clients each sending a body slowly used to hold a megabyte each until the heap ran out.
 */
@Fast
class RequestBodiesTest {
    private static final int MAX_BODY = 1_000;

    private HttpApi http;
    private RequestBodies bodies;
    /** Holds requests to /api/v1/hold in their route until counted down. */
    private final CountDownLatch hold = new CountDownLatch(1);

    private final List<Socket> held = new ArrayList<>();

    @BeforeEach
    void start() {
        http = server(MAX_BODY);
    }

    /** A server taking bodies of up to {@code maxBody} bytes, with room for four still arriving, or two read (as strings, twice their bytes). */
    private HttpApi server(int maxBody) {
        return server(maxBody, RequestBodies.BODY_DEADLINE);
    }

    private HttpApi server(int maxBody, Duration deadline) {
        bodies = new RequestBodies(maxBody, 4L * maxBody, deadline);
        return new HttpApi("127.0.0.1", 0, bodies, new SimpleMeterRegistry(), Tracing.OFF, List.of(routes -> {
                    routes.post("/api/v1/echo", ctx -> ctx.result(RequestBodies.of(ctx)));
                    routes.post("/api/v1/hold", ctx -> {
                        hold.await();
                        ctx.result(RequestBodies.of(ctx));
                    });
                    routes.post("/api/v1/refuse", ctx -> {
                        throw new Refusal.Invalid("invalid_field", "refused by the test's route");
                    });
                }))
                .start("the test's server");
    }

    @AfterEach
    void stop() throws Exception {
        for (Socket socket : held) {
            socket.close();
        }
        http.close();
    }

    @Test
    void aBodyTheBudgetHasNoRoomForIsAnswered503AndRoomReturnsWhenABodyEnds() throws Exception {
        Socket first = slowBody(900);
        for (int i = 0; i < 3; i++) {
            slowBody(900);
        }
        String padded = "{\"n\":\"" + "x".repeat(290) + "\"}";
        RawHttp.Response busy =
                await().atMost(Duration.ofSeconds(10)).until(() -> post(padded), response -> response.status() == 503);
        assertThat(Json.read(busy.text()).get("error").get("code").asText()).isEqualTo("server_busy");
        assertThat(busy.header("Retry-After")).isEqualTo("1");

        // The client that went away mid-body is answered as a client's failure, and its room is given back.
        first.shutdownOutput();
        RawHttp.Response incomplete = RawHttp.read(first.getInputStream());
        assertThat(incomplete.status()).isEqualTo(400);
        assertThat(Json.read(incomplete.text()).get("error").get("code").asText())
                .isEqualTo("body_incomplete");
        assertThat(Json.read(incomplete.text()).get("error").get("message").asText())
                .isEqualTo("the request body was not received whole: the connection ended before it did, or its"
                        + " chunked encoding was malformed");
        RawHttp.Response echoed =
                await().atMost(Duration.ofSeconds(10)).until(() -> post(padded), response -> response.status() == 200);
        assertThat(echoed.text()).isEqualTo(padded);
    }

    /**
     * A body refused for want of room partway through is answered 503 with its Retry-After, the rest of it
     * read and dropped first. (Closed at once instead, 150 clients writing a megabyte each at a node saw
     * "empty reply" for 86 of them; one client on loopback here gets its answer either way.)
     */
    @Test
    void aLargeBodyRefusedForWantOfRoomIsAnsweredNotReset() throws Exception {
        http.close();
        int maxBody = 1024 * 1024;
        http = server(maxBody);
        for (int i = 0; i < 4; i++) {
            slowBody(maxBody, maxBody - 1);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> bodies.held() >= 4L * (maxBody - 1));
        String large = "{\"n\":\"" + "x".repeat(maxBody - 100) + "\"}";
        for (int i = 0; i < 5; i++) {
            RawHttp.Response busy = post(large);
            assertThat(busy.status()).isEqualTo(503);
            assertThat(Json.read(busy.text()).get("error").get("code").asText()).isEqualTo("server_busy");
            assertThat(busy.header("Retry-After")).isEqualTo("1");
        }
    }

    /**
     * A body's room is held until its request ends, not only while it arrives: the route holds the body and
     * its JSON tree, and 150 large requests at once with one token used to fill a 1 GiB heap that way.
     */
    @Test
    void aBodysRoomIsHeldUntilItsRequestIsAnsweredWhateverTheAnswer() throws Exception {
        String waiting = "{\"n\":\"" + "x".repeat(790) + "\"}";
        ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
        try {
            // From two client addresses: one client's bodies still arriving may take only a quarter of the room.
            Future<RawHttp.Response> first = clients.submit(() -> post("/api/v1/hold", waiting, "127.0.0.21"));
            Future<RawHttp.Response> second = clients.submit(() -> post("/api/v1/hold", waiting, "127.0.0.22"));
            await().atMost(Duration.ofSeconds(10)).until(() -> bodies.held() >= 4L * waiting.length());

            RawHttp.Response busy = post("/api/v1/echo", "{\"n\":\"" + "x".repeat(100) + "\"}");
            assertThat(busy.status()).isEqualTo(503);
            assertThat(Json.read(busy.text()).get("error").get("code").asText()).isEqualTo("server_busy");

            hold.countDown();
            assertThat(first.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
            assertThat(second.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
        } finally {
            hold.countDown();
            clients.shutdownNow();
        }
        // Given back after answers of every kind: two of these do not fit at once.
        String large = "{\"n\":\"" + "x".repeat(940) + "\"}";
        for (int i = 0; i < 5; i++) {
            assertThat(post("/api/v1/echo", large).status()).isEqualTo(200);
            assertThat(post("/api/v1/refuse", large).status()).isEqualTo(400);
            assertThat(post("/api/v1/nowhere", large).status()).isEqualTo(404);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> bodies.held() == 0);
    }

    /**
     * A body is weighed as the tree it becomes: a few hundred bytes of empty objects take tens of kilobytes
     * of heap once read, a string of the same size about twice its bytes.
     */
    @Test
    void aBodyIsWeighedAsTheJsonTreeItBecomes() throws Exception {
        String objects = "[" + "{},".repeat(299) + "{}]";
        RawHttp.Response tooLarge = post("/api/v1/echo", objects);
        assertThat(tooLarge.status()).isEqualTo(413);
        assertThat(Json.read(tooLarge.text()).get("error").get("code").asText()).isEqualTo("body_too_large");
        assertThat(Json.read(tooLarge.text()).get("error").get("message").asText())
                .contains("once read as JSON");

        String string = "\"" + "x".repeat(MAX_BODY - 2) + "\"";
        assertThat(post("/api/v1/echo", string).status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> bodies.held() == 0);
    }

    /**
     * A WebSocket message arriving in fragments holds room as they come, from the budget bodies share: a
     * fragment it has no room for takes nothing, and the room is given back when the message ends or its
     * socket does (a closed room takes nothing more).
     */
    @Test
    void fragmentsTakeRoomAsTheyArriveWithinTheBudgetBodiesShare() {
        RequestBodies.Room message = bodies.room();
        assertThat(message.grow(3_000)).isTrue();
        assertThat(bodies.held()).isEqualTo(3_000);
        assertThat(message.grow(1_001)).as("past the budget of 4,000").isFalse();
        assertThat(bodies.held()).isEqualTo(3_000);
        RequestBodies.Room other = bodies.room();
        assertThat(other.grow(1_000)).isTrue();
        message.giveBack();
        assertThat(bodies.held()).isEqualTo(1_000);
        assertThat(message.grow(2_000)).isTrue(); // the next message of the same socket
        other.close();
        message.close();
        assertThat(bodies.held()).isZero();
        assertThat(message.grow(1)).as("a socket's room once it ended").isFalse();
        assertThat(bodies.held()).isZero();
    }

    /**
     * A body refused for want of room gives back what it took before the rest of it is read and dropped:
     * held until then, 150 refused bodies trickling their rest kept every other write out (503).
     */
    @Test
    void aBodyRefusedForWantOfRoomGivesItsRoomBackBeforeItsRestIsRead() throws Exception {
        for (int i = 0; i < 4; i++) {
            slowBody(900);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> bodies.held() == 3_600);
        Socket refused = slowBody(300);
        await().atMost(Duration.ofSeconds(10)).until(() -> bodies.held() == 3_900);
        refused.getOutputStream().write("{".repeat(300).getBytes(StandardCharsets.US_ASCII));
        refused.getOutputStream().flush();
        await().atMost(Duration.ofSeconds(5)).until(() -> bodies.held() == 3_600);
    }

    /**
     * One client's bodies still arriving take at most a quarter of the room: 150 connections of one client
     * trickling bodies, each reconnecting once refused, kept everyone else's 100 KB writes out.
     */
    @Test
    void oneClientsBodiesStillArrivingTakeAtMostAQuarterOfTheRoom() throws Exception {
        java.net.InetAddress one = java.net.InetAddress.getByName("127.0.0.3");
        slowBody(MAX_BODY, 900, one);
        await().atMost(Duration.ofSeconds(10)).until(() -> bodies.held() == 900);
        Socket second = slowBody(MAX_BODY, 200, one);
        Thread.sleep(100);
        second.getOutputStream().write("{".repeat(800).getBytes(StandardCharsets.US_ASCII)); // its rest, dropped
        second.getOutputStream().flush();
        RawHttp.Response refused = RawHttp.read(second.getInputStream());
        assertThat(refused.status()).isEqualTo(503);
        assertThat(Json.read(refused.text()).get("error").get("message").asText())
                .startsWith("this client's request bodies still arriving");
        assertThat(post("{\"n\":\"" + "x".repeat(890) + "\"}").status())
                .as("another client's body")
                .isEqualTo(200);
    }

    /** A body still arriving past its deadline is refused, and its room given back. */
    @Test
    void aBodyStillArrivingPastItsDeadlineIsRefused() throws Exception {
        http.close();
        http = server(MAX_BODY, Duration.ofSeconds(1));
        Socket slow = slowBody(1);
        OutputStream out = slow.getOutputStream();
        for (int i = 0; i < 8 && bodies.held() < 100; i++) {
            Thread.sleep(250);
            try {
                out.write("{".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (java.io.IOException answered) {
                break;
            }
        }
        RawHttp.Response refused = RawHttp.read(slow.getInputStream());
        assertThat(refused.status()).isEqualTo(400);
        assertThat(Json.read(refused.text()).get("error").get("message").asText())
                .isEqualTo("the request body was not received whole: it was still arriving after 1 s");
        await().atMost(Duration.ofSeconds(5)).until(() -> bodies.held() == 0);
    }

    /** Room is taken as bytes arrive: connections that declare large bodies and send nothing hold none. */
    @Test
    void connectionsThatDeclareBodiesAndSendNothingTakeNoRoom() throws Exception {
        for (int i = 0; i < 5; i++) {
            slowBody(1);
        }
        Thread.sleep(200); // each is read up to its first byte
        RawHttp.Response echoed = post("{\"n\":\"" + "x".repeat(900) + "\"}");
        assertThat(echoed.status()).isEqualTo(200);
    }

    /** A request declaring a body of the largest size, of which it sends {@code sent} bytes and then waits. */
    private Socket slowBody(int sent) throws Exception {
        return slowBody(MAX_BODY, sent);
    }

    /**
     * A request declaring a body of {@code declared} bytes, of which it sends {@code sent} and then waits;
     * each from a loopback address of its own, as bodies still arriving are limited per client address.
     */
    private Socket slowBody(int declared, int sent) throws Exception {
        return slowBody(declared, sent, java.net.InetAddress.getByName("127.0.0." + (10 + held.size())));
    }

    private Socket slowBody(int declared, int sent, java.net.InetAddress from) throws Exception {
        Socket socket = new Socket("127.0.0.1", http.port(), from, 0);
        held.add(socket);
        socket.setSoTimeout(10_000);
        OutputStream out = socket.getOutputStream();
        out.write(("POST /api/v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Content-Length: " + declared + "\r\n\r\n" + "{".repeat(sent))
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return socket;
    }

    private RawHttp.Response post(String body) throws Exception {
        return post("/api/v1/echo", body);
    }

    private RawHttp.Response post(String path, String body) throws Exception {
        return post(path, body, "127.0.0.1");
    }

    private RawHttp.Response post(String path, String body, String from) throws Exception {
        return RawHttp.send(
                "127.0.0.1",
                http.port(),
                java.net.InetAddress.getByName(from),
                new RawHttp.Request(
                        "POST",
                        path,
                        List.of(Map.entry("Content-Type", "application/json")),
                        body.getBytes(StandardCharsets.UTF_8),
                        false),
                Duration.ofSeconds(10));
    }
}
