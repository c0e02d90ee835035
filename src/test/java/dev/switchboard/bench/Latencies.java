package dev.switchboard.bench;

import java.util.Arrays;
import java.util.Collection;

/**
 * The latencies of one run, in nanoseconds. Runs are short, so every sample is kept and percentiles
 * are exact (nearest rank) rather than estimated from buckets. Not thread-safe: one per client.
 */
public final class Latencies {
    private long[] values = new long[1024];
    private int size;
    private boolean sorted;

    public void add(long nanos) {
        if (size == values.length) {
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = nanos;
        sorted = false;
    }

    public int count() {
        return size;
    }

    static Latencies merge(Collection<Latencies> parts) {
        Latencies all = new Latencies();
        all.values =
                new long[Math.max(1, parts.stream().mapToInt(Latencies::count).sum())];
        for (Latencies part : parts) {
            System.arraycopy(part.values, 0, all.values, all.size, part.size);
            all.size += part.size;
        }
        return all;
    }

    /** The {@code percentile} (0-100) in milliseconds; NaN when there are no samples. */
    public double millis(double percentile) {
        if (size == 0) {
            return Double.NaN;
        }
        if (!sorted) {
            Arrays.sort(values, 0, size);
            sorted = true;
        }
        int rank = (int) Math.ceil(percentile / 100.0 * size);
        return values[Math.max(0, Math.min(size - 1, rank - 1))] / 1e6;
    }
}
