package dev.switchboard.config;

import java.time.Duration;
import java.util.List;

/**
 * WebSocket connections: how often the server pings, how long it waits for the answer before it
 * closes the connection, how many bytes may wait to be sent to one client before it is disconnected
 * as a slow consumer, the largest message a client may send, how many sockets one connection's
 * token may hold open on one node, and the origins besides the server's own whose pages may open a
 * socket with the token in the AccessToken cookie.
 */
public record WebSocketSettings(
        Duration pingInterval,
        Duration pingTimeout,
        long queueBytes,
        int maxMessageBytes,
        int maxSocketsPerConnection,
        List<WebOrigin> allowedOrigins) {

    public WebSocketSettings {
        allowedOrigins = List.copyOf(allowedOrigins);
    }
}
