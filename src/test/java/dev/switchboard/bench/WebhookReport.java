package dev.switchboard.bench;

import dev.switchboard.support.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

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
        out.append(f(
                "Machine: %s, %d cores, %,d MiB, %s; PostgreSQL %s. Server, PostgreSQL, receiver and writers share"
                        + " the cores; \"other\" below is what the rest of the machine took meanwhile.%n",
                r.machine().cpu(),
                r.machine().cores(),
                r.machine().memoryMiB(),
                r.machine().jdk(),
                r.machine().postgres()));
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
        List<Row> targets = targets();
        if (!targets.isEmpty()) {
            out.append(
                    r.trials() == 1
                            ? "Targets (one trial each):\n"
                            : f("Targets (medians of %d trials; min–max in brackets):%n", r.trials()));
            for (Row row : targets) {
                out.append(f(
                        "- %s: %s%s%s; target %s: %s%n    limited by: %s%n",
                        row.figure(),
                        row.switchboard(),
                        row.raw().isEmpty() ? "" : "; raw ceiling " + row.raw(),
                        row.ratio().isEmpty() ? "" : "; ratio " + row.ratio(),
                        row.target(),
                        met(row.met()).toUpperCase(Locale.ROOT),
                        row.limit()));
            }
        }
        if (r.fairness() != null) {
            WebhookResult.Fairness x = r.fairness();
            out.append(f(
                    "Integration B at %d events/s alone (the trial of median p99 of %d): p50 %.1f ms, p99 %.1f ms"
                            + " (%,d of %,d events)%n",
                    x.alone().eventsPerSecond(),
                    x.aloneTrials().size(),
                    x.alone().p50Millis(),
                    x.alone().p99Millis(),
                    x.alone().events(),
                    x.written()));
            out.append(f(
                    "Integration B beside integration A (%d streams answering in %.1f s; the trial of median p99 of"
                            + " %d): p50 %.1f ms, p99 %.1f ms (%,d of %,d events; %.0f streams in flight) %s%n",
                    x.slowStreams(),
                    x.slowAnswerMillis() / 1000.0,
                    x.besideTrials().size(),
                    x.beside().p50Millis(),
                    x.beside().p99Millis(),
                    x.beside().events(),
                    x.written(),
                    x.activeStreams(),
                    mark(x.met())));
        }
        if (r.soak() != null) {
            out.append(f(
                    "Soak: %d min at %d events/s × %d endpoints, p99 %.1f ms; heap after GC %+.1f %%, threads %+d;"
                            + " PostgreSQL CPU per message %.0f µs in the first third, %.0f µs in the last (%+.0f %%) %s%n",
                    r.soak().minutes(),
                    r.soak().eventsPerSecond(),
                    r.soak().endpoints(),
                    r.soak().p99Millis(),
                    r.soak().heapGrowthPercent(),
                    r.soak().threadGrowth(),
                    r.soak().postgresMicrosFirstThird(),
                    r.soak().postgresMicrosLastThird(),
                    r.soak().postgresGrowthPercent(),
                    mark(soakMet())));
            for (String line : sizeLines(r.soak())) {
                out.append("    ").append(line).append(f("%n"));
            }
        }
        return out.toString();
    }

    private String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("# Webhooks benchmark\n\n");
        md.append(f(
                "Run `bench/webhooks` at %s (commit %s). Machine: %s, %d cores, %,d MiB, %s, kernel %s;"
                        + " PostgreSQL %s (embedded, durable commits). The server, its PostgreSQL and this harness (the"
                        + " writers, and the receiver on loopback: %s) share the machine.%n%n",
                r.ranAt(),
                r.commit(),
                r.machine().cpu(),
                r.machine().cores(),
                r.machine().memoryMiB(),
                r.machine().jdk(),
                r.machine().kernel(),
                r.machine().postgres(),
                r.receiver()));
        md.append(f(
                "One integration is connected to %d tenants; records are created through the API, one event each,"
                        + " round-robin over the tenants. Latency is from the event's `time` (stamped as it is appended,"
                        + " just before the commit) to the request's arrival at the receiver, for every event of a %d s"
                        + " window after a 3 s warm-up. `webhooks.endpointConcurrency` is %d.%n%n",
                r.tenants(), r.windowSeconds(), r.endpointConcurrency()));
        List<Row> targets = targets();
        if (!targets.isEmpty()) {
            md.append(f(
                    "## Targets%n%nEach figure is %s, measured side by side with the raw ceiling in the same trial: a plain Jetty HTTP client sending the very"
                            + " bodies the receiver got to the same receiver. CPU per message is the server's and its"
                            + " PostgreSQL's CPU time (from /proc) over the messages delivered. \"What limits it\" is"
                            + " read from the same trial's CPU split: when the machine's cores were (nearly) all busy,"
                            + " the cores are the limit, and the split says who held them.%n%n",
                    r.trials() == 1
                            ? "from one trial"
                            : f("the median of %d trials (min–max in brackets)", r.trials())));
            md.append("| Figure | Switchboard | Raw ceiling | Ratio | Target | Result | What limits it |\n"
                    + "|---|---|---|---|---|---|---|\n");
            for (Row row : targets) {
                md.append(f(
                        "| %s | %s | %s | %s | %s | **%s** | %s |%n",
                        row.figure(),
                        row.switchboard(),
                        row.raw().isEmpty() ? "–" : row.raw(),
                        row.ratio().isEmpty() ? "–" : row.ratio(),
                        row.target(),
                        met(row.met()),
                        row.limit()));
            }
            md.append("\n");
        }
        if (!r.latency().isEmpty() || r.isolated() != null) {
            latency(md);
        }
        throughputAndFanout(md);
        retries(md);
        fairnessAndSoak(md);
        return md.toString();
    }

    private void latency(StringBuilder md) {
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
    }

    private void throughputAndFanout(StringBuilder md) {
        if (!r.throughput().isEmpty()) {
            md.append("## Throughput\n\n");
            md.append("A backlog is appended to the tenants' logs (one integration connected to each) while a new"
                    + " endpoint is disabled; it is then enabled, and the time until the receiver has every event gives"
                    + " events/s. The raw ceiling, right after in the same trial, sends the very bodies the receiver got"
                    + " with a plain Jetty HTTP client at the same concurrency (`webhooks.endpointConcurrency`), as"
                    + " fast as it can. Before the trials of each batch size an untimed backlog (as large as a trial's,"
                    + " up to 16,000 events, and at least a quarter of it) is delivered and its bodies sent by the raw"
                    + " client, so both sides are compiled before the clock starts.\n\n");
            md.append(trialsHeader());
            for (WebhookResult.Drained d : r.throughput()) {
                md.append(trialRows(d));
            }
            md.append("\n");
        }
        if (r.fanout() != null) {
            WebhookResult.Fanout x = r.fanout();
            md.append(f(
                    "## Fan-out: 1 tenant × %d endpoints%n%n%d integrations are connected to one tenant, each with one"
                            + " events endpoint at `maxBatchSize` 1 on the receiver, so every event of the tenant's"
                            + " log is %d messages.%n%n",
                    x.endpoints(), x.endpoints(), x.endpoints()));
            md.append(f(
                    "**Drained.** While every endpoint is disabled, %,d events are appended to the tenant's log; all"
                            + " endpoints are then enabled at once (one PATCH each, in parallel) and the time until the"
                            + " receiver has %,d messages gives messages/s. The raw ceiling sends the same bodies at %d"
                            + " connections. A backlog of the same size goes first, untimed, delivered and sent by the raw"
                            + " client.%n%n",
                    x.drained().perStream(), (long) x.drained().perStream() * x.endpoints(), 16));
            md.append(trialsHeader());
            md.append(trialRows(x.drained()));
            if (!x.live().isEmpty()) {
                md.append(f(
                        "%n**Live.** Records are created through the API with one connection's access token at a"
                                + " fixed rate (an open loop), each event going to all %d endpoints. Lag is from the"
                                + " event's `time` (stamped as it is appended, just before the commit) to the message's"
                                + " arrival, for every message of a %d s window after a 3 s warm-up (and 10 s at the"
                                + " first rate before the first trial). Delivered/s counts the messages that arrived in"
                                + " the window; it keeps up when that is at least %.0f %% of the offered rate and no"
                                + " write was refused. CPU per message includes the record writes (one create per %d"
                                + " messages).%n%n",
                        x.endpoints(), r.windowSeconds(), WebhookResult.KEEPS_UP * 100, x.endpoints()));
                md.append(
                        "| Events/s | Messages/s offered | Trial | Messages | p50 ms | p99 ms | max ms | Delivered/s |"
                                + " Writes refused (503) | CPU µs per message | CPU server / PostgreSQL / harness / other |\n"
                                + "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
                for (WebhookResult.Live live : x.live()) {
                    for (int i = 0; i < live.trials().size(); i++) {
                        WebhookResult.Latency l = live.trials().get(i);
                        md.append(f(
                                "| %,d | %,d | %d | %,d | %.1f | %.1f | %.1f | %,.0f | %,d | %.0f | %s |%n",
                                live.eventsPerSecond(),
                                live.offeredMessagesPerSecond(),
                                i + 1,
                                l.events(),
                                l.p50Millis(),
                                l.p99Millis(),
                                l.maxMillis(),
                                l.deliveredPerSecond(),
                                l.refusedWrites(),
                                l.cpuMicrosPerMessage(),
                                cpu4(l.cpu())));
                    }
                }
            }
            md.append("\n");
        }
    }

    private void retries(StringBuilder md) {
        if (r.retries().isEmpty()) {
            return;
        }
        md.append("## Retries\n\n");
        md.append("Failed messages sent again with one bulk retry (`POST /api/v1/webhooks/{id}/messages/retry`), as"
                + " after a receiver's outage. A backlog is delivered to a new endpoint at `maxBatchSize` 1 (the first"
                + " delivery, timed, beside its raw ceiling at `webhooks.endpointConcurrency`); its messages are then"
                + " marked failed in the table, as abandoning them after their last attempt leaves them, and the bulk"
                + " retry is timed until the receiver has every one again. A stream's retries go one at a time, in"
                + " seq order, and one integration's at most 4 at once (its share of the node's manual messages):"
                + " their raw ceiling sends the same bodies at that concurrency, 1 for one tenant and 4 for many. An"
                + " untimed trial of a quarter of the size goes first.\n\n");
        for (WebhookResult.Retried scenario : r.retries()) {
            WebhookResult.Drained first = scenario.first();
            WebhookResult.Drained retried = scenario.retried();
            md.append(f(
                    "- %s: retried %s messages/s (%s of its raw ceiling), first delivery %s messages/s.%n",
                    retried.scenario(),
                    spread(retried, WebhookResult.Throughput::messagesPerSecond, "%,.0f"),
                    spread(retried, WebhookResult.Throughput::messageRatio, "%.2f"),
                    spread(first, WebhookResult.Throughput::messagesPerSecond, "%,.0f")));
        }
        md.append("\n").append(trialsHeader());
        r.retries().forEach(s -> md.append(trialRows(s.first())).append(trialRows(s.retried())));
        md.append("\n");
    }

    private void fairnessAndSoak(StringBuilder md) {
        if (r.fairness() != null) {
            WebhookResult.Fairness x = r.fairness();
            md.append(f(
                    "## Fairness between integrations%n%nIntegration B (its own tenant, one endpoint) receives %d events/s,"
                            + " alone and beside integration A: connected to 4 tenants with 20 endpoints, so %d"
                            + " streams, more than `webhooks.concurrency` (%d), every one answering in %.1f s (the timeout"
                            + " is 5 s). `webhooks.integrationConcurrency` is %d. A's tenants write 20 events/s through"
                            + " the whole phase, so each of its streams always has work; alone is the same load with A's"
                            + " endpoints disabled and none of their requests in flight, so the two differ only in A's slow"
                            + " streams. Each window is %d s after a 3 s warm-up; %d trials alone and %d beside A alternate"
                            + " (A's endpoints are enabled 10 s before each window beside it, to take what they can"
                            + " first).%n%n",
                    x.alone().eventsPerSecond(),
                    x.slowStreams(),
                    x.concurrency(),
                    x.slowAnswerMillis() / 1000.0,
                    x.integrationConcurrency(),
                    x.written() / x.alone().eventsPerSecond(),
                    x.aloneTrials().size(),
                    x.besideTrials().size()));
            md.append("| Integration B | Trial | Events received / written | p50 ms | p99 ms | max ms |"
                    + " CPU server / PostgreSQL / harness |\n|---|---:|---:|---:|---:|---:|---|\n");
            for (List<WebhookResult.Latency> trials : List.of(x.aloneTrials(), x.besideTrials())) {
                for (int i = 0; i < trials.size(); i++) {
                    WebhookResult.Latency l = trials.get(i);
                    md.append(f(
                            "| %s | %d | %,d / %,d | %.1f | %.1f | %.1f | %s |%n",
                            l.beside(),
                            i + 1,
                            l.events(),
                            x.written(),
                            l.p50Millis(),
                            l.p99Millis(),
                            l.maxMillis(),
                            cpu(l.cpu())));
                }
            }
            md.append(f(
                    "%nStreams in flight on the node as the last run beside A ended: %.0f. Median p99: %.1f ms alone,"
                            + " %.1f ms beside A. Target: every event of B's arrives and its median p99 beside A is"
                            + " within 20 %% of its median p99 alone: **%s**.%n%n",
                    x.activeStreams(), x.alone().p99Millis(), x.beside().p99Millis(), met(x.met())));
        }
        if (r.soak() != null) {
            WebhookResult.Soak s = r.soak();
            md.append(f(
                    "## Soak%n%n%d minutes at %d events/s to %d endpoints at batch size 1 (%,d messages/s offered):"
                            + " %,d messages, p50 %.1f ms, p99 %.1f ms, %,d writes refused"
                            + " (503), measured after 30 s at the same rate and until their messages had arrived (on a"
                            + " server just started, the first seconds queue the writes and deliver the backlog in large,"
                            + " cheap steps). At the end of every minute (the last 5 s before the end): PostgreSQL's CPU and the"
                            + " messages delivered since the minute before (PostgreSQL CPU per message, autovacuum"
                            + " included), the delivery tables' sizes, then the server's heap is collected (`jcmd GC.run`)"
                            + " and its heap in use and live threads are read from `/metrics`.%n%n"
                            + " PostgreSQL's CPU is split by process: its connections (the statements), autovacuum (its"
                            + " workers, and any other process that ended), and the rest (WAL writer, checkpointer, …).%n%n"
                            + "| Minute | Heap after GC (MiB) | Live threads | Messages/s | PostgreSQL CPU per message (µs)"
                            + " | of which connections | autovacuum | rest |%n"
                            + "|---:|---:|---:|---:|---:|---:|---:|---:|%n",
                    s.minutes(),
                    s.eventsPerSecond(),
                    s.endpoints(),
                    s.eventsPerSecond() * s.endpoints(),
                    s.events(),
                    s.p50Millis(),
                    s.p99Millis(),
                    s.refusedWrites()));
            List<Double> perMessage = s.postgresMicrosPerMessage();
            List<Double> connections = s.connectionMicrosPerMessage();
            List<Double> autovacuum = s.autovacuumMicrosPerMessage();
            double minute = 0;
            long messages = 0;
            for (int i = 0; i < s.samples().size(); i++) {
                WebhookResult.Sample sample = s.samples().get(i);
                md.append(f(
                        "| %.1f | %.1f | %d | %,.0f | %.0f | %.0f | %.0f | %.0f |%n",
                        sample.minute(),
                        sample.heapMiB(),
                        sample.threads(),
                        (sample.messages() - messages) / ((sample.minute() - minute) * 60),
                        perMessage.get(i),
                        connections.get(i),
                        autovacuum.get(i),
                        perMessage.get(i) - connections.get(i) - autovacuum.get(i)));
                minute = sample.minute();
                messages = sample.messages();
            }
            md.append(f("%nThe delivery tables at the start and the end of the soak (rows from PostgreSQL's statistics;"
                    + " table bytes include TOAST):%n%n"));
            for (String line : sizeLines(s)) {
                md.append("- ").append(line).append(f("%n"));
            }
            md.append(f(
                    "%nHeap after GC from the first to the last minute: %+.1f %% (target: grows by at most 10 %%); threads %+d"
                            + " (target no growth); PostgreSQL CPU per message, median of the first third's minutes %.0f µs,"
                            + " of the last third's %.0f µs, %+.0f %% (target: grows by at most 10 %%): **%s**.%n",
                    s.heapGrowthPercent(),
                    s.threadGrowth(),
                    s.postgresMicrosFirstThird(),
                    s.postgresMicrosLastThird(),
                    s.postgresGrowthPercent(),
                    met(soakMet())));
        }
    }

    /** One line per delivery table: rows and bytes (table, indexes) at the soak's start and end. */
    private static List<String> sizeLines(WebhookResult.Soak s) {
        Map<String, WebhookResult.RelationSize> end = new java.util.HashMap<>();
        s.sizesAtEnd().forEach(size -> end.put(size.table(), size));
        List<String> lines = new java.util.ArrayList<>();
        for (WebhookResult.RelationSize a : s.sizesAtStart()) {
            WebhookResult.RelationSize b = end.getOrDefault(a.table(), a);
            lines.add(f(
                    "%s: %,d → %,d live rows (%,d → %,d dead), table %,d → %,d KiB, indexes %,d → %,d KiB,"
                            + " autovacuum runs %d",
                    a.table(),
                    a.liveRows(),
                    b.liveRows(),
                    a.deadRows(),
                    b.deadRows(),
                    a.tableBytes() / 1024,
                    b.tableBytes() / 1024,
                    a.indexBytes() / 1024,
                    b.indexBytes() / 1024,
                    b.autovacuums() - a.autovacuums()));
        }
        return lines;
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

    private static String trialsHeader() {
        return "| Scenario | maxBatchSize | Trial | Events | Messages | Seconds | Events/s | Messages/s |"
                + " Raw ceiling requests/s | Ratio (messages) | CPU µs per message | CPU server / PostgreSQL /"
                + " harness / other | Raw ceiling CPU server / PostgreSQL / harness / other |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n";
    }

    private static String trialRows(WebhookResult.Drained d) {
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < d.trials().size(); i++) {
            WebhookResult.Throughput t = d.trials().get(i);
            rows.append(f(
                    "| %s | %d | %d | %,d | %,d | %.2f | %,.0f | %,.0f | %,.0f | %.2f | %.0f | %s | %s |%n",
                    d.scenario(),
                    d.maxBatchSize(),
                    i + 1,
                    t.delivered(),
                    t.requests(),
                    t.seconds(),
                    t.eventsPerSecond(),
                    t.messagesPerSecond(),
                    t.rawRequestsPerSecond(),
                    t.messageRatio(),
                    t.cpuMicrosPerMessage(),
                    cpu4(t.cpu()),
                    cpu4(t.rawCpu())));
        }
        return rows.toString();
    }

    /** One figure held to its target: the medians, with what limits it. */
    record Row(String figure, String switchboard, String raw, String ratio, String target, boolean met, String limit) {}

    List<Row> targets() {
        List<Row> rows = new ArrayList<>();
        int cores = r.machine().cores();
        for (WebhookResult.Drained d : r.throughput()) {
            WebhookResult.Throughput m = d.medianTrial();
            if (d.maxBatchSize() == 1) {
                rows.add(new Row(
                        f("%s, `maxBatchSize` 1, %,d events drained", d.scenario(), m.backlog()),
                        spread(d, WebhookResult.Throughput::messagesPerSecond, "%,.0f") + " messages/s",
                        spread(d, WebhookResult.Throughput::rawRequestsPerSecond, "%,.0f") + " requests/s",
                        spread(d, WebhookResult.Throughput::messageRatio, "%.2f"),
                        "≥ 0.5 of raw",
                        d.ratioMet(),
                        limit(
                                        m.cpu(),
                                        cores,
                                        "not the CPU: each stream has one message in flight, so the round"
                                                + " trips (server ↔ PostgreSQL ↔ receiver) set the pace")
                                + "; raw ceiling: "
                                + limit(m.rawCpu(), cores, "the client's and receiver's round trips")));
                rows.add(new Row(
                        "CPU (server + PostgreSQL) per delivered message, `maxBatchSize` 1",
                        spread(d, WebhookResult.Throughput::cpuMicrosPerMessage, "%,.0f")
                                + f(
                                        " µs (server %,.0f µs, PostgreSQL %,.0f µs)",
                                        m.cpu().server() * 1e6 / m.messagesPerSecond(),
                                        m.cpu().postgres() * 1e6 / m.messagesPerSecond()),
                        f(
                                "%.0f µs of harness CPU (client and receiver) per request",
                                m.rawCpu().loadGenerator() * 1e6 / m.rawRequestsPerSecond()),
                        "",
                        "≤ 250 µs",
                        d.cpuMet(),
                        f(
                                "the work done per message, the server's %.0f %% and PostgreSQL's %.0f %% of it"
                                        + " (CPU time: waiting for a core is not counted, though on a busy machine"
                                        + " shared caches can make each microsecond slower)",
                                100
                                        * m.cpu().server()
                                        / (m.cpu().server() + m.cpu().postgres()),
                                100
                                        * m.cpu().postgres()
                                        / (m.cpu().server() + m.cpu().postgres()))));
            } else {
                rows.add(new Row(
                        f("%s, `maxBatchSize` %d, %,d events drained", d.scenario(), d.maxBatchSize(), m.backlog()),
                        spread(d, WebhookResult.Throughput::eventsPerSecond, "%,.0f") + " events/s in "
                                + spread(d, WebhookResult.Throughput::messagesPerSecond, "%,.0f") + " messages/s",
                        spread(d, WebhookResult.Throughput::rawEventsPerSecond, "%,.0f") + " events/s",
                        spread(d, WebhookResult.Throughput::ratio, "%.2f"),
                        "≥ 62,000 events/s",
                        d.batch100Met(),
                        limit(m.cpu(), cores, "not the CPU: the round trips of at most 16 streams in flight")));
            }
        }
        if (r.fanout() != null) {
            WebhookResult.Drained d = r.fanout().drained();
            WebhookResult.Throughput m = d.medianTrial();
            rows.add(new Row(
                    f(
                            "Fan-out, 1 tenant × %d endpoints (%d integrations), `maxBatchSize` 1, %,d events each drained",
                            d.endpoints(), d.endpoints(), d.perStream()),
                    spread(d, WebhookResult.Throughput::messagesPerSecond, "%,.0f") + " messages/s, "
                            + spread(d, WebhookResult.Throughput::cpuMicrosPerMessage, "%,.0f") + " µs CPU each",
                    spread(d, WebhookResult.Throughput::rawRequestsPerSecond, "%,.0f") + " requests/s (16 connections)",
                    spread(d, WebhookResult.Throughput::messageRatio, "%.2f"),
                    "≥ 0.5 of raw",
                    d.ratioMet(),
                    limit(
                                    m.cpu(),
                                    cores,
                                    "not the CPU: each endpoint's stream has one message in flight, so the"
                                            + " round trips set the pace")
                            + "; raw ceiling: "
                            + limit(m.rawCpu(), cores, "the client's and receiver's round trips")));
            for (WebhookResult.Live live : r.fanout().live()) {
                WebhookResult.Latency m2 = live.medianTrial();
                double target = live.p99TargetMillis();
                rows.add(new Row(
                        f(
                                "Fan-out live, %,d events/s × %d endpoints (%,d messages/s offered)",
                                live.eventsPerSecond(), live.endpoints(), live.offeredMessagesPerSecond()),
                        f(
                                "lag p50 %s ms, p99 %s ms, max %s ms; %s messages/s delivered; %s µs CPU per"
                                        + " message (writes included)",
                                liveSpread(live, WebhookResult.Latency::p50Millis, "%.1f"),
                                liveSpread(live, WebhookResult.Latency::p99Millis, "%.1f"),
                                liveSpread(live, WebhookResult.Latency::maxMillis, "%.1f"),
                                liveSpread(live, WebhookResult.Latency::deliveredPerSecond, "%,.0f"),
                                liveSpread(live, WebhookResult.Latency::cpuMicrosPerMessage, "%,.0f")),
                        "",
                        "",
                        Double.isNaN(target) ? "keeps up" : f("p99 < %.0f ms and keeps up", target),
                        live.met(),
                        (live.keepsUp() ? "" : "delivery falls behind the offered rate; ")
                                + limit(
                                        m2.cpu(),
                                        cores,
                                        live.keepsUp()
                                                ? "the offered rate (delivery keeps up); the tail is the wait of messages"
                                                        + " queued behind each other on a stream"
                                                : "not the CPU: the round trips of one message in flight per stream")));
            }
        }
        return rows;
    }

    /**
     * What limits a figure, from the CPU split of its trial: the cores when the machine was nearly all busy
     * (and who held them), otherwise {@code otherwise}, with the split.
     */
    static String limit(CpuMeter.Usage u, int cores, String otherwise) {
        String split = f(
                "server %.2f, PostgreSQL %.2f, harness (writers, receiver, raw client) %.2f, other processes %.2f"
                        + " of %d cores",
                u.server(), u.postgres(), u.loadGenerator(), u.other(), cores);
        if (u.machine() >= 0.9 * cores) {
            return f("the %d cores, %.0f %% busy (%s)", cores, Math.min(100, 100 * u.machine() / cores), split)
                    + (u.other() >= 0.25 * cores ? "; other processes took a large share: a busy machine" : "");
        }
        if (u.postgres() >= 0.85) {
            // The cores are not all busy, but PostgreSQL is about one whole one: a statement that runs in
            // series (the steps of every stream go in one statement at a time) has become slow.
            return f(
                    "PostgreSQL, at %.2f cores: about one connection busy all the time, so a statement run in"
                            + " series (the delivery steps) is slow, not the round trips (%.2f of %d cores busy: %s)",
                    u.postgres(), u.machine(), cores, split);
        }
        return otherwise + f(" (%.2f of %d cores busy: %s)", u.machine(), cores, split);
    }

    private static String spread(
            WebhookResult.Drained d, ToDoubleFunction<WebhookResult.Throughput> figure, String format) {
        return spread(d.median(figure), d.min(figure), d.max(figure), d.trials().size(), format);
    }

    private static String liveSpread(
            WebhookResult.Live l, ToDoubleFunction<WebhookResult.Latency> figure, String format) {
        return spread(l.median(figure), l.min(figure), l.max(figure), l.trials().size(), format);
    }

    private static String spread(double median, double min, double max, int trials, String format) {
        return trials < 2 ? f(format, median) : f(format + " (" + format + "–" + format + ")", median, min, max);
    }

    private boolean soakMet() {
        return r.soak() != null
                && r.soak().heapGrowthPercent() <= 10
                && r.soak().threadGrowth() <= 0
                && r.soak().postgresGrowthPercent() <= 10;
    }

    private static String cpu4(CpuMeter.Usage u) {
        return f("%.2f / %.2f / %.2f / %.2f", u.server(), u.postgres(), u.loadGenerator(), u.other());
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
