package dev.switchboard.websockets;

import java.time.Duration;

/**
 * The message limit of one socket, over a sliding window: it keeps the times of the last {@code limit}
 * messages counted, and a message is one too many when the one {@code limit} before it came within
 * the window. A window that starts afresh every 10 s let a client send twice the limit in a moment
 * that straddles two windows. The socket's reading thread counts its messages, and the threads that
 * handle its requests count those the token's rate limit refused, so it takes turns.
 */
final class MessageWindow {
    private final long[] times;
    private final long windowNanos;
    private int next;
    private long counted;

    MessageWindow(int limit, Duration window) {
        this.times = new long[limit];
        this.windowNanos = window.toNanos();
    }

    /** Counts {@code messages} arriving at {@code nanos} ({@link System#nanoTime()}); false when that goes over the limit. */
    synchronized boolean count(long nanos, int messages) {
        boolean within = true;
        for (int i = 0; i < messages; i++) {
            long limitBefore = times[next]; // the message counted `limit` messages before this one
            times[next] = nanos;
            next = (next + 1) % times.length;
            if (++counted > times.length && nanos - limitBefore < windowNanos) {
                within = false;
            }
        }
        return within;
    }
}
