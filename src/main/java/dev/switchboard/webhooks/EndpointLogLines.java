package dev.switchboard.webhooks;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How many lines one endpoint's failed attempts may write to the log: {@value #PER_MINUTE} a minute; the
 * rest are counted, and the next line logged says how many were left out. A receiver that fails every
 * request (down, or a partner's replay to a URL that answers 500) wrote two lines per message, 113,000
 * lines (21 MB) in 30 s from one integration, about 60 GB a day. {@code /metrics} counts every attempt.
 */
final class EndpointLogLines {
    static final int PER_MINUTE = 20;
    private static final long MINUTE_NANOS = 60_000_000_000L;
    /** Endpoints kept before those with a minute over and nothing left out are forgotten. */
    private static final int KEPT = 10_000;

    private static final class Minute {
        long start;
        int logged;
        long leftOut;
    }

    private final Map<String, Minute> minutes = new ConcurrentHashMap<>();

    /**
     * Whether a line about endpoint {@code endpointId} is logged at {@code nanos} ({@link System#nanoTime()}):
     * -1 when it is left out, else how many were left out since the last one logged (0 mostly).
     */
    long admit(String endpointId, long nanos) {
        if (minutes.size() > KEPT) {
            // Endpoints that failed once and never again (or were deleted) are not kept for ever.
            minutes.values().removeIf(m -> nanos - m.start >= MINUTE_NANOS && m.leftOut == 0);
        }
        Minute minute = minutes.computeIfAbsent(endpointId, id -> {
            Minute m = new Minute();
            m.start = nanos;
            return m;
        });
        synchronized (minute) {
            if (nanos - minute.start >= MINUTE_NANOS) {
                minute.start = nanos;
                minute.logged = 0;
            }
            if (minute.logged >= PER_MINUTE) {
                minute.leftOut++;
                return -1;
            }
            minute.logged++;
            long leftOut = minute.leftOut;
            minute.leftOut = 0;
            return leftOut;
        }
    }

    /** What a logged line adds about the lines left out before it. */
    static String leftOut(long count) {
        return count <= 0
                ? ""
                : " (" + count + " more lines about this endpoint's attempts were left out: at most " + PER_MINUTE
                        + " a minute are logged; /metrics counts every attempt)";
    }
}
