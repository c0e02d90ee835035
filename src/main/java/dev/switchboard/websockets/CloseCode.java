package dev.switchboard.websockets;

/**
 * Every code the server closes a WebSocket with, and what the client should do next. The README's
 * close-code table is this enum in prose; keep them together.
 *
 * <p>Application codes follow the ranges clients of other realtime servers already know: 4000-4099
 * do not reconnect (with this token), 4100-4199 reconnect with backoff and {@code after}. Standard
 * codes are used where one fits.
 */
public enum CloseCode {
    /** The client closed, or the server answered the client's close. */
    NORMAL(1000, "normal", Reconnect.NO),
    /**
     * The client broke the WebSocket protocol: an unmasked frame, reserved bits or opcodes, a stray
     * continuation, an oversized or fragmented control frame (Jetty closes with this code itself).
     */
    PROTOCOL_ERROR(1002, "protocol_error", Reconnect.NO),
    /** The client sent a binary frame: the protocol is JSON text only. */
    BINARY_NOT_SUPPORTED(1003, "binary_not_supported", Reconnect.NO),
    /** A text message (or a close reason) was not valid UTF-8 (Jetty closes with this code itself). */
    INVALID_PAYLOAD(1007, "invalid_payload", Reconnect.NO),
    /** A client message was larger than websockets.maxMessageSize (Jetty closes with this code itself). */
    MESSAGE_TOO_BIG(1009, "message_too_big", Reconnect.NO),
    /** An unexpected server error. */
    SERVER_ERROR(1011, "server_error", Reconnect.WITH_BACKOFF),
    /** The server is shutting down or restarting: reconnect (to any node) with {@code after}. */
    SERVER_RESTARTING(1012, "server_restarting", Reconnect.WITH_BACKOFF),
    /**
     * The database could not be read (catch-up or access check), or the node had no room in its heap for a
     * message arriving in fragments: reconnect later with {@code after}.
     */
    TRY_AGAIN_LATER(1013, "try_again_later", Reconnect.WITH_BACKOFF),
    /** The connection was disabled: reconnect only after it is enabled again. */
    CONNECTION_DISABLED(4001, "connection_disabled", Reconnect.NO),
    /** The connection was deleted: its token is gone for good. */
    CONNECTION_DELETED(4002, "connection_deleted", Reconnect.NO),
    /** The access token was rotated: reconnect with the new token (from the connection.token_rotated event). */
    TOKEN_ROTATED(4003, "token_rotated", Reconnect.NO),
    /** More bytes than websockets.queueSize waited for this client: it reads too slowly. Reconnect with {@code after}. */
    SLOW_CONSUMER(4100, "slow_consumer", Reconnect.WITH_BACKOFF),
    /** No pong answered a ping within websockets.pingTimeout. */
    PING_TIMEOUT(4101, "ping_timeout", Reconnect.WITH_BACKOFF),
    /**
     * The client sent more than {@value ClientMessages#MAX_PER_WINDOW} messages, or {@value
     * ClientMessages#MAX_FRAMES_PER_WINDOW} frames, in {@value ClientMessages#WINDOW_SECONDS} s; or its
     * connection's sockets on this node together sent more than one socket may ({@link MessageBudget}).
     */
    TOO_MANY_MESSAGES(4102, "too_many_messages", Reconnect.WITH_BACKOFF),
    /**
     * The connection already held websockets.maxSocketsPerConnection sockets on this node when this one
     * opened (upgrades that race past the 429 check). Close another socket first, or reconnect later.
     */
    TOO_MANY_SOCKETS(4103, "too_many_sockets", Reconnect.WITH_BACKOFF),
    /**
     * A message sent in fragments was not whole within websockets.pingInterval + websockets.pingTimeout of
     * its first: its fragments were holding the node's memory.
     */
    MESSAGE_INCOMPLETE(4104, "message_incomplete", Reconnect.WITH_BACKOFF);

    /** What a client should do after a close. */
    public enum Reconnect {
        NO,
        WITH_BACKOFF
    }

    private final int code;
    private final String reason;
    private final Reconnect reconnect;

    CloseCode(int code, String reason, Reconnect reconnect) {
        this.code = code;
        this.reason = reason;
        this.reconnect = reconnect;
    }

    public int code() {
        return code;
    }

    /** The close frame's reason text: a stable name, the same as the metrics tag. */
    public String reason() {
        return reason;
    }

    public Reconnect reconnect() {
        return reconnect;
    }

    /** The documented close with this number, if there is one. */
    static java.util.Optional<CloseCode> of(int code) {
        for (CloseCode c : values()) {
            if (c.code == code) {
                return java.util.Optional.of(c);
            }
        }
        return java.util.Optional.empty();
    }
}
