package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.switchboard.support.Json;
import dev.switchboard.testing.Fast;
import dev.switchboard.testing.RawHttp;
import dev.switchboard.tracing.Tracing;
import dev.switchboard.web.RequestBodies;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
    private final List<Socket> held = new ArrayList<>();

    @BeforeEach
    void start() {
        http = new HttpApi(
                        "127.0.0.1",
                        0,
                        new RequestBodies(MAX_BODY, 2 * MAX_BODY),
                        new SimpleMeterRegistry(),
                        Tracing.OFF,
                        List.of(routes -> routes.post("/api/v1/echo", ctx -> ctx.result(RequestBodies.of(ctx)))))
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
        slowBody(900);
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
        RawHttp.Response echoed =
                await().atMost(Duration.ofSeconds(10)).until(() -> post(padded), response -> response.status() == 200);
        assertThat(echoed.text()).isEqualTo(padded);
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
        Socket socket = new Socket("127.0.0.1", http.port());
        held.add(socket);
        socket.setSoTimeout(10_000);
        OutputStream out = socket.getOutputStream();
        out.write(("POST /api/v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Content-Length: " + MAX_BODY + "\r\n\r\n" + "{".repeat(sent))
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return socket;
    }

    private RawHttp.Response post(String body) throws Exception {
        return RawHttp.send(
                "127.0.0.1",
                http.port(),
                new RawHttp.Request(
                        "POST",
                        "/api/v1/echo",
                        List.of(Map.entry("Content-Type", "application/json")),
                        body.getBytes(StandardCharsets.UTF_8),
                        false),
                Duration.ofSeconds(10));
    }
}
