package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.switchboard.testing.ResumingWsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * WebSocket clients following one tenant's events through server deaths, each resuming with
 * {@code after} on its own: afterwards each must hold the whole log exactly once, in seq order.
 */
final class WsFollowers implements AutoCloseable {
    private final List<ResumingWsClient> clients = new ArrayList<>();

    /** Connects {@code count} clients with {@code token} to whatever server {@code baseUrl} names at each attempt. */
    WsFollowers(int count, Supplier<String> baseUrl, String token) {
        for (int i = 0; i < count; i++) {
            clients.add(ResumingWsClient.follow(baseUrl, token));
        }
    }

    /**
     * Waits until every client has reached the end of {@code log}, asserts each received every event of
     * it exactly once and in order, and adds the figures under {@code name}.
     */
    void verify(String name, TenantLog log, Map<String, Object> figures) {
        List<Long> expected = log.seqs();
        long last = expected.getLast();
        await().atMost(Duration.ofSeconds(60)).until(() -> clients.stream().allMatch(c -> c.lastSeq() >= last));
        int missed = 0;
        int repeated = 0;
        for (ResumingWsClient client : clients) {
            Set<Long> distinct = new HashSet<>(client.seqs());
            missed += (int)
                    expected.stream().filter(seq -> !distinct.contains(seq)).count();
            repeated += client.seqs().size() - distinct.size();
        }
        figures.put(name + " (resuming with after)", clients.size());
        figures.put(
                name + ": reconnects",
                reconnects().stream().mapToInt(Integer::intValue).sum());
        figures.put(
                name + ": events received per client",
                String.join(
                        ", ",
                        clients.stream()
                                .map(c -> Integer.toString(c.seqs().size()))
                                .distinct()
                                .toList()));
        figures.put(name + ": events missed", missed);
        figures.put(name + ": events received twice", repeated);
        clients.stream()
                .flatMap(c -> c.catchUps().stream())
                .mapToLong(Duration::toMillis)
                .max()
                .ifPresent(slowest -> figures.put(name + ": socket drop to caught up (live), slowest (ms)", slowest));
        for (ResumingWsClient client : clients) {
            assertThat(client.complaints())
                    .as("resume_failed or error messages")
                    .isEmpty();
            assertThat(client.seqs())
                    .as("every event exactly once, in seq order")
                    .containsExactlyElementsOf(expected);
        }
    }

    /** Every failed attempt to open a socket, over all clients: the handshake's status, or -1 for no answer. */
    List<Integer> refusedOpens() {
        return clients.stream().flatMap(c -> c.refusedOpens().stream()).toList();
    }

    /** The close code of every socket the server closed, over all clients. */
    List<Integer> closeCodes() {
        return clients.stream().flatMap(c -> c.closeCodes().stream()).toList();
    }

    /** Every reconnect's time from the drop to caught up (live), over all clients. */
    List<Duration> catchUps() {
        return clients.stream().flatMap(c -> c.catchUps().stream()).toList();
    }

    /** Sockets each client opened again after one dropped. */
    List<Integer> reconnects() {
        return clients.stream().map(ResumingWsClient::reconnects).toList();
    }

    @Override
    public void close() {
        clients.forEach(ResumingWsClient::close);
    }
}
