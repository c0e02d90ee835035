package dev.switchboard.bench;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongFunction;
import java.util.function.LongPredicate;

/**
 * Starts work on a fixed schedule whatever earlier work is doing (an open loop), each piece on its
 * own virtual thread, so a stall shows in the latencies instead of silently slowing the schedule.
 * The first failure stops the schedule and is kept in {@code failure}.
 */
final class OpenLoop {
    /** One piece of work; throws when it fails. */
    @FunctionalInterface
    interface Task {
        void run() throws Exception;
    }

    private OpenLoop() {}

    /**
     * From {@code start} until {@code end} (System.nanoTime()), {@code perSecond} times a second, calls
     * {@code atDue} with the due time on the scheduling thread and runs the task it returns; returns
     * when every task has finished.
     */
    static void run(int perSecond, long start, long end, AtomicReference<Throwable> failure, LongFunction<Task> atDue) {
        run(perSecond, start, due -> due < end, failure, atDue);
    }

    /** As above, for as long as {@code goOn} accepts the next due time. */
    static void run(
            int perSecond,
            long start,
            LongPredicate goOn,
            AtomicReference<Throwable> failure,
            LongFunction<Task> atDue) {
        long period = 1_000_000_000L / perSecond;
        try (ExecutorService tasks = Executors.newVirtualThreadPerTaskExecutor()) {
            for (long i = 0; failure.get() == null; i++) {
                long due = start + i * period;
                if (!goOn.test(due)) {
                    break;
                }
                sleepUntil(due);
                Task task = atDue.apply(due);
                tasks.execute(() -> {
                    try {
                        task.run();
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
            }
        } // close() waits for the tasks still running
    }

    static void sleepUntil(long nanoTime) {
        for (long left = nanoTime - System.nanoTime(); left > 0; left = nanoTime - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
    }
}
