package dev.switchboard.websockets;

import dev.switchboard.events.EventFilter;
import dev.switchboard.events.EventLog;
import java.util.concurrent.Semaphore;

/**
 * The reads sockets cause (replay pages, head positions) pass this gate, a few at a time and in
 * order: when thousands of clients reconnect at once they queue here, in memory, instead of
 * emptying the database pool that writers and the live fan-out need.
 */
public final class LogGate {
    static final int CONCURRENT_READS = 8;

    private final EventLog log;
    private final Semaphore permits = new Semaphore(CONCURRENT_READS, true);

    public LogGate(EventLog log) {
        this.log = log;
    }

    long head(long streamPk) throws InterruptedException {
        permits.acquire();
        try {
            return log.head(streamPk);
        } finally {
            permits.release();
        }
    }

    EventLog.ReadResult read(long streamPk, long after, int limit, int maxBytes, EventFilter filter)
            throws InterruptedException {
        permits.acquire();
        try {
            return log.read(streamPk, after, limit, maxBytes, filter);
        } finally {
            permits.release();
        }
    }
}
