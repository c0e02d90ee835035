package dev.switchboard.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The event stream's watchdog: a server that completes the handshake and then says nothing (a dead
 * proxy, a half-open connection) is given up on after the heartbeat timeout, and the stream reconnects
 * with backoff and {@code after}.
 */
@Fast
@Timeout(60)
class HeartbeatTest {
    private static final Pattern KEY = Pattern.compile("(?im)^sec-websocket-key:\\s*(\\S+)");
    private static final Pattern REQUEST = Pattern.compile("^GET (\\S+) ");

    @Test
    void aSilentServerIsGivenUpOnAndReconnectedToWithTheCursor() throws Exception {
        List<String> requests = new CopyOnWriteArrayList<>();
        List<Socket> open = new ArrayList<>();
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                while (!silent.isClosed()) {
                    try {
                        Socket socket = silent.accept();
                        synchronized (open) {
                            open.add(socket);
                        }
                        requests.add(handshake(socket));
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            SwitchboardClient client = SwitchboardClient.builder(
                            "http://127.0.0.1:" + silent.getLocalPort(), "sb_access_test")
                    .build();
            EventStream.Options options = EventStream.Options.defaults()
                    .withBackoff(new Backoff(Duration.ofMillis(50), Duration.ofMillis(200)))
                    .withHeartbeat(Duration.ofMillis(200), Duration.ofMillis(800));
            List<Throwable> errors = new CopyOnWriteArrayList<>();
            long started = System.nanoTime();
            try (EventStream stream =
                    client.eventStream(options, new InMemoryCursorStore(42), new EventStream.Listener() {
                        @Override
                        public void onEvents(List<Event> events) {}

                        @Override
                        public void onError(Throwable error) {
                            errors.add(error);
                        }
                    })) {
                Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> stream.connections() >= 3);
                long elapsedMillis = (System.nanoTime() - started) / 1_000_000;
                assertThat(elapsedMillis).as("two watchdog timeouts of 800 ms").isGreaterThanOrEqualTo(1_600);
                assertThat(errors).isNotEmpty().allSatisfy(e -> assertThat(e).hasMessageContaining("nothing heard"));
                assertThat(requests).allSatisfy(r -> assertThat(r).isEqualTo("/api/v1/ws?after=42"));
            }
        } finally {
            synchronized (open) {
                for (Socket s : open) {
                    s.close();
                }
            }
        }
    }

    /** Reads the upgrade request, answers 101, and returns the request's path; then stays silent. */
    private static String handshake(Socket socket) throws Exception {
        InputStream in = socket.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed during the handshake");
            }
            head.append((char) b);
        }
        Matcher key = KEY.matcher(head);
        Matcher request = REQUEST.matcher(head);
        if (!key.find() || !request.find()) {
            throw new IOException("not an upgrade: " + head);
        }
        String accept = Base64.getEncoder()
                .encodeToString(MessageDigest.getInstance("SHA-1")
                        .digest((key.group(1) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                .getBytes(StandardCharsets.US_ASCII)));
        OutputStream out = socket.getOutputStream();
        out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Accept: " + accept + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return request.group(1);
    }
}
