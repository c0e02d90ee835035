package dev.switchboard.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;

/**
 * One event of a tenant's log, as the feed, the WebSocket and webhooks carry it: {@code id} is stable
 * and unique (de-duplicate on it), {@code seq} its position in the tenant's log (resume after it).
 *
 * @param id the event's id ({@code evt_…})
 * @param seq its position in the tenant's log: 1, 2, 3, … in commit order
 * @param type e.g. {@code reservations.updated} or a custom type such as {@code device.command}
 * @param subject the record id (or the custom event's subject); may be null
 * @param time when it was committed
 * @param data the event's data (thin: {@code {id, version}} and the collection's {@code eventFields})
 */
public record Event(String id, long seq, String type, String subject, Instant time, JsonNode data) {

    static Event from(JsonNode json) {
        JsonNode subject = json.get("subject");
        return new Event(
                json.path("id").asText(),
                json.path("seq").asLong(),
                json.path("type").asText(),
                subject == null || subject.isNull() ? null : subject.asText(),
                Instant.parse(json.path("time").asText()),
                json.get("data"));
    }
}
