package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestServer;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Limits hold for what is stored, and refusals name the limit that applies. PostgreSQL's jsonb gives a
 * number back written out in full (1e99 as its 100 digits), so a size measured on the number as sent let
 * data twenty times the limit through.
 */
@Timeout(60)
class WrittenOutSizesTest {
    static TestServer server;
    static String tenant;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        server.createCollection("readings");
        tenant = server.createTenant("sizes");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** {@code count} times 1e99: about 5 bytes each as sent, 100 digits each as stored. */
    private static String numbers(int count) {
        return ("1e99,".repeat(count - 1)) + "1e99";
    }

    @Test
    void anEventWhoseNumbersWrittenOutPassTheLimitIsRefused() {
        Api admin = server.adminFor(tenant);
        // 1,000 numbers: 5 KB as sent, 100 KB as stored, over the 64 KiB an event's data may hold.
        Api.Response r = admin.send(
                "POST", "/api/v1/events", "{\"type\":\"device.reading\",\"data\":{\"v\":[" + numbers(1000) + "]}}");
        assertThat(r.status()).isEqualTo(422);
        assertThat(r.errorCode()).isEqualTo("event_too_large");
        // Within the limit written out, it is taken, and comes back as stored.
        JsonNode taken = admin.send(
                        "POST",
                        "/api/v1/events",
                        "{\"type\":\"device.reading\",\"data\":{\"v\":[" + numbers(10) + "]}}")
                .expect(201)
                .json();
        assertThat(taken.at("/data/v/0").decimalValue()).isEqualByComparingTo("1e99");
    }

    @Test
    void aRecordWhoseNumbersWrittenOutPassTheBodyLimitIsRefusedAndNothingIsCreated() {
        Api admin = server.adminFor(tenant);
        // 12,000 numbers: a 60 KB body, 1.2 MB as stored, over server.maxBodySize (1 MiB).
        Api.Response r = admin.send(
                "POST", "/api/v1/collections/readings/records", "{\"data\":{\"v\":[" + numbers(12_000) + "]}}");
        assertThat(r.status()).isEqualTo(422);
        assertThat(r.errorCode()).isEqualTo("record_too_large");
        assertThat(r.json().at("/error/message").asText()).contains("written out in full");
        assertThat(admin.get("/api/v1/collections/readings/records")
                        .expect(200)
                        .json()
                        .get("records"))
                .isEmpty();
    }

    @Test
    void aBodyTheParserRefusesIsDescribedWithoutTheParsersOwnNames() {
        Api.Response trailing = server.admin.send("POST", "/api/v1/tenants", "{\"name\":\"x\"} {}");
        assertThat(trailing.status()).isEqualTo(400);
        assertThat(trailing.json().at("/error/message").asText())
                .startsWith("the request body is not valid JSON: more follows the JSON value")
                .doesNotContain("com.fasterxml")
                .doesNotContain("DeserializationFeature");

        Api.Response deep = server.admin.send("POST", "/api/v1/tenants", "[".repeat(80) + "]".repeat(80));
        assertThat(deep.status()).isEqualTo(400);
        assertThat(deep.json().at("/error/message").asText())
                .startsWith("the request body's JSON goes past a limit: nested more than 64 levels deep")
                .doesNotContain("StreamReadConstraints");

        Api.Response longNumber = server.admin.send("POST", "/api/v1/tenants", "{\"n\":" + "9".repeat(150) + "}");
        assertThat(longNumber.status()).isEqualTo(400);
        assertThat(longNumber.json().at("/error/message").asText())
                .startsWith("the request body's JSON goes past a limit: a number is longer than 100 characters");
    }

    @Test
    void aCollectionMayNotTakeTheNameOfSwitchboardsOwnEvents() {
        for (String name : new String[] {"connection", "webhook"}) {
            Api.Response r = server.admin.post("/api/v1/collections", Map.of("name", name));
            assertThat(r.status()).as(name).isEqualTo(400);
            assertThat(r.json().at("/error/message").asText()).as(name).contains("reserved");
        }
    }

    @Test
    void aDurationPastEverySettingIsRefusedWithTheFieldsOwnRange() {
        JsonNode integration = server.createIntegration(
                "durations-" + System.nanoTime(), java.util.List.of(), java.util.List.of(), java.util.List.of("*"));
        Api.Response retry = server.admin.post(
                "/api/v1/webhooks",
                Map.of(
                        "integrationId",
                        integration.get("id").asText(),
                        "url",
                        "https://partner.example/hooks",
                        "retryDelays",
                        java.util.List.of("40000d")));
        assertThat(retry.status()).isEqualTo(400);
        assertThat(retry.json().at("/error/message").asText()).isEqualTo("retryDelays[0]: must be from 1s to 7d");

        Api.Response link = server.admin.post(
                "/api/v1/portal-sessions",
                Map.of("integrationId", integration.get("id").asText(), "ttl", "40000d"));
        assertThat(link.status()).isEqualTo(400);
        assertThat(link.json().at("/error/message").asText()).isEqualTo("ttl: must be between 1m and 24h");
    }
}
