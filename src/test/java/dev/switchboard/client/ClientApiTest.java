package dev.switchboard.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The Java client's records API, typed errors, retries and event feed, against the real server. */
@Timeout(120)
class ClientApiTest {
    static TestServer server;

    @BeforeAll
    static void start() {
        server =
                TestServer.start(Map.of("SWITCHBOARD_RATE_LIMIT_REQUESTS", "8", "SWITCHBOARD_RATE_LIMIT_WINDOW", "2s"));
        server.createCollection("reservations", "eventFields", List.of("state"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static SwitchboardClient client(Partner partner) {
        return SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                .build();
    }

    @Test
    void recordsCanBeCreatedReadUpdatedListedAndDeleted() {
        Partner partner = Partner.create(server, List.of("*"));
        Records reservations = client(partner).records("reservations");

        DataRecord created = reservations.create(Map.of("state", "confirmed", "nights", 2), "order-1");
        DataRecord again = reservations.create(Map.of("state", "confirmed", "nights", 2), "order-1");
        assertThat(again.id())
                .as("the idempotency key returns the first result")
                .isEqualTo(created.id());
        assertThat(created.version()).isEqualTo(1);
        assertThat(created.data().get("nights").asInt()).isEqualTo(2);
        // Sent as a header, "clé" would reach the server as another key ("cl?"): refused before it is sent.
        assertThatThrownBy(() -> reservations.create(Map.of("state", "confirmed"), "clé-1"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("printable ASCII");

        assertThat(reservations.get(created.id()).data().get("state").asText()).isEqualTo("confirmed");

        DataRecord updated = reservations.update(created.id(), Map.of("state", "checked_in"), 1L);
        assertThat(updated.version()).isEqualTo(2);
        assertThat(updated.data().get("state").asText()).isEqualTo("checked_in");
        assertThat(updated.data().get("nights").asInt())
                .as("a merge patch keeps other fields")
                .isEqualTo(2);

        assertThatThrownBy(() -> reservations.update(created.id(), Map.of("state", "x"), 1L))
                .isInstanceOfSatisfying(ApiException.Conflict.class, e -> {
                    assertThat(e.status()).isEqualTo(409);
                    assertThat(e.code()).isNotBlank();
                    assertThat(e.requestId()).isNotBlank();
                });

        // A delete at a stale version deletes nothing; at the record's version it deletes.
        assertThatThrownBy(() -> reservations.delete(created.id(), 1L))
                .isInstanceOfSatisfying(
                        ApiException.Conflict.class,
                        e -> assertThat(e.details().path("currentVersion").asLong())
                                .isEqualTo(2));
        assertThat(reservations.get(created.id()).version()).isEqualTo(2);
        reservations.delete(created.id(), 2L);
        assertThatThrownBy(() -> reservations.get(created.id()))
                .isInstanceOfSatisfying(ApiException.NotFound.class, e -> {
                    assertThat(e.code()).isEqualTo("not_found");
                    assertThat(e.requestId()).isNotBlank();
                    assertThat(e.getMessage()).contains("404").contains(e.requestId());
                });
    }

    /** Read as doubles, these lost digits, and a record read, changed and written back would have stored the loss. */
    @Test
    void decimalsComeBackWithEveryDigit() {
        Records reservations = client(Partner.create(server, List.of("*"))).records("reservations");
        DataRecord created = reservations.create(Map.of(
                "amount", new java.math.BigDecimal("12345678901234567.89"),
                "rate", new java.math.BigDecimal("0.1000000000000000055511151231257827")));
        JsonNode read = reservations.get(created.id()).data();
        assertThat(read.get("amount").decimalValue()).isEqualByComparingTo("12345678901234567.89");
        assertThat(read.get("rate").decimalValue()).isEqualByComparingTo("0.1000000000000000055511151231257827");
    }

    @Test
    void listIteratesOverEveryPage() throws Exception {
        Partner partner = Partner.create(server, List.of("*"));
        SwitchboardClient client = client(partner);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 23; i++) {
            ids.add(client.records("reservations").create(Map.of("n", i)).id());
        }
        List<DataRecord> listed = StreamSupport.stream(
                        client.records("reservations")
                                .list(Records.ListOptions.pageSize(5))
                                .spliterator(),
                        false)
                .toList();
        assertThat(listed).extracting(DataRecord::id).containsExactlyInAnyOrderElementsOf(ids);
    }

    @Test
    void listByIdsSelectsThoseAndAnEmptyListSelectsNone() {
        Partner partner = Partner.create(server, List.of("*"));
        Records reservations = client(partner).records("reservations");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(reservations.create(Map.of("n", i)).id());
        }
        assertThat(reservations.list(new Records.ListOptions(10, null, null, ids.subList(0, 2))))
                .extracting(DataRecord::id)
                .containsExactlyInAnyOrderElementsOf(ids.subList(0, 2));
        assertThat(reservations.list(new Records.ListOptions(10, null, null, List.of())))
                .as("an empty list of ids selects no record, as an empty ids= does")
                .isEmpty();
        assertThat(reservations.list(new Records.ListOptions(10, null, null, null)))
                .extracting(DataRecord::id)
                .containsExactlyInAnyOrderElementsOf(ids);
        assertThat(reservations.list()).extracting(DataRecord::id).containsExactlyInAnyOrderElementsOf(ids);
        assertThatThrownBy(() -> new Records.ListOptions(10, null, null, List.of(ids.get(0) + "," + ids.get(1))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("comma");
    }

    @Test
    void invalidInputIsATypedErrorNamingTheField() {
        Partner partner = Partner.create(server, List.of("*"));
        Instant now = Instant.now();
        assertThatThrownBy(() -> client(partner)
                        .records("reservations")
                        .list(new Records.ListOptions(10, now, now.minusSeconds(60), null))
                        .iterator()
                        .hasNext())
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(400);
                    assertThat(e.code()).isEqualTo("invalid_field");
                    assertThat(e.details().path("field").asText()).isEqualTo("updatedTo");
                });
        assertThatThrownBy(() -> client(partner).records("no-such-collection").create(Map.of("a", 1)))
                .isInstanceOfSatisfying(
                        ApiException.class, e -> assertThat(e.code()).isEqualTo("not_found"));
        SwitchboardClient wrongToken =
                SwitchboardClient.builder(server.baseUrl(), "sb_access_nope").build();
        assertThatThrownBy(() -> wrongToken.records("reservations").get("rec_x"))
                .isInstanceOf(ApiException.Unauthorized.class);
    }

    @Test
    void rateLimitedRequestsWaitForRetryAfterAndSucceed() {
        Partner partner = Partner.create(server, List.of("*"));
        // 8 requests per 2 s: 20 requests get 429s along the way and wait them out.
        SwitchboardClient patient = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                .maxRetries(5)
                .build();
        for (int i = 0; i < 20; i++) {
            patient.records("reservations").create(Map.of("n", i));
        }
        SwitchboardClient impatient = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                .maxRetries(0)
                .build();
        assertThatThrownBy(() -> {
                    for (int i = 0; i < 20; i++) {
                        impatient.records("reservations").create(Map.of("n", i));
                    }
                })
                .isInstanceOfSatisfying(ApiException.RateLimited.class, e -> {
                    assertThat(e.status()).isEqualTo(429);
                    assertThat(e.retryAfter()).isPresent();
                    assertThat(e.retryAfter().get()).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(2));
                });
    }

    @Test
    void theEventFeedLongPollsInOrder() throws Exception {
        Partner partner = Partner.create(server, List.of("reservations.*"));
        SwitchboardClient client = client(partner);
        EventFeed feed = client.eventFeed(new EventFeed.Options(0, List.of(), 2, Duration.ofSeconds(10)));
        CompletableFuture<List<Event>> read = CompletableFuture.supplyAsync(() -> {
            List<Event> events = new ArrayList<>();
            for (Event e : feed) {
                events.add(e);
                if (events.size() == 5) {
                    return events;
                }
            }
            return events;
        });
        Thread.sleep(300); // the first poll is waiting
        for (int i = 0; i < 5; i++) {
            client.records("reservations").create(Map.of("state", "s" + i));
        }
        List<Event> events = read.get(30, TimeUnit.SECONDS);
        assertThat(events).extracting(Event::seq).containsExactly(1L, 2L, 3L, 4L, 5L);
        assertThat(events).extracting(Event::type).containsOnly("reservations.created");
        JsonNode data = events.get(4).data();
        assertThat(data.get("state").asText()).isEqualTo("s4");
        assertThat(feed.position()).isEqualTo(5);
    }

    @Test
    void theIteratorsPositionNamesTheLastEventHandedOutNotTheRestOfItsPage() {
        Partner partner = Partner.create(server, List.of("reservations.*"));
        SwitchboardClient client = client(partner);
        for (int i = 0; i < 5; i++) {
            client.records("reservations").create(Map.of("state", "s" + i));
        }
        EventFeed feed = client.eventFeed(new EventFeed.Options(0, List.of(), 2, Duration.ofSeconds(1)));
        List<Long> positions = new ArrayList<>();
        for (Event e : feed) {
            positions.add(feed.position());
            if (e.seq() == 5) {
                break;
            }
        }
        // Saved after each event is handled, the position names that event, never the rest of its page
        // (pages of 2 here): a crash mid-page must not skip the page's other events.
        assertThat(positions).containsExactly(1L, 2L, 3L, 4L, 5L);

        // A loop left mid-page, then another: it goes on from the position, the rest of the page first.
        EventFeed again = client.eventFeed(new EventFeed.Options(0, List.of(), 2, Duration.ofSeconds(1)));
        for (Event e : again) {
            break; // seq 1 handled, seq 2 read but not handed out
        }
        assertThat(again.position()).isEqualTo(1);
        assertThat(again.iterator().next().seq()).isEqualTo(2);
    }

    @Test
    void theConnectionNamesItsTenantAndIntegration() {
        Partner partner = Partner.create(server, List.of("*"));
        ConnectionInfo connection = client(partner).connection();
        assertThat(connection.id()).isEqualTo(partner.connectionId());
        assertThat(connection.tenantId()).isEqualTo(partner.tenant());
        assertThat(connection.integrationId()).isEqualTo(partner.integrationId());
        assertThat(connection.state()).isEqualTo("enabled");
        SwitchboardClient admin = SwitchboardClient.builder(server.baseUrl(), TestServer.ADMIN_KEY)
                .tenant(partner.tenant())
                .build();
        assertThatThrownBy(admin::connection).isInstanceOf(ApiException.Forbidden.class);
    }
}
