package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.Json;
import dev.switchboard.testing.RawHttp;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Guessing tokens is limited per client address: after the limit of refused tokens in the window,
 * the address gets 429 before its tokens are checked, while tokens it already used keep working and
 * other addresses are not affected. Requests here come from 127.0.0.1 and 127.0.0.2 (both loopback).
 */
class FailedAuthLimitTest {
    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-11-20T12:00:00Z"));

    private static RawHttp.Response get(TestServer server, String from, String token) throws Exception {
        int port = server.switchboard().port();
        return RawHttp.send(
                "127.0.0.1",
                port,
                InetAddress.getByName(from),
                new RawHttp.Request(
                        "GET", "/api/v1/events", List.of(Map.entry("Authorization", "Bearer " + token)), null, false),
                Duration.ofSeconds(10));
    }

    private static String guess() {
        return "sb_access_" + UUID.randomUUID();
    }

    @Test
    void anAddressThatPresentsTooManyRefusedTokensGets429UntilTheWindowHasPassed() throws Exception {
        InstantSource clock = now::get;
        try (TestServer server = TestServer.start(
                TestDatabase.create(),
                Map.of(
                        "SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES",
                        "5",
                        "SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES_WINDOW",
                        "10m"),
                clock)) {
            server.createTenant("hotel-1");
            String used = server.partnerToken("hotel-1");
            String unused = server.partnerToken("hotel-1");
            assertThat(get(server, "127.0.0.1", used).status()).isEqualTo(200);

            for (int i = 0; i < 5; i++) {
                assertThat(get(server, "127.0.0.1", guess()).status()).isEqualTo(401);
            }
            RawHttp.Response limited = get(server, "127.0.0.1", guess());
            assertThat(limited.status()).isEqualTo(429);
            assertThat(Json.read(limited.text()).get("error").get("code").asText())
                    .isEqualTo("rate_limited");
            assertThat(Long.parseLong(limited.header("Retry-After"))).isEqualTo(600);
            // A right guess is refused like a wrong one: the answers tell a blocked address nothing.
            assertThat(get(server, "127.0.0.1", unused).status()).isEqualTo(429);
            // A token this address already used goes on working, and other addresses are not affected.
            assertThat(get(server, "127.0.0.1", used).status()).isEqualTo(200);
            assertThat(get(server, "127.0.0.2", unused).status()).isEqualTo(200);
            assertThat(get(server, "127.0.0.2", guess()).status()).isEqualTo(401);

            now.set(now.get().plus(Duration.ofMinutes(10)));
            assertThat(get(server, "127.0.0.1", unused).status()).isEqualTo(200);
            assertThat(get(server, "127.0.0.1", guess()).status()).isEqualTo(401);
        }
    }

    @Test
    void aMissingOrMalformedAuthorizationHeaderIsNotAGuessAndZeroTurnsTheLimitOff() throws Exception {
        try (TestServer server = TestServer.start(Map.of("SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES", "0"))) {
            for (int i = 0; i < 30; i++) {
                assertThat(get(server, "127.0.0.1", guess()).status()).isEqualTo(401);
            }
        }
        try (TestServer server = TestServer.start(Map.of("SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES", "2"))) {
            for (int i = 0; i < 5; i++) {
                assertThat(server.api(null).get("/api/v1/events").status()).isEqualTo(401);
                assertThat(server.api(null)
                                .withHeader("Authorization", "Basic dXNlcjpwYXNz")
                                .get("/api/v1/events")
                                .status())
                        .isEqualTo(401);
            }
            assertThat(get(server, "127.0.0.1", guess()).status()).isEqualTo(401);
        }
    }

    /** Checked one by one after a common check of the limit, 250 guesses sent at once had 43 looked at (limit 20). */
    @Test
    void guessesSentAtOnceGetNoMoreThanTheLimit() throws Exception {
        try (TestServer server = TestServer.start(Map.of("SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES", "5"))) {
            List<Integer> statuses;
            try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                List<java.util.concurrent.Future<Integer>> sent = new java.util.ArrayList<>();
                for (int i = 0; i < 60; i++) {
                    sent.add(threads.submit(
                            () -> get(server, "127.0.0.3", guess()).status()));
                }
                statuses = new java.util.ArrayList<>();
                for (var f : sent) {
                    statuses.add(f.get());
                }
            }
            assertThat(statuses).containsOnly(401, 429);
            assertThat(statuses.stream().filter(s -> s == 401).count())
                    .as("tokens looked at")
                    .isLessThanOrEqualTo(5);
        }
    }
}
