package dev.switchboard.bench;

import java.time.Instant;
import java.util.List;

/** Everything one run of bench/webhooks measured, with the targets each figure is held to. */
record WebhookResult(
        Machine machine,
        String commit,
        Instant ranAt,
        int tenants,
        int endpointConcurrency,
        long windowSeconds,
        List<Latency> latency,
        Latency isolated,
        List<Throughput> throughput,
        Soak soak,
        Fairness fairness) {

    /** Commit → received at a fixed event rate. */
    record Latency(
            int eventsPerSecond,
            String beside,
            long events,
            double p50Millis,
            double p99Millis,
            double maxMillis,
            double deliveredPerSecond,
            int refusedWrites,
            CpuMeter.Usage cpu) {}

    /** A backlog delivered at one batch size, beside the raw ceiling of the same receiver. */
    record Throughput(
            int maxBatchSize,
            int backlog,
            long delivered,
            double eventsPerSecond,
            int requests,
            double rawEventsPerSecond,
            CpuMeter.Usage rawCpu,
            CpuMeter.Usage cpu) {
        double ratio() {
            return eventsPerSecond / rawEventsPerSecond;
        }
    }

    /** Heap in use after a full GC, and live threads, sampled every minute of the soak. */
    record Sample(double minute, double heapMiB, int threads) {}

    record Soak(
            long minutes,
            int eventsPerSecond,
            long events,
            double p50Millis,
            double p99Millis,
            int refusedWrites,
            List<Sample> samples) {
        /** Growth of the heap after GC from the first sample to the last, in percent (negative: it shrank). */
        double heapGrowthPercent() {
            return samples.size() < 2
                    ? 0
                    : 100 * (samples.getLast().heapMiB() / samples.getFirst().heapMiB() - 1);
        }

        int threadGrowth() {
            return samples.size() < 2
                    ? 0
                    : samples.getLast().threads() - samples.getFirst().threads();
        }
    }

    /**
     * Integration B's one endpoint at a low rate, alone and then beside integration A, whose
     * {@code slowStreams} streams (several tenants, many endpoints: more than the node's concurrency)
     * all answer in {@code slowAnswerMillis}. {@code written} events of B's fall in each window;
     * {@code activeStreams} is the node's streams in flight as the run beside A ended.
     */
    record Fairness(
            int concurrency,
            int integrationConcurrency,
            int slowStreams,
            long slowAnswerMillis,
            long written,
            Latency alone,
            Latency beside,
            double activeStreams) {
        /** Every event of B's arrives, and its p99 beside A stays within 20 % of its p99 alone. */
        boolean met() {
            return beside.events() >= written && beside.p99Millis() <= alone.p99Millis() * 1.2;
        }
    }

    Latency at(int rate) {
        return latency.stream()
                .filter(l -> l.eventsPerSecond() == rate)
                .findFirst()
                .orElse(null);
    }

    /** Targets: p99 under 50 ms at 1,000 events/s; batch 1 at least 0.5 of raw; batch 100 at least 20,000/s;
     *  beside a timing-out endpoint p99 within 20 %; the soak's heap within 10 % and no thread growth. */
    boolean latencyMet() {
        Latency l = at(1000);
        return l != null && l.p99Millis() < 50;
    }

    /** The isolation run follows the run alone at the same rate. */
    boolean isolationMet() {
        Latency alone = isolated == null ? null : at(isolated.eventsPerSecond());
        return alone != null && isolated.p99Millis() <= alone.p99Millis() * 1.2;
    }

    /** The highest rate measured with p99 under 50 ms and no write refused. */
    int highestRateUnder50Millis() {
        return latency.stream()
                .filter(l -> l.p99Millis() < 50 && l.refusedWrites() == 0)
                .mapToInt(Latency::eventsPerSecond)
                .max()
                .orElse(0);
    }
}
