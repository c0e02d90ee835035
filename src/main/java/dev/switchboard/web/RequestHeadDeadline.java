package dev.switchboard.web;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.internal.HttpConnection;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes an HTTP/1.1 connection whose request head (its request line and headers) is still arriving
 * {@link #DEADLINE} after it began. Jetty's idle timeout starts again with every byte, so a client sending
 * a header line every 10 s held its connection for as long as the 8 KiB head allowed (hours), and 19,500 of
 * them, with no token, filled a node's connection limit: every other client waited. A proxy in front
 * (nginx's {@code client_header_timeout}) sends whole heads and is never closed by this. Looked at every
 * {@link #SWEEP}: a head is closed between {@link #DEADLINE} and that plus a sweep after it began (a slow
 * network sends 8 KiB in far less; Apache's default allows 20 to 40 s, nginx's 60 s).
 */
public final class RequestHeadDeadline extends AbstractLifeCycle implements Connection.Listener {
    private static final Logger log = LoggerFactory.getLogger(RequestHeadDeadline.class);
    static final Duration DEADLINE = Duration.ofSeconds(20);
    static final Duration SWEEP = Duration.ofSeconds(5);

    /** A head seen arriving: the connection's requests before it, and when it was first seen. */
    private record Arriving(long requestsBefore, long since) {}

    private static final Arriving NONE = new Arriving(-1, 0);

    private final Map<HttpConnection, Arriving> open = new ConcurrentHashMap<>();
    private ScheduledExecutorService sweeper;

    @Override
    public void onOpened(Connection connection) {
        if (connection instanceof HttpConnection http) {
            open.put(http, NONE);
        }
    }

    @Override
    public void onClosed(Connection connection) {
        open.remove(connection);
    }

    @Override
    protected void doStart() {
        sweeper = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("http-head-deadline").daemon().factory());
        sweeper.scheduleWithFixedDelay(this::sweep, SWEEP.toMillis(), SWEEP.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() {
        sweeper.shutdownNow();
        open.clear();
    }

    /**
     * The parser's state is read from this thread while the connection's own thread changes it: a state
     * read late only moves a close to the next sweep, and a head is closed only when it was seen arriving
     * {@link #DEADLINE} apart with no request of the connection received in between.
     */
    private void sweep() {
        try {
            long now = System.nanoTime();
            int closed = 0;
            for (Map.Entry<HttpConnection, Arriving> entry : open.entrySet()) {
                HttpConnection http = entry.getKey();
                if (!http.getEndPoint().isOpen() || http.getEndPoint().getConnection() != http) {
                    open.remove(http); // closed, or upgraded (a WebSocket) without a close of its own
                    continue;
                }
                HttpParser parser = http.getParser();
                if (!parser.inHeaderState() || parser.isStart()) {
                    open.replace(http, NONE);
                    continue;
                }
                Arriving seen = entry.getValue();
                long requests = http.getMessagesIn();
                if (seen.requestsBefore() != requests) {
                    open.replace(http, new Arriving(requests, now));
                } else if (now - seen.since() >= DEADLINE.toNanos()) {
                    open.remove(http);
                    http.getEndPoint().close();
                    closed++;
                }
            }
            if (closed > 0) {
                log.warn(
                        "Closed {} connections whose request head was still arriving after {} s (slow or stalled"
                                + " clients; a proxy in front sends whole heads)",
                        closed,
                        DEADLINE.toSeconds());
            }
        } catch (RuntimeException e) {
            log.warn("Looking for stalled request heads failed; looked for again in {} s", SWEEP.toSeconds(), e);
        }
    }
}
