package dev.switchboard.webhooks;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.switchboard.events.Event;
import dev.switchboard.support.Json;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON bodies webhook requests carry. An events message holds a tenant's events in log order, as
 * many as fit both the endpoint's {@code maxBatchSize} and {@link #MAX_BYTES} (always at least one), so
 * a burst of large custom events rolls over into further messages instead of building one huge
 * request. A lifecycle message holds one {@code connection.*} event.
 */
public final class MessageBody {
    /** Beyond this size an events message closes and the next event starts a new one. */
    public static final int MAX_BYTES = 1024 * 1024;

    private MessageBody() {}

    /** An events body and how many of the given events it holds (a prefix of them). */
    public record Batch(String json, int count) {}

    public static Batch events(String tenantId, String integrationId, List<Event> events, int maxBatchSize) {
        StringBuilder body = new StringBuilder(256 + events.size() * 256);
        body.append("{\"tenantId\":");
        string(body, tenantId).append(",\"integrationId\":");
        string(body, integrationId).append(",\"events\":[");
        int bytes = body.length();
        int count = 0;
        for (Event event : events) {
            if (count == maxBatchSize) {
                break;
            }
            String json = eventJson(event);
            int size = json.getBytes(StandardCharsets.UTF_8).length + 1;
            if (count > 0 && bytes + size > MAX_BYTES) {
                break;
            }
            if (count > 0) {
                body.append(',');
            }
            body.append(json);
            bytes += size;
            count++;
        }
        return new Batch(body.append("]}").toString(), count);
    }

    /**
     * An event as the feed and WebSockets write it ({@code Json.write(event)} gives the same text), built
     * by hand: a stream sending one event per message builds one for every message, and Jackson's
     * general path costs several times more than these few appends.
     */
    static String eventJson(Event event) {
        StringBuilder json = new StringBuilder(160 + event.data().length());
        json.append("{\"id\":");
        string(json, event.id()).append(",\"seq\":").append(event.seq()).append(",\"type\":");
        string(json, event.type()).append(",\"subject\":");
        string(json, event.subject()).append(",\"time\":");
        string(json, event.time() == null ? null : event.time().toString()).append(",\"data\":");
        return json.append(event.data()).append('}').toString();
    }

    private static StringBuilder string(StringBuilder json, String value) {
        if (value == null) {
            return json.append("null");
        }
        json.append('"');
        JsonStringEncoder.getInstance().quoteAsString(value, json);
        return json.append('"');
    }

    /**
     * A lifecycle body as it is stored, without the access token the event may carry: the token is
     * added by {@link #withAccessToken} for each attempt, so it never rests in clear in the database
     * and is never shown by the messages API.
     */
    public static String lifecycle(Event event, String integrationId) {
        ObjectNode data = (ObjectNode) Json.read(event.data());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", event.id());
        body.put("type", event.type());
        body.put("time", event.time());
        body.put("integrationId", integrationId);
        body.put("data", data);
        return Json.write(body);
    }

    /** The body of a {@code webhook.test} request, shaped like the endpoint's real messages. */
    public static String test(WebhookEndpoint endpoint, String eventId, Instant time) {
        String data = Json.write(Map.of("webhookId", endpoint.id()));
        Event event = new Event(eventId, 0, "webhook.test", endpoint.id(), time, data, null);
        return endpoint.kind() == WebhookEndpoint.Kind.events
                ? events(null, endpoint.integrationId(), List.of(event), 1).json()
                : lifecycle(event, endpoint.integrationId());
    }

    /** The body as sent: a stored lifecycle body with the access token in its data (unchanged when there is none). */
    public static String withAccessToken(String storedBody, String accessToken) {
        if (accessToken == null) {
            return storedBody;
        }
        ObjectNode body = (ObjectNode) Json.read(storedBody);
        ((ObjectNode) body.get("data")).put("accessToken", accessToken);
        return Json.write(body);
    }
}
