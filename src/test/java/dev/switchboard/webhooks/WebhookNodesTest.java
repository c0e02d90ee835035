package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.Receiver.Reply;
import dev.switchboard.testing.ServerProcess;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Several nodes on one PostgreSQL share the webhook streams; a stream is sent by one node at a time. */
@Timeout(120)
class WebhookNodesTest {
    private static final Map<String, String> SETTINGS = Map.of(
            "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
            "SWITCHBOARD_WEBHOOKS_TIMEOUT", "1s",
            "SWITCHBOARD_WEBHOOKS_LEASE_TIME", "3s",
            "SWITCHBOARD_RATE_LIMIT_REQUESTS", "100000");

    @Test
    void twoNodesWritingAtOnceDeliverEveryEventOnceAndInOrder() throws Exception {
        try (Receiver receiver = new Receiver();
                TestServer a = TestServer.start(SETTINGS);
                TestServer b = TestServer.start(a.database(), SETTINGS, InstantSource.system())) {
            a.createCollection("orders");
            JsonNode integration = a.createIntegration("shop", List.of("*"), List.of("*"), List.of("*"));
            a.api(integration.get("clientKey").asText())
                    .post("/api/v1/webhooks", Map.of("url", receiver.url("/orders"), "maxBatchSize", 3))
                    .expect(201);
            List<String> tenants = List.of("north", "south", "east");
            Map<String, List<Api>> writers = new HashMap<>();
            for (String tenant : tenants) {
                a.createTenant(tenant);
                String token = Partner.connect(a, integration, tenant).accessToken();
                writers.put(tenant, List.of(a.api(token), b.api(token)));
            }
            int perTenant = 60;
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> writes = new ArrayList<>();
                for (String tenant : tenants) {
                    for (int w = 0; w < 4; w++) {
                        Api writer = writers.get(tenant).get(w % 2);
                        writes.add(pool.submit(() -> {
                            for (int i = 0; i < perTenant / 4; i++) {
                                writer.post("/api/v1/collections/orders/records", Map.of("data", Map.of("i", i)))
                                        .expect(201);
                            }
                            return null;
                        }));
                    }
                }
                for (Future<?> w : writes) {
                    w.get();
                }
            }
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> receiver.received().stream()
                                    .mapToInt(r -> r.json().get("events").size())
                                    .sum()
                            >= perTenant * tenants.size());
            for (String tenant : tenants) {
                List<Long> seqs = receiver.received().stream()
                        .filter(r -> r.json().get("tenantId").asText().equals(tenant))
                        .flatMap(r -> java.util.stream.StreamSupport.stream(
                                r.json().get("events").spliterator(), false))
                        .map(e -> e.get("seq").asLong())
                        .toList();
                assertThat(seqs)
                        .as(tenant)
                        .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, perTenant)
                                .boxed()
                                .toList());
            }
        }
    }

    @Test
    void aKilledNodesStreamsAreTakenOverWithinTheLeaseTimeAndNothingIsLost() {
        DatabaseUrl database = TestDatabase.create();
        Map<String, String> settings = new HashMap<>(SETTINGS);
        settings.put("SWITCHBOARD_DATABASE_URL", database.jdbcUrl());
        settings.put("SWITCHBOARD_ADMIN_KEY", TestServer.ADMIN_KEY);
        try (Receiver receiver = new Receiver()) {
            receiver.answer(r -> Reply.status(200).after(Duration.ofMillis(150)));
            ServerProcess doomed = ServerProcess.start(settings).awaitReady();
            TestServer survivor = null;
            try {
                Api admin = doomed.api(TestServer.ADMIN_KEY);
                admin.post("/api/v1/collections", Map.of("name", "orders")).expect(201);
                admin.post("/api/v1/tenants", Map.of("id", "hotel")).expect(201);
                JsonNode integration = admin.post(
                                "/api/v1/integrations",
                                Map.of(
                                        "name",
                                        "shop",
                                        "permissions",
                                        Map.of("read", List.of("*"), "write", List.of("*")),
                                        "eventTypes",
                                        List.of("*")))
                        .expect(201)
                        .json();
                String token = admin.post(
                                "/api/v1/integrations/" + integration.get("id").asText() + "/connections",
                                Map.of("tenantId", "hotel"))
                        .expect(201)
                        .json()
                        .get("accessToken")
                        .asText();
                doomed.api(integration.get("clientKey").asText())
                        .post("/api/v1/webhooks", Map.of("url", receiver.url("/orders"), "maxBatchSize", 1))
                        .expect(201);
                Api writer = doomed.api(token);
                for (int i = 0; i < 30; i++) {
                    writer.post("/api/v1/collections/orders/records", Map.of("data", Map.of("i", i)))
                            .expect(201);
                }

                survivor = TestServer.start(database, SETTINGS, InstantSource.system());
                ServerProcess node = doomed;
                await().atMost(Duration.ofSeconds(30))
                        .failFast("the first node exited", () -> !node.process().isAlive())
                        .conditionEvaluationListener(c -> {
                            if (c.getRemainingTimeInMS() <= 0) {
                                System.out.println("First node's output:\n" + node.output());
                            }
                        })
                        .until(() -> receiver.received().size() >= 3);
                doomed.kill();
                Instant killed = Instant.now();
                int sentBeforeKill = receiver.received().size();
                assertThat(sentBeforeKill)
                        .as("the node was killed while it still had events to send")
                        .isLessThan(30);

                await().atMost(Duration.ofSeconds(30))
                        .until(() -> receiver.received().stream()
                                        .map(r -> r.json()
                                                .get("events")
                                                .get(0)
                                                .get("seq")
                                                .asLong())
                                        .distinct()
                                        .count()
                                == 30);
                Instant resumed = receiver.received().get(sentBeforeKill).at();
                assertThat(Duration.between(killed, resumed))
                        .as("taken over within the lease time")
                        .isLessThan(Duration.ofSeconds(3 + 2));

                List<Long> seqs = receiver.received().stream()
                        .map(r -> r.json().get("events").get(0).get("seq").asLong())
                        .toList();
                assertThat(seqs.stream().distinct().toList())
                        .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, 30)
                                .boxed()
                                .toList());
                assertThat(seqs.size() - 30)
                        .as("duplicates: at most the message in flight when the node died")
                        .isLessThanOrEqualTo(1);
            } finally {
                doomed.kill();
                if (survivor != null) {
                    survivor.close();
                }
            }
        }
    }
}
