package dev.switchboard.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.testing.Fast;
import dev.switchboard.testing.Receiver;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The Java client against servers that fail in ways the real one may (a lost answer, a stalled body). */
@Fast
@Timeout(60)
class ClientFaultsTest {

    private static SwitchboardClient client(String url, Duration timeout) {
        return SwitchboardClient.builder(url, "sb_access_test")
                .requestTimeout(timeout)
                .build();
    }

    /**
     * A 503 may come after the write committed (the database's answer was lost): sent again, a create would
     * make a second record, a delete would answer 404 for one that worked. Only what cannot write twice is.
     */
    @Test
    void after503OnlyRequestsThatCannotWriteTwiceAreSentAgain() {
        try (Receiver server = new Receiver()) {
            server.answer(r -> Receiver.Reply.status(503)
                    .withHeader("Retry-After", "0")
                    .withHeader("Content-Type", "application/json")
                    .withBody("{\"error\":{\"code\":\"database_unavailable\",\"message\":\"try again\"}}"));
            Records records = client(server.url(""), Duration.ofSeconds(10)).records("reservations");

            assertThatThrownBy(() -> records.create(Map.of("state", "confirmed")))
                    .isInstanceOf(ApiException.ServerError.class);
            assertThat(server.received()).hasSize(4);
            assertThat(server.received().stream()
                            .map(r -> r.header("Idempotency-Key"))
                            .distinct())
                    .as("one key, made for the call, on every attempt")
                    .singleElement()
                    .asString()
                    .startsWith("sb-client-");

            server.clear();
            assertThatThrownBy(() -> records.update("rec_1", Map.of("state", "x"), null))
                    .isInstanceOf(ApiException.ServerError.class);
            assertThatThrownBy(() -> records.delete("rec_1")).isInstanceOf(ApiException.ServerError.class);
            assertThat(server.received()).as("one attempt each").hasSize(2);

            server.clear();
            assertThatThrownBy(() -> records.get("rec_1")).isInstanceOf(ApiException.ServerError.class);
            assertThat(server.received()).as("a read is retried").hasSize(4);
        }
    }

    /** A node with no room for a body refuses it before its route runs: any request may be sent again. */
    @Test
    void aWriteRefusedAsServerBusyIsSentAgain() {
        try (Receiver server = new Receiver()) {
            server.answer(r -> server.received().size() < 2
                    ? Receiver.Reply.status(503)
                            .withHeader("Retry-After", "0")
                            .withHeader("Content-Type", "application/json")
                            .withBody("{\"error\":{\"code\":\"server_busy\",\"message\":\"retry shortly\"}}")
                    : Receiver.Reply.status(204));
            Records records = client(server.url(""), Duration.ofSeconds(10)).records("reservations");

            records.delete("rec_1");

            assertThat(server.received()).as("refused once, then answered").hasSize(2);
        }
    }

    /** The JDK's own timeout ends with the answer's headers; a body that stalls after them must not hang the call. */
    @Test
    void anAnswerWhoseBodyStallsFailsWithinTheRequestTimeout() throws Exception {
        try (ServerSocket listening = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                try (Socket socket = listening.accept()) {
                    socket.getInputStream().read(new byte[8192]);
                    OutputStream out = socket.getOutputStream();
                    out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                                    + "{\"id\":")
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    Thread.sleep(30_000);
                } catch (Exception e) {
                    // the client gave up and closed: what the test waits for
                }
            });
            SwitchboardClient client = client("http://127.0.0.1:" + listening.getLocalPort(), Duration.ofSeconds(1));
            long started = System.nanoTime();
            assertThatThrownBy(() -> client.records("reservations").get("rec_1"))
                    .isInstanceOf(SwitchboardException.class)
                    .hasMessageContaining("did not answer within PT1S");
            assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started))
                    .isLessThan(10);
        }
    }

    /** A socket whose handshake completes after close() was left open, unowned, until the JVM exited. */
    @Test
    void aHandshakeThatCompletesAfterCloseIsAbortedNotLeftOpen() throws Exception {
        try (ServerSocket listening = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            java.util.concurrent.CompletableFuture<Integer> afterUpgrade =
                    new java.util.concurrent.CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try (Socket socket = listening.accept()) {
                    var in = new java.io.BufferedReader(
                            new java.io.InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
                    String key = null;
                    for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
                        if (line.toLowerCase(java.util.Locale.ROOT).startsWith("sec-websocket-key:")) {
                            key = line.substring(line.indexOf(':') + 1).trim();
                        }
                    }
                    Thread.sleep(3_000); // the client closes the stream meanwhile
                    String accept = java.util.Base64.getEncoder()
                            .encodeToString(java.security.MessageDigest.getInstance("SHA-1")
                                    .digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                            .getBytes(StandardCharsets.US_ASCII)));
                    socket.getOutputStream()
                            .write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                            + "Sec-WebSocket-Accept: " + accept + "\r\n\r\n")
                                    .getBytes(StandardCharsets.US_ASCII));
                    socket.getOutputStream().flush();
                    socket.setSoTimeout(10_000);
                    afterUpgrade.complete(socket.getInputStream().read()); // -1 once the client lets go
                } catch (java.net.SocketTimeoutException e) {
                    afterUpgrade.complete(-3); // the client never let go
                } catch (Exception e) {
                    afterUpgrade.complete(-2); // reset: the client let go
                }
            });
            SwitchboardClient client = client("http://127.0.0.1:" + listening.getLocalPort(), Duration.ofSeconds(5));
            EventStream stream = client.eventStream(new InMemoryCursorStore(0), events -> {});
            Thread.sleep(1_000);
            stream.close();
            int read = afterUpgrade.get(20, TimeUnit.SECONDS);
            assertThat(read)
                    .as("the client let go of the socket its handshake got (EOF or reset)")
                    .isIn(-1, -2);
        }
    }

    @Test
    void aLongPollWaitTheServerCannotTakeIsRefusedAndNullDetailsAreNone() {
        assertThatThrownBy(() -> new EventFeed.Options(0, java.util.List.of(), 100, Duration.ofMillis(500)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("whole number of seconds");
        ApiException refused = ApiException.of(
                400,
                SwitchboardClient.MAPPER
                        .createObjectNode()
                        .set(
                                "error",
                                SwitchboardClient.MAPPER
                                        .createObjectNode()
                                        .put("code", "invalid_field")
                                        .putNull("details")),
                null,
                null);
        assertThat(refused.details()).isNull();
    }

    @Test
    void aSuccessWithoutABodyIsAClearErrorNotANullPointer() {
        try (Receiver server = new Receiver()) {
            server.answer(r -> Receiver.Reply.status(204));
            assertThatThrownBy(
                            () -> client(server.url(""), Duration.ofSeconds(5)).connection())
                    .isInstanceOf(SwitchboardException.class)
                    .hasMessageContaining("answered 204 without a body");
        }
    }
}
