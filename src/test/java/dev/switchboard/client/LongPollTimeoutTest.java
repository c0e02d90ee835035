package dev.switchboard.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.testing.Fast;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A long poll waits as long as the client's request timeout plus its own wait, not a fixed time: a server
 * (or a proxy) that takes the request and never answers is given up on when the caller asked.
 */
@Fast
@Timeout(30)
class LongPollTimeoutTest {

    @Test
    void aLongPollToAServerThatNeverAnswersEndsAfterTheRequestTimeoutPlusItsWait() throws Exception {
        List<Socket> open = new CopyOnWriteArrayList<>();
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                while (!silent.isClosed()) {
                    try {
                        open.add(silent.accept()); // reads nothing, answers nothing
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            SwitchboardClient client = SwitchboardClient.builder(
                            "http://127.0.0.1:" + silent.getLocalPort(), "sb_access_test")
                    .requestTimeout(Duration.ofSeconds(1))
                    .build();
            EventFeed feed = client.eventFeed(new EventFeed.Options(0, List.of(), 100, Duration.ofSeconds(1)));

            long started = System.nanoTime();
            assertThatThrownBy(feed::poll).isInstanceOf(SwitchboardException.class);
            long elapsedMillis = (System.nanoTime() - started) / 1_000_000;

            assertThat(elapsedMillis)
                    .as("1 s of request timeout plus the poll's 1 s wait")
                    .isBetween(1_900L, 10_000L);
        } finally {
            for (Socket socket : open) {
                socket.close();
            }
        }
    }
}
