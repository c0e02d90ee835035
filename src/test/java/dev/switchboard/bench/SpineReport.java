package dev.switchboard.bench;

import dev.switchboard.support.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Renders a {@link SpineResult}: a console table, docs/benchmarks/spine.md and spine.json. */
final class SpineReport {
    private final SpineResult r;

    SpineReport(SpineResult result) {
        this.r = result;
    }

    void write(Path markdown, Path json) throws IOException {
        Files.writeString(markdown, markdown());
        Files.writeString(json, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(r) + "\n");
    }

    String text() {
        StringBuilder out = new StringBuilder();
        if (!r.creates().isEmpty()) {
            out.append(f(
                    "Record creates, medians of %d trials (creates/s, p50 and p99 in ms)%n",
                    r.method().trials()));
            out.append(f(
                    "%-22s %7s | %11s %7s %7s | %11s %7s %7s | %6s%n",
                    "tenants", "clients", "switchboard", "p50", "p99", "raw JDBC", "p50", "p99", "ratio"));
            for (SpineResult.CreateRow row : r.creates()) {
                out.append(f(
                        "%-22s %7d | %,11.0f %7.2f %7.2f | %,11.0f %7.2f %7.2f | %6.2f %s%n",
                        row.tenants(),
                        row.clients(),
                        row.switchboard().perSecond(),
                        row.switchboard().p50Millis(),
                        row.switchboard().p99Millis(),
                        row.raw().perSecond(),
                        row.raw().p50Millis(),
                        row.raw().p99Millis(),
                        row.ratio(),
                        mark(row.meetsTarget())));
            }
        }
        if (r.reads() != null) {
            SpineResult.Reads reads = r.reads();
            out.append(f(
                    "Record GET by id: %d clients %,.0f requests/s (p99 %.2f ms) %s; at %,d requests/s p50 %.2f ms,"
                            + " p99 %.2f ms %s%n",
                    reads.clients(),
                    reads.closedLoop().perSecond(),
                    reads.closedLoop().p99Millis(),
                    mark(reads.meetsRateTarget()),
                    r.method().fixedRate(),
                    reads.fixedRate().p50Millis(),
                    reads.fixedRate().p99Millis(),
                    mark(reads.meetsLatencyTarget())));
        }
        if (r.feed() != null) {
            out.append(f(
                    "Event feed, one poller, limit=%d: %,.0f events/s %s%n",
                    r.method().feedPage(),
                    r.feed().eventsPerSecond(),
                    mark(r.feed().meetsTarget())));
        }
        if (r.tracing() != null) {
            for (SpineResult.TracingRow row : r.tracing().rows()) {
                out.append(f(
                        "Tracing on ÷ off, creates, %s, %d clients: %,.0f/s on, %,.0f/s off, ratio %.2f (p99 %.2f ms"
                                + " on, %.2f ms off)%n",
                        row.tenants(),
                        row.clients(),
                        row.on().perSecond(),
                        row.off().perSecond(),
                        row.ratio(),
                        row.on().p99Millis(),
                        row.off().p99Millis()));
            }
            out.append(
                    f("Spans exported by the traced server: %,d%n", r.tracing().spansExported()));
        }
        out.append(f("CPU (cores): %s%n", String.join("; ", cpuSummaries())));
        return out.toString();
    }

    private List<String> cpuSummaries() {
        List<String> lines = new ArrayList<>();
        for (CpuRow row : cpuRows()) {
            lines.add(f(
                    "%s: load generator %.2f, server %.2f, PostgreSQL %.2f, other %.2f",
                    row.phase(),
                    row.cpu().loadGenerator(),
                    row.cpu().server(),
                    row.cpu().postgres(),
                    row.cpu().other()));
        }
        return lines;
    }

    private static String mark(boolean met) {
        return met ? "(target met)" : "(target missed)";
    }

    private record CpuRow(String phase, double perSecond, String unit, CpuMeter.Usage cpu) {}

    private List<CpuRow> cpuRows() {
        List<CpuRow> rows = new ArrayList<>();
        for (SpineResult.CreateRow row : r.creates()) {
            if (row.clients() == r.method().concurrencies().getLast()) {
                String what = f("creates, %s, %d clients", row.tenants(), row.clients());
                rows.add(new CpuRow(
                        what + ", Switchboard",
                        row.switchboard().perSecond(),
                        "create",
                        row.switchboard().cpu()));
                rows.add(new CpuRow(
                        what + ", raw JDBC",
                        row.raw().perSecond(),
                        "create",
                        row.raw().cpu()));
            }
        }
        if (r.reads() != null) {
            rows.add(new CpuRow(
                    f("GET by id, %d clients", r.reads().clients()),
                    r.reads().closedLoop().perSecond(),
                    "request",
                    r.reads().closedLoop().cpu()));
            rows.add(new CpuRow(
                    f("GET by id, %,d/s", r.method().fixedRate()),
                    r.reads().fixedRate().perSecond(),
                    "request",
                    r.reads().fixedRate().cpu()));
        }
        if (r.feed() != null) {
            rows.add(new CpuRow(
                    "event feed, one poller",
                    r.feed().eventsPerSecond(),
                    "event",
                    r.feed().cpu()));
        }
        if (r.tracing() != null) {
            for (SpineResult.TracingRow row : r.tracing().rows()) {
                String what = f("creates, %s, %d clients, tracing", row.tenants(), row.clients());
                rows.add(new CpuRow(
                        what + " off",
                        row.off().perSecond(),
                        "create",
                        row.off().cpu()));
                rows.add(new CpuRow(
                        what + " on", row.on().perSecond(), "create", row.on().cpu()));
            }
        }
        return rows;
    }

    String markdown() {
        Machine m = r.machine();
        StringBuilder md = new StringBuilder();
        md.append("# Spine benchmark\n\n");
        md.append(f(
                "Measured %s at commit `%s` by `bench/spine`: %d trials of each figure after each phase's own"
                        + " warm-up, each trial a %d s warm-up then a %d s measured window (the GET open loop and the"
                        + " feed: %d s); the tables quote the median of the trials. Regenerate with `bench/spine`"
                        + " (about eight minutes).%n%n",
                r.date(),
                r.commit(),
                r.method().trials(),
                r.method().warmupSeconds(),
                r.method().windowSeconds(),
                2 * r.method().windowSeconds()));
        md.append("## Machine\n\n");
        md.append(f("- %s, %d cores, %.1f GiB memory, %s%n", m.cpu(), m.cores(), m.memoryMiB() / 1024.0, m.kernel()));
        md.append(f(
                "- %s, running the server (`bin/switchboard`, its default JVM options) and the load generator%n",
                m.jdk()));
        md.append(f(
                "- PostgreSQL %s, the server's embedded one, in a temporary data directory on the same disk: %s%n",
                m.postgres(),
                String.join(
                        ", ",
                        m.postgresSettings().entrySet().stream()
                                .map(e -> "`" + e.getKey() + "=" + e.getValue() + "`")
                                .toList())));
        md.append(f(
                "- The disk makes an 8 KiB write durable (write, then fdatasync) in %.0f µs (median of 200)%n",
                m.flushMicros()));
        md.append("- Server, database and load generator share the two cores; the CPU table below says how each"
                + " used them, and how much went to other processes on the machine.\n\n");

        md.append("## Results\n\n");
        if (!r.creates().isEmpty()) {
            md.append("### Record creates beside the raw ceiling of the same database\n\n");
            md.append("`POST /api/v1/collections/reservations/records` with an access token, against the same insert"
                    + " (record and event through `append_event`, one statement in one transaction) sent straight"
                    + " over JDBC, measured back to back in each trial. Ratio: Switchboard ÷ raw, the median of the"
                    + f(" per-trial ratios. Target: ≥ %.1f.%n%n", SpineResult.CREATE_RATIO_TARGET));
            md.append(
                    "| Tenants | Clients | Switchboard creates/s | p50 ms | p99 ms | Raw JDBC creates/s | p50 ms | p99 ms"
                            + " | Ratio | Target |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
            for (SpineResult.CreateRow row : r.creates()) {
                md.append(f(
                        "| %s | %d | %,.0f | %.2f | %.2f | %,.0f | %.2f | %.2f | %.2f | %s |%n",
                        row.tenants(),
                        row.clients(),
                        row.switchboard().perSecond(),
                        row.switchboard().p50Millis(),
                        row.switchboard().p99Millis(),
                        row.raw().perSecond(),
                        row.raw().p50Millis(),
                        row.raw().p99Millis(),
                        row.ratio(),
                        row.meetsTarget() ? "met" : "missed"));
            }
            md.append("\n");
        }
        if (r.reads() != null) {
            SpineResult.Reads reads = r.reads();
            md.append("### Record GET by id\n\n");
            md.append(f(
                    "`GET /api/v1/collections/reservations/records/{id}`, each client with its own tenant and"
                            + " token, reading %,d records in turn.%n%n",
                    r.method().recordsRead()));
            md.append("| Load | Requests/s | p50 ms | p99 ms | Target |\n|---|---:|---:|---:|---|\n");
            md.append(f(
                    "| %d clients, closed loop | %,.0f | %.2f | %.2f | ≥ %,.0f/s: %s |%n",
                    reads.clients(),
                    reads.closedLoop().perSecond(),
                    reads.closedLoop().p50Millis(),
                    reads.closedLoop().p99Millis(),
                    SpineResult.GET_RATE_TARGET,
                    reads.meetsRateTarget() ? "met" : "missed"));
            md.append(f(
                    "| %,d requests/s, open loop | %,.0f | %.2f | %.2f | p99 < %.0f ms: %s |%n%n",
                    r.method().fixedRate(),
                    reads.fixedRate().perSecond(),
                    reads.fixedRate().p50Millis(),
                    reads.fixedRate().p99Millis(),
                    SpineResult.GET_P99_TARGET_MILLIS,
                    reads.meetsLatencyTarget() ? "met" : "missed"));
        }
        if (r.feed() != null) {
            md.append("### Event feed\n\n");
            md.append(f(
                    "One poller reading `GET /api/v1/events?after=<next>&limit=%d` from the start of a log"
                            + " prefilled with %,d events, parsing every page.%n%n",
                    r.method().feedPage(), r.method().eventsPrefilled()));
            md.append(f(
                    "| Reader | Events/s | Target |%n|---|---:|---|%n| one poller | %,.0f | ≥ %,.0f/s: %s |%n%n",
                    r.feed().eventsPerSecond(),
                    SpineResult.FEED_RATE_TARGET,
                    r.feed().meetsTarget() ? "met" : "missed"));
        }

        if (r.tracing() != null) {
            md.append("### Tracing overhead\n\n");
            md.append("Creates on two more servers of this build, started alike on fresh databases: one with tracing"
                    + " off (the default), one with `OTEL_EXPORTER_OTLP_ENDPOINT` set, exporting every span (a server"
                    + " span and an `INSERT records` span per create, the trace context kept in each event) over"
                    + " OTLP/HTTP to a sink in the harness that decodes and drops them. Measured back to back in each"
                    + f(
                            " trial, alternating which goes first. Ratio: on ÷ off, the median of the per-trial ratios."
                                    + " The traced server exported %,d spans.%n%n",
                            r.tracing().spansExported()));
            md.append(
                    "| Tenants | Clients | Off creates/s | p50 ms | p99 ms | On creates/s | p50 ms | p99 ms | Ratio |\n"
                            + "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            for (SpineResult.TracingRow row : r.tracing().rows()) {
                md.append(f(
                        "| %s | %d | %,.0f | %.2f | %.2f | %,.0f | %.2f | %.2f | %.2f |%n",
                        row.tenants(),
                        row.clients(),
                        row.off().perSecond(),
                        row.off().p50Millis(),
                        row.off().p99Millis(),
                        row.on().perSecond(),
                        row.on().p50Millis(),
                        row.on().p99Millis(),
                        row.ratio()));
            }
            md.append("\n");
        }

        md.append("## Where the CPU went\n\n");
        md.append(f(
                "Cores used during the measured windows (of %d), and CPU time per request or event. \"Other\" is"
                        + " every other process on the machine.%n%n",
                m.cores()));
        md.append(
                "| Phase | Rate/s | Load generator | Server | PostgreSQL | Other | Server µs each | PostgreSQL µs each"
                        + " | Load generator µs each |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (CpuRow row : cpuRows()) {
            CpuMeter.Usage c = row.cpu();
            md.append(f(
                    "| %s | %,.0f | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f |%n",
                    row.phase(),
                    row.perSecond(),
                    c.loadGenerator(),
                    c.server(),
                    c.postgres(),
                    c.other(),
                    micros(c.server(), row.perSecond()),
                    micros(c.postgres(), row.perSecond()),
                    micros(c.loadGenerator(), row.perSecond())));
        }
        md.append("\n## What limits each figure\n\n");
        for (String line : limits()) {
            md.append("- ").append(line).append("\n");
        }
        md.append("\n## Method\n\n").append(METHOD);
        return md.toString();
    }

    /** What the measurements themselves say about each limit. */
    private List<String> limits() {
        List<String> lines = new ArrayList<>();
        Machine m = r.machine();
        double chain = 1e6 / m.flushMicros();
        for (SpineResult.CreateRow row : r.creates()) {
            if (row.clients() != r.method().concurrencies().getLast()) {
                continue;
            }
            CpuMeter.Usage sb = row.switchboard().cpu();
            if (row.tenants().equals(SpineResult.BUSY)) {
                lines.add(f(
                        "**Creates into one busy tenant** are a chain of commits: each takes the tenant's counter"
                                + " row and holds it until its commit is durable, so the next cannot start before. One"
                                + " durable write takes %.0f µs here, which bounds the chain near %,.0f commits/s;"
                                + " raw JDBC reached %,.0f/s and Switchboard %,.0f/s at %d clients, with the machine"
                                + " %.2f of %d cores busy (server %.2f, PostgreSQL %.2f, load generator %.2f, other %.2f).",
                        m.flushMicros(),
                        chain,
                        row.raw().perSecond(),
                        row.switchboard().perSecond(),
                        row.clients(),
                        sb.machine(),
                        m.cores(),
                        sb.server(),
                        sb.postgres(),
                        sb.loadGenerator(),
                        sb.other()));
            } else {
                lines.add(f(
                        "**Creates into many tenants** share flushes (group commit), so they are bound by CPU:"
                                + " at %d clients the machine was %.2f of %d cores busy through Switchboard (server %.2f,"
                                + " PostgreSQL %.2f, load generator %.2f, other %.2f) and %.2f through raw JDBC"
                                + " (PostgreSQL %.2f, load generator %.2f). Each create cost the server %.0f µs of CPU"
                                + " and PostgreSQL %.0f µs.",
                        row.clients(),
                        sb.machine(),
                        m.cores(),
                        sb.server(),
                        sb.postgres(),
                        sb.loadGenerator(),
                        sb.other(),
                        row.raw().cpu().machine(),
                        row.raw().cpu().postgres(),
                        row.raw().cpu().loadGenerator(),
                        micros(sb.server(), row.switchboard().perSecond()),
                        micros(sb.postgres(), row.switchboard().perSecond())));
            }
        }
        r.creates().stream()
                .filter(row -> row.clients() == 1)
                .forEach(row -> lines.add(f(
                        "**One client** (%s) waits for each answer, so its rate is one over the latency: %.2f ms through"
                                + " Switchboard against %.2f ms straight to the database; the %.2f ms between them is the"
                                + " HTTP round trip and the server's own work.",
                        row.tenants(),
                        row.switchboard().p50Millis(),
                        row.raw().p50Millis(),
                        row.switchboard().p50Millis() - row.raw().p50Millis())));
        if (r.reads() != null) {
            SpineResult.Summary s = r.reads().closedLoop();
            lines.add(f(
                    "**GET by id** at %d clients kept the machine %.2f of %d cores busy: per request the server"
                            + " used %.0f µs of CPU, PostgreSQL %.0f µs and the load generator %.0f µs (other processes"
                            + " %.2f cores). With the CPU full, the rate is the cores divided by the CPU per request.",
                    r.reads().clients(),
                    s.cpu().machine(),
                    m.cores(),
                    micros(s.cpu().server(), s.perSecond()),
                    micros(s.cpu().postgres(), s.perSecond()),
                    micros(s.cpu().loadGenerator(), s.perSecond()),
                    s.cpu().other()));
        }
        if (r.feed() != null) {
            CpuMeter.Usage c = r.feed().cpu();
            lines.add(f(
                    "**The feed** is one request at a time: per event the server used %.1f µs of CPU, PostgreSQL"
                            + " %.1f µs and the reader %.1f µs; the machine was %.2f of %d cores busy.",
                    micros(c.server(), r.feed().eventsPerSecond()),
                    micros(c.postgres(), r.feed().eventsPerSecond()),
                    micros(c.loadGenerator(), r.feed().eventsPerSecond()),
                    c.machine(),
                    m.cores()));
        }
        return lines;
    }

    private static double micros(double cores, double perSecond) {
        return perSecond > 0 ? cores * 1e6 / perSecond : Double.NaN;
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }

    private static final String METHOD = """
            - `bench/spine` builds the server, starts it with `bin/switchboard` on 127.0.0.1 with a fresh embedded
              PostgreSQL in a temporary data directory (durable: `fsync` and `synchronous_commit` on), sets it up
              through the admin API (a `reservations` collection with a JSON Schema and two event fields, tenants,
              one integration per client with its own access tokens), runs every phase, and stops both.
              The per-token rate limit stays on, raised to 1,000,000 requests per second.
            - Closed-loop HTTP load (creates, GET at 32 clients) comes from wrk (Debian's `wrk`, installed by the
              script when missing) with `bench/spine.lua`: N clients are N wrk threads, each with one keep-alive
              connection and its own access token, sending the next request as soon as the last is answered.
              wrk costs a fifth of the CPU per request of a JVM client (Jetty HttpClient on virtual threads
              measured about 135 µs a request here), and the load generator shares the two cores with the server
              and PostgreSQL, so the cheaper client leaves the figures to the server. wrk cannot send at a fixed
              rate, so the GET latency at 1,000 requests/s and the feed reader use Jetty HttpClient on virtual
              threads in the harness's JVM: the open loop starts requests on schedule whatever the answers do,
              and counts each latency from when the request was due.
            - Raw JDBC: one connection per client, in autocommit, sending `RecordStore.CREATE_SQL` (the statement
              a create runs) with the same parameters the server binds, from virtual threads in the harness.
              "One busy tenant": every client writes to the same tenant; "one tenant per client": client i
              writes to its own tenant.
            - Each trial measures Switchboard and raw JDBC back to back at each concurrency, alternating which
              goes first. Every request must succeed (201 or 200), or the run stops.
            - The feed log is prefilled through `append_event` (the function every write uses), then vacuumed
              and analyzed as autovacuum soon would; the reader asks for gzip, as most HTTP clients do, parses
              each page and checks it starts right after the previous one.
            - CPU is read from /proc: the load generator (the harness's JVM and its wrk runs), the server's JVM,
              and the PostgreSQL postmaster with all its backends; "other" is the rest of the machine's busy time.
            - Every run also leaves its log, JSON and Markdown under `bench/results/` (not committed).
              `bench/spine --profile` records a JFR profile of the server there.
            """;
}
