package dev.switchboard.events;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Long-poll support: a reader registers before it reads, then waits until the stream has an event
 * past the position it read up to. Registering first means a commit that lands between the read and
 * the wait still wakes it. A reader may wait several times (its read found only events it may not
 * see): each wait returns only for a commit after the position it names, never for one an earlier
 * wait was woken by. When the node stops, {@link #drain()} ends every wait (and every later one at
 * once), so long polls answer with what they have instead of holding the shutdown up.
 */
public final class StreamWaiters implements EventWakeups.Listener {
    private final Map<Long, Set<Waiter>> waiters = new ConcurrentHashMap<>();
    private volatile boolean draining;

    /** One reader's wait on one stream; close it when done. */
    public final class Waiter implements AutoCloseable {
        /** One call of {@link #await}: the position it waits past, and what completes it. */
        private record Wait(long position, CompletableFuture<Void> woken) {}

        private final long streamPk;
        /** The newest seq announced since registering: a commit announced before a wait began still counts. */
        private final AtomicLong latestSeen = new AtomicLong(-1);
        /** Everything may have moved (wake-ups were lost): the next wait returns at once. */
        private final AtomicBoolean resynced = new AtomicBoolean();

        private volatile Wait current = new Wait(Long.MAX_VALUE, new CompletableFuture<>());
        /** What the reader may see: a commit of this node's known to pass nothing it may see does not wake it. */
        private volatile EventFilter filter;

        private Waiter(long streamPk, EventFilter filter) {
            this.streamPk = streamPk;
            this.filter = filter;
        }

        /** Whether the node is draining: a wait ends at once, and the reader answers with what it read. */
        public boolean draining() {
            return draining;
        }

        /** The reader's access was looked up again: wake it for what it may see now. */
        public void filter(EventFilter filter) {
            this.filter = filter;
        }

        /**
         * Waits until an event after {@code position} commits, or the timeout passes; true if woken. False at
         * once, or as soon as it happens, when the node is draining: the reader answers with what it read.
         */
        public boolean await(long position, Duration timeout) throws InterruptedException {
            // A new future for every wait: one completed by an earlier wake-up would end every later wait at once,
            // and a reader whose reads find nothing it may see would re-read the log until its deadline.
            Wait wait = new Wait(position, new CompletableFuture<>());
            current = wait;
            // wake() records the seq before it looks at current, and this looks at the seq after setting current:
            // a commit racing with this line is seen by one of the two.
            if (latestSeen.get() > position || resynced.getAndSet(false)) {
                return true;
            }
            // drain() sets the flag before it completes current: either this sees the flag, or drain sees this wait.
            if (draining) {
                return false;
            }
            try {
                wait.woken().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                return !draining;
            } catch (TimeoutException e) {
                return false;
            } catch (ExecutionException e) {
                throw new IllegalStateException(e);
            }
        }

        private void wake(long seq) {
            latestSeen.accumulateAndGet(seq, Math::max);
            Wait wait = current;
            if (seq > wait.position()) {
                wait.woken().complete(null);
            }
        }

        /**
         * Ends the wait under way (or the next one, when none is) as a commit would: the reader's access changed,
         * and it looks that up again before it reads or answers.
         */
        public void recheck() {
            resynced.set(true);
            current.woken().complete(null);
        }

        @Override
        public void close() {
            waiters.computeIfPresent(streamPk, (k, set) -> {
                set.remove(this);
                return set.isEmpty() ? null : set;
            });
        }
    }

    /** A wait on every commit of the stream. */
    public Waiter register(long streamPk) {
        return register(streamPk, null);
    }

    /**
     * A wait on the commits of the stream that may hold an event {@code filter} passes: a commit of this
     * node's whose event it does not pass (known from the event handed over) wakes it not. A reader whose
     * filter lets through few events would otherwise read the log again for every commit on its tenant.
     */
    public Waiter register(long streamPk, EventFilter filter) {
        Waiter w = new Waiter(streamPk, filter);
        // Added inside the map's atomic step: added after it, to a set that the stream's last other reader
        // was removing as it closed, the waiter would be in a set no commit reaches.
        waiters.compute(streamPk, (k, set) -> {
            Set<Waiter> joined = set == null ? ConcurrentHashMap.newKeySet() : set;
            joined.add(w);
            return joined;
        });
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
    public void appended(long streamPk, EventLog.Entry committed) {
        Set<Waiter> set = waiters.get(streamPk);
        if (set != null) {
            long seq = committed.event().seq();
            set.forEach(w -> {
                EventFilter filter = w.filter;
                if (filter == null || filter.accepts(committed.event(), committed.collection())) {
                    w.wake(seq);
                }
            });
        }
    }

    /** Ends every wait now and every later one at once: the node is stopping. Not undone. */
    public void drain() {
        draining = true;
        waiters.values().forEach(set -> set.forEach(w -> w.current.woken().complete(null)));
    }

    @Override
    public void resync() {
        waiters.values().forEach(set -> set.forEach(Waiter::recheck));
    }
}
