package dev.switchboard.testing;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A WebSocket client that follows a tenant's events the way the README tells partners to: it keeps
 * the last {@code seq} it received and, whenever its socket drops, reconnects with {@code ?after=<seq>}
 * (backing off until a server answers). The server to connect to is asked for on every attempt, so a
 * test can point it at a restarted server or at another node. It keeps every {@code seq} in arrival
 * order, so gaps and repeats across reconnects can be counted.
 */
public final class ResumingWsClient implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final Duration FIRST_BACKOFF = Duration.ofMillis(100);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(1);

    private final Supplier<String> baseUrl;
    private final String token;
    private final List<Long> seqs = new CopyOnWriteArrayList<>();
    private final List<JsonNode> complaints = new CopyOnWriteArrayList<>();
    private final List<Duration> catchUps = new CopyOnWriteArrayList<>();
    private final AtomicInteger reconnects = new AtomicInteger();
    private final List<Integer> refusedOpens = new CopyOnWriteArrayList<>();
    private final List<Integer> closeCodes = new CopyOnWriteArrayList<>();
    private volatile long lastSeq;
    private volatile Instant droppedAt;
    private volatile WebSocket socket;
    private volatile boolean closed;

    private ResumingWsClient(Supplier<String> baseUrl, String token) {
        this.baseUrl = baseUrl;
        this.token = token;
    }

    /** Starts following from the beginning of the log ({@code after=0}) on whatever server {@code baseUrl} names. */
    public static ResumingWsClient follow(Supplier<String> baseUrl, String token) {
        ResumingWsClient client = new ResumingWsClient(baseUrl, token);
        Thread.ofVirtual().start(() -> client.connect(false));
        return client;
    }

    /** Every event's seq received, in arrival order, over all sockets. */
    public List<Long> seqs() {
        return List.copyOf(seqs);
    }

    public long lastSeq() {
        return lastSeq;
    }

    /** Sockets opened after one dropped. */
    public int reconnects() {
        return reconnects.get();
    }

    /** For each reconnect: from noticing the drop to the new socket's {@code live} (the replay done). */
    public List<Duration> catchUps() {
        return List.copyOf(catchUps);
    }

    /** Failed attempts to open a socket: the handshake's HTTP status, or -1 when no answer came (nothing listening). */
    public List<Integer> refusedOpens() {
        return List.copyOf(refusedOpens);
    }

    /** The close code of every socket the server closed. */
    public List<Integer> closeCodes() {
        return List.copyOf(closeCodes);
    }

    /** Messages a healthy resume never gets: {@code resume_failed} and {@code error}. */
    public List<JsonNode> complaints() {
        return List.copyOf(complaints);
    }

    private void connect(boolean again) {
        Duration backoff = FIRST_BACKOFF;
        while (!closed) {
            URI uri = URI.create(baseUrl.get().replace("http://", "ws://") + "/api/v1/ws?after=" + lastSeq);
            try {
                socket = HTTP.newWebSocketBuilder()
                        .connectTimeout(Duration.ofSeconds(5))
                        .header("Authorization", "Bearer " + token)
                        .buildAsync(uri, new Listener())
                        .orTimeout(10, TimeUnit.SECONDS)
                        .join();
                if (closed) {
                    socket.abort(); // closed while this socket was opening
                } else if (again) {
                    reconnects.incrementAndGet();
                }
                return;
            } catch (RuntimeException e) {
                // no server there yet (killed, restarting, not ready): try again shortly
                Throwable cause = e.getCause() == null ? e : e.getCause();
                refusedOpens.add(
                        cause instanceof java.net.http.WebSocketHandshakeException refused
                                ? refused.getResponse().statusCode()
                                : -1);
            }
            try {
                Thread.sleep(backoff);
            } catch (InterruptedException e) {
                return;
            }
            backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
        }
    }

    private void dropped() {
        if (!closed) {
            droppedAt = Instant.now();
            Thread.ofVirtual().start(() -> connect(true));
        }
    }

    /** One per socket; the next socket opens only after this one ended, so messages arrive one at a time. */
    private final class Listener extends JsonTextListener {
        @Override
        protected void onJson(JsonNode message) {
            switch (message.path("type").asText()) {
                case "events" ->
                    message.get("events").forEach(e -> {
                        seqs.add(e.get("seq").asLong());
                        lastSeq = e.get("seq").asLong();
                    });
                case "live" -> {
                    Instant dropped = droppedAt;
                    if (dropped != null) {
                        catchUps.add(Duration.between(dropped, Instant.now()));
                        droppedAt = null;
                    }
                }
                case "resume_failed", "error" -> complaints.add(message);
                default -> {}
            }
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            closeCodes.add(statusCode);
            dropped();
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            dropped();
        }
    }

    @Override
    public void close() {
        closed = true;
        WebSocket s = socket;
        if (s != null) {
            s.abort();
        }
    }
}
