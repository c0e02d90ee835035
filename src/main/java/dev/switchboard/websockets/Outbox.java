package dev.switchboard.websockets;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.core.CoreSession;
import org.eclipse.jetty.websocket.core.Frame;
import org.eclipse.jetty.websocket.core.OpCode;

/**
 * One socket's outgoing frames, bounded in bytes. A frame is handed to Jetty at once (Jetty writes
 * what the socket takes and queues the rest without blocking the caller); the bytes count as waiting
 * until Jetty reports them written. When more than the limit would wait, the frame is refused and
 * the owner closes the socket as a slow consumer, so a client that stops reading costs at most the
 * limit and never delays anyone else. A frame larger than the limit still goes out when nothing
 * else waits, so one big event cannot wedge a socket.
 *
 * <p>Payloads are shared between sockets: each send wraps a duplicate, never the caller's buffer.
 */
final class Outbox {
    private final CoreSession core;
    private final long limit;
    private final AtomicLong waiting = new AtomicLong();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition drained = lock.newCondition();
    private volatile boolean someoneWaits;

    Outbox(CoreSession core, long limit) {
        this.core = core;
        this.limit = limit;
    }

    /** Hands a text frame to the socket; false when the client is too slow to take it. */
    boolean sendText(ByteBuffer payload) {
        return send(OpCode.TEXT, payload);
    }

    boolean sendPing(ByteBuffer payload) {
        return send(OpCode.PING, payload);
    }

    private boolean send(byte opCode, ByteBuffer payload) {
        int size = payload.remaining();
        long before = waiting.getAndAdd(size);
        if (before > 0 && before + size > limit) {
            waiting.addAndGet(-size);
            return false;
        }
        core.sendFrame(
                new Frame(opCode, payload.duplicate()),
                Callback.from(() -> written(size), failure -> written(size)),
                false);
        return true;
    }

    /** Blocks (a virtual thread) until at most {@code bytes} wait, or the timeout passes; true if drained. */
    boolean awaitAtMost(long bytes, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            someoneWaits = true;
            while (waiting.get() > bytes) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !core.isOutputOpen()) {
                    return waiting.get() <= bytes;
                }
                drained.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)), TimeUnit.NANOSECONDS);
            }
            return true;
        } finally {
            someoneWaits = false;
            lock.unlock();
        }
    }

    private void written(int size) {
        waiting.addAndGet(-size);
        if (someoneWaits) {
            lock.lock();
            try {
                drained.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }
}
