package dev.switchboard.websockets;

import dev.switchboard.config.WebSocketSettings;
import dev.switchboard.events.EventFilter;
import dev.switchboard.events.EventLog;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Replays a stream from a client's position before it goes live. The socket has already joined the
 * feed, so every event after the feed's position at that moment ({@code start}) will also arrive
 * live; the replay reads the log (with the socket's filter) up to the head, which is at or past
 * {@code start}, and the socket drops live events at or below the position the replay reached.
 * Together: no gap, no duplicate. Pages wait for the client to drain, so a long replay is paced by
 * the client instead of filling memory, and for the socket's own writes in progress, whose responses
 * come before their events here as they do live.
 */
public final class Resume {
    static final int PAGE = 500;

    private final LogGate gate;
    private final WebSocketSettings settings;
    private final WebSocketMetrics metrics;

    public Resume(LogGate gate, WebSocketSettings settings, WebSocketMetrics metrics) {
        this.gate = gate;
        this.settings = settings;
        this.metrics = metrics;
    }

    /**
     * Sends the events after {@code after} and returns the position reached, or -1 when the socket was
     * closed on the way. A position older than the retention gets a {@code resume_failed} message and
     * the socket continues live from {@code start}.
     */
    long catchUp(ClientSession session, long after, long start) throws InterruptedException {
        long position = after;
        while (true) {
            EventFilter filter = session.filter();
            switch (gate.read(session.access(), position, PAGE, WebSockets.frameDataBytes(settings), filter)) {
                case EventLog.Page page -> {
                    if (!page.events().isEmpty()) {
                        List<byte[]> json = new ArrayList<>(page.events().size());
                        page.events().forEach(e -> json.add(Frames.json(e)));
                        long lastSeq = page.events().getLast().seq();
                        ByteBuffer frame = Frames.events(json);
                        if (!roomFor(session, frame.remaining())) {
                            return -1;
                        }
                        switch (session.sendReplayed(frame, lastSeq, filter)) {
                            case CLOSED -> {
                                return -1;
                            }
                            case FILTER_CHANGED -> {
                                continue; // the same page again, with the socket's filter now
                            }
                            case SENT -> {}
                        }
                    }
                    position = page.next();
                    if (!page.full()) {
                        metrics.resumeCaughtUp();
                        return position;
                    }
                }
                case EventLog.PositionExpired expired -> {
                    metrics.resumeExpired();
                    session.send(Frames.resumeFailed(expired, start));
                    return start;
                }
                // The upgrade refused positions past the head, and a stream's head never goes back.
                case EventLog.PositionAhead ahead ->
                    throw new IllegalStateException(
                            "replay position " + ahead.after() + " is past the stream's head " + ahead.head());
            }
        }
    }

    /**
     * Waits until the client has taken most of what was sent, at least half the queue, and enough that a
     * page of {@code bytes} fits beside what still waits; false (and closed) when it does not in time. With
     * half the queue alone, a page of one large event (up to 64 KiB, more than a small queue's half) after a
     * page still unsent went over the queue, and a client reading steadily was closed as a slow consumer.
     */
    private boolean roomFor(ClientSession session, int bytes) throws InterruptedException {
        long queue = settings.queueBytes();
        if (session.outbox().awaitAtMost(Math.max(0, Math.min(queue / 2, queue - bytes)), settings.pingTimeout())) {
            return true;
        }
        session.close(CloseCode.SLOW_CONSUMER);
        return false;
    }
}
