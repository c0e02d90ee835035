package dev.switchboard.bench;

import java.util.List;
import java.util.function.ToDoubleFunction;

/** Everything one run of the spine benchmark measured: every trial, and the medians that are quoted. */
record SpineResult(
        String date,
        String commit,
        Machine machine,
        Method method,
        List<CreateRow> creates,
        Reads reads,
        Feed feed,
        Tracing tracing) {

    static final double CREATE_RATIO_TARGET = 0.6;
    static final double GET_RATE_TARGET = 10_000;
    static final double GET_P99_TARGET_MILLIS = 10;
    static final double FEED_RATE_TARGET = 50_000;
    static final String BUSY = "one busy tenant";
    static final String MANY = "one tenant per client";

    /** How the figures were taken. */
    record Method(
            int trials,
            long warmupSeconds,
            long windowSeconds,
            List<Integer> concurrencies,
            int fixedRate,
            int recordsRead,
            int eventsPrefilled,
            int feedPage) {}

    /** The medians over the trials of one configuration (each field's own median). */
    record Summary(double perSecond, double p50Millis, double p99Millis, CpuMeter.Usage cpu, List<Measurement> trials) {
        static Summary of(List<Measurement> trials) {
            return new Summary(
                    median(trials, Measurement::perSecond),
                    median(trials, Measurement::p50Millis),
                    median(trials, Measurement::p99Millis),
                    medianCpu(trials.stream().map(Measurement::cpu).toList()),
                    trials);
        }
    }

    /**
     * Creates at one concurrency into one busy tenant or into one tenant per client, through Switchboard
     * and straight over JDBC; {@code ratio} is the median of the per-trial ratios (each trial measures
     * both back to back).
     */
    record CreateRow(String tenants, int clients, Summary switchboard, Summary raw, double ratio, List<Double> ratios) {
        boolean meetsTarget() {
            return ratio >= CREATE_RATIO_TARGET;
        }
    }

    record Reads(Summary closedLoop, int clients, Summary fixedRate) {
        boolean meetsRateTarget() {
            return closedLoop.perSecond() >= GET_RATE_TARGET;
        }

        boolean meetsLatencyTarget() {
            return fixedRate.p99Millis() < GET_P99_TARGET_MILLIS;
        }
    }

    record Feed(double eventsPerSecond, CpuMeter.Usage cpu, List<FeedReader.Read> trials) {
        static Feed of(List<FeedReader.Read> trials) {
            return new Feed(
                    median(trials, FeedReader.Read::perSecond),
                    medianCpu(trials.stream().map(FeedReader.Read::cpu).toList()),
                    trials);
        }

        boolean meetsTarget() {
            return eventsPerSecond >= FEED_RATE_TARGET;
        }
    }

    /**
     * Creates on two fresh servers of the same build, one with tracing off and one exporting every span over
     * OTLP/HTTP to a local sink, measured back to back in each trial; {@code ratio}: on ÷ off, the median
     * of the per-trial ratios.
     */
    record TracingRow(String tenants, int clients, Summary off, Summary on, double ratio, List<Double> ratios) {}

    /** The tracing phase's rows, and the spans the sink received from the traced server. */
    record Tracing(List<TracingRow> rows, long spansExported) {}

    static <T> double median(List<T> items, ToDoubleFunction<T> value) {
        double[] v = items.stream().mapToDouble(value).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    static CpuMeter.Usage medianCpu(List<CpuMeter.Usage> usages) {
        return new CpuMeter.Usage(
                median(usages, CpuMeter.Usage::loadGenerator),
                median(usages, CpuMeter.Usage::server),
                median(usages, CpuMeter.Usage::postgres),
                median(usages, CpuMeter.Usage::other),
                median(usages, CpuMeter.Usage::machine));
    }
}
