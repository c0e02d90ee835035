package dev.switchboard.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An operator may lower {@code events.maxWait} below 30 s (to fit a proxy's timeout); the client's default
 * long poll asks for 30 s. The server names its maximum in the refusal and the feed asks again within it,
 * instead of failing every read.
 */
@Timeout(60)
class EventFeedMaxWaitTest {
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("SWITCHBOARD_EVENTS_MAX_WAIT", "2s"));
        server.createCollection("reservations");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void aWaitAboveTheServersMaximumIsRefusedNamingIt() {
        Partner partner = Partner.create(server, List.of("*"));
        JsonNode error = server.api(partner.accessToken())
                .get("/api/v1/events?after=0&wait=30")
                .expect(400)
                .json()
                .path("error");
        assertThat(error.path("code").asText()).isEqualTo("invalid_field");
        assertThat(error.path("message").asText()).isEqualTo("wait: must be between 0 and 2 seconds (events.maxWait)");
        assertThat(error.path("details").path("field").asText()).isEqualTo("wait");
        assertThat(error.path("details").path("maxWait").asLong()).isEqualTo(2);
    }

    @Test
    void theFeedsDefaultWaitFollowsAServerThatWaitsLess() throws Exception {
        Partner partner = Partner.create(server, List.of("reservations.*"));
        SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                .build();
        EventFeed feed = client.eventFeed(EventFeed.Options.after(0)); // asks for 30 s

        long started = System.nanoTime();
        assertThat(feed.poll())
                .as("nothing yet: the server's 2 s wait ends empty")
                .isEmpty();
        assertThat(Duration.ofNanos(System.nanoTime() - started))
                .isBetween(Duration.ofMillis(1_800), Duration.ofSeconds(10));

        CompletableFuture<Event> first =
                CompletableFuture.supplyAsync(() -> feed.iterator().next());
        Thread.sleep(300); // the iterator's long poll is waiting
        client.records("reservations").create(Map.of("state", "confirmed"));
        assertThat(first.get(10, TimeUnit.SECONDS).seq()).isEqualTo(1);
    }

    @Test
    void aRefusalOfAnythingElseIsThrown() {
        Partner partner = Partner.create(server, List.of("reservations.*"));
        SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                .build();
        EventFeed feed =
                client.eventFeed(new EventFeed.Options(0, List.of("not a pattern"), 10, Duration.ofSeconds(1)));
        assertThatThrownBy(feed::poll)
                .isInstanceOfSatisfying(
                        ApiException.InvalidRequest.class,
                        e -> assertThat(e.details().path("field").asText()).isEqualTo("types[0]"));
    }
}
