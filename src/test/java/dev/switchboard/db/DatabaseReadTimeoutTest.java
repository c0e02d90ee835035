package dev.switchboard.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.SilencingProxy;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A database that goes silent (its packets dropped, its connections never closed: a failover that moved
 * its address) costs a node at most {@code database.readTimeout} per connection in use: queries waiting
 * on those connections fail, the pools open new ones, and requests and webhook delivery carry on. Without
 * the limit a query waited until the kernel gave up retransmitting, about 15 minutes.
 */
@Timeout(180)
class DatabaseReadTimeoutTest {
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(2);
    /** The read timeout, a pool's wait for a connection (5 s) and a validation (5 s), with room to spare. */
    private static final Duration LONGEST_REQUEST = Duration.ofSeconds(20);

    @Test
    void requestsAndWebhooksCarryOnOverNewConnectionsWhenTheDatabaseGoesSilent() throws Exception {
        DatabaseUrl direct = TestDatabase.create();
        try (SilencingProxy proxy = proxyFor(direct);
                Receiver receiver = new Receiver()) {
            DatabaseUrl viaProxy = through(proxy, direct);
            try (TestServer server = TestServer.start(
                    viaProxy,
                    Map.of(
                            "SWITCHBOARD_DATABASE_READ_TIMEOUT",
                            READ_TIMEOUT.toSeconds() + "s",
                            "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES",
                            "true"),
                    InstantSource.system())) {
                server.createCollection("rooms");
                Partner partner = Partner.create(server, List.of("rooms.*"));
                partner.webhook(Map.of("url", receiver.url("/hook"), "maxBatchSize", 1));
                List<String> before = partner.writeRecords("rooms", 3, Map.of("state", "free"));
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> subjects(receiver).containsAll(before));

                proxy.silence();

                String written = null;
                long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
                while (written == null) {
                    assertThat(System.nanoTime())
                            .as("a write succeeded again within 90 s")
                            .isLessThan(deadline);
                    long started = System.nanoTime();
                    Api.Response response = partner.access()
                            .post("/api/v1/collections/rooms/records", Map.of("data", Map.of("state", "free")));
                    Duration took = Duration.ofNanos(System.nanoTime() - started);
                    assertThat(took)
                            .as("a write answered %d after %s", response.status(), took)
                            .isLessThan(LONGEST_REQUEST);
                    if (response.status() == 201) {
                        written = response.json().get("id").asText();
                    } else {
                        assertThat(response.status()).as(response.body()).isEqualTo(503);
                        assertThat(response.json().get("error").get("code").asText())
                                .isEqualTo("database_unavailable");
                    }
                }
                String after = written;
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> subjects(receiver).contains(after));
            }
        }
    }

    /**
     * The node's LISTEN connection going silent is noticed within its read timeout: the listener reconnects
     * and the node's long polls wake again for other nodes' commits. Its liveness query ran only when the
     * driver answered null for a quiet second, which it never does (an empty array), so a silent listener
     * went unnoticed for as long as TCP kept the connection, hours in which the node heard no other node.
     */
    @Test
    void aNodeWhoseListenerGoesSilentReconnectsAndWakesForOtherNodesCommitsAgain() throws Exception {
        DatabaseUrl direct = TestDatabase.create();
        try (SilencingProxy proxy = proxyFor(direct)) {
            DatabaseUrl viaProxy = through(proxy, direct);
            try (TestServer deaf = TestServer.start(
                            viaProxy,
                            Map.of("SWITCHBOARD_DATABASE_READ_TIMEOUT", READ_TIMEOUT.toSeconds() + "s"),
                            InstantSource.system());
                    TestServer other = TestServer.start(direct, Map.of(), InstantSource.system())) {
                other.createCollection("rooms");
                Partner partner = Partner.create(other, List.of("rooms.*"));
                assertThat(wokenWithin(deaf, partner))
                        .as("woken before the silence")
                        .isLessThan(WOKEN);

                proxy.silence();

                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                Duration woken;
                do {
                    assertThat(System.nanoTime())
                            .as("the node's long polls woke again within 60 s")
                            .isLessThan(deadline);
                    woken = wokenWithin(deaf, partner);
                } while (woken.compareTo(WOKEN) >= 0);
            }
        }
    }

    /** Well under a long poll's wait: it was woken by the other node's commit, not ended by its wait. */
    private static final Duration WOKEN = Duration.ofSeconds(3);

    /**
     * How long a long poll on {@code node} took to answer with a record written on the partner's own node
     * once it was waiting (it had read twice, the second time after registering its wait); a day when the
     * poll failed first (a silent database's 503).
     */
    private static Duration wokenWithin(TestServer node, Partner partner) throws Exception {
        JsonNode head =
                partner.access().get("/api/v1/events?limit=1000").expect(200).json();
        long after = head.get("next").asLong();
        double readsBefore = node.feedReads();
        var poll = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> node.api(partner.accessToken()).get("/api/v1/events?wait=10&after=" + after),
                java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
        await().atMost(Duration.ofSeconds(30)).until(() -> poll.isDone() || node.feedReads() - readsBefore >= 2);
        long written = System.nanoTime();
        String id = partner.writeRecords("rooms", 1, Map.of("state", "free")).getFirst();
        Api.Response answer = poll.get(30, java.util.concurrent.TimeUnit.SECONDS);
        Duration took = Duration.ofNanos(System.nanoTime() - written);
        if (answer.status() != 200 || answer.json().get("events").isEmpty()) {
            return Duration.ofDays(1);
        }
        assertThat(answer.json().get("events").get(0).get("subject").asText()).isEqualTo(id);
        return took;
    }

    /** A proxy in front of the database {@code direct} names. */
    private static SilencingProxy proxyFor(DatabaseUrl direct) throws java.io.IOException {
        Matcher hostPort = hostPort(direct);
        return new SilencingProxy(hostPort.group(1), Integer.parseInt(hostPort.group(2)));
    }

    /** The database {@code direct} names, reached through {@code proxy}. */
    private static DatabaseUrl through(SilencingProxy proxy, DatabaseUrl direct) {
        return new DatabaseUrl(
                direct.jdbcUrl().replace(hostPort(direct).group(), "//127.0.0.1:" + proxy.port() + "/"),
                direct.user(),
                direct.password());
    }

    private static Matcher hostPort(DatabaseUrl url) {
        Matcher hostPort = Pattern.compile("//([^:/]+):(\\d+)/").matcher(url.jdbcUrl());
        assertThat(hostPort.find()).as("host and port in %s", url.jdbcUrl()).isTrue();
        return hostPort;
    }

    private static List<String> subjects(Receiver receiver) {
        return receiver.received("/hook").stream()
                .flatMap(r -> StreamSupport.stream(r.json().get("events").spliterator(), false))
                .map(e -> e.get("subject").asText())
                .toList();
    }
}
