package dev.switchboard.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

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
 *
 * <p>While {@link State#LIVE}, the stream also performs records and events operations on its socket
 * ({@link #request}, {@link #createRecord}, …), each answered by a {@link CompletableFuture}; see
 * {@link #request} for what they guarantee.
 */
public final class EventStream implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(EventStream.class.getName());

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
         * after it up to {@code message.oldestSeq} are gone. By default, resynchronise through the records
         * API; live events follow from {@code message.position}, which is saved when this returns. With
         * {@link Options#withResumeAtOldestKept()}, the stream saves the position before
         * {@code oldestSeq} instead and reconnects from it, so the events still kept come first.
         */
        default void onResumeFailed(JsonNode message) {}

        /** Something went wrong and the stream will reconnect (a lost connection, a listener that threw). */
        default void onError(Throwable error) {}

        /**
         * The stream ended for good because the server said not to reconnect: {@code code} is the close
         * code (4001 disabled, 4002 deleted, 4003 token rotated, …) or, for a refused handshake, the HTTP
         * status (400, 401, 403). A subscription the server refuses (an event-type pattern it does not
         * accept, or none within what the token may receive) ends the stream with 400 and the server's
         * reason.
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
     * @param requestTimeout how long a {@link #request} waits for its response before failing with
     *     {@link UnansweredRequestException}
     * @param resumeAtOldestKept on {@code resume_failed}, go on from the oldest event the server still keeps
     *     (reconnecting from the position before it) rather than from the live end
     */
    public record Options(
            List<String> eventTypes,
            Backoff backoff,
            Duration heartbeatInterval,
            Duration heartbeatTimeout,
            Duration connectTimeout,
            Duration requestTimeout,
            boolean resumeAtOldestKept) {
        /** Checks the values. */
        public Options {
            eventTypes = eventTypes == null ? List.of() : List.copyOf(eventTypes);
            Objects.requireNonNull(backoff, "backoff");
            if (heartbeatInterval.toMillis() < 100 || heartbeatTimeout.compareTo(heartbeatInterval) <= 0) {
                throw new IllegalArgumentException(
                        "the heartbeat interval must be at least 100 ms and shorter than its timeout");
            }
            if (requestTimeout.isNegative() || requestTimeout.isZero()) {
                throw new IllegalArgumentException("the request timeout must be positive, got " + requestTimeout);
            }
        }

        /** The options before {@code resumeAtOldestKept}, which is then off. */
        public Options(
                List<String> eventTypes,
                Backoff backoff,
                Duration heartbeatInterval,
                Duration heartbeatTimeout,
                Duration connectTimeout,
                Duration requestTimeout) {
            this(eventTypes, backoff, heartbeatInterval, heartbeatTimeout, connectTimeout, requestTimeout, false);
        }

        /**
         * Every type, {@link Backoff#DEFAULT}, a ping after 20 s of silence, dead after 60 s, 10 s handshakes,
         * 30 s for a request's response, live events after a {@code resume_failed}.
         */
        public static Options defaults() {
            return new Options(
                    List.of(),
                    Backoff.DEFAULT,
                    Duration.ofSeconds(20),
                    Duration.ofSeconds(60),
                    Duration.ofSeconds(10),
                    Duration.ofSeconds(30),
                    false);
        }

        /** These options receiving only {@code patterns}. */
        public Options withEventTypes(List<String> patterns) {
            return new Options(
                    patterns,
                    backoff,
                    heartbeatInterval,
                    heartbeatTimeout,
                    connectTimeout,
                    requestTimeout,
                    resumeAtOldestKept);
        }

        /** These options with another backoff. */
        public Options withBackoff(Backoff backoff) {
            return new Options(
                    eventTypes,
                    backoff,
                    heartbeatInterval,
                    heartbeatTimeout,
                    connectTimeout,
                    requestTimeout,
                    resumeAtOldestKept);
        }

        /** These options with another heartbeat. */
        public Options withHeartbeat(Duration interval, Duration timeout) {
            return new Options(
                    eventTypes, backoff, interval, timeout, connectTimeout, requestTimeout, resumeAtOldestKept);
        }

        /** These options with another wait for a request's response. */
        public Options withRequestTimeout(Duration timeout) {
            return new Options(
                    eventTypes,
                    backoff,
                    heartbeatInterval,
                    heartbeatTimeout,
                    connectTimeout,
                    timeout,
                    resumeAtOldestKept);
        }

        /**
         * These options going on, after a {@code resume_failed}, from the oldest event the server still keeps
         * rather than from the live end: for a client that forwards events rather than mirrors state (the
         * events lost to the retention stay lost; those kept are not skipped).
         */
        public Options withResumeAtOldestKept() {
            return new Options(
                    eventTypes, backoff, heartbeatInterval, heartbeatTimeout, connectTimeout, requestTimeout, true);
        }
    }

    private static final Object PONG = new Object();
    /** Frames read ahead of the listener before reading pauses (unless a request awaits its response). */
    private static final int READ_AHEAD = 32;

    private final SwitchboardClient client;
    private final Options options;
    private final CursorStore cursors;
    private final Listener listener;
    private final Thread thread;
    private final CountDownLatch ended = new CountDownLatch(1);
    private final Object sendLock = new Object();
    private volatile State state = State.CONNECTING;
    private volatile boolean closing;
    /** A subscribe was sent on this connection and not yet answered (only the stream's thread uses it). */
    private boolean subscribing;
    /**
     * The position reached while the subscribe was unanswered (-1: none), saved once it is accepted: the
     * events, and the replay's end, may all arrive before the answer, and nothing after it would move the
     * cursor past events the filter dropped until the next one the listener wants.
     */
    private long reachedWhileSubscribing = -1;
    /**
     * The connection delivered something: a batch the listener took, or the end of a replay. Only then is
     * the backoff started over; a server that opens and closes at once (busy, its database unreachable)
     * or a listener that fails on the first batch would otherwise be reconnected to every half second.
     */
    private boolean progressed;

    private volatile WebSocket socket;
    /** What the last refused handshake's Retry-After asked to wait (zero: nothing asked). */
    private Duration retryAfter = Duration.ZERO;

    private volatile int closeCode = -1;
    private volatile String closeReason;
    private volatile long connections;
    private volatile Connection current;
    private final AtomicLong requestIds = new AtomicLong();

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
     * Performs a records or events operation on the stream's socket: {@code method} is one of
     * {@code records.create}, {@code records.get}, {@code records.list}, {@code records.update},
     * {@code records.delete}, {@code events.list}, and {@code params} (a {@code Map}, a {@code JsonNode}, or
     * anything Jackson writes as a JSON object) takes the fields the README's WebSockets section lists for
     * it. Returns once the request is handed to the socket; the future completes exactly once:
     *
     * <ul>
     *   <li>with the {@link SocketResponse} when the server performed it. A write's response arrives
     *       before the listener is given the event the write appended (its {@link SocketResponse#seq()});
     *   <li>with the {@link ApiException} subclass the same operation gets over HTTP (same status, code
     *       and details) when the server refused it;
     *   <li>with a {@link SwitchboardException} at once, without sending anything, when the stream is not
     *       {@link State#LIVE} or 64 requests (the server's limit) already await responses
     *       on this socket;
     *   <li>with an {@link UnansweredRequestException} when no response came within
     *       {@link Options#requestTimeout()}, or the connection dropped or the stream closed first. A write
     *       whose response was lost may or may not have happened: retry a create with the same
     *       idempotency key, or an update with {@code ifMatch}, to make retrying safe. Requests are never
     *       resent by the stream.
     * </ul>
     *
     * <p>The future completes on the thread that reads the socket, and non-async stages chained to it run
     * there: keep them short (or use the {@code …Async} variants), since the socket is not read meanwhile.
     * A listener may wait for a request's response: while a request awaits its response the socket is
     * read on, ahead of the listener.
     */
    public CompletableFuture<SocketResponse> request(String method, Object params) {
        Objects.requireNonNull(method, "method");
        CompletableFuture<SocketResponse> future = new CompletableFuture<>();
        Connection connection = current;
        State now = state;
        if (now != State.LIVE || connection == null) {
            future.completeExceptionally(new SwitchboardException("the event stream is " + now
                    + ": requests are sent only while it is LIVE; " + method + " was not sent"));
            return future;
        }
        String id = "r" + requestIds.incrementAndGet();
        Map<String, Object> frame = new LinkedHashMap<>();
        frame.put("type", "request");
        frame.put("id", id);
        frame.put("method", method);
        frame.put("params", params == null ? Map.of() : params);
        String text;
        try {
            text = SwitchboardClient.MAPPER.writeValueAsString(frame);
        } catch (IOException e) {
            future.completeExceptionally(
                    new SwitchboardException("the params of " + method + " cannot be written as JSON: " + e, e));
            return future;
        }
        if (!connection.inbox.requests.register(id, method, future, options.requestTimeout())) {
            return future;
        }
        connection.inbox.resume(connection.ws);
        Throwable failed = send(connection.ws, () -> connection.ws.sendText(text, true));
        if (failed != null) {
            connection.inbox.requests.unsent(id, failed);
        }
        return future;
    }

    /**
     * Creates a record over the socket ({@code records.create}); with an idempotency key (null: none) a
     * retry returns the first create's record instead of creating another. See {@link #request} for how
     * the future completes.
     */
    public CompletableFuture<RecordWrite> createRecord(String collection, Object data, String idempotencyKey) {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("collection", collection);
        params.put("data", data);
        if (idempotencyKey != null) {
            params.put("idempotencyKey", idempotencyKey);
        }
        return request("records.create", params).thenApply(RecordWrite::from);
    }

    /** Reads a record over the socket ({@code records.get}); {@link ApiException.NotFound} when there is none. */
    public CompletableFuture<DataRecord> getRecord(String collection, String id) {
        return request("records.get", Map.of("collection", collection, "id", id))
                .thenApply(response -> DataRecord.from(response.result()));
    }

    /**
     * Applies a JSON Merge Patch to a record over the socket ({@code records.update}); with {@code ifMatch}
     * (null: none) only if the record is still at that version, else {@link ApiException.Conflict}.
     */
    public CompletableFuture<RecordWrite> updateRecord(String collection, String id, Object patch, Long ifMatch) {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("collection", collection);
        params.put("id", id);
        params.put("data", patch);
        if (ifMatch != null) {
            params.put("ifMatch", ifMatch);
        }
        return request("records.update", params).thenApply(RecordWrite::from);
    }

    /**
     * Closes the socket (code 1000) and ends the stream. When called from outside the listener, it
     * interrupts the stream's thread and waits up to 10 s for it to end: a listener call in progress
     * that waits interruptibly (a sleep, an HTTP call) is cut short, and its batch, not saved, is
     * delivered again by the next stream on the same cursor. A listener that runs longer than that may
     * still be running when this returns. Requests still awaiting responses fail with {@link
     * UnansweredRequestException}.
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
                progressed = false;
                Outcome outcome = connectGuarded();
                if (progressed) {
                    attempt = 0;
                }
                if (outcome.terminal && !closing) {
                    closeCode = outcome.code;
                    closeReason = outcome.reason;
                    setState(State.CLOSED);
                    inform(() -> listener.onClosed(outcome.code, outcome.reason));
                    return;
                }
                if (closing) {
                    break;
                }
                setState(State.RECONNECTING);
                if (outcome.error != null) {
                    inform(() -> listener.onError(outcome.error));
                }
                Duration wait = options.backoff().delay(attempt++);
                Thread.sleep(Math.max(wait.toMillis(), retryAfter.toMillis()));
                retryAfter = Duration.ZERO;
            }
        } catch (InterruptedException e) {
            // closed
        } catch (RuntimeException | Error e) {
            // A fault of the stream's own (or an out-of-memory error): said, not a thread that silently stops.
            closeCode = 0;
            closeReason = "the stream failed: " + e;
            LOG.log(System.Logger.Level.ERROR, "The EventStream failed and stopped", e);
            setState(State.CLOSED);
            inform(() -> listener.onClosed(0, closeReason));
        } finally {
            WebSocket ws = socket;
            if (ws != null) {
                ws.abort();
            }
            Connection connection = current;
            if (connection != null) {
                connection.inbox.requests.failAll("the stream closed", null);
            }
            if (state != State.CLOSED) {
                setState(State.CLOSED);
            }
            ended.countDown();
        }
    }

    private record Outcome(boolean terminal, int code, String reason, Throwable error) {}

    /** One connection; a cursor store that fails to load (its database down, say) is like a lost connection. */
    private Outcome connectGuarded() throws InterruptedException {
        try {
            return connectOnce();
        } catch (RuntimeException e) {
            return new Outcome(false, 0, String.valueOf(e), e);
        }
    }

    private Outcome connectOnce() throws InterruptedException {
        OptionalLong after = cursors.load();
        URI base = client.baseUrl();
        String scheme = "https".equals(base.getScheme()) ? "wss" : "ws";
        URI uri = URI.create(scheme + base.toString().substring(base.getScheme().length()) + "/api/v1/ws"
                + (after.isPresent() ? "?after=" + after.getAsLong() : ""));
        BlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
        Inbox reader = new Inbox(inbox);
        WebSocket ws;
        CompletableFuture<WebSocket> handshake = client.http()
                .newWebSocketBuilder()
                .connectTimeout(options.connectTimeout())
                .header("Authorization", "Bearer " + client.token())
                .buildAsync(uri, reader);
        try {
            ws = handshake.get(options.connectTimeout().toMillis() + 5_000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            // close() during a slow handshake: a socket it completes later must not stay open unowned.
            handshake.thenAccept(WebSocket::abort);
            throw e;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof WebSocketHandshakeException refused) {
                HttpResponse<?> response = refused.getResponse();
                int status = response.statusCode();
                String said = "the server refused the connection: HTTP " + status
                        + (response.body() == null ? "" : " " + response.body());
                if (status == 400 || status == 401 || status == 403) {
                    return new Outcome(true, status, said, cause);
                }
                // A 429 or 503 says when to come back; a shorter backoff would only be refused again. At most
                // the client's maxRetryAfter: a proxy's page asking for a day must not stop the stream that long.
                retryAfter = response.headers()
                        .firstValue("Retry-After")
                        .filter(v -> v.matches("\\d{1,9}"))
                        .map(v -> Duration.ofSeconds(Long.parseLong(v)))
                        .map(d -> d.compareTo(client.maxRetryAfter()) > 0 ? client.maxRetryAfter() : d)
                        .orElse(Duration.ZERO);
                // The JDK's exception has no message: said, an application can tell a wrong URL (404) from
                // an outage.
                return new Outcome(false, status, said, new IOException(said, cause));
            }
            return new Outcome(false, 0, String.valueOf(cause), cause);
        } catch (TimeoutException e) {
            handshake.thenAccept(WebSocket::abort);
            return new Outcome(false, 0, "the handshake timed out", e);
        }
        socket = ws;
        current = new Connection(ws, reader);
        connections++;
        try {
            return readUntilEnd(ws, reader, inbox);
        } finally {
            // Whatever ended the connection (a close, an abort, close()), nothing more will answer its requests.
            reader.requests.failAll("the connection was lost or closed", null);
        }
    }

    private Outcome readUntilEnd(WebSocket ws, Inbox reader, BlockingQueue<Object> inbox) throws InterruptedException {
        if (closing) {
            send(ws, () -> ws.sendClose(WebSocket.NORMAL_CLOSURE, "closed by the client"));
            return new Outcome(false, 1000, "closed", null);
        }
        setState(State.LIVE);
        subscribing = !options.eventTypes().isEmpty();
        reachedWhileSubscribing = -1;
        if (subscribing) {
            send(ws, () -> ws.sendText(json(Map.of("type", "subscribe", "eventTypes", options.eventTypes())), true));
        }
        ws.request(1);
        long lastHeard = System.nanoTime();
        long lastPing = lastHeard;
        long intervalNanos = options.heartbeatInterval().toNanos();
        long timeoutNanos = options.heartbeatTimeout().toNanos();
        while (true) {
            Object message = inbox.poll(Math.max(10, intervalNanos / 4 / 1_000_000), TimeUnit.MILLISECONDS);
            if (closing) {
                // close() was called (perhaps by the listener): no more batches, the read-ahead ones included.
                send(ws, () -> ws.sendClose(WebSocket.NORMAL_CLOSURE, "closed by the client"));
                return new Outcome(false, 1000, "closed", null);
            }
            if (inbox.size() < READ_AHEAD) {
                reader.resume(ws);
            }
            long now = System.nanoTime();
            if (message == null) {
                if (now - lastHeard > timeoutNanos) {
                    ws.abort();
                    return new Outcome(
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
                    return new Outcome(false, closed.code, closed.reason, null);
                }
                boolean terminal = doNotReconnect(closed.code);
                return new Outcome(
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
                return new Outcome(false, 0, String.valueOf(error), error);
            }
            Outcome ended;
            try {
                ended = handle(ws, message);
            } catch (Exception | AssertionError | LinkageError e) {
                // An assertion or a missing class in the listener's code fails its batch as an exception does:
                // uncaught, it ended the stream's thread with no onClosed and no close code.
                ws.abort();
                return new Outcome(false, 0, "the listener failed: " + e, e);
            }
            if (ended != null) {
                return ended;
            }
            // Silence while the listener worked is not the server's: count from now.
            lastHeard = System.nanoTime();
        }
    }

    /** Handles one message; returns how the connection ends when the message ends it, else null. */
    private Outcome handle(WebSocket ws, Object frame) throws Exception {
        JsonNode message = frame instanceof JsonNode json ? json : SwitchboardClient.MAPPER.readTree((String) frame);
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
                    progressed = true;
                }
                // Saved once the listener returned, even while closing (it handled them). Not while a
                // subscription is unanswered: if it is refused, the events the client's own filter dropped
                // meanwhile were never the listener's, and the next run (with corrected types) needs them.
                if (last >= 0 && !subscribing) {
                    save(last);
                } else if (last >= 0) {
                    reachedWhileSubscribing = Math.max(reachedWhileSubscribing, last);
                }
            }
            case "live" -> {
                // Everything up to the position was sent: a cursor behind it (or none) may move up to it.
                long position = message.path("position").asLong(-1);
                progressed = true;
                if (subscribing) {
                    reachedWhileSubscribing = Math.max(reachedWhileSubscribing, position);
                } else {
                    saveIfAhead(position);
                }
            }
            case "resume_failed" -> {
                listener.onResumeFailed(message);
                long oldest = message.path("oldestSeq").asLong(-1);
                if (options.resumeAtOldestKept() && oldest > 0) {
                    // Before the oldest event kept: the server replays from there. (Whatever the subscription
                    // comes to, the events before it are gone.)
                    save(oldest - 1);
                    progressed = true;
                    send(ws, () -> ws.sendClose(WebSocket.NORMAL_CLOSURE, "resuming at the oldest event kept"));
                    return new Outcome(false, 1000, "resuming at the oldest event kept", null);
                }
                long position = message.path("position").asLong(-1);
                if (position >= 0 && !subscribing) {
                    cursors.save(position);
                }
            }
            case "subscribed" -> {
                subscribing = false;
                saveIfAhead(reachedWhileSubscribing);
            }
            case "error" -> {
                // The only message this client sends that is answered by an error is its subscribe.
                if (subscribing) {
                    // Left open, the socket would deliver nothing the subscription asked for, and say nothing.
                    send(ws, () -> ws.sendClose(WebSocket.NORMAL_CLOSURE, "subscription refused"));
                    return new Outcome(
                            true,
                            400,
                            "subscription refused: " + message.path("code").asText() + ": "
                                    + message.path("message").asText(),
                            null);
                }
            }
            default -> {
                // pong: nothing to do
            }
        }
        return null;
    }

    /** Moves a cursor behind {@code position} (or none) up to it. */
    private void saveIfAhead(long position) {
        OptionalLong saved = cursors.load();
        if (position >= 0 && (saved.isEmpty() || saved.getAsLong() < position)) {
            save(position);
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
            inform(() -> listener.onStateChange(next));
        }
    }

    /**
     * Saves {@code seq} even when {@link #close()} interrupted this thread while the listener worked: an
     * interrupted thread's file writes fail (a {@link FileCursorStore}'s included), and the batch the
     * listener handled would be sent again.
     */
    private void save(long seq) {
        boolean interrupted = Thread.interrupted();
        try {
            cursors.save(seq);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Calls one of the listener's notifications. One that throws is logged and otherwise ignored: it must
     * not end the stream's thread, which would leave the stream closed without saying why.
     */
    private static void inform(Runnable notification) {
        try {
            notification.run();
        } catch (RuntimeException | AssertionError | LinkageError e) {
            LOG.log(System.Logger.Level.WARNING, "An EventStream listener's notification threw; ignored", e);
        }
    }

    /** Sends one message (the JDK's WebSocket takes one at a time); the error when it failed, else null. */
    private Throwable send(WebSocket ws, java.util.function.Supplier<CompletionStage<WebSocket>> sending) {
        synchronized (sendLock) {
            try {
                sending.get().toCompletableFuture().get(5, TimeUnit.SECONDS);
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return e;
            } catch (ExecutionException e) {
                // The socket is going away; the read side reports it.
                return e.getCause();
            } catch (TimeoutException | IllegalStateException e) {
                return e;
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

    /** One open socket and what reads it. */
    private record Connection(WebSocket ws, Inbox inbox) {}

    /**
     * Gathers whole text messages. Responses complete their requests here, as they are read, so they
     * never wait for the listener (and come before the events frames behind them). Other messages go to the
     * stream's thread; reading pauses when {@value #READ_AHEAD} wait for it, unless a request awaits its
     * response, and resumes when the stream's thread catches up or a request is sent.
     */
    private static final class Inbox implements WebSocket.Listener {
        private final BlockingQueue<Object> inbox;
        private final StringBuilder text = new StringBuilder();
        private final AtomicBoolean paused = new AtomicBoolean();
        final PendingRequests requests = new PendingRequests();

        Inbox(BlockingQueue<Object> inbox) {
            this.inbox = inbox;
        }

        /** Asks for the next message if reading was paused. */
        void resume(WebSocket webSocket) {
            if (paused.compareAndSet(true, false)) {
                webSocket.request(1);
            }
        }

        private void readOn(WebSocket webSocket) {
            if (inbox.size() < READ_AHEAD || !requests.isEmpty()) {
                webSocket.request(1);
                return;
            }
            paused.set(true);
            // A request registered (or the stream's thread caught up) just before the pause: resume for it.
            if (inbox.size() < READ_AHEAD || !requests.isEmpty()) {
                resume(webSocket);
            }
        }

        @Override
        public void onOpen(WebSocket webSocket) {}

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            text.append(data);
            if (!last) {
                webSocket.request(1);
                return null;
            }
            String whole = text.toString();
            text.setLength(0);
            JsonNode message;
            try {
                message = SwitchboardClient.MAPPER.readTree(whole);
            } catch (IOException e) {
                inbox.add(whole); // the stream's thread fails on it and reconnects
                return null;
            }
            if ("response".equals(message.path("type").asText())) {
                requests.complete(message);
                inbox.add(PONG); // heard from the server
                webSocket.request(1);
            } else {
                inbox.add(message);
                readOn(webSocket);
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
            requests.failAll("closed by the server: " + statusCode + " " + reason, null);
            inbox.add(new Closed(statusCode, reason));
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            requests.failAll("the connection failed: " + error, error);
            inbox.add(error);
        }
    }
}
