package dev.switchboard.bench;

import dev.switchboard.support.Ids;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The spine benchmark ({@code bench/spine}): record creates beside the raw JDBC ceiling of the same
 * database, record reads, and the event feed, against a server it starts and stops itself. Not a
 * test: the script runs it with the test classpath. docs/benchmarks/spine.md describes the method.
 */
public final class SpineBenchmark {
    private static final List<Integer> CONCURRENCIES = List.of(1, 8, 32);
    private static final int READ_CLIENTS = 32;
    private static final int FIXED_RATE = 1_000;
    private static final int RECORDS_PER_READ_TENANT = 100;
    private static final int FEED_EVENTS = 200_000;
    private static final Set<String> PHASES = Set.of("creates", "reads", "feed", "tracing");
    private static final String RECORDS_PATH = "/api/v1/collections/" + BenchFixture.COLLECTION + "/records";

    private final Options options;
    private final BenchServer server;
    private final BenchHttp http;
    private final Connection db;
    private final BenchFixture fixture;
    private final CpuMeter cpu;
    private final WrkLoad wrk;
    private final LoadDriver driver;
    private final ServerStart start;

    /** Starts another server of the same build, as the first was started, with these variables added. */
    @FunctionalInterface
    interface ServerStart {
        BenchServer start(String name, Map<String, String> extraEnv) throws Exception;
    }

    private SpineBenchmark(
            Options options, BenchServer server, BenchHttp http, Connection db, BenchFixture fixture, ServerStart start)
            throws Exception {
        this.options = options;
        this.start = start;
        this.server = server;
        this.http = http;
        this.db = db;
        this.fixture = fixture;
        this.cpu = new CpuMeter(server.pid(), server.postgresPid());
        this.wrk = new WrkLoad(
                options.root().resolve("bench/spine.lua"),
                server.dataDir(),
                server.baseUrl(),
                cpu,
                options.warmup(),
                options.window());
        this.driver = new LoadDriver(cpu, options.warmup(), options.window());
    }

    /**
     * Command-line options: {@code --trials N --seconds S --warmup S --only creates,reads,feed --profile},
     * and for experiments {@code --server-env NAME=VALUE} (repeatable) and {@code --server-jvm-options "..."}.
     */
    record Options(
            Path root,
            String commit,
            int trials,
            Duration window,
            Duration warmup,
            Set<String> phases,
            boolean profile,
            Map<String, String> serverEnv,
            String serverJvmOptions,
            Duration deadline) {
        static Options parse(String[] args) {
            Map<String, String> given = new HashMap<>();
            Map<String, String> serverEnv = new LinkedHashMap<>();
            for (int i = 0; i < args.length; i++) {
                String name = args[i];
                if (name.equals("--profile")) {
                    given.put(name, "true");
                } else if (name.equals("--server-env") && i + 1 < args.length && args[i + 1].contains("=")) {
                    String[] pair = args[++i].split("=", 2);
                    serverEnv.put(pair[0], pair[1]);
                } else if (name.startsWith("--") && i + 1 < args.length) {
                    given.put(name, args[++i]);
                } else {
                    throw new IllegalArgumentException("unknown argument '" + name + "' (see bench/spine --help)");
                }
            }
            Set<String> phases = Set.of(
                    given.getOrDefault("--only", String.join(",", PHASES)).split(","));
            if (!PHASES.containsAll(phases)) {
                throw new IllegalArgumentException("--only takes a comma-separated list of " + PHASES);
            }
            return new Options(
                    Path.of(given.getOrDefault("--root", ".")).toAbsolutePath().normalize(),
                    given.getOrDefault("--commit", "unknown"),
                    Integer.parseInt(given.getOrDefault("--trials", "3")),
                    Duration.ofSeconds(Long.parseLong(given.getOrDefault("--seconds", "3"))),
                    Duration.ofSeconds(Long.parseLong(given.getOrDefault("--warmup", "1"))),
                    phases,
                    given.containsKey("--profile"),
                    serverEnv,
                    given.getOrDefault("--server-jvm-options", ""),
                    Duration.ofMinutes(Long.parseLong(given.getOrDefault("--deadline-minutes", "20"))));
        }

        /** Only a complete run, with the defaults' precision and the server as shipped, goes to docs/benchmarks. */
        boolean publishes() {
            return phases.equals(PHASES)
                    && trials >= 3
                    && !profile
                    && serverEnv.isEmpty()
                    && serverJvmOptions.isBlank();
        }
    }

    public static void main(String[] args) throws Exception {
        Options options = Options.parse(args);
        WrkLoad.requireInstalled();
        Path results = Files.createDirectories(options.root().resolve("bench/results"));
        String stamp = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString().replace(":", "");
        startWatchdog(options.deadline());
        String jvmOptions = (options.serverJvmOptions()
                        + (options.profile()
                                ? " -XX:StartFlightRecording=settings=profile,filename="
                                        + results.resolve("server-" + stamp + ".jfr")
                                : ""))
                .trim();
        Map<String, String> env = new LinkedHashMap<>();
        // The per-token limit stays on (it is part of every request) but far above the load.
        env.put("SWITCHBOARD_RATE_LIMIT_REQUESTS", "1000000");
        env.put("SWITCHBOARD_RATE_LIMIT_WINDOW", "1s");
        env.putAll(options.serverEnv());
        say("starting Switchboard (bin/switchboard, embedded PostgreSQL in a temporary data directory)");
        BenchServer server =
                BenchServer.start(options.root(), results.resolve("server-" + stamp + ".log"), env, jvmOptions);
        // The time limit's SIGTERM skips the blocks below: the server and its data directory go anyway.
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "stop-server"));
        try (BenchHttp http = new BenchHttp(server.baseUrl());
                Connection db = DriverManager.getConnection(server.jdbcUrl())) {
            say("server pid %d on %s, PostgreSQL pid %d", server.pid(), server.baseUrl(), server.postgresPid());
            Machine machine = Machine.describe(db, server.dataDir());
            BenchFixture fixture = BenchFixture.create(http, server.adminKey(), db, CONCURRENCIES.getLast());
            ServerStart another = (name, extra) -> {
                Map<String, String> more = new LinkedHashMap<>(env);
                more.putAll(extra);
                return BenchServer.start(
                        options.root(), results.resolve("server-" + name + "-" + stamp + ".log"), more, jvmOptions);
            };
            SpineResult result = new SpineBenchmark(options, server, http, db, fixture, another).run(machine);
            SpineReport report = new SpineReport(result);
            System.out.println();
            System.out.println(report.text());
            Path json = results.resolve("spine-" + stamp + ".json");
            Path md = results.resolve("spine-" + stamp + ".md");
            report.write(md, json);
            if (options.publishes()) {
                Path docs = Files.createDirectories(options.root().resolve("docs/benchmarks"));
                report.write(docs.resolve("spine.md"), docs.resolve("spine.json"));
                say("wrote docs/benchmarks/spine.md and spine.json (and %s)", json);
            } else {
                say(
                        "wrote %s and %s (docs/benchmarks is only updated by a complete run of 3 or more trials of the"
                                + " server as shipped, without --profile)",
                        md, json);
            }
        } finally {
            server.close();
        }
    }

    private SpineResult run(Machine machine) throws Exception {
        say(
                "machine: %s, %d cores, %d MiB, %s; PostgreSQL %s; an 8 KiB durable write takes %.0f us",
                machine.cpu(),
                machine.cores(),
                machine.memoryMiB(),
                machine.jdk(),
                machine.postgres(),
                machine.flushMicros());
        List<WrkLoad.Target> reads = options.phases().contains("reads") ? fillReadTenants() : List.of();
        if (options.phases().contains("feed")) {
            say("prefilling the feed tenant's log with %,d events", FEED_EVENTS);
            FeedReader.prefill(db, fixture.feed().streamPk(), FEED_EVENTS);
        }
        List<SpineResult.CreateRow> creates = options.phases().contains("creates") ? creates() : List.of();
        SpineResult.Reads readResults = options.phases().contains("reads") ? reads(reads) : null;
        SpineResult.Feed feed = options.phases().contains("feed") ? feed() : null;
        SpineResult.Tracing tracing = options.phases().contains("tracing") ? tracing() : null;
        return new SpineResult(
                Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(),
                options.commit(),
                machine,
                new SpineResult.Method(
                        options.trials(),
                        options.warmup().toSeconds(),
                        options.window().toSeconds(),
                        CONCURRENCIES,
                        FIXED_RATE,
                        READ_CLIENTS * RECORDS_PER_READ_TENANT,
                        FEED_EVENTS,
                        FeedReader.PAGE),
                creates,
                readResults,
                feed,
                tracing);
    }

    /**
     * Each phase first runs its own load unmeasured for a while, so both JVMs have compiled its hot paths
     * (on two shared cores the compiler needs tens of seconds) before the first trial.
     */
    private Duration warmUp(int windows) {
        say("warming up");
        return options.window().multipliedBy(windows);
    }

    private List<SpineResult.CreateRow> creates() throws Exception {
        Duration warmup = warmUp(5);
        wrk.warm(
                warmup,
                CONCURRENCIES.getLast(),
                "POST",
                createTargets(false, CONCURRENCIES.getLast()),
                BenchFixture.CREATE_BODY);
        try (RawCreates raw = new RawCreates(server.jdbcUrl(), fixture.collectionPk())) {
            new LoadDriver(cpu, Duration.ZERO, warmup.dividedBy(2))
                    .closedLoop(
                            CONCURRENCIES.getLast(),
                            i -> raw.client(fixture.own().get(i)));
        }
        Map<String, List<Measurement>> sb = new LinkedHashMap<>();
        Map<String, List<Measurement>> raw = new LinkedHashMap<>();
        for (int trial = 0; trial < options.trials(); trial++) {
            for (boolean busy : List.of(true, false)) {
                for (int clients : CONCURRENCIES) {
                    String key = (busy ? "busy" : "many") + "/" + clients;
                    List<Measurement> mine = sb.computeIfAbsent(key, k -> new ArrayList<>());
                    List<Measurement> theirs = raw.computeIfAbsent(key, k -> new ArrayList<>());
                    // Alternate which goes first, so a drift in the machine's load favours neither.
                    if (trial % 2 == 1) {
                        theirs.add(rawCreates(busy, clients));
                    }
                    mine.add(wrk.run(clients, "POST", createTargets(busy, clients), BenchFixture.CREATE_BODY));
                    if (trial % 2 == 0) {
                        theirs.add(rawCreates(busy, clients));
                    }
                    say(
                            "trial %d creates, %-4s %2d clients: Switchboard %,7.0f/s, raw JDBC %,7.0f/s, ratio %.2f",
                            trial + 1,
                            busy ? "busy" : "many",
                            clients,
                            mine.getLast().perSecond(),
                            theirs.getLast().perSecond(),
                            mine.getLast().perSecond() / theirs.getLast().perSecond());
                }
            }
        }
        List<SpineResult.CreateRow> rows = new ArrayList<>();
        for (String key : sb.keySet()) {
            List<Measurement> s = sb.get(key);
            List<Measurement> r = raw.get(key);
            List<Double> ratios = new ArrayList<>();
            for (int i = 0; i < s.size(); i++) {
                ratios.add(s.get(i).perSecond() / r.get(i).perSecond());
            }
            String[] parts = key.split("/");
            rows.add(new SpineResult.CreateRow(
                    parts[0].equals("busy") ? SpineResult.BUSY : SpineResult.MANY,
                    Integer.parseInt(parts[1]),
                    SpineResult.Summary.of(s),
                    SpineResult.Summary.of(r),
                    SpineResult.median(ratios, Double::doubleValue),
                    ratios));
        }
        return rows;
    }

    /** Client i creates in the busy tenant, or in its own tenant, with its own token. */
    private List<WrkLoad.Target> createTargets(boolean busy, int clients) {
        return createTargets(fixture, busy, clients);
    }

    private static List<WrkLoad.Target> createTargets(BenchFixture fixture, boolean busy, int clients) {
        List<WrkLoad.Target> targets = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            String token = busy ? fixture.busy().token(i) : fixture.own().get(i).token(0);
            targets.add(new WrkLoad.Target(i, token, RECORDS_PATH));
        }
        return targets;
    }

    private Measurement rawCreates(boolean busy, int clients) throws Exception {
        try (RawCreates raw = new RawCreates(server.jdbcUrl(), fixture.collectionPk())) {
            return driver.closedLoop(
                    clients,
                    i -> raw.client(busy ? fixture.busy() : fixture.own().get(i)));
        }
    }

    /** Gives each reading client's tenant records; returns what each client reads, in turn, with its token. */
    private List<WrkLoad.Target> fillReadTenants() throws Exception {
        say("writing %d records into each of %d tenants for the reads", RECORDS_PER_READ_TENANT, READ_CLIENTS);
        List<WrkLoad.Target> targets = new ArrayList<>();
        for (int i = 0; i < READ_CLIENTS; i++) {
            BenchFixture.Tenant tenant = fixture.own().get(i);
            RawCreates.fill(server.jdbcUrl(), fixture.collectionPk(), tenant, RECORDS_PER_READ_TENANT);
            try (PreparedStatement ps = db.prepareStatement("SELECT id FROM records WHERE tenant_pk = ? LIMIT ?")) {
                ps.setLong(1, tenant.pk());
                ps.setInt(2, RECORDS_PER_READ_TENANT);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        targets.add(new WrkLoad.Target(
                                i,
                                tenant.token(0),
                                RECORDS_PATH + "/" + Ids.format("rec", rs.getObject(1, UUID.class))));
                    }
                }
            }
        }
        return targets;
    }

    /** The open loop sends every client's reads in turn, round robin over the clients. */
    private LoadDriver.Request openLoopReads(List<WrkLoad.Target> reads) {
        AtomicLong turn = new AtomicLong();
        return () -> {
            long n = turn.getAndIncrement();
            int client = (int) (n % READ_CLIENTS);
            WrkLoad.Target t =
                    reads.get(client * RECORDS_PER_READ_TENANT + (int) (n / READ_CLIENTS % RECORDS_PER_READ_TENANT));
            http.call(200, "GET", t.path(), t.token(), null);
        };
    }

    private SpineResult.Reads reads(List<WrkLoad.Target> reads) throws Exception {
        List<Measurement> closed = new ArrayList<>();
        List<Measurement> fixed = new ArrayList<>();
        Duration warmup = warmUp(4);
        wrk.warm(warmup, READ_CLIENTS, "GET", reads, null);
        new LoadDriver(cpu, Duration.ZERO, warmup.dividedBy(2)).fixedRate(FIXED_RATE, openLoopReads(reads));
        // At 1,000/s a window gives a few thousand latencies; twice the window steadies the p99.
        LoadDriver open = new LoadDriver(cpu, options.warmup(), options.window().multipliedBy(2));
        for (int trial = 0; trial < options.trials(); trial++) {
            closed.add(wrk.run(READ_CLIENTS, "GET", reads, null));
            fixed.add(open.fixedRate(FIXED_RATE, openLoopReads(reads)));
            say(
                    "trial %d reads: %d clients %,7.0f/s (p99 %.2f ms); at %,d/s p50 %.2f ms, p99 %.2f ms",
                    trial + 1,
                    READ_CLIENTS,
                    closed.getLast().perSecond(),
                    closed.getLast().p99Millis(),
                    FIXED_RATE,
                    fixed.getLast().p50Millis(),
                    fixed.getLast().p99Millis());
        }
        return new SpineResult.Reads(SpineResult.Summary.of(closed), READ_CLIENTS, SpineResult.Summary.of(fixed));
    }

    private SpineResult.Feed feed() throws Exception {
        FeedReader reader = new FeedReader(http, fixture.feed().token(0));
        reader.read(cpu, warmUp(2));
        List<FeedReader.Read> reads = new ArrayList<>();
        for (int trial = 0; trial < options.trials(); trial++) {
            reads.add(reader.read(cpu, options.window().multipliedBy(2)));
            say(
                    "trial %d feed: %,d events in %.2f s, %,.0f events/s",
                    trial + 1,
                    reads.getLast().events(),
                    reads.getLast().seconds(),
                    reads.getLast().perSecond());
        }
        return SpineResult.Feed.of(reads);
    }

    /** One of the two servers of the tracing phase, set up as the first was. */
    private record Side(BenchServer server, BenchHttp http, Connection db, BenchFixture fixture, WrkLoad wrk)
            implements AutoCloseable {
        static Side start(ServerStart start, String name, Map<String, String> env, Options options) throws Exception {
            BenchServer server = start.start(name, env);
            try {
                BenchHttp http = new BenchHttp(server.baseUrl());
                Connection db = DriverManager.getConnection(server.jdbcUrl());
                BenchFixture fixture = BenchFixture.create(http, server.adminKey(), db, CONCURRENCIES.getLast());
                WrkLoad wrk = new WrkLoad(
                        options.root().resolve("bench/spine.lua"),
                        server.dataDir(),
                        server.baseUrl(),
                        new CpuMeter(server.pid(), server.postgresPid()),
                        options.warmup(),
                        options.window());
                return new Side(server, http, db, fixture, wrk);
            } catch (Exception e) {
                server.close();
                throw e;
            }
        }

        Measurement creates(boolean busy, int clients) throws Exception {
            return wrk.run(clients, "POST", createTargets(fixture, busy, clients), BenchFixture.CREATE_BODY);
        }

        @Override
        public void close() throws Exception {
            try (server;
                    http;
                    db) {
                // closes all three
            }
        }
    }

    /**
     * Tracing's overhead: creates on two fresh servers of this build, started alike, one with tracing off
     * and one with tracing on, exporting every span (a server span and a statement span per create, with
     * the trace context kept in each event) over OTLP/HTTP to a sink in the harness. Both are warmed the
     * same way; each trial measures both back to back, alternating which goes first.
     */
    private SpineResult.Tracing tracing() throws Exception {
        int clients = CONCURRENCIES.getLast();
        try (OtlpSink sink = new OtlpSink()) {
            say(
                    "starting two more servers: tracing off, and tracing on exporting to an OTLP sink at %s",
                    sink.endpoint());
            try (Side off = Side.start(start, "tracing-off", Map.of(), options);
                    Side on = Side.start(
                            start, "tracing-on", Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", sink.endpoint()), options)) {
                Duration warmup = warmUp(3);
                for (Side side : List.of(off, on)) {
                    side.wrk()
                            .warm(
                                    warmup,
                                    clients,
                                    "POST",
                                    createTargets(side.fixture(), false, clients),
                                    BenchFixture.CREATE_BODY);
                }
                if (sink.spans() == 0) {
                    throw new IllegalStateException("the traced server exported no spans to the sink");
                }
                Map<String, List<Measurement>> offs = new LinkedHashMap<>();
                Map<String, List<Measurement>> ons = new LinkedHashMap<>();
                for (int trial = 0; trial < options.trials(); trial++) {
                    for (boolean busy : List.of(true, false)) {
                        String key = busy ? SpineResult.BUSY : SpineResult.MANY;
                        List<Measurement> o = offs.computeIfAbsent(key, k -> new ArrayList<>());
                        List<Measurement> t = ons.computeIfAbsent(key, k -> new ArrayList<>());
                        if (trial % 2 == 1) {
                            t.add(on.creates(busy, clients));
                        }
                        o.add(off.creates(busy, clients));
                        if (trial % 2 == 0) {
                            t.add(on.creates(busy, clients));
                        }
                        say(
                                "trial %d tracing, creates, %-4s %2d clients: off %,7.0f/s, on %,7.0f/s, ratio %.2f",
                                trial + 1,
                                busy ? "busy" : "many",
                                clients,
                                o.getLast().perSecond(),
                                t.getLast().perSecond(),
                                t.getLast().perSecond() / o.getLast().perSecond());
                    }
                }
                List<SpineResult.TracingRow> rows = new ArrayList<>();
                for (String key : offs.keySet()) {
                    List<Measurement> o = offs.get(key);
                    List<Measurement> t = ons.get(key);
                    List<Double> ratios = new ArrayList<>();
                    for (int i = 0; i < o.size(); i++) {
                        ratios.add(t.get(i).perSecond() / o.get(i).perSecond());
                    }
                    rows.add(new SpineResult.TracingRow(
                            key,
                            clients,
                            SpineResult.Summary.of(o),
                            SpineResult.Summary.of(t),
                            SpineResult.median(ratios, Double::doubleValue),
                            ratios));
                }
                return new SpineResult.Tracing(rows, sink.spans());
            }
        }
    }

    private static void say(String format, Object... args) {
        System.out.println("spine: " + format.formatted(args));
    }

    /** Bounds the whole run: past the deadline the process exits, and its shutdown hook stops the server. */
    private static void startWatchdog(Duration deadline) {
        Thread.ofPlatform().daemon().name("deadline").start(() -> {
            try {
                Thread.sleep(deadline);
                System.err.println("spine: still running after " + deadline.toMinutes() + " minutes; stopping");
                System.exit(3);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }
}
