package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.Version;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestServer;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class OperationsTest {
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void healthChecksNeedNoToken() {
        Api anonymous = server.api(null);
        var live = anonymous.get("/health/live").expect(200).json();
        assertThat(live.get("status").asText()).isEqualTo("up");
        assertThat(live.get("version").asText())
                .as("the version Maven built, the same as the pom's")
                .isEqualTo(Version.current())
                .matches("[0-9]+\\.[0-9]+\\.[0-9]+(-SNAPSHOT)?");
        assertThat(anonymous
                        .get("/health/ready")
                        .expect(200)
                        .json()
                        .get("status")
                        .asText())
                .isEqualTo("ready");
    }

    @Test
    void metricsCountRequestsByRouteAndShowThePoolAndEventLog() {
        server.createTenant("metered");
        server.adminFor("metered")
                .post("/api/v1/events", Map.of("type", "device.command"))
                .expect(201);
        String metrics = server.api(null).get("/metrics").expect(200).body();
        // Exactly /metrics: a proxy's "location = /metrics" block lets /metrics/ through.
        assertThat(server.api(null).get("/metrics/").expect(404).errorCode()).isEqualTo("route_not_found");
        assertThat(metrics)
                .contains(
                        "switchboard_http_requests_seconds_count{method=\"POST\",route=\"/api/v1/events\",status=\"201\"}");
        assertThat(metrics).contains("hikaricp_connections_active");
        assertThat(metrics).contains("switchboard_events_wakeup_lag_seconds");
        assertThat(metrics).contains("switchboard_ready 1.0");
    }

    @Test
    void everyResponseCarriesARequestIdAndErrorsNeverShowAStackTrace() {
        Api.Response r = server.api(null).post("/api/v1/tenants", "{");
        assertThat(r.header("Request-Id")).startsWith("req_");
        assertThat(r.body()).doesNotContain("Exception").doesNotContain("at dev.");
        Api.Response wrongMethod = server.admin.send("PUT", "/api/v1/tenants", "{}");
        assertThat(wrongMethod.status()).isIn(404, 405);
        assertThat(wrongMethod.header("Request-Id")).startsWith("req_");
    }
}
