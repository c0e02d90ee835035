package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.switchboard.testing.ExternalPostgres;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.ReliabilityReport;
import dev.switchboard.testing.ServerProcess;
import dev.switchboard.testing.TestServer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL at random moments under steady writes, with a webhook endpoint following: the server is
 * restarted on the same database each time, on its embedded PostgreSQL (which the kill leaves running)
 * and, separately, on an external one. Every acknowledged write must be in the log, every event must
 * reach the receiver, in order, and the only duplicates are messages that were in flight at a kill.
 * WebSocket clients follow the same tenant through every kill, resuming with {@code after}: each ends
 * with every event of the log exactly once, in seq order.
 */
@Tag("reliability")
@Timeout(600)
class CrashTest {
    private static final int KILLS = 5;
    private static final int WRITERS = 4;
    private static final int WS_CLIENTS = 3;

    @TempDir
    Path dir;

    @Test
    void killedOnItsEmbeddedDatabaseItLosesNothing() {
        Map<String, String> settings = new HashMap<>(settings());
        settings.put("SWITCHBOARD_DATA_DIR", dir.resolve("data").toString());
        run("Crash, embedded PostgreSQL", settings);
    }

    @Test
    void killedOnAnExternalDatabaseItLosesNothing() {
        try (ExternalPostgres postgres = ExternalPostgres.start(dir.resolve("external"))) {
            Map<String, String> settings = new HashMap<>(settings());
            settings.put("SWITCHBOARD_DATABASE_URL", postgres.jdbcUrl());
            run("Crash, external PostgreSQL", settings);
        }
    }

    private static Map<String, String> settings() {
        return Map.of(
                "SWITCHBOARD_ADMIN_KEY",
                TestServer.ADMIN_KEY,
                "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES",
                "true",
                "SWITCHBOARD_WEBHOOKS_TIMEOUT",
                "1s",
                "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS",
                "500ms,1s,2s,4s",
                "SWITCHBOARD_WEBHOOKS_LEASE_TIME",
                "3s",
                "SWITCHBOARD_RATE_LIMIT_REQUESTS",
                "1000000");
    }

    private void run(String scenario, Map<String, String> settings) {
        long seed = System.nanoTime();
        System.out.println(scenario + ": random seed " + seed);
        Random random = new Random(seed);
        try (Receiver receiver = new Receiver()) {
            receiver.answer(
                    r -> Receiver.Reply.status(200).after(Duration.ofMillis(20))); // so a kill can land mid-request
            AtomicReference<ServerProcess> server =
                    new AtomicReference<>(ServerProcess.start(settings).awaitReady());
            try {
                FollowedTenant tenant = FollowedTenant.create(server.get(), "crashy", receiver.url("/crash"), 20);
                Map<String, Object> figures = new LinkedHashMap<>();
                List<Long> recoveries = new ArrayList<>();
                try (WsFollowers followers =
                        new WsFollowers(WS_CLIENTS, () -> server.get().baseUrl(), tenant.token())) {
                    LoadWriters writers = new LoadWriters(
                            WRITERS,
                            FollowedTenant.COLLECTION,
                            w -> server.get().api(tenant.token()));
                    try (writers) {
                        for (int kill = 0; kill < KILLS; kill++) {
                            writers.awaitMore(20);
                            await().pollDelay(Duration.ofMillis(200 + random.nextInt(2000)))
                                    .until(() -> true);
                            server.get().kill();
                            Instant killed = Instant.now();
                            server.set(ServerProcess.start(settings).awaitReady());
                            recoveries.add(
                                    Duration.between(killed, Instant.now()).toMillis());
                        }
                        writers.awaitMore(50);
                    }

                    figures.put("Kills (SIGKILL)", KILLS);
                    TenantLog log = tenant.log(server.get());
                    log.verifyHolds(writers, figures);
                    Deliveries.verify(
                            receiver, log, server.get().api(TestServer.ADMIN_KEY), tenant.webhook(), KILLS, figures);
                    figures.put(
                            "Restart until ready, median (ms)",
                            recoveries.stream().sorted().toList().get(KILLS / 2));
                    figures.put(
                            "Restart until ready, slowest (ms)",
                            recoveries.stream().mapToLong(Long::longValue).max().orElse(0));
                    followers.verify("WebSocket clients", log, figures);
                    assertThat(followers.reconnects())
                            .as("every client resumed after a kill")
                            .allMatch(n -> n > 0);
                }
                ReliabilityReport.record(
                        scenario,
                        "The server is killed with SIGKILL " + KILLS + " times at random moments"
                                + " (200 ms to 2.2 s after 20 more acknowledged writes) under " + WRITERS
                                + " writers, with a webhook"
                                + " endpoint following (maxBatchSize 20) and " + WS_CLIENTS
                                + " WebSocket clients following the"
                                + " same tenant, each reconnecting with after=<last seq> when its socket drops; the server is"
                                + " restarted each time on the same database.",
                        figures);
            } finally {
                server.get().close();
            }
        }
    }
}
