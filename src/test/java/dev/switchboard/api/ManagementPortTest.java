package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.config.ConfigException;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestServer;
import java.util.Map;
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
