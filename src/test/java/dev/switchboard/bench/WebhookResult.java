package dev.switchboard.bench;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;

/** Everything one run of bench/webhooks measured, with the targets each figure is held to. */
record WebhookResult(
        Machine machine,
        String commit,
        String receiver,
        Instant ranAt,
        int tenants,
        int endpointConcurrency,
        long windowSeconds,
        List<Latency> latency,
        Latency isolated,
        int trials,
        List<Drained> throughput,
        Fanout fanout,
        List<Retried> retries,
        Soak soak,
        Fairness fairness) {

    /** The targets of the drained backlogs and the fan-out's live runs. */
    static final double RATIO_TARGET = 0.5;

    static final double CPU_MICROS_TARGET = 250;
    static final double BATCH100_TARGET = 62_000;
    /** Delivered at least this share of what was offered: the delivery keeps up. */
    static final double KEEPS_UP = 0.95;

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
            CpuMeter.Usage cpu) {
        /** CPU of the server and PostgreSQL together per delivered message (the writes' share included), in µs. */
        double cpuMicrosPerMessage() {
            return (cpu.server() + cpu.postgres()) * 1e6 / deliveredPerSecond;
        }
    }

    /**
     * One trial of a backlog delivered at one batch size: {@code delivered} events in {@code requests}
     * messages over {@code seconds}, then the same bodies sent to the same receiver by a plain HTTP client
     * (the raw ceiling: {@code rawRequestsPerSecond} requests carrying {@code rawEventsPerSecond} events).
     */
    record Throughput(
            int maxBatchSize,
            int backlog,
            long delivered,
            double seconds,
            double eventsPerSecond,
            int requests,
            double rawEventsPerSecond,
            double rawRequestsPerSecond,
            CpuMeter.Usage rawCpu,
            CpuMeter.Usage cpu) {
        double ratio() {
            return eventsPerSecond / rawEventsPerSecond;
        }

        double messagesPerSecond() {
            return requests / seconds;
        }

        /** Messages per second over the raw ceiling's requests per second (the same bodies). */
        double messageRatio() {
            return messagesPerSecond() / rawRequestsPerSecond;
        }

        /** CPU of the server and PostgreSQL together per delivered message, in microseconds. */
        double cpuMicrosPerMessage() {
            return (cpu.server() + cpu.postgres()) * 1e6 / messagesPerSecond();
        }
    }

    /**
     * The trials of one drained scenario: {@code streams} streams ({@code tenants} tenants ×
     * {@code endpoints} endpoints) with {@code perStream} events waiting each, at one batch size.
     */
    /** One scenario of failed messages sent again by a bulk retry, beside their first delivery. */
    record Retried(Drained first, Drained retried) {}

    record Drained(
            String scenario, int tenants, int endpoints, int maxBatchSize, int perStream, List<Throughput> trials) {
        double median(ToDoubleFunction<Throughput> figure) {
            return Medians.median(trials.stream().mapToDouble(figure).toArray());
        }

        double min(ToDoubleFunction<Throughput> figure) {
            return trials.stream().mapToDouble(figure).min().orElse(Double.NaN);
        }

        double max(ToDoubleFunction<Throughput> figure) {
            return trials.stream().mapToDouble(figure).max().orElse(Double.NaN);
        }

        /** The trial whose messages/s is the median's (for its CPU split). */
        Throughput medianTrial() {
            return Medians.medianOf(trials, Throughput::messagesPerSecond);
        }

        boolean ratioMet() {
            return median(Throughput::messageRatio) >= RATIO_TARGET;
        }

        boolean cpuMet() {
            return median(Throughput::cpuMicrosPerMessage) <= CPU_MICROS_TARGET;
        }

        boolean batch100Met() {
            return median(Throughput::eventsPerSecond) >= BATCH100_TARGET;
        }
    }

    /**
     * One tenant whose log {@code endpoints} endpoints of as many integrations follow at batch size 1:
     * a backlog drained, and records written at fixed rates.
     */
    record Fanout(int endpoints, Drained drained, List<Live> live) {}

    /** The trials of records written at {@code eventsPerSecond} to the fan-out's tenant, each event to every endpoint. */
    record Live(int eventsPerSecond, int endpoints, List<Latency> trials) {
        int offeredMessagesPerSecond() {
            return eventsPerSecond * endpoints;
        }

        double median(ToDoubleFunction<Latency> figure) {
            return Medians.median(trials.stream().mapToDouble(figure).toArray());
        }

        double min(ToDoubleFunction<Latency> figure) {
            return trials.stream().mapToDouble(figure).min().orElse(Double.NaN);
        }

        double max(ToDoubleFunction<Latency> figure) {
            return trials.stream().mapToDouble(figure).max().orElse(Double.NaN);
        }

        Latency medianTrial() {
            return Medians.medianOf(trials, Latency::p99Millis);
        }

        /** The p99 target: under 50 ms at 1,000 messages/s, under 250 ms at 5,000; none at other rates. */
        double p99TargetMillis() {
            return switch (offeredMessagesPerSecond()) {
                case 1000 -> 50;
                case 5000 -> 250;
                default -> Double.NaN;
            };
        }

        /** Delivered/s within the window is at least 95 % of what was offered, and no write was refused. */
        boolean keepsUp() {
            return median(Latency::deliveredPerSecond) >= KEEPS_UP * offeredMessagesPerSecond()
                    && trials.stream().allMatch(l -> l.refusedWrites() == 0);
        }

        boolean met() {
            return keepsUp() && (Double.isNaN(p99TargetMillis()) || median(Latency::p99Millis) < p99TargetMillis());
        }
    }

    /**
     * Sampled every minute of the soak: heap in use after a full GC, live threads, PostgreSQL's CPU
     * seconds (in all, and of its connections and of autovacuum: {@link CpuMeter.PostgresTicks}) and
     * the messages delivered since the soak began, and the delivery tables' sizes.
     */
    record Sample(
            double minute,
            double heapMiB,
            int threads,
            double postgresSeconds,
            double connectionSeconds,
            double autovacuumSeconds,
            long messages,
            List<RelationSize> sizes) {}

    /**
     * A table's rows (live and dead, from PostgreSQL's statistics), its bytes (with TOAST), its indexes'
     * bytes, and how many times autovacuum has vacuumed it.
     */
    record RelationSize(
            String table, long liveRows, long deadRows, long tableBytes, long indexBytes, long autovacuums) {}

    record Soak(
            long minutes,
            int eventsPerSecond,
            int endpoints,
            long events,
            double p50Millis,
            double p99Millis,
            int refusedWrites,
            List<RelationSize> sizesAtStart,
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

        /** Each minute's PostgreSQL CPU per message delivered in it, in µs (NaN for a minute with no message). */
        List<Double> postgresMicrosPerMessage() {
            return perMessage(Sample::postgresSeconds);
        }

        /** The same, for PostgreSQL's connections only (the statements themselves, without autovacuum). */
        List<Double> connectionMicrosPerMessage() {
            return perMessage(Sample::connectionSeconds);
        }

        /** The same, for autovacuum. */
        List<Double> autovacuumMicrosPerMessage() {
            return perMessage(Sample::autovacuumSeconds);
        }

        private List<Double> perMessage(ToDoubleFunction<Sample> cpuSeconds) {
            List<Double> perMinute = new ArrayList<>();
            double seconds = 0;
            long messages = 0;
            for (Sample s : samples) {
                long delivered = s.messages() - messages;
                double now = cpuSeconds.applyAsDouble(s);
                perMinute.add(delivered == 0 ? Double.NaN : 1e6 * (now - seconds) / delivered);
                seconds = now;
                messages = s.messages();
            }
            return perMinute;
        }

        /** The median of the first third's minutes (at least one) of PostgreSQL CPU per message, in µs. */
        double postgresMicrosFirstThird() {
            List<Double> all = postgresMicrosPerMessage();
            return medianOf(all.subList(0, Math.max(1, all.size() / 3)));
        }

        /** The median of the last third's minutes (at least one) of PostgreSQL CPU per message, in µs. */
        double postgresMicrosLastThird() {
            List<Double> all = postgresMicrosPerMessage();
            return medianOf(all.subList(all.size() - Math.max(1, all.size() / 3), all.size()));
        }

        /** Growth of PostgreSQL's CPU per message from the first third to the last, in percent. */
        double postgresGrowthPercent() {
            return samples.isEmpty() ? 0 : 100 * (postgresMicrosLastThird() / postgresMicrosFirstThird() - 1);
        }

        List<RelationSize> sizesAtEnd() {
            return samples.isEmpty() ? sizesAtStart : samples.getLast().sizes();
        }

        private static double medianOf(List<Double> values) {
            List<Double> sorted =
                    values.stream().filter(v -> !v.isNaN()).sorted().toList();
            if (sorted.isEmpty()) {
                return Double.NaN;
            }
            int n = sorted.size();
            return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
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
            List<Latency> aloneTrials,
            List<Latency> besideTrials,
            double activeStreams) {
        /** B alone: the trial with the median p99. */
        Latency alone() {
            return Medians.medianOf(aloneTrials, Latency::p99Millis);
        }

        /** B beside A: the trial with the median p99. */
        Latency beside() {
            return Medians.medianOf(besideTrials, Latency::p99Millis);
        }

        /** Every event of B's arrives, and its median p99 beside A stays within 20 % of its median p99 alone. */
        boolean met() {
            return besideTrials.stream().allMatch(l -> l.events() >= written)
                    && beside().p99Millis() <= alone().p99Millis() * 1.2;
        }
    }

    Latency at(int rate) {
        return latency.stream()
                .filter(l -> l.eventsPerSecond() == rate)
                .findFirst()
                .orElse(null);
    }

    /** Targets: p99 under 50 ms at 1,000 events/s; batch 1 at least 0.5 of raw; batch 100 at least 62,000/s;
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
