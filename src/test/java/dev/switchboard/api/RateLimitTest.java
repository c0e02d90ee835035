package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestServer;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RateLimitTest {
    @Test
    void anAccessTokenOverItsLimitGets429WithRetryAfterAndOthersAreUnaffected() {
        try (TestServer server = TestServer.start(
                Map.of("SWITCHBOARD_RATE_LIMIT_REQUESTS", "5", "SWITCHBOARD_RATE_LIMIT_WINDOW", "1h"))) {
            server.createTenant("limited");
            Api partner = server.api(server.partnerToken("limited"));
            Api other = server.api(server.partnerToken("limited"));
            for (int i = 0; i < 5; i++) {
                partner.get("/api/v1/events").expect(200);
            }
            Api.Response limited = partner.get("/api/v1/events");
            assertThat(limited.status()).isEqualTo(429);
            assertThat(limited.errorCode()).isEqualTo("rate_limited");
            assertThat(Long.parseLong(limited.header("Retry-After"))).isBetween(3000L, 3600L);
            assertThat(other.get("/api/v1/events").status()).isEqualTo(200);
            assertThat(server.adminFor("limited").get("/api/v1/events").status())
                    .isEqualTo(200);
        }
    }
}
