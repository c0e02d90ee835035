package dev.switchboard.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import dev.switchboard.testing.RawWebSocket;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * One hostile client's open socket, read the way the scenario judges it: the server's answer to what
 * it sent, named as an outcome ({@code reply:pong}, {@code reply:error/invalid_field}, {@code close:1009},
 * {@code ended}, {@code no answer}), while every event and subscription the server shows it on the way
 * is kept in {@link Seen} to be checked for what it must never see.
 */
final class HostileSocket implements AutoCloseable {
    static final String PING = "{\"type\":\"ping\"}";
    private static final Duration PATIENCE = Duration.ofSeconds(10);

    /** Everything the server showed hostile clients, from every socket. */
    static final class Seen {
        final Queue<JsonNode> events = new ConcurrentLinkedQueue<>();
        final Queue<List<String>> subscriptions = new ConcurrentLinkedQueue<>();
    }

    final RawWebSocket socket;
    private final Seen seen;

    HostileSocket(RawWebSocket socket, Seen seen) throws IOException {
        this.socket = socket;
        this.seen = seen;
        socket.readTimeout(PATIENCE);
    }

    /** Reads up to the first answer that is not an event, the live marker or a resume notice. */
    String reply() {
        try {
            while (true) {
                RawWebSocket.Frame frame = socket.readAnsweringPings();
                if (frame.opcode() == RawWebSocket.CLOSE) {
                    return "close:" + frame.closeCode();
                }
                if (frame.opcode() != RawWebSocket.TEXT) {
                    return "frame:opcode " + frame.opcode();
                }
                JsonNode message = Json.read(frame.text());
                switch (message.path("type").asText()) {
                    case "events" -> message.get("events").forEach(seen.events::add);
                    case "live", "resume_failed" -> {}
                    case "subscribed" -> {
                        List<String> types = new ArrayList<>();
                        message.get("eventTypes").forEach(t -> types.add(t.asText()));
                        seen.subscriptions.add(types);
                        return "reply:subscribed";
                    }
                    case "error" -> {
                        return "reply:error/" + message.path("code").asText();
                    }
                    default -> {
                        return "reply:" + message.path("type").asText();
                    }
                }
            }
        } catch (SocketTimeoutException e) {
            return "no answer";
        } catch (IOException e) {
            return "ended";
        }
    }

    /**
     * The answer to what was sent and, when it was a reply, proof that the socket stayed open: a ping
     * message must still be answered. A socket dropped after an error shows as {@code "… then ended"}.
     */
    String replyAndStillOpen() {
        String reply = reply();
        if (!reply.startsWith("reply:")) {
            return reply;
        }
        try {
            socket.sendText(PING);
        } catch (IOException e) {
            return reply + " then ended";
        }
        String after = reply();
        return after.equals("reply:pong") ? reply : reply + " then " + after;
    }

    /** Reads everything up to the close; its outcome, counting the replies before it. */
    String untilClose(int[] replies) {
        while (true) {
            String next = reply();
            if (!next.startsWith("reply:")) {
                return next;
            }
            replies[0]++;
        }
    }

    /** Sends, tolerating a server that already closed: its close frame is still there to read. */
    void sendQuietly(byte[] bytes) {
        try {
            socket.sendRaw(bytes);
        } catch (IOException e) {
            // The server refused what it had read so far and closed; reply() reads why.
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
