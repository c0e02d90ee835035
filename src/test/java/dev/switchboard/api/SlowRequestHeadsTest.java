package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.RawHttp;
import dev.switchboard.testing.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A client sending its request head a header line at a time held its connection for hours (each byte
 * starts Jetty's idle timeout again); 19,500 of them, with no token, filled a node's connection limit.
 * A head still arriving 20 s after it began is closed; a kept-alive connection that is merely idle is not.
 */
class SlowRequestHeadsTest {
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void aRequestHeadStillArrivingAfter20SecondsIsClosedAndAnIdleConnectionIsNot() throws Exception {
        CompletableFuture<Duration> trickled = CompletableFuture.supplyAsync(() -> {
            long started = System.nanoTime();
            try (Socket socket = new Socket("127.0.0.1", server.switchboard().port())) {
                socket.setSoTimeout(1_000);
                OutputStream out = socket.getOutputStream();
                InputStream in = socket.getInputStream();
                out.write("GET /health/live HTTP/1.1\r\nHost: localhost\r\n".getBytes(StandardCharsets.US_ASCII));
                for (int line = 0; line < 40; line++) {
                    try {
                        if (in.read() == -1) {
                            return Duration.ofNanos(System.nanoTime() - started);
                        }
                        throw new AssertionError("an answer to a request whose head never ended");
                    } catch (SocketTimeoutException stillOpen) {
                        out.write(("X-Line-" + line + ": a\r\n").getBytes(StandardCharsets.US_ASCII));
                    }
                }
                return null; // still open after 40 s
            } catch (IOException e) {
                return Duration.ofNanos(System.nanoTime() - started); // reset as it wrote: closed all the same
            }
        });
        // A kept-alive connection idle between two requests for longer than a head may take.
        try (Socket socket = new Socket("127.0.0.1", server.switchboard().port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            byte[] request = "GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
            out.write(request);
            assertThat(RawHttp.read(socket.getInputStream()).status()).isEqualTo(200);
            Thread.sleep(26_000);
            out.write(request);
            assertThat(RawHttp.read(socket.getInputStream()).status())
                    .as("the idle connection, used again")
                    .isEqualTo(200);
        }

        assertThat(trickled.get())
                .as("when the trickled head was closed (null: open after 40 s)")
                .isNotNull()
                .isBetween(Duration.ofSeconds(19), Duration.ofSeconds(27));
    }
}
