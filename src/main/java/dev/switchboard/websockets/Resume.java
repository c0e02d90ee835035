package dev.switchboard.websockets;

import dev.switchboard.config.WebSocketSettings;
import dev.switchboard.events.EventLog;
import dev.switchboard.support.Problem;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;

/**
 * Replays a stream from a client's position before it goes live. The socket has already joined the
 * feed, so every event after the feed's position at that moment ({@code start}) will also arrive
 * live; the replay reads the log (with the socket's filter) up to the head, which is at or past
 * {@code start}, and the socket drops live events at or below the position the replay reached.
 * Together: no gap, no duplicate. Pages wait for the client to drain, so a long replay is paced by
 * the client instead of filling memory.
 *
 * <p>Reads for sockets (replay pages, the head check of an upgrade) pass a small gate: when thousands
 * of clients reconnect at once they queue here, in order, instead of emptying the database pool that
 * writers and the live fan-out need.
 */
final class Resume {
    static final int PAGE = 500;
    static final int CONCURRENT_READS = 8;

    private final EventLog log;
    private final WebSocketSettings settings;
    private final WebSocketMetrics metrics;

    private final Semaphore gate = new Semaphore(CONCURRENT_READS, true);

    Resume(EventLog log, WebSocketSettings settings, WebSocketMetrics metrics) {
        this.log = log;
        this.settings = settings;
        this.metrics = metrics;
    }

    /** The stream's head, read through the gate. */
    long head(long streamPk) throws InterruptedException {
        gate.acquire();
        try {
            return log.head(streamPk);
        } finally {
            gate.release();
        }
    }

    private EventLog.Page read(ClientSession session, long after) throws InterruptedException {
        gate.acquire();
        try {
            return log.read(session.access().streamPk(), after, PAGE, session.filter());
        } finally {
            gate.release();
        }
    }

    /**
     * Sends the events after {@code after} and returns the position reached, or -1 when the socket was
     * closed on the way. A position older than the retention gets a {@code resume_failed} message and
     * the socket continues live from {@code start}.
     */
    long catchUp(ClientSession session, long after, long start) throws InterruptedException {
        long position = after;
        try {
            while (true) {
                EventLog.Page page = read(session, position);
                if (!page.events().isEmpty()) {
                    List<byte[]> json = new ArrayList<>(page.events().size());
                    page.events().forEach(e -> json.add(Frames.json(e)));
                    if (!session.send(Frames.events(json)) || !drained(session)) {
                        return -1;
                    }
                }
                position = page.next();
                if (page.events().size() < PAGE) {
                    metrics.resumed("caught_up");
                    return position;
                }
            }
        } catch (Problem p) {
            if (p.status() != 410 || !(p.details() instanceof Map<?, ?> details)) {
                throw p;
            }
            metrics.resumed("position_expired");
            session.send(Frames.resumeFailed(after, details.get("oldestSeq"), details.get("headSeq"), start));
            return start;
        }
    }

    /** Waits until the client has taken most of what was sent; false (and closed) when it does not in time. */
    private boolean drained(ClientSession session) throws InterruptedException {
        if (session.outbox().awaitAtMost(settings.queueBytes() / 2, settings.pingTimeout())) {
            return true;
        }
        session.close(CloseCode.SLOW_CONSUMER);
        return false;
    }
}
