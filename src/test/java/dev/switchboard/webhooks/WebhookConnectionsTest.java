package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.switchboard.testing.Fast;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sender's own HTTP/1.1 connections against receivers on loopback that answer in the ways real
 * ones do: kept alive, closed without notice, chunked, with a keep-alive limit, or not reading at all.
 */
@Fast
class WebhookConnectionsTest {
    private static final AddressPolicy OPEN = new AddressPolicy(true, List.of());
    private static final WebhookSender.Signed SIGNED = new WebhookSender.Signed("msg_1", 1_796_000_000L, "v1,c2ln");

    /** What a scripted receiver does on one of its connections. */
    private interface Script {
        void serve(int connection, Peer peer) throws Exception;
    }

    /** The receiver's side of one connection. */
    private record Peer(Socket socket, InputStream in, OutputStream out, List<String> requests) {
        /** Reads one request, head and body, and keeps its head; null when the client closed first. */
        String next() throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0) {
                head.write(b);
                if (head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                    break;
                }
            }
            if (b < 0) {
                return null;
            }
            String text = head.toString(StandardCharsets.ISO_8859_1);
            for (String line : text.split("\r\n")) {
                if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                    in.readNBytes(Integer.parseInt(line.substring(15).trim()));
                }
            }
            requests.add(text);
            return text;
        }

        void answer(String answer) throws IOException {
            out.write(answer.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }
    }

    /** A receiver on loopback: every accepted connection runs the script on its own thread. */
    private static final class ScriptedReceiver implements AutoCloseable {
        final ServerSocket server;
        final AtomicInteger connections = new AtomicInteger();
        final List<String> requests = new CopyOnWriteArrayList<>();

        ScriptedReceiver(Script script) throws IOException {
            this(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()), script);
        }

        ScriptedReceiver(ServerSocket server, Script script) {
            this.server = server;
            Thread.ofVirtual().start(() -> {
                while (true) {
                    Socket socket;
                    try {
                        socket = server.accept();
                    } catch (IOException e) {
                        return;
                    }
                    int index = connections.getAndIncrement();
                    Thread.ofVirtual().start(() -> {
                        try (socket) {
                            script.serve(
                                    index,
                                    new Peer(socket, socket.getInputStream(), socket.getOutputStream(), requests));
                        } catch (Exception e) {
                            // the client went away
                        }
                    });
                }
            });
        }

        WebhookUrl url() {
            String scheme = server instanceof SSLServerSocket ? "https" : "http";
            return WebhookUrl.parse(scheme + "://127.0.0.1:" + server.getLocalPort() + "/hooks?x=1", "url", OPEN);
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    private static WebhookSender sender(Duration timeout) {
        return new WebhookSender(timeout, OPEN, 4, Clock.systemUTC());
    }

    private static final String OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    /** Answers every request on its connection with {@link #OK}, keeping the connection. */
    private static final Script ANSWER_EVERY_REQUEST = (index, peer) -> {
        while (peer.next() != null) {
            peer.answer(OK);
        }
    };

    @Test
    void requestsOneAfterAnotherShareOneConnectionAndCarryTheirHeaders() throws Exception {
        try (ScriptedReceiver receiver = new ScriptedReceiver(ANSWER_EVERY_REQUEST);
                WebhookSender sender = sender(Duration.ofSeconds(5))) {
            for (int i = 0; i < 3; i++) {
                Attempt attempt = sender.send(1, receiver.url(), "{\"n\":" + i + "}", SIGNED);
                assertThat(attempt.outcome()).isEqualTo(Attempt.Outcome.delivered);
                assertThat(attempt.responseBody()).isEqualTo("ok");
            }
            assertThat(receiver.connections.get()).isEqualTo(1);
            assertThat(receiver.requests.get(0))
                    .startsWith("POST /hooks?x=1 HTTP/1.1\r\n")
                    .contains("Host: 127.0.0.1:" + receiver.server.getLocalPort() + "\r\n")
                    .contains("Content-Type: application/json\r\n")
                    .contains("Content-Length: 7\r\n")
                    .contains("webhook-id: msg_1\r\n")
                    .contains("webhook-timestamp: 1796000000\r\n")
                    .contains("webhook-signature: v1,c2ln\r\n");
        }
    }

    @Test
    void aConnectionTheReceiverClosedWhileIdleCostsNothingButANewConnection() throws Exception {
        // Answers one request per connection and closes without saying so, as an idle timeout does.
        try (ScriptedReceiver receiver = new ScriptedReceiver((index, peer) -> {
                    if (peer.next() != null) {
                        peer.answer(OK);
                    }
                });
                WebhookSender sender = sender(Duration.ofSeconds(5))) {
            for (int i = 0; i < 3; i++) {
                assertThat(sender.send(1, receiver.url(), "{}", SIGNED).outcome())
                        .isEqualTo(Attempt.Outcome.delivered);
                Thread.sleep(50); // the close reaches the client
            }
            assertThat(receiver.connections.get()).isEqualTo(3);
            assertThat(receiver.requests).hasSize(3);
        }
    }

    @Test
    void anAnswerTheReceiverSendsWhileTheConnectionIsIdleIsNeverReadAsTheNextRequestsAnswer() throws Exception {
        // The first connection answers its request, then 100 ms later answers it again with a 410: the
        // next request sent on it would read that 410 as its own answer (and disable the endpoint).
        try (ScriptedReceiver receiver = new ScriptedReceiver((index, peer) -> {
                    if (index == 0) {
                        peer.next();
                        peer.answer("HTTP/1.1 204 No Content\r\n\r\n");
                        Thread.sleep(100);
                        peer.answer("HTTP/1.1 410 Gone\r\nContent-Length: 5\r\n\r\nstale");
                    }
                    while (peer.next() != null) {
                        peer.answer("HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n\r\nmine");
                    }
                });
                WebhookSender sender = sender(Duration.ofSeconds(5))) {
            assertThat(sender.send(1, receiver.url(), "{}", SIGNED).status()).isEqualTo(204);
            Thread.sleep(300); // the extra answer has arrived
            Attempt next = sender.send(1, receiver.url(), "{}", SIGNED);
            assertThat(next.status()).isEqualTo(500);
            assertThat(next.responseBody()).isEqualTo("mine");
            assertThat(receiver.connections.get()).isEqualTo(2);
        }
    }

    @Test
    void integrationsNeverShareAConnectionToTheSameReceiver() throws Exception {
        try (ScriptedReceiver receiver = new ScriptedReceiver(ANSWER_EVERY_REQUEST);
                WebhookSender sender = sender(Duration.ofSeconds(5))) {
            for (long integration : new long[] {1, 2, 1, 2}) {
                assertThat(sender.send(integration, receiver.url(), "{}", SIGNED)
                                .outcome())
                        .isEqualTo(Attempt.Outcome.delivered);
            }
            assertThat(receiver.connections.get()).isEqualTo(2);
        }
    }

    @Test
    void anAnswerCutShortOrWithAMalformedStatusIsAFailedAttemptWhateverItsStatusSaid() throws Exception {
        List<String> answers = List.of(
                "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", // then closes
                "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",
                "HTTP/1.1 200x\r\nContent-Length: 2\r\n\r\nok",
                "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"); // then says nothing more
        try (ScriptedReceiver receiver = new ScriptedReceiver((index, peer) -> {
                    peer.next();
                    peer.answer(answers.get(index));
                    if (index == answers.size() - 1) {
                        Thread.sleep(5_000);
                    }
                });
                WebhookSender sender = sender(Duration.ofSeconds(1))) {
            List<String> errors = new java.util.ArrayList<>();
            for (String answer : answers) {
                Attempt attempt = sender.send(1, receiver.url(), "{}", SIGNED);
                assertThat(attempt.delivered()).as(answer).isFalse();
                errors.add(attempt.outcome() + ": " + attempt.error());
            }
            assertThat(errors)
                    .containsExactly(
                            "connection_error: the answer ended before its body did",
                            "connection_error: not an HTTP status line: HTTP/1.1 2000 OK",
                            "connection_error: not an HTTP status line: HTTP/1.1 200x",
                            "connection_error: invalid Content-Length: -1",
                            "connection_error: invalid chunk size: -5",
                            "connection_error: 101 Switching Protocols to a request that asked for no upgrade",
                            "timeout: no complete answer within 1000 ms");
        }
    }

    /**
     * A receiver quoting its request line (a 404 page, a service that is not HTTP) quotes the URL's query,
     * often the receiver's own secret: attempts are shown and logged where the query is not.
     */
    @Test
    void anAnswerQuotingTheRequestLineKeepsTheUrlsQueryOutOfTheAttempt() throws Exception {
        List<String> answers = List.of(
                "HTTP/1.1 404 Not Found\r\nContent-Length: 49\r\n\r\nCannot POST /hooks?token=s3cr3t%2Fvalue&v=2 (404)",
                "POST /hooks?token=s3cr3t%2Fvalue&v=2 HTTP/1.1\r\n\r\n",
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: 22\r\n\r\nbad token s3cr3t/value",
                // Echoed as PHP's json_encode writes it, slashes escaped: the secret was shown as it was.
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 33\r\n\r\n{\"got\":{\"token\":\"s3cr3t\\/value\"}}");
        try (ScriptedReceiver receiver = new ScriptedReceiver((index, peer) -> {
                    peer.next();
                    peer.answer(answers.get(index));
                });
                WebhookSender sender = sender(Duration.ofSeconds(5))) {
            WebhookUrl url = WebhookUrl.parse(
                    "http://127.0.0.1:" + receiver.server.getLocalPort() + "/hooks?token=s3cr3t%2Fvalue&v=2",
                    "url",
                    OPEN);
            List<String> shown = new java.util.ArrayList<>();
            for (int i = 0; i < answers.size(); i++) {
                Attempt attempt = sender.send(1, url, "{}", SIGNED);
                shown.add(attempt.error() + " | " + attempt.responseBody());
            }
            assertThat(shown)
                    .containsExactly(
                            "HTTP 404 | Cannot POST /hooks?… (404)",
                            "not an HTTP/1.x answer: POST /hooks?… HTTP/1.1 | null",
                            "HTTP 401 | bad token …",
                            "HTTP 400 | {\"got\":{\"token\":\"…\"}}");
            assertThat(receiver.requests)
                    .allSatisfy(r -> assertThat(r).startsWith("POST /hooks?token=s3cr3t%2Fvalue&v=2 "));
        }
    }

    @Test
    void anAnswerThatBreaksOffOnAReusedConnectionIsTheOutcomeAndNotSentAgain() throws Exception {
        try (ScriptedReceiver receiver = new ScriptedReceiver((index, peer) -> {
                    peer.next();
                    peer.answer(OK);
                    peer.next();
                    peer.answer("HTTP/1.1 20"); // then closes
                });
                WebhookSender sender = sender(Duration.ofSeconds(5))) {
            assertThat(sender.send(1, receiver.url(), "{}", SIGNED).outcome()).isEqualTo(Attempt.Outcome.delivered);
            Attempt broken = sender.send(1, receiver.url(), "{}", SIGNED);
            assertThat(broken.outcome()).isEqualTo(Attempt.Outcome.connection_error);
            assertThat(broken.error()).contains("ended in its headers");
            assertThat(receiver.requests).hasSize(2);
            assertThat(receiver.connections.get()).isEqualTo(1);
        }
    }

    @Test
    void chunkedAnswersAreReadToTheirEndAndTheConnectionIsKept() throws Exception {
        try (ScriptedReceiver receiver = new ScriptedReceiver((index, peer) -> {
                    while (peer.next() != null) {
                        peer.answer("HTTP/1.1 100 Continue\r\n\r\n"
                                + "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"
                                + "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n");
                    }
                });
                WebhookSender sender = sender(Duration.ofSeconds(5))) {
            for (int i = 0; i < 2; i++) {
                Attempt attempt = sender.send(1, receiver.url(), "{}", SIGNED);
                assertThat(attempt.status()).isEqualTo(202);
                assertThat(attempt.responseBody()).isEqualTo("hello world");
            }
            assertThat(receiver.connections.get()).isEqualTo(1);
        }
    }

    @Test
    void anAnswerOfAFewKibKeepsItsFirstKibCutBetweenCharactersAndItsConnection() throws Exception {
        String page = "a" + "é".repeat(1_500); // 3,001 bytes: byte 1,024 is inside an "é"
        byte[] utf8 = page.getBytes(StandardCharsets.UTF_8);
        String answer = "HTTP/1.1 503 Busy\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " + utf8.length
                + "\r\n\r\n" + new String(utf8, StandardCharsets.ISO_8859_1); // sent byte for byte
        try (ScriptedReceiver receiver = new ScriptedReceiver((index, peer) -> {
                    while (peer.next() != null) {
                        peer.answer(answer);
                    }
                });
                WebhookSender sender = sender(Duration.ofSeconds(5))) {
            for (int i = 0; i < 2; i++) {
                Attempt attempt = sender.send(1, receiver.url(), "{}", SIGNED);
                assertThat(attempt.status()).isEqualTo(503);
                assertThat(attempt.responseBody()).isEqualTo("a" + "é".repeat(511));
            }
            assertThat(receiver.connections.get()).isEqualTo(1);
        }
    }

    @Test
    void aBodyBeyondTheCapIsCutAndItsConnectionClosedAsIsOneTheReceiverLimitsOrCloses() throws Exception {
        String big = "x".repeat(10_000);
        List<String> answers = List.of(
                "HTTP/1.1 500 Oops\r\nContent-Length: 10000\r\n\r\n" + big,
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=1\r\n\r\nok",
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
        try (ScriptedReceiver receiver = new ScriptedReceiver((index, peer) -> {
                    while (peer.next() != null) {
                        peer.answer(answers.get(index));
                    }
                });
                WebhookSender sender = sender(Duration.ofSeconds(5))) {
            Attempt cut = sender.send(1, receiver.url(), "{}", SIGNED);
            assertThat(cut.outcome()).isEqualTo(Attempt.Outcome.http_error);
            assertThat(cut.responseBody()).hasSize(WebhookSender.MAX_RESPONSE_BYTES);
            for (int i = 1; i < answers.size(); i++) {
                assertThat(sender.send(1, receiver.url(), "{}", SIGNED).outcome())
                        .as(answers.get(i))
                        .isEqualTo(Attempt.Outcome.delivered);
            }
            // each answer left its connection unusable, so each request came on a new one
            assertThat(receiver.connections.get()).isEqualTo(answers.size());
        }
    }

    /**
     * A 2xx is a delivery only when its whole answer arrives: one whose body broke off past the first 4 KiB
     * (a receiver that crashed mid-answer), never ended, or runs past 1 MiB was taken for one. A long 2xx
     * that ends is read through and keeps its connection.
     */
    @Test
    void aSuccessIsADeliveryOnlyWhenItsWholeBodyArrives() throws Exception {
        String eightKib = "x".repeat(8 * 1024);
        String chunk = Integer.toHexString(eightKib.length()) + "\r\n" + eightKib + "\r\n";
        List<String> answers = List.of(
                "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + eightKib, // then closes
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk, // then closes
                "HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n" + eightKib,
                "HTTP/1.1 200 OK\r\n\r\n" + eightKib, // ends when the connection does: a delivery
                "HTTP/1.1 200 OK\r\nContent-Length: 8192\r\n\r\n" + eightKib,
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk + "0\r\n\r\n");
        java.util.concurrent.atomic.AtomicInteger served = new java.util.concurrent.atomic.AtomicInteger();
        try (ScriptedReceiver receiver = new ScriptedReceiver((index, peer) -> {
                    while (peer.next() != null) {
                        int n = served.getAndIncrement();
                        peer.answer(answers.get(Math.min(n, answers.size() - 1)));
                        if (n < 4) {
                            return; // closes
                        }
                    }
                });
                WebhookSender sender = sender(Duration.ofSeconds(5))) {
            List<String> outcomes = new java.util.ArrayList<>();
            for (int i = 0; i < answers.size(); i++) {
                Attempt attempt = sender.send(1, receiver.url(), "{}", SIGNED);
                if (i == 2) {
                    assertThat(attempt.responseBody())
                            .as("the first bytes of the 200 too long to be a delivery")
                            .isEqualTo(eightKib.substring(0, WebhookSender.MAX_RESPONSE_BYTES));
                }
                outcomes.add(attempt.outcome()
                        + (attempt.status() == null || attempt.delivered() ? "" : " " + attempt.status())
                        + (attempt.error() == null ? "" : ": " + attempt.error()));
            }
            assertThat(outcomes)
                    .containsExactly(
                            "connection_error: the answer ended before its body did",
                            "connection_error: the answer ended before its body did",
                            "http_error 200: a 200 answer whose body is over 1048576 bytes: only a complete answer"
                                    + " is a delivery, and one this long is not read to its end",
                            "delivered",
                            "delivered",
                            "delivered");
            Attempt again = sender.send(1, receiver.url(), "{}", SIGNED);
            assertThat(again.outcome()).isEqualTo(Attempt.Outcome.delivered);
            assertThat(again.responseBody()).hasSize(WebhookSender.MAX_RESPONSE_BYTES);
            assertThat(receiver.connections.get())
                    .as("the complete long answers kept their connection")
                    .isEqualTo(5);
        }
    }

    /** A 2xx declaring a chunk past the limit is refused at its size line, not waited on to the deadline. */
    @Test
    void aHugeChunkIsRefusedAtItsSizeLineShowingWhatArrived() throws Exception {
        String some = "y".repeat(100); // less than the 4 KiB an attempt keeps
        try (ScriptedReceiver receiver = new ScriptedReceiver((index, peer) -> {
                    peer.next();
                    peer.answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n" + some);
                    Thread.sleep(15_000); // then stalls
                });
                WebhookSender sender = sender(Duration.ofSeconds(10))) {
            Attempt attempt = sender.send(1, receiver.url(), "{}", SIGNED);
            assertThat(attempt.outcome()).isEqualTo(Attempt.Outcome.http_error);
            assertThat(attempt.status()).isEqualTo(200);
            assertThat(attempt.error()).contains("over 1048576 bytes");
            assertThat(attempt.durationMillis()).as("not the 10 s deadline").isLessThan(5_000);
            assertThat(attempt.responseBody()).as("what had arrived").isIn("", some);
        }
    }

    @Test
    void aLargeRequestToAReceiverThatNeverReadsEndsAtTheTimeout() throws Exception {
        try (ScriptedReceiver receiver = new ScriptedReceiver((index, peer) -> Thread.sleep(10_000));
                WebhookSender sender = sender(Duration.ofMillis(500))) {
            long started = System.nanoTime();
            Attempt attempt = sender.send(1, receiver.url(), "x".repeat(32 * 1024 * 1024), SIGNED);
            assertThat(attempt.outcome()).isEqualTo(Attempt.Outcome.timeout);
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
        }
    }

    @Test
    void aLargeRequestToAnHttpsReceiverThatNeverReadsEndsAtTheTimeout(@TempDir Path dir) throws Exception {
        Certificate certificate = new Certificate(dir, "ip:127.0.0.1");
        Script handshakeThenSleep = (index, peer) -> {
            ((SSLSocket) peer.socket()).startHandshake();
            Thread.sleep(30_000);
        };
        try (ScriptedReceiver receiver = new ScriptedReceiver(certificate.serverSocket(), handshakeThenSleep);
                WebhookSender sender =
                        new WebhookSender(Duration.ofMillis(500), OPEN, 4, Clock.systemUTC(), trusting(certificate))) {
            // Twice: cutting the first one off must leave the sender able to cut off the next.
            for (int i = 0; i < 2; i++) {
                long started = System.nanoTime();
                Attempt attempt = assertTimeoutPreemptively(
                        Duration.ofSeconds(10),
                        () -> sender.send(1, receiver.url(), "x".repeat(32 * 1024 * 1024), SIGNED));
                assertThat(attempt.outcome()).isEqualTo(Attempt.Outcome.timeout);
                assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
            }
        }
    }

    @Test
    void anHttpsReceiverTricklingItsHandshakeIsCutOffAtTheTimeout() throws Exception {
        // A TLS record header announcing 16 KiB, then a byte every 100 ms: each read is answered well within
        // the socket timeout, and the record would take half an hour.
        Script trickle = (index, peer) -> {
            peer.out().write(new byte[] {0x16, 0x03, 0x03, 0x40, 0x00});
            while (true) {
                peer.out().write(0x02);
                peer.out().flush();
                Thread.sleep(100);
            }
        };
        try (ScriptedReceiver receiver = new ScriptedReceiver(trickle);
                WebhookSender sender = sender(Duration.ofSeconds(1))) {
            WebhookUrl https =
                    WebhookUrl.parse("https://127.0.0.1:" + receiver.server.getLocalPort() + "/hooks", "url", OPEN);
            long started = System.nanoTime();
            Attempt attempt =
                    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> sender.send(1, https, "{}", SIGNED));
            assertThat(attempt.outcome()).isEqualTo(Attempt.Outcome.timeout);
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
        }
    }

    @Test
    void httpsChecksTheCertificateAndItsNameAndKeepsTheConnection(@TempDir Path dir) throws Exception {
        Certificate matching = new Certificate(dir, "ip:127.0.0.1");
        Certificate otherName = new Certificate(dir, "dns:receiver.example");
        try (ScriptedReceiver receiver = new ScriptedReceiver(matching.serverSocket(), ANSWER_EVERY_REQUEST);
                ScriptedReceiver misnamed = new ScriptedReceiver(otherName.serverSocket(), ANSWER_EVERY_REQUEST);
                WebhookSender trusting = new WebhookSender(
                        Duration.ofSeconds(5), OPEN, 4, Clock.systemUTC(), trusting(matching, otherName));
                WebhookSender jvmTrust = sender(Duration.ofSeconds(5))) {
            for (int i = 0; i < 2; i++) {
                assertThat(trusting.send(1, receiver.url(), "{}", SIGNED).outcome())
                        .isEqualTo(Attempt.Outcome.delivered);
            }
            assertThat(receiver.connections.get()).isEqualTo(1);

            Attempt untrusted = jvmTrust.send(1, receiver.url(), "{}", SIGNED);
            assertThat(untrusted.outcome()).isEqualTo(Attempt.Outcome.connection_error);
            assertThat(untrusted.error()).startsWith("TLS failed");

            Attempt wrongName = trusting.send(1, misnamed.url(), "{}", SIGNED);
            assertThat(wrongName.outcome()).isEqualTo(Attempt.Outcome.connection_error);
            assertThat(wrongName.error()).startsWith("TLS failed").contains("127.0.0.1");
            assertThat(receiver.requests).hasSize(2);
        }
    }

    /** A self-signed certificate for {@code subjectAlternativeName}, made by the JDK's keytool. */
    private record Certificate(KeyStore keys) {
        Certificate(Path dir, String subjectAlternativeName) throws Exception {
            this(generate(dir, subjectAlternativeName));
        }

        private static KeyStore generate(Path dir, String subjectAlternativeName) throws Exception {
            Path file = dir.resolve(subjectAlternativeName.replace(':', '-') + ".p12");
            Process keytool = new ProcessBuilder(
                            Path.of(System.getProperty("java.home"), "bin", "keytool")
                                    .toString(),
                            "-genkeypair",
                            "-alias",
                            "receiver",
                            "-keyalg",
                            "EC",
                            "-groupname",
                            "secp256r1",
                            "-dname",
                            "CN=receiver",
                            "-ext",
                            "san=" + subjectAlternativeName,
                            "-validity",
                            "1",
                            "-keystore",
                            file.toString(),
                            "-storetype",
                            "PKCS12",
                            "-storepass",
                            "secret")
                    .redirectErrorStream(true)
                    .start();
            String output = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(keytool.waitFor()).as(output).isZero();
            KeyStore keys = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(file)) {
                keys.load(in, "secret".toCharArray());
            }
            return keys;
        }

        ServerSocket serverSocket() throws Exception {
            KeyManagerFactory managers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            managers.init(keys, "secret".toCharArray());
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(managers.getKeyManagers(), null, null);
            return context.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        }
    }

    private static SSLSocketFactory trusting(Certificate... certificates) throws Exception {
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        for (int i = 0; i < certificates.length; i++) {
            trusted.setCertificateEntry("receiver" + i, certificates[i].keys().getCertificate("receiver"));
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        return context.getSocketFactory();
    }
}
