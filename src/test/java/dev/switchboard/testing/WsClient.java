package dev.switchboard.testing;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.awaitility.Awaitility;

/**
 * A real WebSocket client (java.net.http) for tests: records every message it receives as JSON, and
 * how the socket ended. It reads eagerly, like a healthy client.
 */
public final class WsClient implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private final WebSocket socket;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Integer> closed = new CompletableFuture<>();
    private volatile String closeReason;

    private WsClient(URI uri, Map<String, String> headers) {
        WebSocket.Builder builder = HTTP.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5));
        headers.forEach(builder::header);
        this.socket = builder.buildAsync(uri, new Listener())
                .orTimeout(10, TimeUnit.SECONDS)
                .join();
    }

    /** Connects with the token in the Authorization header; {@code query} is appended to the path (e.g. "?after=3"). */
    public static WsClient connect(TestServer server, String token, String query) {
        return new WsClient(uri(server, query), Map.of("Authorization", "Bearer " + token));
    }

    public static WsClient connect(TestServer server, Map<String, String> headers, String query) {
        return new WsClient(uri(server, query), headers);
    }

    private static URI uri(TestServer server, String query) {
        return URI.create(server.baseUrl().replace("http://", "ws://") + "/api/v1/ws" + (query == null ? "" : query));
    }

    private final class Listener extends JsonTextListener {
        @Override
        protected void onJson(JsonNode message) {
            received.add(new Received(message, System.nanoTime()));
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            closeReason = reason;
            closed.complete(statusCode);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            closeReason = error.toString();
            closed.complete(-1);
        }
    }

    public void send(String text) {
        socket.sendText(text, true).orTimeout(5, TimeUnit.SECONDS).join();
    }

    public void sendBinary(byte[] bytes) {
        socket.sendBinary(ByteBuffer.wrap(bytes), true)
                .orTimeout(5, TimeUnit.SECONDS)
                .join();
    }

    /** Sends {@code {"type":"request","id","method","params"}} without waiting for its response. */
    public void sendRequest(String id, String method, Object params) {
        send(dev.switchboard.support.Json.write(
                Map.of("type", "request", "id", id, "method", method, "params", params)));
    }

    /** Sends a request and waits for its response. */
    public JsonNode request(String id, String method, Object params) {
        sendRequest(id, method, params);
        return awaitResponse(id);
    }

    /** Waits for the response with this id. */
    public JsonNode awaitResponse(String id) {
        return await(m -> m.path("type").asText().equals("response")
                && m.path("id").asText().equals(id));
    }

    /** Every response received so far, in arrival order. */
    public List<JsonNode> responses() {
        return messages().stream()
                .filter(m -> m.path("type").asText().equals("response"))
                .toList();
    }

    /** A message and when it arrived ({@link System#nanoTime()}), for measuring latency. */
    public record Received(JsonNode message, long nanos) {}

    public List<Received> received() {
        return List.copyOf(received);
    }

    public List<JsonNode> messages() {
        return received.stream().map(Received::message).toList();
    }

    /** Waits for a message of this type and returns the first one. */
    public JsonNode await(String type) {
        return await(m -> m.path("type").asText().equals(type));
    }

    public JsonNode await(Predicate<JsonNode> test) {
        Awaitility.await()
                .atMost(Duration.ofSeconds(15))
                .until(() -> messages().stream().anyMatch(test));
        return messages().stream().filter(test).findFirst().orElseThrow();
    }

    /** Every event received so far, in arrival order. */
    public List<JsonNode> events() {
        List<JsonNode> events = new ArrayList<>();
        for (JsonNode m : messages()) {
            if (m.path("type").asText().equals("events")) {
                m.get("events").forEach(events::add);
            }
        }
        return events;
    }

    public List<Long> seqs() {
        return events().stream().map(e -> e.get("seq").asLong()).toList();
    }

    /** Waits until at least {@code count} events arrived; returns them. */
    public List<JsonNode> awaitEvents(int count) {
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> events().size() >= count);
        return events();
    }

    /** Waits for the socket to end; returns the close code (-1: ended without a close frame). */
    public int awaitClose() {
        return closed.orTimeout(20, TimeUnit.SECONDS).join();
    }

    public boolean isClosed() {
        return closed.isDone();
    }

    public String closeReason() {
        return closeReason;
    }

    @Override
    public void close() {
        if (!socket.isOutputClosed()) {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "").exceptionally(e -> null);
        }
        socket.abort();
    }
}
