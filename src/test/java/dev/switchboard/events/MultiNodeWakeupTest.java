package dev.switchboard.events;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class MultiNodeWakeupTest {
    @Test
    void aLongPollOnOneNodeWakesWhenAnotherNodeCommits() throws Exception {
        try (TestServer a = TestServer.start();
                TestServer b = TestServer.start(a.database(), Map.of(), InstantSource.system())) {
            a.createTenant("shared");
            Api onB = b.api(a.partnerToken("shared"));
            double before = b.feedReads();
            long started = System.nanoTime();
            CompletableFuture<Api.Response> poll =
                    CompletableFuture.supplyAsync(() -> onB.get("/api/v1/events?wait=25"));
            b.awaitLongPollWaiting(before);
            assertThat(poll).isNotDone();
            a.adminFor("shared")
                    .post("/api/v1/events", Map.of("type", "device.command"))
                    .expect(201);
            JsonNode page = poll.get(20, TimeUnit.SECONDS).expect(200).json();
            assertThat(page.get("events")).hasSize(1);
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
        }
    }

    @Test
    void disablingAConnectionOnOneNodeRefusesItsTokenOnTheOther() {
        try (TestServer a = TestServer.start();
                TestServer b = TestServer.start(a.database(), Map.of(), InstantSource.system())) {
            a.createTenant("shared");
            Partner partner = Partner.on(a, "shared", List.of("*"), List.of("*"), List.of("*"));
            Api onB = b.api(partner.accessToken());
            onB.get("/api/v1/events").expect(200); // cached on node B now
            a.admin
                    .post("/api/v1/connections/" + partner.connectionId() + "/disable", "")
                    .expect(200);
            org.awaitility.Awaitility.await()
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> onB.get("/api/v1/events").status() == 401);
        }
    }
}
