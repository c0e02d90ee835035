package dev.switchboard.bench;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.ToDoubleFunction;

/** Medians of a few trials: the middle value, or the mean of the two middle ones when the count is even. */
final class Medians {
    private Medians() {}

    static double median(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /** The trial at the middle by {@code figure} (the lower middle one when the count is even). */
    static <T> T medianOf(List<T> trials, ToDoubleFunction<T> figure) {
        List<T> sorted =
                trials.stream().sorted(Comparator.comparingDouble(figure)).toList();
        return sorted.get((sorted.size() - 1) / 2);
    }
}
