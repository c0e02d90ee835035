package dev.switchboard.events;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Long-poll support: a reader registers before it reads, then waits until the stream has an event
 * past the position it read up to. Registering first means a commit that lands between the read and
 * the wait still wakes it.
 */
public final class StreamWaiters implements EventWakeups.Listener {
    private final Map<Long, Set<Waiter>> waiters = new ConcurrentHashMap<>();

    /** One reader's wait on one stream; close it when done. */
    public final class Waiter implements AutoCloseable {
        private final long streamPk;
        private final CompletableFuture<Void> woken = new CompletableFuture<>();
        private final java.util.concurrent.atomic.AtomicLong latestSeen = new java.util.concurrent.atomic.AtomicLong(-1);
        private volatile long position = Long.MAX_VALUE;

        private Waiter(long streamPk) {
            this.streamPk = streamPk;
        }

        /** Waits until an event after {@code position} commits, or the timeout passes; true if woken. */
        public boolean await(long position, Duration timeout) throws InterruptedException {
            this.position = position;
            // A commit may have been announced between register() and now: position was not yet known.
            if (latestSeen.get() > position) {
                return true;
            }
            try {
                woken.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                return true;
            } catch (TimeoutException e) {
                return false;
            } catch (ExecutionException e) {
                throw new IllegalStateException(e);
            }
        }

        private void wake(long seq) {
            latestSeen.accumulateAndGet(seq, Math::max);
            if (seq > position) {
                woken.complete(null);
            }
        }

        @Override
        public void close() {
            waiters.computeIfPresent(streamPk, (k, set) -> {
                set.remove(this);
                return set.isEmpty() ? null : set;
            });
        }
    }

    public Waiter register(long streamPk) {
        Waiter w = new Waiter(streamPk);
        waiters.computeIfAbsent(streamPk, k -> ConcurrentHashMap.newKeySet()).add(w);
        return w;
    }

    @Override
    public void appended(long streamPk, long seq) {
        Set<Waiter> set = waiters.get(streamPk);
        if (set != null) {
            set.forEach(w -> w.wake(seq));
        }
    }

    @Override
    public void resync() {
        waiters.values().forEach(set -> set.forEach(w -> w.woken.complete(null)));
    }
}
