package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.events.Event;
import dev.switchboard.support.Json;
import dev.switchboard.testing.Fast;
import java.time.Instant;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

@Fast
class MessageBodyTest {
    private static Event event(long seq, String data) {
        return new Event(
                "evt_" + seq,
                seq,
                "reservations.updated",
                "rec_" + seq,
                Instant.parse("2026-11-24T10:00:00Z"),
                data,
                null);
    }

    @Test
    void anEventsBodyHoldsTheTenantTheIntegrationAndTheEventsInOrderUpToTheBatchSize() {
        List<Event> events = LongStream.rangeClosed(1, 5)
                .mapToObj(s -> event(s, "{\"id\":\"rec_" + s + "\"}"))
                .toList();
        MessageBody.Batch batch = MessageBody.events("hotel-1", "int_1", events, 3);
        assertThat(batch.count()).isEqualTo(3);
        JsonNode body = Json.read(batch.json());
        assertThat(body.get("tenantId").asText()).isEqualTo("hotel-1");
        assertThat(body.get("integrationId").asText()).isEqualTo("int_1");
        assertThat(body.get("events")).extracting(e -> e.get("seq").asLong()).containsExactly(1L, 2L, 3L);
        assertThat(body.get("events").get(0).get("data").get("id").asText()).isEqualTo("rec_1");
        assertThat(body.get("events").get(0).fieldNames())
                .toIterable()
                .containsExactly("id", "seq", "type", "subject", "time", "data");
    }

    @Test
    void largeEventsRollOverIntoTheNextMessageButOneAlwaysFits() {
        String big = "{\"blob\":\"" + "x".repeat(600 * 1024) + "\"}";
        List<Event> events = List.of(event(1, big), event(2, big), event(3, "{}"));
        assertThat(MessageBody.events("t", "i", events, 100).count()).isEqualTo(1);
        String huge = "{\"blob\":\"" + "x".repeat(2 * 1024 * 1024) + "\"}";
        assertThat(MessageBody.events("t", "i", List.of(event(1, huge)), 100).count())
                .isEqualTo(1);
    }

    @Test
    void aLifecycleBodyCarriesOneEventWithTheNewAccessTokenAddedOnlyToTheBodyThatIsSent() {
        Event created = new Event(
                "evt_9",
                4,
                "connection.created",
                "con_1",
                Instant.parse("2026-11-24T10:00:00Z"),
                "{\"connectionId\":\"con_1\",\"tenantId\":\"hotel-1\",\"state\":\"enabled\"}",
                null);
        String stored = MessageBody.lifecycle(created, "int_1");
        assertThat(Json.read(stored).get("data").has("accessToken")).isFalse();
        assertThat(MessageBody.withAccessToken(stored, null)).isEqualTo(stored);
        JsonNode body = Json.read(MessageBody.withAccessToken(stored, "sb_access_new"));
        assertThat(body.get("type").asText()).isEqualTo("connection.created");
        assertThat(body.get("integrationId").asText()).isEqualTo("int_1");
        assertThat(body.get("data").get("accessToken").asText()).isEqualTo("sb_access_new");
        assertThat(body.get("data").get("connectionId").asText()).isEqualTo("con_1");
    }

    @Test
    void anEventIsWrittenExactlyAsJacksonWritesIt() {
        List<Event> events = List.of(
                event(1, "{\"id\":\"rec_1\"}"),
                new Event(
                        "evt_2",
                        2,
                        "tests.\"quoted\"\\",
                        null,
                        Instant.parse("2026-11-24T10:00:00.123456789Z"),
                        "[1, 2]",
                        null),
                new Event(
                        "evt_3",
                        3,
                        "rooms.créé",
                        "sub\u0001\n\u2028✓😀",
                        Instant.parse("2026-11-24T10:00:00.120Z"),
                        "null",
                        null),
                new Event(
                        "evt_4", 4, "custom", "s", Instant.ofEpochSecond(0), "{\"a\": {\"b\": \"</script>\"}}", null));
        for (Event e : events) {
            assertThat(MessageBody.eventJson(e)).isEqualTo(Json.write(e));
        }
    }
}
