package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.switchboard.config.ConfigException;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ManagementPortTest {
    @Test
    void theManagementPortBindsItsOwnAddressWhenOneIsGiven() {
        try (TestServer server = TestServer.start(
                Map.of("SWITCHBOARD_MANAGEMENT_PORT", "0", "SWITCHBOARD_MANAGEMENT_HOST", "127.0.0.2"))) {
            int port = server.switchboard().managementPort().orElseThrow();
            assertThat(Api.of("http://127.0.0.2:" + port, null).get("/metrics").status())
                    .isEqualTo(200);
            // The public address (127.0.0.1 here) does not serve it.
            assertThatThrownBy(() -> Api.of("http://127.0.0.1:" + port, null).get("/metrics"))
                    .hasMessageContaining("ConnectException");
        }
    }

    @Test
    void aPortInUseOrAnAddressThisMachineLacksFailsTheStartNamingItsSettingsAndTheCause() throws Exception {
        try (java.net.ServerSocket taken =
                new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
            String port = Integer.toString(taken.getLocalPort());
            assertThatThrownBy(() -> TestServer.start(Map.of("SWITCHBOARD_PORT", port)))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("SWITCHBOARD_HOST, SWITCHBOARD_PORT (server.host, server.port)")
                    .hasMessageContaining("cannot listen on 127.0.0.1:" + port + ": the port is in use");
            assertThatThrownBy(() -> TestServer.start(Map.of("SWITCHBOARD_MANAGEMENT_PORT", port)))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("SWITCHBOARD_MANAGEMENT_HOST, SWITCHBOARD_MANAGEMENT_PORT")
                    .hasMessageContaining("the port is in use");
        }
        // TEST-NET-1: no machine running the tests has it.
        assertThatThrownBy(() -> TestServer.start(
                        Map.of("SWITCHBOARD_MANAGEMENT_PORT", "0", "SWITCHBOARD_MANAGEMENT_HOST", "192.0.2.1")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("cannot listen on 192.0.2.1:0: this machine has no such address");
    }

    @Test
    void withAManagementPortMetricsAreServedOnlyThereAndHealthChecksOnBoth() {
        try (TestServer server = TestServer.start(Map.of("SWITCHBOARD_MANAGEMENT_PORT", "0"))) {
            server.createTenant("metered");
            Api publicPort = server.api(null);
            Api management = Api.of(
                    "http://127.0.0.1:" + server.switchboard().managementPort().orElseThrow(), null);

            assertThat(publicPort.get("/metrics").status()).isEqualTo(404);
            assertThat(publicPort.get("/metrics").errorCode()).isEqualTo("route_not_found");
            assertThat(management.get("/metrics").expect(200).body())
                    .contains(
                            "switchboard_http_requests_seconds_count{method=\"POST\",route=\"/api/v1/tenants\",status=\"201\"}");
            // A load balancer may only reach the public port: the health checks stay there too.
            for (Api port : new Api[] {publicPort, management}) {
                assertThat(port.get("/health/live")
                                .expect(200)
                                .json()
                                .get("status")
                                .asText())
                        .isEqualTo("up");
                assertThat(port.get("/health/ready")
                                .expect(200)
                                .json()
                                .get("status")
                                .asText())
                        .isEqualTo("ready");
            }
            // The management port serves operations only: no API, with or without a token.
            assertThat(Api.of(
                                    "http://127.0.0.1:"
                                            + server.switchboard()
                                                    .managementPort()
                                                    .orElseThrow(),
                                    TestServer.ADMIN_KEY)
                            .get("/api/v1/tenants")
                            .status())
                    .isEqualTo(404);
            assertThat(management.get("/api/v1/openapi.json").status()).isEqualTo(404);
            publicPort.get("/api/v1/openapi.json").expect(200);
        }
    }

    /**
     * Health checks and scrapes see the whole stop: closed with the public port, the management port left
     * Prometheus seeing the node down for the seconds its webhook attempts in flight took to finish.
     */
    @Test
    void theManagementPortAnswersUntilTheRestOfTheNodeHasStopped() throws Exception {
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(Map.of(
                        "SWITCHBOARD_MANAGEMENT_PORT", "0",
                        "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
                        "SWITCHBOARD_WEBHOOKS_TIMEOUT", "5s",
                        "SWITCHBOARD_WEBHOOKS_LEASE_TIME", "11s"))) {
            Api publicPort = server.api(null);
            Api management = Api.of(
                    "http://127.0.0.1:" + server.switchboard().managementPort().orElseThrow(), null);
            server.createCollection("rooms", "eventFields", List.of());
            Partner partner = Partner.create(server, List.of("rooms.*"));
            // The stop waits for this attempt, which the receiver answers after 3 s.
            receiver.answer(r -> Receiver.Reply.status(200).after(Duration.ofSeconds(3)));
            partner.webhook(Map.of("url", receiver.url("/hook")));
            partner.writeRecords("rooms", 1, Map.of());
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> !receiver.received().isEmpty());

            CompletableFuture<Void> stopping =
                    CompletableFuture.runAsync(() -> server.switchboard().stop(Duration.ZERO));
            await().atMost(Duration.ofSeconds(5)).until(() -> refuses(publicPort));
            assertThat(stopping).as("the webhook attempt in flight is awaited").isNotDone();
            Api.Response ready = management.get("/health/ready");
            assertThat(ready.status()).isEqualTo(503);
            assertThat(ready.json().get("status").asText()).isEqualTo("draining");
            assertThat(management.get("/metrics").expect(200).body()).contains("switchboard_webhooks");

            stopping.get(15, TimeUnit.SECONDS);
            assertThat(refuses(management))
                    .as("closed once the node has stopped")
                    .isTrue();
        }
    }

    private static boolean refuses(Api port) {
        try {
            port.get("/health/live");
            return false;
        } catch (RuntimeException e) {
            return String.valueOf(e.getMessage()).contains("ConnectException");
        }
    }

    @Test
    void withoutAManagementPortMetricsAndHealthChecksAreOnThePublicPort() {
        try (TestServer server = TestServer.start()) {
            assertThat(server.switchboard().managementPort()).isEmpty();
            Api publicPort = server.api(null);
            assertThat(publicPort.get("/metrics").expect(200).body()).contains("hikaricp_connections_active");
            publicPort.get("/health/live").expect(200);
            publicPort.get("/health/ready").expect(200);
        }
    }
}
