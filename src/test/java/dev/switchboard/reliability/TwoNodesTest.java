package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.switchboard.testing.ExternalPostgres;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.ReliabilityReport;
import dev.switchboard.testing.ServerProcess;
import dev.switchboard.testing.TestServer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.function.IntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two nodes on one PostgreSQL, writers on both, a webhook endpoint following the tenant and WebSocket
 * clients on each node; the node holding the webhook stream is killed with SIGKILL under load. The
 * survivor must take the dead node's stream over once its lease runs out and lose nothing; the dead
 * node's clients must reconnect to the survivor with {@code after}, and every client must end with
 * every event exactly once, in order.
 */
@Tag("reliability")
@Timeout(300)
class TwoNodesTest {
    private static final int WRITERS = 4;
    private static final int WS_CLIENTS = 3;
    private static final Duration LEASE_TIME = Duration.ofSeconds(3);
    private static final Pattern ACTIVE_STREAMS =
            Pattern.compile("(?m)^switchboard_webhooks_streams_active\\S* (\\S+)$");

    @TempDir
    Path dir;

    @Test
    void aNodeKilledUnderLoadHandsItsStreamAndSocketsToTheSurvivorAndLosesNothing() throws SQLException {
        long seed = System.nanoTime();
        System.out.println("Two nodes: random seed " + seed);
        Random random = new Random(seed);
        try (ExternalPostgres postgres = ExternalPostgres.start(dir.resolve("postgres"));
                Receiver receiver = new Receiver()) {
            receiver.answer(
                    r -> Receiver.Reply.status(200).after(Duration.ofMillis(20))); // so the kill can land mid-request
            Map<String, String> settings = Map.of(
                    "SWITCHBOARD_ADMIN_KEY",
                    TestServer.ADMIN_KEY,
                    "SWITCHBOARD_DATABASE_URL",
                    postgres.jdbcUrl(),
                    "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES",
                    "true",
                    "SWITCHBOARD_WEBHOOKS_TIMEOUT",
                    "1s",
                    "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS",
                    "500ms,1s,2s,4s",
                    "SWITCHBOARD_WEBHOOKS_LEASE_TIME",
                    LEASE_TIME.toSeconds() + "s",
                    "SWITCHBOARD_RATE_LIMIT_REQUESTS",
                    "1000000");
            List<ServerProcess> nodes =
                    new ArrayList<>(List.of(ServerProcess.start(settings).awaitReady()));
            try (Connection db = DriverManager.getConnection(postgres.jdbcUrl())) {
                FollowedTenant tenant = FollowedTenant.create(nodes.getFirst(), "twins", receiver.url("/nodes"), 20);
                nodes.add(ServerProcess.start(settings).awaitReady());
                // Writers and clients use "their" node while it lives, then the other: a load balancer's failover.
                IntFunction<ServerProcess> node =
                        i -> nodes.get(i % 2).process().isAlive() ? nodes.get(i % 2) : nodes.get(1 - i % 2);
                Map<String, Object> figures = new LinkedHashMap<>();
                try (WsFollowers first =
                                new WsFollowers(WS_CLIENTS, () -> node.apply(0).baseUrl(), tenant.token());
                        WsFollowers second =
                                new WsFollowers(WS_CLIENTS, () -> node.apply(1).baseUrl(), tenant.token())) {
                    LoadWriters writers = new LoadWriters(
                            WRITERS,
                            FollowedTenant.COLLECTION,
                            i -> node.apply(i).api(tenant.token()));
                    Instant killed;
                    int doomed;
                    try (writers) {
                        writers.awaitMore(100);
                        await().pollDelay(Duration.ofMillis(200 + random.nextInt(2000)))
                                .until(() -> true);
                        // Either node may hold the stream (a retry releases it, an idle worker lets it go): kill the
                        // holder.
                        Holder holder =
                                await().atMost(Duration.ofSeconds(30)).until(() -> holder(db, nodes), Objects::nonNull);
                        doomed = holder.node();
                        nodes.get(doomed).kill();
                        killed = Instant.now();
                        await("the dead node's lease taken over")
                                .atMost(LEASE_TIME.plusSeconds(5))
                                .until(() -> leaseHolder(db) != null
                                        && !leaseHolder(db).equals(holder.nodeId()));
                        writers.awaitMore(100);
                    }
                    ServerProcess survivor = nodes.get(1 - doomed);

                    figures.put("Nodes", nodes.size());
                    figures.put("Kills (SIGKILL)", 1);
                    TenantLog log = tenant.log(survivor);
                    log.verifyHolds(writers, figures);
                    Deliveries.verify(receiver, log, survivor.api(TestServer.ADMIN_KEY), tenant.webhook(), 1, figures);
                    Duration takeover = Duration.between(
                            killed,
                            receiver.received().stream()
                                    .map(Receiver.Received::at)
                                    .filter(at -> at.isAfter(killed))
                                    .findFirst()
                                    .orElseThrow());
                    figures.put(
                            "Webhook stream taken over: kill to the survivor's first delivery (ms)",
                            takeover.toMillis());
                    assertThat(takeover).as("taken over within the lease time").isLessThan(LEASE_TIME.plusSeconds(2));
                    WsFollowers onDoomed = doomed == 0 ? first : second;
                    onDoomed.verify("WebSocket clients on the killed node", log, figures);
                    assertThat(onDoomed.reconnects())
                            .as("every client of the killed node resumed on the survivor")
                            .allMatch(n -> n > 0);
                    (doomed == 0 ? second : first).verify("WebSocket clients on the survivor", log, figures);
                }
                ReliabilityReport.record(
                        "Two nodes, one killed",
                        "Two server processes share an external PostgreSQL;"
                                + " " + WRITERS
                                + " writers alternate between them, a webhook endpoint (maxBatchSize 20) follows the"
                                + " tenant and " + WS_CLIENTS
                                + " WebSocket clients are connected to each node. The node holding the"
                                + " webhook stream is killed with SIGKILL under load (leaseTime "
                                + LEASE_TIME.toSeconds() + " s,"
                                + " timeout 1 s); writers and its clients move to the survivor, the clients resuming with"
                                + " after=<last seq>.",
                        figures);
            } finally {
                nodes.forEach(ServerProcess::close);
            }
        }
    }

    /** The node (index) holding the webhook stream's lease, and its id in the database. */
    private record Holder(int node, String nodeId) {}

    /**
     * Which node holds the stream: the lease's owner, read before and after asking each node how many
     * streams it is delivering; null while that is not clear (no lease, the lease moved, or both busy).
     */
    private static Holder holder(Connection db, List<ServerProcess> nodes) throws SQLException {
        String before = leaseHolder(db);
        List<Integer> delivering = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (activeStreams(nodes.get(i)) > 0) {
                delivering.add(i);
            }
        }
        return before != null && before.equals(leaseHolder(db)) && delivering.size() == 1
                ? new Holder(delivering.getFirst(), before)
                : null;
    }

    /** The streams a node is delivering now, from its metrics. */
    private static double activeStreams(ServerProcess node) {
        Matcher m = ACTIVE_STREAMS.matcher(
                node.api(TestServer.ADMIN_KEY).get("/metrics").expect(200).body());
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    /** The node holding the tenant's webhook stream, or null between leases. */
    private static String leaseHolder(Connection db) throws SQLException {
        try (ResultSet rs = db.createStatement()
                .executeQuery("SELECT leased_by FROM webhook_streams WHERE connection_pk IS NOT NULL")) {
            return rs.next() ? rs.getString(1) : null;
        }
    }
}
