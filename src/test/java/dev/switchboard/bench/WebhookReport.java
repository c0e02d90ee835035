package dev.switchboard.bench;

import dev.switchboard.support.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Renders a {@link WebhookResult}: a console table, docs/benchmarks/webhooks.md and webhooks.json. */
final class WebhookReport {
    private final WebhookResult r;

    WebhookReport(WebhookResult result) {
        this.r = result;
    }

    void write(Path markdown, Path json) throws IOException {
        Files.writeString(markdown, markdown());
        Files.writeString(json, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(r) + "\n");
    }

    String text() {
        StringBuilder out = new StringBuilder();
        for (WebhookResult.Latency l : r.latency()) {
            out.append(f(
                    "Latency at %,d events/s: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%,d events, %,d writes refused)%n",
                    l.eventsPerSecond(), l.p50Millis(), l.p99Millis(), l.maxMillis(), l.events(), l.refusedWrites()));
        }
        if (r.isolated() != null) {
            out.append(f(
                    "Latency at %,d events/s beside an endpoint that never answers: p50 %.1f ms, p99 %.1f ms %s%n",
                    r.isolated().eventsPerSecond(),
                    r.isolated().p50Millis(),
                    r.isolated().p99Millis(),
                    mark(r.isolationMet())));
        }
        for (WebhookResult.Throughput t : r.throughput()) {
            out.append(f(
                    "Throughput, maxBatchSize %d: %,.0f events/s (raw ceiling %,.0f, ratio %.2f) %s%n",
                    t.maxBatchSize(), t.eventsPerSecond(), t.rawEventsPerSecond(), t.ratio(), mark(throughputMet(t))));
        }
        if (r.fairness() != null) {
            WebhookResult.Fairness x = r.fairness();
            out.append(f(
                    "Integration B at %d events/s alone: p50 %.1f ms, p99 %.1f ms (%,d of %,d events)%n",
                    x.alone().eventsPerSecond(),
                    x.alone().p50Millis(),
                    x.alone().p99Millis(),
                    x.alone().events(),
                    x.written()));
            out.append(f(
                    "Integration B beside integration A (%d streams answering in %.1f s): p50 %.1f ms, p99 %.1f ms"
                            + " (%,d of %,d events; %.0f streams in flight) %s%n",
                    x.slowStreams(),
                    x.slowAnswerMillis() / 1000.0,
                    x.beside().p50Millis(),
                    x.beside().p99Millis(),
                    x.beside().events(),
                    x.written(),
                    x.activeStreams(),
                    mark(x.met())));
        }
        if (r.soak() != null) {
            out.append(f(
                    "Soak: %d min at %d events/s, p99 %.1f ms; heap after GC %+.1f %%, threads %+d %s%n",
                    r.soak().minutes(),
                    r.soak().eventsPerSecond(),
                    r.soak().p99Millis(),
                    r.soak().heapGrowthPercent(),
                    r.soak().threadGrowth(),
                    mark(soakMet())));
        }
        return out.toString();
    }

    private String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("# Webhooks benchmark\n\n");
        md.append(f(
                "Run `bench/webhooks` at %s (commit %s). Machine: %s, %d cores, %,d MiB, %s, kernel %s;"
                        + " PostgreSQL %s (embedded, durable commits). The server, its PostgreSQL and this harness (the"
                        + " writers and a Jetty receiver on loopback) share the machine.%n%n",
                r.ranAt(),
                r.commit(),
                r.machine().cpu(),
                r.machine().cores(),
                r.machine().memoryMiB(),
                r.machine().jdk(),
                r.machine().kernel(),
                r.machine().postgres()));
        md.append(f(
                "One integration is connected to %d tenants; records are created through the API, one event each,"
                        + " round-robin over the tenants. Latency is from the event's `time` (stamped as it is appended,"
                        + " just before the commit) to the request's arrival at the receiver, for every event of a %d s"
                        + " window after a 3 s warm-up. `webhooks.endpointConcurrency` is %d.%n%n",
                r.tenants(), r.windowSeconds(), r.endpointConcurrency()));
        md.append("## End-to-end latency (commit → request received)\n\n");
        md.append("| Events/s | Beside | Events | p50 ms | p99 ms | max ms | Delivered/s | Writes refused (503) |"
                + " CPU server / PostgreSQL / harness |\n");
        md.append("|---:|---|---:|---:|---:|---:|---:|---:|---|\n");
        for (WebhookResult.Latency l : r.latency()) {
            md.append(latencyRow(l));
        }
        if (r.isolated() != null) {
            md.append(latencyRow(r.isolated()));
        }
        md.append(f(
                "%nTargets: p99 under 50 ms at 1,000 events/s: **%s** (the highest rate measured with p99 under"
                        + " 50 ms: %,d events/s). Beside an endpoint that times out every request (5 s), the healthy endpoint's"
                        + " p99 stays within 20 %% of the same run without it: **%s**.%n%n",
                met(r.latencyMet()), r.highestRateUnder50Millis(), met(r.isolationMet())));
        if (!r.throughput().isEmpty()) {
            md.append("## Throughput\n\n");
            md.append("A backlog is appended to the tenants' logs while the endpoint is disabled; it is then enabled,"
                    + " and the time until the receiver has every event gives events/s. The raw ceiling sends the very"
                    + " bodies the receiver got, with a plain Jetty HTTP client at the same concurrency, as fast as it"
                    + " can.\n\n");
            md.append(
                    "| maxBatchSize | Events | Requests | Switchboard events/s | Raw ceiling events/s | Ratio | Target |"
                            + " CPU server / PostgreSQL / harness |\n|---:|---:|---:|---:|---:|---:|---|---|\n");
            for (WebhookResult.Throughput t : r.throughput()) {
                md.append(f(
                        "| %d | %,d | %,d | %,.0f | %,.0f | %.2f | %s | %s |%n",
                        t.maxBatchSize(),
                        t.delivered(),
                        t.requests(),
                        t.eventsPerSecond(),
                        t.rawEventsPerSecond(),
                        t.ratio(),
                        t.maxBatchSize() == 1
                                ? "≥ 0.5 of raw: **" + met(throughputMet(t)) + "**"
                                : "≥ 20,000/s: **" + met(throughputMet(t)) + "**",
                        cpu(t.cpu())));
            }
            md.append("\n");
        }
        if (r.fairness() != null) {
            WebhookResult.Fairness x = r.fairness();
            md.append(f(
                    "## Fairness between integrations%n%nIntegration B (its own tenant, one endpoint) receives %d events/s,"
                            + " first alone, then beside integration A: connected to 4 tenants with 20 endpoints, so %d"
                            + " streams, more than `webhooks.concurrency` (%d), every one answering in %.1f s (the timeout"
                            + " is 5 s) while A's tenants write 20 events/s. `webhooks.integrationConcurrency` is %d."
                            + " Each window is %d s after a 3 s warm-up; A has 10 s to take what it can first.%n%n",
                    x.alone().eventsPerSecond(),
                    x.slowStreams(),
                    x.concurrency(),
                    x.slowAnswerMillis() / 1000.0,
                    x.integrationConcurrency(),
                    r.windowSeconds()));
            md.append("| Integration B | Events received / written | p50 ms | p99 ms | max ms |"
                    + " CPU server / PostgreSQL / harness |\n|---|---:|---:|---:|---:|---|\n");
            for (WebhookResult.Latency l : java.util.List.of(x.alone(), x.beside())) {
                md.append(f(
                        "| %s | %,d / %,d | %.1f | %.1f | %.1f | %s |%n",
                        l.beside(),
                        l.events(),
                        x.written(),
                        l.p50Millis(),
                        l.p99Millis(),
                        l.maxMillis(),
                        cpu(l.cpu())));
            }
            md.append(f(
                    "%nStreams in flight on the node as the run beside A ended: %.0f. Target: every event of B's"
                            + " arrives and its p99 beside A is within 20 %% of its p99 alone: **%s**.%n%n",
                    x.activeStreams(), met(x.met())));
        }
        if (r.soak() != null) {
            WebhookResult.Soak s = r.soak();
            md.append(f(
                    "## Soak%n%n%d minutes at %d events/s: %,d events, p50 %.1f ms, p99 %.1f ms, %,d writes refused"
                            + " (503). At the end of every minute (the last 5 s before the end) the"
                            + " server's heap is collected (`jcmd GC.run`), then its heap in use and live threads are read"
                            + " from `/metrics`.%n%n| Minute | Heap after GC (MiB) | Live threads |%n|---:|---:|---:|%n",
                    s.minutes(), s.eventsPerSecond(), s.events(), s.p50Millis(), s.p99Millis(), s.refusedWrites()));
            for (WebhookResult.Sample sample : s.samples()) {
                md.append(f("| %.1f | %.1f | %d |%n", sample.minute(), sample.heapMiB(), sample.threads()));
            }
            md.append(f(
                    "%nHeap after GC from the first to the last minute: %+.1f %% (target: grows by at most 10 %%); threads %+d"
                            + " (target no growth): **%s**.%n",
                    s.heapGrowthPercent(), s.threadGrowth(), met(soakMet())));
        }
        return md.toString();
    }

    private String latencyRow(WebhookResult.Latency l) {
        return f(
                "| %,d | %s | %,d | %.1f | %.1f | %.1f | %,.0f | %,d | %s |%n",
                l.eventsPerSecond(),
                l.beside(),
                l.events(),
                l.p50Millis(),
                l.p99Millis(),
                l.maxMillis(),
                l.deliveredPerSecond(),
                l.refusedWrites(),
                cpu(l.cpu()));
    }

    private static boolean throughputMet(WebhookResult.Throughput t) {
        return t.maxBatchSize() == 1 ? t.ratio() >= 0.5 : t.eventsPerSecond() >= 20_000;
    }

    private boolean soakMet() {
        return r.soak() != null
                && r.soak().heapGrowthPercent() <= 10
                && r.soak().threadGrowth() <= 0;
    }

    private static String cpu(CpuMeter.Usage u) {
        return f("%.2f / %.2f / %.2f", u.server(), u.postgres(), u.loadGenerator());
    }

    private static String met(boolean met) {
        return met ? "met" : "missed";
    }

    private static String mark(boolean met) {
        return met ? "(target met)" : "(target missed)";
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
