package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.switchboard.testing.Api;
import dev.switchboard.testing.ExternalPostgres;
import dev.switchboard.testing.Nginx;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.ReliabilityReport;
import dev.switchboard.testing.ServerProcess;
import dev.switchboard.testing.TestServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three server processes on one PostgreSQL behind nginx (deploy/nginx/switchboard.conf), with writers,
 * long polls, WebSocket clients and a webhook endpoint all going through the proxy, while the nodes are
 * restarted one at a time as a rolling upgrade does: SIGTERM, wait for the process to end, start it again
 * on the same port, wait until it is ready, then the next. Nothing may be lost, no request may be answered
 * with 5xx through the proxy, every socket must be closed with 1012 and resume on another node.
 */
@Tag("reliability")
@Timeout(600)
class RollingRestartTest {
    private static final int NODES = 3;
    private static final int WRITERS = 4;
    private static final int WS_CLIENTS = 3;
    private static final int LONG_POLLERS = 2;
    private static final Duration GRACE = Duration.ofSeconds(2);

    @TempDir
    Path dir;

    @Test
    void restartingEveryNodeInTurnBehindNginxLosesNothingAndAnswersNo5xx() throws Exception {
        Optional<Path> nginxBinary = Nginx.binary();
        assumeTrue(
                nginxBinary.isPresent(),
                "nginx is not installed (bin/reliability installs Debian's nginx package when it runs as root with"
                        + " apt-get; or set NGINX_PATH)");
        try (ExternalPostgres postgres = ExternalPostgres.start(dir.resolve("postgres"));
                Receiver receiver = new Receiver()) {
            // Attempts take a little while, so a stop often lands while one is in flight.
            receiver.answer(r -> Receiver.Reply.status(200).after(Duration.ofMillis(30)));
            Map<String, String> settings = Map.of(
                    "SWITCHBOARD_ADMIN_KEY", TestServer.ADMIN_KEY,
                    "SWITCHBOARD_DATABASE_URL", postgres.jdbcUrl(),
                    "SWITCHBOARD_SHUTDOWN_GRACE", GRACE.toMillis() + "ms",
                    "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
                    "SWITCHBOARD_WEBHOOKS_TIMEOUT", "2s",
                    "SWITCHBOARD_WEBHOOKS_LEASE_TIME", "5s",
                    "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS", "500ms,1s,2s,4s",
                    "SWITCHBOARD_RATE_LIMIT_REQUESTS", "1000000");
            List<Integer> ports = new ArrayList<>();
            List<ServerProcess> nodes = new ArrayList<>();
            for (int i = 0; i < NODES; i++) {
                ports.add(ServerProcess.freePort());
                nodes.add(ServerProcess.start(settings, List.of(), ports.get(i)));
            }
            Map<String, Object> figures = new LinkedHashMap<>();
            try (Nginx nginx = Nginx.start(nginxBinary.get(), dir.resolve("nginx"), ports)) {
                nodes.forEach(ServerProcess::awaitReady);
                FollowedTenant tenant =
                        FollowedTenant.create(nodes.getFirst(), "rolling", receiver.url("/rolling"), 20);
                Api partner = nginx.api(tenant.token());
                List<Long> sigtermToNotReady = new ArrayList<>();
                List<Long> sigtermToRefusing = new ArrayList<>();
                List<Long> sigtermToExited = new ArrayList<>();
                List<Long> sigtermToReadyAgain = new ArrayList<>();
                List<LongPollFollower> pollers = new ArrayList<>();
                LoadWriters writers;
                try (WsFollowers sockets = new WsFollowers(WS_CLIENTS, nginx::baseUrl, tenant.token())) {
                    for (int i = 0; i < LONG_POLLERS; i++) {
                        pollers.add(new LongPollFollower(partner));
                    }
                    writers = new LoadWriters(WRITERS, FollowedTenant.COLLECTION, i -> partner);
                    try (writers) {
                        writers.awaitMore(200);
                        for (int i = 0; i < NODES; i++) {
                            ServerProcess node = nodes.get(i);
                            try (NodeWatch watch = new NodeWatch(node.baseUrl())) {
                                Instant sigterm = Instant.now();
                                node.close(); // SIGTERM, then waits for the process to end
                                sigtermToExited.add(
                                        Duration.between(sigterm, Instant.now()).toMillis());
                                try {
                                    await().atMost(Duration.ofSeconds(5))
                                            .until(() -> node.output().contains("Switchboard stopped"));
                                } catch (org.awaitility.core.ConditionTimeoutException e) {
                                    throw new AssertionError("node " + i + " did not stop cleanly (exit "
                                            + node.process().exitValue() + "):\n" + node.output());
                                }
                                assertThat(node.output())
                                        .as("node %d stopped cleanly", i)
                                        .contains("Draining: /health/ready answers 503")
                                        .contains("Switchboard stopped");
                                sigtermToNotReady.add(watch.millisTo(watch.notReady, sigterm));
                                sigtermToRefusing.add(watch.millisTo(watch.refusing, sigterm));
                                ServerProcess restarted = ServerProcess.start(settings, List.of(), ports.get(i));
                                nodes.set(i, restarted);
                                restarted.awaitReady();
                                sigtermToReadyAgain.add(
                                        Duration.between(sigterm, Instant.now()).toMillis());
                            }
                            writers.awaitMore(100);
                        }
                    }
                    TenantLog log = TenantLog.read(
                            nginx.api(TestServer.ADMIN_KEY).withHeader("Switchboard-Tenant", tenant.tenant()));
                    long last = log.seqs().getLast();
                    pollers.forEach(p -> p.finishAt(last));

                    figures.put("Nodes (processes) behind nginx", NODES);
                    figures.put("Rolling restarts (SIGTERM, then start again)", NODES);
                    figures.put("server.shutdownGrace (ms)", GRACE.toMillis());
                    figures.put("SIGTERM to /health/ready answering 503, per node (ms)", sigtermToNotReady);
                    figures.put("SIGTERM to refusing connections, per node (ms)", sigtermToRefusing);
                    figures.put("SIGTERM to the process ending, per node (ms)", sigtermToExited);
                    figures.put("SIGTERM to ready again after the restart, per node (ms)", sigtermToReadyAgain);
                    for (int i = 0; i < NODES; i++) {
                        assertThat(sigtermToNotReady.get(i))
                                .as("node %d was not ready before it refused connections", i)
                                .isLessThan(sigtermToRefusing.get(i));
                        assertThat(sigtermToRefusing.get(i))
                                .as("node %d kept serving through the grace", i)
                                .isGreaterThanOrEqualTo(GRACE.toMillis() - 100);
                    }

                    List<String> access = nginx.accessLog();
                    long fiveHundreds =
                            access.stream().filter(line -> line.startsWith("5")).count();
                    long passedOn = access.stream()
                            .filter(line -> line.contains(", ") || line.contains(" : "))
                            .count();
                    figures.put("Requests through nginx", access.size());
                    figures.put("Requests answered with 5xx through nginx (goal 0)", fiveHundreds);
                    figures.put("Requests nginx passed to another node (the first refused the connection)", passedOn);
                    figures.put("Writes answered other than 201, by status", writers.refusals());

                    log.verifyHolds(writers, figures);
                    Deliveries.verify(
                            receiver, log, nodes.getFirst().api(TestServer.ADMIN_KEY), tenant.webhook(), 0, figures);
                    sockets.verify("WebSocket clients through nginx", log, figures);
                    figures.put(
                            "WebSocket close codes seen by clients",
                            sockets.closeCodes().stream().distinct().sorted().toList());
                    figures.put("WebSocket opens refused (handshake status, -1 none)", sockets.refusedOpens());
                    List<Long> catchUps = sockets.catchUps().stream()
                            .map(Duration::toMillis)
                            .sorted()
                            .toList();
                    if (!catchUps.isEmpty()) {
                        figures.put(
                                "WebSocket reconnect: 1012 to caught up on another node, median (ms)",
                                catchUps.get(catchUps.size() / 2));
                    }
                    verifyLongPolls(pollers, log, figures);

                    assertThat(fiveHundreds)
                            .as(
                                    "5xx through nginx:\n%s",
                                    String.join(
                                            "\n",
                                            access.stream()
                                                    .filter(line -> line.startsWith("5"))
                                                    .limit(20)
                                                    .toList()))
                            .isZero();
                    assertThat(sockets.closeCodes())
                            .as("every socket closed by the server, with 1012")
                            .isNotEmpty()
                            .allMatch(code -> code == 1012);
                    assertThat(sockets.refusedOpens())
                            .as("WebSocket handshakes refused with 5xx")
                            .noneMatch(status -> status >= 500);
                } finally {
                    pollers.forEach(LongPollFollower::close);
                }
                ReliabilityReport.record(
                        "Rolling restart behind nginx",
                        NODES + " server processes share an external PostgreSQL behind nginx (Debian's package, running"
                                + " deploy/nginx/switchboard.conf). Through nginx: " + WRITERS + " writers, "
                                + LONG_POLLERS + " long-poll readers (wait=5), " + WS_CLIENTS
                                + " WebSocket clients resuming with after=<last seq>; a webhook endpoint"
                                + " (maxBatchSize 20, answering in 30 ms) follows the tenant. Each node in turn gets"
                                + " SIGTERM (server.shutdownGrace " + GRACE.toMillis() + " ms), is started again"
                                + " on its port and waits until ready before the next.",
                        figures);
            } finally {
                nodes.forEach(ServerProcess::close);
            }
        }
    }

    private static void verifyLongPolls(List<LongPollFollower> pollers, TenantLog log, Map<String, Object> figures) {
        List<Long> expected = log.seqs();
        int missed = 0;
        int twice = 0;
        Map<Integer, Integer> other = new java.util.TreeMap<>();
        int cutOff = 0;
        for (LongPollFollower p : pollers) {
            HashSet<Long> distinct = new HashSet<>(p.seqs());
            missed += (int) expected.stream().filter(s -> !distinct.contains(s)).count();
            twice += p.seqs().size() - distinct.size();
            p.otherAnswers().forEach((status, n) -> other.merge(status, n, Integer::sum));
            cutOff += p.cutOff();
        }
        figures.put(
                "Long polls through nginx",
                pollers.stream().mapToInt(LongPollFollower::polls).sum());
        figures.put("Long polls answered other than 200, by status", other);
        figures.put("Long polls cut off without an answer", cutOff);
        figures.put("Long-poll readers: events missed", missed);
        figures.put("Long-poll readers: events received twice", twice);
        for (LongPollFollower p : pollers) {
            assertThat(p.seqs()).as("a long-poll reader's events").containsExactlyElementsOf(expected);
        }
    }

    /**
     * Asks a node for /health/ready directly every 20 ms, noting when it first answered anything but 200
     * and when it first refused the connection.
     */
    private static final class NodeWatch implements AutoCloseable {
        private static final HttpClient HTTP =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        final AtomicReference<Instant> notReady = new AtomicReference<>();
        final AtomicReference<Instant> refusing = new AtomicReference<>();
        private final Thread thread;
        private volatile boolean watching = true;

        NodeWatch(String baseUrl) {
            HttpRequest ready = HttpRequest.newBuilder(URI.create(baseUrl + "/health/ready"))
                    .timeout(Duration.ofSeconds(2))
                    .build();
            thread = Thread.ofVirtual().start(() -> {
                while (watching && refusing.get() == null) {
                    try {
                        if (HTTP.send(ready, HttpResponse.BodyHandlers.discarding())
                                        .statusCode()
                                != 200) {
                            notReady.compareAndSet(null, Instant.now());
                        }
                    } catch (IOException e) {
                        notReady.compareAndSet(null, Instant.now());
                        refusing.compareAndSet(null, Instant.now());
                    } catch (InterruptedException e) {
                        return;
                    }
                    RetentionUnderLoadTest.pause(Duration.ofMillis(20));
                }
            });
        }

        long millisTo(AtomicReference<Instant> moment, Instant from) {
            Instant at = moment.get();
            assertThat(at).as("the node was seen stopping").isNotNull();
            return Duration.between(from, at).toMillis();
        }

        @Override
        public void close() throws InterruptedException {
            watching = false;
            thread.join(Duration.ofSeconds(5));
        }
    }
}
