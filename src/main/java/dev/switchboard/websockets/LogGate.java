package dev.switchboard.websockets;

import dev.switchboard.events.EventFilter;
import dev.switchboard.events.EventLog;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * The reads sockets cause (replay pages, head positions) pass this gate, a few at a time and in
 * order: when thousands of clients reconnect at once they queue here, in memory, instead of
 * emptying the database pool that writers and the live fan-out need. One connection's sockets
 * hold at most {@link #READS_PER_CONNECTION} of its places at once: one access token's 190 sockets
 * replaying a 40,000-event log from the start used to hold all of them, with PostgreSQL busy on
 * nothing else, and another tenant's socket waited seconds for its first read before it went live.
 */
public final class LogGate {
    static final int CONCURRENT_READS = 8;
    static final int READS_PER_CONNECTION = 2;

    /** A read through the gate: {@link EventLog}'s, or a test's. */
    @FunctionalInterface
    interface Read<T> {
        T run() throws InterruptedException;
    }

    private final EventLog log;
    private final Semaphore permits = new Semaphore(CONCURRENT_READS, true);
    /** The connections with reads waiting or running, and their places; removed by the last to leave. */
    private final Map<String, Share> shares = new ConcurrentHashMap<>();

    private static final class Share {
        final Semaphore permits = new Semaphore(READS_PER_CONNECTION, true);
        int users; // changed only inside the map's compute, which locks the entry
    }

    public LogGate(EventLog log) {
        this.log = log;
    }

    long head(SocketAccess access) throws InterruptedException {
        return pass(access.connectionId(), () -> log.head(access.streamPk()));
    }

    EventLog.ReadResult read(SocketAccess access, long after, int limit, int maxBytes, EventFilter filter)
            throws InterruptedException {
        return pass(access.connectionId(), () -> log.read(access.streamPk(), after, limit, maxBytes, filter));
    }

    /**
     * Runs {@code read} once its connection has a place and the gate has one. The connection's place is
     * taken first, so a connection's reads beyond its share wait in its own queue, not in the gate's,
     * where they would stand in front of everyone else's.
     */
    <T> T pass(String connection, Read<T> read) throws InterruptedException {
        Share share = shares.compute(connection, (key, existing) -> {
            Share s = existing == null ? new Share() : existing;
            s.users++;
            return s;
        });
        try {
            share.permits.acquire();
            try {
                permits.acquire();
                try {
                    return read.run();
                } finally {
                    permits.release();
                }
            } finally {
                share.permits.release();
            }
        } finally {
            shares.computeIfPresent(connection, (key, s) -> --s.users == 0 ? null : s);
        }
    }

    /** How many connections have reads waiting or running (0 once every read has left). */
    int connectionsWaiting() {
        return shares.size();
    }
}
