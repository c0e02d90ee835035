package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two nodes on one PostgreSQL; the node holding the webhook stream is frozen with SIGSTOP in the middle
 * of a request (as a long GC pause would) for longer than the lease. That request is the message's last
 * attempt under the schedule the frozen node knows; the operator then allows more, so the other node,
 * taking the stream over, re-sends the message, fails once more and waits for a retry with that message
 * current. Then the frozen node is resumed: it comes back with the outcome of its old attempt (delivered,
 * or a timeout that abandons the message) and must change nothing, where an unguarded write would leave
 * the stream pointing at a message that is no longer pending. The stream must not stick, and every event
 * must arrive, in order.
 */
@Tag("reliability")
@Timeout(240)
class PausedNodeTest {
    private static final Duration LEASE_TIME = Duration.ofSeconds(3);
    private static final Duration SLOW_ANSWER = Duration.ofMillis(300);

    @TempDir
    Path dir;

    @Test
    void aNodePausedPastItsLeaseComesBackChangingNothingAndTheStreamNeitherSticksNorLosesNorReorders()
            throws SQLException {
        try (ExternalPostgres postgres = ExternalPostgres.start(dir.resolve("postgres"));
                Receiver receiver = new Receiver()) {
            AtomicBoolean armed = new AtomicBoolean();
            AtomicReference<String> failedFirst = new AtomicReference<>();
            AtomicReference<String> caught = new AtomicReference<>();
            AtomicReference<Instant> resent = new AtomicReference<>();
            receiver.answer(r -> {
                String id = r.header("webhook-id");
                if (armed.get() && failedFirst.compareAndSet(null, id)) {
                    return Receiver.Reply.status(503); // so the attempt the sender is frozen in is its last one
                }
                if (id.equals(failedFirst.get()) && caught.compareAndSet(null, id)) {
                    return Receiver.Reply.status(200).after(SLOW_ANSWER); // the sender is frozen while this waits
                }
                if (id.equals(caught.get()) && resent.compareAndSet(null, r.at())) {
                    return Receiver.Reply.status(503); // the new holder's first try: the message waits for a retry
                }
                return Receiver.Reply.status(200).after(Duration.ofMillis(20));
            });
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
                    "2s", // two attempts
                    "SWITCHBOARD_WEBHOOKS_LEASE_TIME",
                    LEASE_TIME.toSeconds() + "s",
                    "SWITCHBOARD_RATE_LIMIT_REQUESTS",
                    "1000000");
            List<ServerProcess> nodes =
                    new ArrayList<>(List.of(ServerProcess.start(settings).awaitReady()));
            ServerProcess paused = null;
            try (Connection db = DriverManager.getConnection(postgres.jdbcUrl())) {
                FollowedTenant tenant = FollowedTenant.create(nodes.getFirst(), "paused", receiver.url("/paused"), 5);
                nodes.add(ServerProcess.start(settings).awaitReady());
                Map<String, String> byNodeId =
                        Map.of(nodes.get(0).nodeId(), "0", nodes.get(1).nodeId(), "1");
                Map<String, Object> figures = new LinkedHashMap<>();
                LoadWriters writers = new LoadWriters(
                        2, FollowedTenant.COLLECTION, i -> nodes.get(i % 2).api(tenant.token()));
                Instant stopped;
                Instant resumed;
                try (writers) {
                    writers.awaitMore(50);
                    armed.set(true);
                    await("a request to catch the sender in")
                            .atMost(Duration.ofSeconds(30))
                            .until(() -> caught.get() != null);
                    // The stream is leased for the whole attempt, so the lease holder is the sender.
                    String holder = leaseHolder(db);
                    assertThat(holder).as("the stream's lease holder").isIn(byNodeId.keySet());
                    paused = nodes.get(Integer.parseInt(byNodeId.get(holder)));
                    paused.suspend();
                    stopped = Instant.now();
                    // The operator allows more attempts meanwhile: the new holder retries the message, while the
                    // frozen node still decides by the old schedule, under which its attempt was the last.
                    reader(nodes, paused)
                            .api(TestServer.ADMIN_KEY)
                            .patch(
                                    "/api/v1/webhooks/" + tenant.webhook(),
                                    Map.of("retryDelays", List.of("2s", "2s", "2s")))
                            .expect(200);
                    await("the other node re-sends the message")
                            .atMost(LEASE_TIME.plusSeconds(10))
                            .until(() -> resent.get() != null);
                    await("the stream waits for the retry with that message current")
                            .atMost(Duration.ofSeconds(5))
                            .until(() -> retryWaiting(db));
                    paused.resume();
                    resumed = Instant.now();
                    writers.awaitMore(100);
                }
                figures.put("Nodes", nodes.size());
                figures.put("Lease time (s)", LEASE_TIME.toSeconds());
                figures.put(
                        "Pause (SIGSTOP to SIGCONT, ms)",
                        Duration.between(stopped, resumed).toMillis());
                figures.put(
                        "Taken over: SIGSTOP to the other node's re-send (ms)",
                        Duration.between(stopped, resent.get()).toMillis());

                ServerProcess reader = reader(nodes, paused);
                TenantLog log = tenant.log(reader);
                log.verifyHolds(writers, figures);
                Instant caughtUpFrom = Instant.now();
                Deliveries.verify(receiver, log, reader.api(TestServer.ADMIN_KEY), tenant.webhook(), 1, figures);
                figures.put(
                        "Stream caught up after the load stopped (ms)",
                        Duration.between(caughtUpFrom, Instant.now()).toMillis());
                await("the stream at the log's head")
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> streamPosition(db) == log.seqs().getLast());

                Api admin = reader.api(TestServer.ADMIN_KEY);
                JsonNode message = admin.get("/api/v1/webhooks/" + tenant.webhook() + "/messages/" + caught.get())
                        .expect(200)
                        .json();
                List<String> outcomes = new ArrayList<>();
                message.get("attempts")
                        .forEach(a -> outcomes.add(a.get("outcome").asText()));
                figures.put(
                        "Message in flight at the pause: status, recorded attempts",
                        message.get("status").asText() + ", " + outcomes);
                assertThat(message.get("status").asText()).isEqualTo("delivered");
                assertThat(outcomes)
                        .as("the first failure, then only the new holder's attempts: the paused node's late"
                                + " outcome changed nothing")
                        .containsExactly("http_error", "http_error", "delivered");
                JsonNode endpoint = admin.get("/api/v1/webhooks/" + tenant.webhook())
                        .expect(200)
                        .json();
                figures.put(
                        "Streams in error afterwards",
                        endpoint.get("streamsInError").asInt());
                assertThat(endpoint.get("streamsInError").asInt()).isZero();
                long passedOver = nodes.stream()
                        .filter(n -> n.output().contains("no longer pending"))
                        .count();
                figures.put("Streams found pointing at a finished message (stuck before the lease guard)", passedOver);
                assertThat(passedOver).isZero();

                ReliabilityReport.record(
                        "A node paused past its lease (SIGSTOP)",
                        "Two server processes share an"
                                + " external PostgreSQL; 2 writers alternate between them and a webhook endpoint (maxBatchSize 5)"
                                + " follows the tenant. The node holding the webhook stream is frozen with SIGSTOP in the middle of"
                                + " a request that is the message's last attempt (retryDelays 2s: two attempts, the first answered"
                                + " 503), for longer than the lease (leaseTime " + LEASE_TIME.toSeconds()
                                + " s, timeout 1 s). The"
                                + " operator then allows four attempts; the other node takes the stream over and re-sends the"
                                + " message, which fails once more (503), so the stream waits for a retry with that message"
                                + " current. Then the frozen node gets SIGCONT and comes back with the outcome of its old attempt"
                                + " (by the schedule it knew, delivered or abandoned). Its late write must change nothing: no"
                                + " stuck stream, nothing lost, order kept.",
                        figures);
            } finally {
                if (paused != null) {
                    paused.resume();
                }
                nodes.forEach(ServerProcess::close);
            }
        }
    }

    /** The node that was not paused. */
    private static ServerProcess reader(List<ServerProcess> nodes, ServerProcess paused) {
        return nodes.get(0) == paused ? nodes.get(1) : nodes.get(0);
    }

    private static String leaseHolder(Connection db) throws SQLException {
        try (ResultSet rs = db.createStatement()
                .executeQuery("SELECT leased_by FROM webhook_streams WHERE connection_pk IS NOT NULL")) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    private static long streamPosition(Connection db) throws SQLException {
        try (ResultSet rs = db.createStatement()
                .executeQuery("SELECT position FROM webhook_streams WHERE connection_pk IS NOT NULL")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Whether the stream is released until a retry of its current message (the one whose re-send got the 503). */
    private static boolean retryWaiting(Connection db) throws SQLException {
        try (ResultSet rs = db.createStatement()
                .executeQuery("SELECT count(*) FROM webhook_streams"
                        + " WHERE connection_pk IS NOT NULL AND message_id IS NOT NULL AND leased_by IS NULL"
                        + " AND next_attempt_at > now()")) {
            rs.next();
            return rs.getLong(1) == 1;
        }
    }
}
