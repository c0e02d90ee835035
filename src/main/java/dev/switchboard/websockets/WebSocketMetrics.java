package dev.switchboard.websockets;

import dev.switchboard.db.DatabaseException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The WebSocket meters, registered once: open sockets, frames, closes by code, fan-out latency, resumes. */
public final class WebSocketMetrics {
    private final Counter framesSent;
    private final Map<CloseCode, Counter> closes = new EnumMap<>(CloseCode.class);
    private final Timer fanOut;
    private final Counter resumesCaughtUp;
    private final Counter resumesExpired;
    private final MeterRegistry meters;

    public WebSocketMetrics(MeterRegistry meters, Sockets sockets) {
        this.meters = meters;
        Gauge.builder("switchboard.websockets.connections", sockets, Sockets::size)
                .description("Open WebSockets on this node")
                .register(meters);
        framesSent = Counter.builder("switchboard.websockets.frames.sent")
                .description("Text frames handed to sockets")
                .register(meters);
        for (CloseCode code : CloseCode.values()) {
            closes.put(
                    code,
                    Counter.builder("switchboard.websockets.closes")
                            .tag("reason", code.reason())
                            .description("Sockets the server closed, by close code")
                            .register(meters));
        }
        fanOut = Timer.builder("switchboard.websockets.fanout")
                .description("From a stream's wake-up to its batch handed to every socket on the stream")
                .publishPercentiles(0.5, 0.99)
                .register(meters);
        resumesCaughtUp = Counter.builder("switchboard.websockets.resumes")
                .description(
                        "Sockets opened with ?after=, by outcome: caught up, or the position older than the retention")
                .tag("outcome", "caught_up")
                .register(meters);
        resumesExpired = Counter.builder("switchboard.websockets.resumes")
                .description(
                        "Sockets opened with ?after=, by outcome: caught up, or the position older than the retention")
                .tag("outcome", "position_expired")
                .register(meters);
    }

    void frameSent() {
        framesSent.increment();
    }

    void closed(CloseCode code) {
        closes.get(code).increment();
    }

    void fannedOut(long wokenAtNanos, int sockets) {
        if (wokenAtNanos != 0 && sockets > 0) {
            fanOut.record(System.nanoTime() - wokenAtNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** A request answered: by method and status, timed from its start (0 for one refused before it started). */
    void request(RequestMethod method, int status, long nanos) {
        Timer.builder("switchboard.websockets.requests")
                .description("Requests on WebSockets, by method and the status of their response")
                .tag("method", method.wireName())
                .tag("status", Integer.toString(status))
                .publishPercentiles(0.5, 0.99)
                .register(meters)
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    /** A request answered 503 because the database could not serve it now, counted with the HTTP ones. */
    void databaseRefused(DatabaseException e) {
        e.count(meters);
    }

    void resumeCaughtUp() {
        resumesCaughtUp.increment();
    }

    void resumeExpired() {
        resumesExpired.increment();
    }
}
