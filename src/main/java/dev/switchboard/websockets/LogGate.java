package dev.switchboard.websockets;

import dev.switchboard.events.EventFilter;
import dev.switchboard.events.EventLog;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The reads sockets cause (replay pages, head positions) pass this gate, a few at a time: when
 * thousands of clients reconnect at once they queue here, in memory, instead of emptying the database
 * pool that writers and the live fan-out need. A place that frees goes to the connection (access
 * token) with the fewest reads running among those waiting, each connection's reads in the order they
 * came: one connection alone may use every place, and another connection's read is the next to run.
 * With one queue for all (first come, first served), one token's 190 sockets replaying a 40,000-event
 * log from the start held every place in turn, and another tenant's socket waited 2.5–12 s for the
 * head it needed to go live.
 */
public final class LogGate {
    static final int CONCURRENT_READS = 8;

    /** A read through the gate: {@link EventLog}'s, or a test's. */
    @FunctionalInterface
    interface Read<T> {
        T run() throws InterruptedException;
    }

    private final EventLog log;
    private final ReentrantLock lock = new ReentrantLock();
    /** Places no read holds; while any is free, no read waits. Guarded by {@link #lock}, as the rest. */
    private int free = CONCURRENT_READS;
    /** The connections with reads running or waiting. */
    private final Map<String, Share> shares = new HashMap<>();
    /** The connections with reads waiting, the one served last at the back. */
    private final LinkedHashSet<Share> waiting = new LinkedHashSet<>();

    /** One connection's reads: how many run, and those waiting, in order. */
    private static final class Share {
        final String connection;
        int running;
        final ArrayDeque<Waiter> queue = new ArrayDeque<>();

        Share(String connection) {
            this.connection = connection;
        }
    }

    private static final class Waiter {
        final Condition admitted;
        boolean in;

        Waiter(Condition admitted) {
            this.admitted = admitted;
        }
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

    /** Runs {@code read} once it has a place, which it gives on when done. */
    <T> T pass(String connection, Read<T> read) throws InterruptedException {
        Share share = enter(connection);
        try {
            return read.run();
        } finally {
            lock.lock();
            try {
                leave(share);
            } finally {
                lock.unlock();
            }
        }
    }

    private Share enter(String connection) throws InterruptedException {
        lock.lock();
        try {
            Share share = shares.computeIfAbsent(connection, Share::new);
            if (free > 0) {
                free--;
                share.running++;
                return share;
            }
            Waiter me = new Waiter(lock.newCondition());
            share.queue.add(me);
            waiting.add(share); // where it is, if its connection has reads waiting already
            try {
                while (!me.in) {
                    me.admitted.await();
                }
            } catch (InterruptedException e) {
                if (me.in) {
                    leave(share); // given a place as it was interrupted: on to the next
                } else {
                    share.queue.remove(me);
                    if (share.queue.isEmpty()) {
                        waiting.remove(share);
                    }
                    forgetIfIdle(share);
                }
                throw e;
            }
            return share;
        } finally {
            lock.unlock();
        }
    }

    /** Gives {@code share}'s place to the next read: of the connection with the fewest running, the oldest. */
    private void leave(Share share) {
        share.running--;
        Share next = null;
        for (Share s : waiting) {
            if (next == null || s.running < next.running) {
                next = s;
            }
        }
        if (next == null) {
            free++;
        } else {
            Waiter admitted = next.queue.poll();
            waiting.remove(next);
            if (!next.queue.isEmpty()) {
                waiting.add(next); // to the back: of connections with as many running, the others come first
            }
            next.running++;
            admitted.in = true;
            admitted.admitted.signal();
        }
        forgetIfIdle(share);
    }

    private void forgetIfIdle(Share share) {
        if (share.running == 0 && share.queue.isEmpty()) {
            shares.remove(share.connection);
        }
    }

    /** How many connections have reads waiting or running (0 once every read has left). */
    int connectionsWaiting() {
        lock.lock();
        try {
            return shares.size();
        } finally {
            lock.unlock();
        }
    }
}
