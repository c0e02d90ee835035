package dev.switchboard.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import java.net.http.WebSocket;
import java.util.concurrent.CompletionStage;

/**
 * A java.net.http WebSocket listener for JSON text messages: it joins a message's fragments, hands
 * the whole message on parsed, and asks for the next one (reading eagerly, like a healthy client).
 * java.net.http calls a listener for one fragment at a time, so the buffer needs no lock.
 */
abstract class JsonTextListener implements WebSocket.Listener {
    private final StringBuilder partial = new StringBuilder();

    /** One whole message. */
    protected abstract void onJson(JsonNode message);

    @Override
    public final CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
            String text = partial.toString();
            partial.setLength(0);
            onJson(Json.read(text));
        }
        ws.request(1);
        return null;
    }
}
