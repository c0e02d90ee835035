package dev.switchboard.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A tenant's events over the WebSocket ({@code GET /api/v1/ws}), delivered to a {@link Listener} in
 * {@code seq} order, resumed without loss or repetition across reconnects and restarts.
 *
 * <p>Each connection asks for the events after the position the {@link CursorStore} holds. The listener
 * is called on the stream's own thread, one batch at a time; when it returns, the batch's last
 * {@code seq} is saved. If it throws, the socket is dropped and the stream reconnects from the saved
 * position, so the same batch comes again: delivery is at least once and has no gaps, and exactly once
 * when the listener keeps the cursor with its effects.
 *
 * <p>A dropped connection, a close the server marks "reconnect" (1011, 1012, 1013, 4100-4199), a failed
 * handshake other than 400/401/403, or silence longer than the heartbeat timeout, is followed by a
 * reconnect after a {@link Backoff} wait (full jitter). Closes that mean "do not reconnect" (1000, 1002,
 * 1003, 1007, 1009, 4000-4099: the connection was disabled, deleted or its token rotated) and refused
 * handshakes end the stream in {@link State#CLOSED}, reported to {@link Listener#onClosed}.
 */
public final class EventStream implements AutoCloseable {
    /** Where the stream is. */
    public enum State {
        /** Opening the first connection. */
        CONNECTING,
        /** A connection is open: replayed and live events flow. */
        LIVE,
        /** The connection was lost; waiting (backoff) or opening the next one. */
        RECONNECTING,
        /** Ended, by {@link #close()} or by a close or refusal that means "do not reconnect". */
        CLOSED
    }

    /** Receives a stream's events and what happens to it. Every method is called on the stream's thread. */
    @FunctionalInterface
    public interface Listener {
        /**
         * A batch of events in {@code seq} order. When this returns, the last one's {@code seq} is saved;
         * when it throws, the batch is delivered again after a reconnect.
         */
        void onEvents(List<Event> events) throws Exception;

        /** The stream moved to {@code state}. */
        default void onStateChange(State state) {}

        /**
         * The saved position was older than the server's retention ({@code resume_failed}): the events
         * after it are gone. Resynchronise through the records API; live events follow from
         * {@code message.position}, which is saved when this returns.
         */
        default void onResumeFailed(JsonNode message) {}

        /** Something went wrong and the stream will reconnect (a lost connection, a listener that threw). */
        default void onError(Throwable error) {}

        /**
         * The stream ended for good because the server said not to reconnect: {@code code} is the close
         * code (4001 disabled, 4002 deleted, 4003 token rotated, …) or, for a refused handshake, the HTTP
         * status (400, 401, 403).
         */
        default void onClosed(int code, String reason) {}
    }

    /**
     * How the stream behaves.
     *
     * @param eventTypes event-type patterns to receive ({@code reservations.*}); empty: all the token may
     *     receive. Sent as a {@code subscribe} and applied to replayed events as well.
     * @param backoff waits between reconnects (full jitter)
     * @param heartbeatInterval how often the client sends its own {@code ping} when nothing is heard
     * @param heartbeatTimeout silence after which the connection is taken for dead and replaced
     * @param connectTimeout how long a handshake may take
     */
    public record Options(
            List<String> eventTypes,
            Backoff backoff,
            Duration heartbeatInterval,
            Duration heartbeatTimeout,
            Duration connectTimeout) {
        /** Checks the values. */
        public Options {
            eventTypes = eventTypes == null ? List.of() : List.copyOf(eventTypes);
            Objects.requireNonNull(backoff, "backoff");
            if (heartbeatInterval.toMillis() < 100 || heartbeatTimeout.compareTo(heartbeatInterval) <= 0) {
                throw new IllegalArgumentException(
                        "the heartbeat interval must be at least 100 ms and shorter than its timeout");
            }
        }

        /** Every type, {@link Backoff#DEFAULT}, a ping after 20 s of silence, dead after 60 s, 10 s handshakes. */
        public static Options defaults() {
            return new Options(
                    List.of(), Backoff.DEFAULT, Duration.ofSeconds(20), Duration.ofSeconds(60), Duration.ofSeconds(10));
        }

        /** These options receiving only {@code patterns}. */
        public Options withEventTypes(List<String> patterns) {
            return new Options(patterns, backoff, heartbeatInterval, heartbeatTimeout, connectTimeout);
        }

        /** These options with another backoff. */
        public Options withBackoff(Backoff backoff) {
            return new Options(eventTypes, backoff, heartbeatInterval, heartbeatTimeout, connectTimeout);
        }

        /** These options with another heartbeat. */
        public Options withHeartbeat(Duration interval, Duration timeout) {
            return new Options(eventTypes, backoff, interval, timeout, connectTimeout);
        }
    }

    private static final Object PONG = new Object();

    private final SwitchboardClient client;
    private final Options options;
    private final CursorStore cursors;
    private final Listener listener;
    private final Thread thread;
    private final CountDownLatch ended = new CountDownLatch(1);
    private final Object sendLock = new Object();
    private volatile State state = State.CONNECTING;
    private volatile boolean closing;
    private volatile WebSocket socket;
    private volatile int closeCode = -1;
    private volatile String closeReason;
    private volatile long connections;

    private EventStream(SwitchboardClient client, Options options, CursorStore cursors, Listener listener) {
        this.client = client;
        this.options = options;
        this.cursors = Objects.requireNonNull(cursors, "cursors");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.thread = new Thread(this::run, "switchboard-event-stream");
    }

    static EventStream open(SwitchboardClient client, Options options, CursorStore cursors, Listener listener) {
        EventStream stream = new EventStream(client, options, cursors, listener);
        stream.thread.start();
        return stream;
    }

    /** The stream's state now. */
    public State state() {
        return state;
    }

    /** How many connections have opened so far (1 after the first, 2 after a reconnect, …). */
    public long connections() {
        return connections;
    }

    /** The code the stream ended with (see {@link Listener#onClosed}), or -1 while it runs or after {@link #close()}. */
    public int closeCode() {
        return closeCode;
    }

    /** The reason the stream ended with, or null. */
    public String closeReason() {
        return closeReason;
    }

    /** Waits until the stream has ended; true when it has. */
    public boolean awaitClosed(Duration timeout) throws InterruptedException {
        return ended.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Closes the socket (code 1000) and ends the stream. When called from outside the listener, waits for a
     * listener call in progress to return first, so nothing is delivered after this returns.
     */
    @Override
    public void close() {
        closing = true;
        WebSocket ws = socket;
        if (ws != null) {
            send(ws, () -> ws.sendClose(WebSocket.NORMAL_CLOSURE, "closed by the client"));
        }
        if (Thread.currentThread() != thread) {
            thread.interrupt();
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void run() {
        try {
            int attempt = 0;
            while (!closing) {
                Outcome outcome = connectOnce();
                if (outcome.opened) {
                    attempt = 0;
                }
                if (outcome.terminal && !closing) {
                    closeCode = outcome.code;
                    closeReason = outcome.reason;
                    setState(State.CLOSED);
                    listener.onClosed(outcome.code, outcome.reason);
                    return;
                }
                if (closing) {
                    break;
                }
                setState(State.RECONNECTING);
                if (outcome.error != null) {
                    listener.onError(outcome.error);
                }
                Thread.sleep(options.backoff().delay(attempt++).toMillis());
            }
        } catch (InterruptedException e) {
            // closed
        } finally {
            WebSocket ws = socket;
            if (ws != null) {
                ws.abort();
            }
            if (state != State.CLOSED) {
                setState(State.CLOSED);
            }
            ended.countDown();
        }
    }

    private record Outcome(boolean opened, boolean terminal, int code, String reason, Throwable error) {}

    private Outcome connectOnce() throws InterruptedException {
        OptionalLong after = cursors.load();
        URI base = client.baseUrl();
        String scheme = "https".equals(base.getScheme()) ? "wss" : "ws";
        URI uri = URI.create(scheme + base.toString().substring(base.getScheme().length()) + "/api/v1/ws"
                + (after.isPresent() ? "?after=" + after.getAsLong() : ""));
        BlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
        WebSocket ws;
        try {
            WebSocket.Builder builder = client.http()
                    .newWebSocketBuilder()
                    .connectTimeout(options.connectTimeout())
                    .header("Authorization", "Bearer " + client.token());
            ws = builder.buildAsync(uri, new Inbox(inbox))
                    .get(options.connectTimeout().toMillis() + 5_000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof WebSocketHandshakeException refused) {
                int status = refused.getResponse().statusCode();
                if (status == 400 || status == 401 || status == 403) {
                    return new Outcome(
                            false,
                            true,
                            status,
                            "the server refused the connection: HTTP " + status + " "
                                    + refused.getResponse().body(),
                            cause);
                }
                return new Outcome(false, false, status, "HTTP " + status, cause);
            }
            return new Outcome(false, false, 0, String.valueOf(cause), cause);
        } catch (TimeoutException e) {
            return new Outcome(false, false, 0, "the handshake timed out", e);
        }
        socket = ws;
        connections++;
        if (closing) {
            send(ws, () -> ws.sendClose(WebSocket.NORMAL_CLOSURE, "closed by the client"));
            return new Outcome(true, false, 1000, "closed", null);
        }
        setState(State.LIVE);
        if (!options.eventTypes().isEmpty()) {
            send(ws, () -> ws.sendText(json(Map.of("type", "subscribe", "eventTypes", options.eventTypes())), true));
        }
        ws.request(1);
        long lastHeard = System.nanoTime();
        long lastPing = lastHeard;
        long intervalNanos = options.heartbeatInterval().toNanos();
        long timeoutNanos = options.heartbeatTimeout().toNanos();
        while (true) {
            Object message = inbox.poll(Math.max(10, intervalNanos / 4 / 1_000_000), TimeUnit.MILLISECONDS);
            long now = System.nanoTime();
            if (message == null) {
                if (now - lastHeard > timeoutNanos) {
                    ws.abort();
                    return new Outcome(
                            true,
                            false,
                            0,
                            "heartbeat timeout",
                            new IOException("nothing heard from the server for "
                                    + options.heartbeatTimeout().toMillis() + " ms"));
                }
                if (now - lastHeard > intervalNanos && now - lastPing > intervalNanos) {
                    lastPing = now;
                    send(ws, () -> ws.sendText("{\"type\":\"ping\"}", true));
                }
                continue;
            }
            lastHeard = now;
            if (message == PONG) {
                continue;
            }
            if (message instanceof Closed closed) {
                if (closing) {
                    return new Outcome(true, false, closed.code, closed.reason, null);
                }
                boolean terminal = doNotReconnect(closed.code);
                return new Outcome(
                        true,
                        terminal,
                        closed.code,
                        closed.reason,
                        terminal
                                ? null
                                : new IOException(
                                        "the server closed the connection: " + closed.code + " " + closed.reason));
            }
            if (message instanceof Throwable error) {
                ws.abort();
                return new Outcome(true, false, 0, String.valueOf(error), error);
            }
            try {
                handle((String) message);
            } catch (Exception e) {
                ws.abort();
                return new Outcome(true, false, 0, "the listener failed: " + e, e);
            }
            // Silence while the listener worked is not the server's: count from now.
            lastHeard = System.nanoTime();
            ws.request(1);
        }
    }

    private void handle(String text) throws Exception {
        JsonNode message = SwitchboardClient.MAPPER.readTree(text);
        switch (message.path("type").asText()) {
            case "events" -> {
                List<Event> events = new ArrayList<>();
                long last = -1;
                for (JsonNode json : message.path("events")) {
                    Event event = Event.from(json);
                    last = Math.max(last, event.seq());
                    if (wanted(event.type())) {
                        events.add(event);
                    }
                }
                if (!events.isEmpty()) {
                    listener.onEvents(List.copyOf(events));
                }
                if (last >= 0 && !closing) {
                    cursors.save(last);
                }
            }
            case "live" -> {
                // Everything up to the position was sent: a cursor behind it (or none) may move up to it.
                long position = message.path("position").asLong(-1);
                OptionalLong saved = cursors.load();
                if (position >= 0 && (saved.isEmpty() || saved.getAsLong() < position)) {
                    cursors.save(position);
                }
            }
            case "resume_failed" -> {
                listener.onResumeFailed(message);
                long position = message.path("position").asLong(-1);
                if (position >= 0 && !closing) {
                    cursors.save(position);
                }
            }
            default -> {
                // subscribed, pong, error: nothing to do
            }
        }
    }

    private boolean wanted(String type) {
        if (options.eventTypes().isEmpty()) {
            return true;
        }
        for (String pattern : options.eventTypes()) {
            if (pattern.equals("*")
                    || pattern.equals(type)
                    || (pattern.endsWith(".*") && type.startsWith(pattern.substring(0, pattern.length() - 1)))) {
                return true;
            }
        }
        return false;
    }

    /** The README's close-code table: these codes mean "do not reconnect (with this token)". */
    static boolean doNotReconnect(int code) {
        return code == 1000
                || code == 1002
                || code == 1003
                || code == 1007
                || code == 1009
                || (code >= 4000 && code <= 4099);
    }

    private void setState(State next) {
        if (state != next) {
            state = next;
            listener.onStateChange(next);
        }
    }

    private void send(WebSocket ws, java.util.function.Supplier<CompletionStage<WebSocket>> sending) {
        synchronized (sendLock) {
            try {
                sending.get().toCompletableFuture().get(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException | IllegalStateException e) {
                // The socket is going away; the read side reports it.
            }
        }
    }

    private static String json(Object value) {
        try {
            return SwitchboardClient.MAPPER.writeValueAsString(value);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private record Closed(int code, String reason) {}

    /** Gathers whole text messages; the stream's thread asks for the next one when it has handled this one. */
    private static final class Inbox implements WebSocket.Listener {
        private final BlockingQueue<Object> inbox;
        private final StringBuilder text = new StringBuilder();

        Inbox(BlockingQueue<Object> inbox) {
            this.inbox = inbox;
        }

        @Override
        public void onOpen(WebSocket webSocket) {}

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                inbox.add(text.toString());
                text.setLength(0);
            } else {
                webSocket.request(1);
            }
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
            inbox.add(PONG);
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
            inbox.add(PONG);
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            inbox.add(new Closed(statusCode, reason));
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            inbox.add(error);
        }
    }
}
