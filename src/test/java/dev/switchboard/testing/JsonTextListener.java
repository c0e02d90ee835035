package dev.switchboard.testing;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.switchboard.support.Json;
import java.net.http.WebSocket;
import java.util.concurrent.CompletionStage;

/**
 * A java.net.http WebSocket listener for JSON text messages: it joins a message's fragments, hands
 * the whole message on parsed, and asks for the next one (reading eagerly, like a healthy client).
 * java.net.http calls a listener for one fragment at a time, so the buffer needs no lock.
 */
abstract class JsonTextListener implements WebSocket.Listener {
    /**
     * The server's strictness, with room for its frames' envelopes: an events.list response, the
     * deepest, holds an event's data three levels below where an HTTP body holds a record's.
     */
    private static final ObjectMapper FRAMES = Json.wrapping(3);

    private final StringBuilder partial = new StringBuilder();

    /** One whole message. */
    protected abstract void onJson(JsonNode message);

    @Override
    public final CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
            String text = partial.toString();
            partial.setLength(0);
            try {
                onJson(FRAMES.readTree(text));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("the server sent a frame that is not JSON: " + text, e);
            }
        }
        ws.request(1);
        return null;
    }
}
