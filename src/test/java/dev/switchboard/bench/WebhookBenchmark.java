package dev.switchboard.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Ids;
import dev.switchboard.support.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;
import java.util.function.LongPredicate;
import org.eclipse.jetty.client.StringRequestContent;

/**
 * The webhook benchmark ({@code bench/webhooks}): end-to-end latency (commit → request received) at
 * fixed event rates, the same beside an endpoint that times out every request, delivery throughput at
 * batch sizes 1 and 100 beside the raw ceiling of the same receiver, a soak that watches heap,
 * threads, PostgreSQL's CPU per message and table sizes, and one integration's latency beside another whose many streams all answer slowly. The receiver is a Node HTTP server (or, with {@code --receiver jetty}, a Jetty handler in this JVM); the server is started with {@code bin/switchboard}.
 */
public final class WebhookBenchmark {
    private static final int TENANTS = 16;
    /** How long the soak writes at its rate before it measures anything. */
    private static final Duration SOAK_WARM_UP = Duration.ofSeconds(30);

    /** The soak's endpoints, each following every tenant at batch size 1: every event is this many messages. */
    private static final int SOAK_ENDPOINTS = 2;

    private static final int ENDPOINT_CONCURRENCY = 16;
    /** Events a throughput phase's warm-up delivers (a batch-1 trial's backlog), unless a quarter of a trial's is more. */
    private static final int WARM_UP_MESSAGES = 16_000;

    private static final Set<String> PHASES =
            Set.of("latency", "isolation", "throughput", "fanout", "retries", "soak", "fairness");
    /** The retries phase: its second backlog's tenants (its first is one tenant's, one stream). */
    private static final int RETRY_TENANTS_MANY = 16;
    /**
     * One integration's share of a node's manual messages (tests, retries), half of
     * {@code webhooks.concurrency / 8}: 4 at the default 64. The retries' raw ceiling sends at this.
     */
    private static final int RETRIES_IN_FLIGHT = 4;
    /** The fan-out phase: one tenant whose log this many endpoints, of as many integrations, follow. */
    private static final int FANOUT_ENDPOINTS = 50;
    /** The raw ceiling of the fan-out: connections of the plain HTTP client sending the same bodies. */
    private static final int FANOUT_RAW_CONNECTIONS = 16;
    /** The fairness phase: integration B's rate; integration A's tenants, endpoints and rate. */
    private static final int FAIR_RATE = 10;
    /**
     * B's events a window at least: its p99 is then the sixth-largest of 600, where 200 made it the second,
     * and one burst of A's decided it.
     */
    private static final int FAIR_EVENTS = 600;

    private static final int SLOW_TENANTS = 4;
    private static final int SLOW_ENDPOINTS = 20;
    private static final int SLOW_RATE = 20;
    /** The server's defaults, which the fairness phase relies on. */
    private static final int CONCURRENCY = 64;

    private static final int INTEGRATION_CONCURRENCY = CONCURRENCY / 2;

    private final Options options;
    private final BenchServer server;
    private final BenchHttp http;
    private final Receiver receiver;
    private final CpuMeter cpu;
    private final String clientKey;
    private final List<String> tokens;
    private final List<Long> streams;

    record Options(
            Path root,
            String commit,
            Duration window,
            List<Integer> rates,
            int isolationRate,
            int batch1Events,
            int batch100Events,
            int trials,
            int fanoutEvents,
            List<Integer> fanoutRates,
            int retryMessages,
            Duration soak,
            int soakRate,
            Set<String> phases,
            boolean profile,
            String serverJvmOptions,
            String receiver) {
        /** Only a complete run, with the default sizes, the server as shipped and the Node receiver, goes to docs/benchmarks. */
        boolean publishes() {
            return phases.equals(PHASES)
                    && window.toSeconds() >= 20
                    && rates.equals(List.of(100, 500, 1000))
                    && isolationRate == 500
                    && batch1Events >= 16_000
                    && batch100Events >= 200_000
                    && trials >= 3
                    && fanoutEvents >= 300
                    && fanoutRates.equals(List.of(20, 100))
                    && retryMessages >= 2000
                    && soak.toMinutes() >= 10
                    && soakRate == 500
                    && !profile
                    && serverJvmOptions.isBlank()
                    && receiver.equals("node");
        }

        static Options parse(String[] args) {
            Map<String, String> given = new LinkedHashMap<>();
            for (int i = 0; i < args.length; i++) {
                if (args[i].equals("--profile")) {
                    given.put(args[i], "true");
                } else if (args[i].startsWith("--") && i + 1 < args.length) {
                    given.put(args[i], args[++i]);
                } else {
                    throw new IllegalArgumentException(
                            "unknown argument '" + args[i] + "' (see bench/webhooks --help)");
                }
            }
            String receiver = given.getOrDefault("--receiver", "node");
            if (!List.of("node", "jetty").contains(receiver)) {
                throw new IllegalArgumentException("--receiver takes node or jetty");
            }
            Set<String> phases = Set.of(
                    given.getOrDefault("--only", String.join(",", PHASES)).split(","));
            if (!PHASES.containsAll(phases)) {
                throw new IllegalArgumentException("--only takes a comma-separated list of " + PHASES);
            }
            int trials = Integer.parseInt(given.getOrDefault("--trials", "3"));
            int fanoutEvents = Integer.parseInt(given.getOrDefault("--fanout-events", "300"));
            List<Integer> fanoutRates = rates(given.getOrDefault("--fanout-rates", "20,100"));
            int retryMessages = Integer.parseInt(given.getOrDefault("--retry-messages", "2000"));
            if (trials < 1 || fanoutEvents < 1 || retryMessages < RETRY_TENANTS_MANY) {
                throw new IllegalArgumentException(
                        "--trials and --fanout-events take a positive number, --retry-messages at least "
                                + RETRY_TENANTS_MANY);
            }
            return new Options(
                    Path.of(given.getOrDefault("--root", ".")).toAbsolutePath().normalize(),
                    given.getOrDefault("--commit", "unknown"),
                    Duration.ofSeconds(Long.parseLong(given.getOrDefault("--seconds", "20"))),
                    rates(given.getOrDefault("--rates", "100,500,1000")),
                    Integer.parseInt(given.getOrDefault("--isolation-rate", "500")),
                    Integer.parseInt(given.getOrDefault("--batch1-events", "16000")),
                    Integer.parseInt(given.getOrDefault("--batch100-events", "200000")),
                    trials,
                    fanoutEvents,
                    fanoutRates,
                    retryMessages,
                    Duration.ofMinutes(Long.parseLong(given.getOrDefault("--soak-minutes", "10"))),
                    rate(given.getOrDefault("--soak-rate", "500")),
                    phases,
                    given.containsKey("--profile"),
                    given.getOrDefault("--server-jvm-options", ""),
                    receiver);
        }

        private static List<Integer> rates(String list) {
            List<Integer> rates = java.util.Arrays.stream(list.split(","))
                    .map(Integer::parseInt)
                    .toList();
            if (rates.stream().anyMatch(r -> r < 1)) {
                throw new IllegalArgumentException("rates are positive events per second: " + list);
            }
            return rates;
        }

        private static int rate(String one) {
            List<Integer> rates = rates(one);
            if (rates.size() != 1) {
                throw new IllegalArgumentException("--soak-rate takes one rate in events per second: " + one);
            }
            return rates.getFirst();
        }
    }

    private WebhookBenchmark(Options options, BenchServer server, BenchHttp http, Receiver receiver) throws Exception {
        this.options = options;
        this.server = server;
        this.http = http;
        this.receiver = receiver;
        this.cpu = new CpuMeter(
                server.pid(),
                server.postgresPid(),
                receiver.pid().stream().boxed().toList());
        String admin = server.adminKey();
        http.expect(201, "POST", "/api/v1/collections", admin, BenchFixture.COLLECTION_JSON);
        JsonNode integration = Json.read(http.expect(
                201,
                "POST",
                "/api/v1/integrations",
                admin,
                Json.write(Map.of(
                        "name",
                        "partner",
                        "permissions",
                        Map.of("read", List.of("*"), "write", List.of("*")),
                        "eventTypes",
                        List.of("*")))));
        this.clientKey = integration.get("clientKey").asText();
        this.tokens = new ArrayList<>();
        for (int i = 0; i < TENANTS; i++) {
            String tenant = "hotel-%02d".formatted(i + 1);
            http.expect(201, "POST", "/api/v1/tenants", admin, Json.write(Map.of("id", tenant)));
            tokens.add(Json.read(http.expect(
                            201,
                            "POST",
                            "/api/v1/integrations/" + integration.get("id").asText() + "/connections",
                            admin,
                            Json.write(Map.of("tenantId", tenant))))
                    .get("accessToken")
                    .asText());
        }
        try (Connection db = DriverManager.getConnection(server.jdbcUrl())) {
            this.streams = new ArrayList<>();
            try (var rs = db.createStatement()
                    .executeQuery(
                            "SELECT s.pk FROM streams s JOIN tenants t ON t.pk = s.tenant_pk" + " ORDER BY t.id")) {
                while (rs.next()) {
                    streams.add(rs.getLong(1));
                }
            }
        }
    }

    public static void main(String[] args) throws Exception {
        Options options = Options.parse(args);
        Path results = options.root().resolve("bench/results");
        Files.createDirectories(results);
        Path log = results.resolve("webhooks-server-" + Instant.now().getEpochSecond() + ".log");
        System.out.println(
                "webhooks: starting Switchboard (bin/switchboard, embedded PostgreSQL in a temporary data directory)");
        try (BenchServer server = BenchServer.start(
                        options.root(),
                        log,
                        Map.of(
                                "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
                                "SWITCHBOARD_WEBHOOKS_ENDPOINT_CONCURRENCY", Integer.toString(ENDPOINT_CONCURRENCY),
                                "SWITCHBOARD_RATE_LIMIT_REQUESTS", "1000000"),
                        (options.profile()
                                        ? "-XX:StartFlightRecording=settings=profile,filename="
                                                + results.resolve("webhooks-server-"
                                                        + Instant.now().getEpochSecond() + ".jfr")
                                                + " "
                                        : "")
                                + options.serverJvmOptions());
                BenchHttp http = new BenchHttp(server.baseUrl());
                Receiver receiver =
                        options.receiver().equals("node") ? new NodeReceiver(options.root()) : new WebhookReceiver()) {
            // The time limit's SIGTERM skips the closes of this block: the server and its data directory go anyway.
            Runtime.getRuntime().addShutdownHook(new Thread(server::close, "stop-server"));
            Machine machine;
            try (Connection db = DriverManager.getConnection(server.jdbcUrl())) {
                machine = Machine.describe(db, server.dataDir());
            }
            System.out.println("webhooks: machine: " + machine.cpu() + ", " + machine.cores() + " cores, "
                    + machine.jdk() + "; PostgreSQL " + machine.postgres());
            WebhookResult result = new WebhookBenchmark(options, server, http, receiver).run(machine);
            WebhookReport report = new WebhookReport(result);
            System.out.println();
            System.out.print(report.text());
            long stamp = Instant.now().getEpochSecond();
            Path md = results.resolve("webhooks-" + stamp + ".md");
            report.write(md, results.resolve("webhooks-" + stamp + ".json"));
            if (options.publishes()) {
                Path docs = Files.createDirectories(options.root().resolve("docs/benchmarks"));
                report.write(docs.resolve("webhooks.md"), docs.resolve("webhooks.json"));
                System.out.println("webhooks: wrote docs/benchmarks/webhooks.md and .json");
            } else {
                System.out.println("webhooks: wrote " + md + " (docs/benchmarks is only updated by a complete run"
                        + " with the default sizes and the server as shipped)");
            }
        }
    }

    private WebhookResult run(Machine machine) throws Exception {
        List<WebhookResult.Latency> latency = new ArrayList<>();
        WebhookResult.Latency isolated = null;
        List<WebhookResult.Drained> throughput = new ArrayList<>();
        WebhookResult.Fanout fanout = null;
        List<WebhookResult.Retried> retries = new ArrayList<>();
        WebhookResult.Soak soak = null;
        WebhookResult.Fairness fairness = null;
        if (options.phases().contains("latency") || options.phases().contains("isolation")) {
            String endpoint = createEndpoint(receiver.url("/fast"), 100);
            // A fresh JVM compiles its hot paths for a minute or more, which takes most of a core: ramp up
            // through that before measuring anything, as a long-running server would have.
            for (int rate : List.of(50, 100, 200)) {
                System.out.println("webhooks: warming up at " + rate + " events/s");
                latencyRun(rate, "warm-up", Duration.ofSeconds(30));
            }
            for (int rate : options.rates()) {
                System.out.println("webhooks: latency at " + rate + " events/s");
                latency.add(latencyRun(rate, "alone", options.window()));
                System.out.println("webhooks:   " + latency.getLast());
                // Right after the same rate alone, so the two are compared on the same machine state.
                if (options.phases().contains("isolation") && rate == options.isolationRate()) {
                    System.out.println("webhooks: latency at " + rate + " events/s beside an endpoint that times out"
                            + " every request");
                    String hanging = createEndpoint(receiver.url("/hang"), 100);
                    isolated = latencyRun(rate, "beside an endpoint that never answers", options.window());
                    System.out.println("webhooks:   " + isolated);
                    http.expect(204, "DELETE", "/api/v1/webhooks/" + hanging, clientKey, null);
                }
            }
            http.expect(204, "DELETE", "/api/v1/webhooks/" + endpoint, clientKey, null);
        }
        if (options.phases().contains("throughput")) {
            throughput.add(throughputRun(1, options.batch1Events()));
            throughput.add(throughputRun(100, options.batch100Events()));
        }
        if (options.phases().contains("fanout")) {
            fanout = fanoutRun();
        }
        if (options.phases().contains("retries")) {
            retries.add(retryRun(1, 1));
            retries.add(retryRun(RETRY_TENANTS_MANY, RETRIES_IN_FLIGHT));
        }
        if (options.phases().contains("soak")) {
            soak = soakRun();
        }
        if (options.phases().contains("fairness")) {
            fairness = fairnessRun();
        }
        return new WebhookResult(
                machine,
                options.commit(),
                receiver.description(),
                Instant.now(),
                TENANTS,
                ENDPOINT_CONCURRENCY,
                options.window().toSeconds(),
                latency,
                isolated,
                options.trials(),
                throughput,
                fanout,
                retries,
                soak,
                fairness);
    }

    private String createEndpoint(String url, int batch) throws Exception {
        return createEndpoint(clientKey, url, batch);
    }

    private String createEndpoint(String key, String url, int batch) throws Exception {
        return Json.read(http.expect(
                        201, "POST", "/api/v1/webhooks", key, Json.write(Map.of("url", url, "maxBatchSize", batch))))
                .get("id")
                .asText();
    }

    /** Records written at a fixed rate across the tenants; latency from each event's commit to its arrival. */
    private WebhookResult.Latency latencyRun(int rate, String beside, Duration window) throws Exception {
        return latencyRun(rate, beside, window, new PacedWrites(tokens));
    }

    private WebhookResult.Latency latencyRun(int rate, String beside, Duration window, PacedWrites writes)
            throws Exception {
        long start = System.nanoTime();
        long from = start + TimeUnit.SECONDS.toNanos(3); // warm-up
        AtomicReference<Latencies> latencies = new AtomicReference<>();
        AtomicReference<CpuMeter.Sample> a = new AtomicReference<>();
        AtomicLong eventsBefore = new AtomicLong();
        writes.run(rate, start, from + window.toNanos(), due -> {
            if (latencies.get() == null && due >= from) {
                latencies.set(receiver.measure());
                a.set(cpu.sample());
                eventsBefore.set(receiver.events());
            }
        });
        CpuMeter.Usage usage = CpuMeter.between(a.get(), cpu.sample());
        long delivered = receiver.events() - eventsBefore.get();
        Thread.sleep(2000); // the last events of the window arrive
        receiver.stopMeasuring();
        writes.check("run");
        Latencies l = latencies.get();
        synchronized (l) {
            return new WebhookResult.Latency(
                    rate,
                    beside,
                    l.count(),
                    l.millis(50),
                    l.millis(99),
                    l.millis(100),
                    delivered / (window.toNanos() / 1e9),
                    writes.refused.get(),
                    usage);
        }
    }

    /**
     * A backlog of {@code count} events over the tenants, sent to a new endpoint of batch size
     * {@code batch} once it is enabled: events delivered per second. Then, in the same trial, the same
     * bodies sent to the same receiver by a plain HTTP client at the same concurrency: the raw ceiling.
     * A backlog goes first, untimed, and its bodies through the raw client, so that both sides are
     * compiled before the clock starts: at batch 1 that takes a backlog as large as a trial's (the
     * server's JIT was still compiling the delivery path through the first trial after a quarter of it).
     */
    private WebhookResult.Drained throughputRun(int batch, int count) throws Exception {
        System.out.println("webhooks: throughput, maxBatchSize " + batch + ": warming up");
        try (Connection db = DriverManager.getConnection(server.jdbcUrl())) {
            Backlog warmUp = backlog(db, batch, Math.max(count / 4, Math.min(count, WARM_UP_MESSAGES)));
            raw(warmUp.bodies(), ENDPOINT_CONCURRENCY);
        }
        List<WebhookResult.Throughput> trials = new ArrayList<>();
        for (int trial = 1; trial <= options.trials(); trial++) {
            // The prefill's connection stays open until the last CPU figure is taken: PostgreSQL's CPU counts
            // exited backends too, and this one's exit would bring the whole prefill into a measured window.
            try (Connection db = DriverManager.getConnection(server.jdbcUrl())) {
                System.out.println(
                        "webhooks: throughput, maxBatchSize " + batch + ", trial " + trial + ": " + count + " events");
                Backlog timed = backlog(db, batch, count);
                // Switchboard sends on at most ENDPOINT_CONCURRENCY streams of one endpoint at once.
                WebhookResult.Throughput t = timed.withRaw(batch, count, raw(timed.bodies(), ENDPOINT_CONCURRENCY));
                System.out.println(f(
                        "webhooks:   %,.0f events/s in %,.0f messages/s, raw ceiling %,.0f requests/s (ratio %.2f);"
                                + " server + PostgreSQL %.0f µs of CPU per message",
                        t.eventsPerSecond(),
                        t.messagesPerSecond(),
                        t.rawRequestsPerSecond(),
                        t.messageRatio(),
                        t.cpuMicrosPerMessage()));
                trials.add(t);
            }
        }
        return new WebhookResult.Drained(TENANTS + " tenants × 1 endpoint", TENANTS, 1, batch, count / TENANTS, trials);
    }

    private record Backlog(long delivered, double seconds, List<String> bodies, CpuMeter.Usage cpu) {
        WebhookResult.Throughput withRaw(int batch, int backlog, Raw raw) {
            return new WebhookResult.Throughput(
                    batch,
                    backlog,
                    delivered,
                    seconds,
                    delivered / seconds,
                    bodies.size(),
                    raw.eventsPerSecond(),
                    raw.requestsPerSecond(),
                    raw.cpu(),
                    cpu);
        }
    }

    /** Prefills {@code count} events (through {@code db}) while a new endpoint is disabled, enables it, and times their delivery. */
    private Backlog backlog(Connection db, int batch, int count) throws Exception {
        String endpoint = createEndpoint(receiver.url("/throughput"), batch);
        http.expect(200, "PATCH", "/api/v1/webhooks/" + endpoint, clientKey, "{\"state\":\"disabled\"}");
        prefill(db, streams, count);
        Backlog backlog = timeDelivery(
                count,
                () -> http.expect(200, "PATCH", "/api/v1/webhooks/" + endpoint, clientKey, "{\"state\":\"enabled\"}"));
        http.expect(204, "DELETE", "/api/v1/webhooks/" + endpoint, clientKey, null);
        return backlog;
    }

    /**
     * Runs {@code enable} (which lets waiting events go) and times until the receiver has {@code expected}
     * more events (at most 5 minutes), keeping every body it got meanwhile and the CPU used.
     */
    private Backlog timeDelivery(long expected, OpenLoop.Task enable) throws Exception {
        long before = receiver.events();
        receiver.keepBodies();
        CpuMeter.Sample a = cpu.sample();
        long started = System.nanoTime();
        enable.run();
        long deadline = started + TimeUnit.MINUTES.toNanos(5);
        while (receiver.events() - before < expected && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        CpuMeter.Sample b = cpu.sample();
        CpuMeter.Usage usage = CpuMeter.between(a, b);
        CpuMeter.PostgresTicks kinds = b.postgresByKind().since(a.postgresByKind());
        System.out.println(f(
                "webhooks:   PostgreSQL %.2f cores: connections %.2f, autovacuum %.2f, the rest %.2f",
                usage.postgres(),
                CpuMeter.cores(kinds.connections(), seconds),
                CpuMeter.cores(kinds.autovacuum(), seconds),
                CpuMeter.cores(kinds.background(), seconds)));
        long delivered = receiver.events() - before;
        List<String> bodies = receiver.keptBodies();
        if (delivered < expected) {
            System.out.println(
                    "webhooks:   only " + delivered + " of " + expected + " events arrived within 5 minutes");
        }
        return new Backlog(delivered, seconds, bodies, usage);
    }

    /**
     * Failed messages sent again through the API ({@code POST …/messages/retry}), as after a receiver's
     * outage: a backlog of {@code --retry-messages} events over {@code tenants} tenants is delivered to a new
     * endpoint at batch size 1 (timed: the first delivery), its messages are then marked failed in the
     * table, as abandoning them after their last attempt leaves them (without waiting out the retry
     * delays), and the bulk retry is timed until the receiver has every one again. The raw ceiling sends the
     * retried bodies at the retries' concurrency: one stream's retries go one at a time, and one
     * integration's at most {@value #RETRIES_IN_FLIGHT} at once. An untimed trial of a quarter of the size
     * goes first.
     */
    private WebhookResult.Retried retryRun(int tenants, int inFlight) throws Exception {
        int count = options.retryMessages();
        String scenario = tenants == 1 ? "1 tenant × 1 endpoint" : tenants + " tenants × 1 endpoint";
        System.out.println("webhooks: retries, " + scenario + ": warming up");
        try (Connection db = DriverManager.getConnection(server.jdbcUrl())) {
            retryTrial(db, tenants, count / 4, inFlight);
        }
        List<WebhookResult.Throughput> first = new ArrayList<>();
        List<WebhookResult.Throughput> retried = new ArrayList<>();
        for (int trial = 1; trial <= options.trials(); trial++) {
            try (Connection db = DriverManager.getConnection(server.jdbcUrl())) {
                System.out.println("webhooks: retries, " + scenario + ", trial " + trial + ": " + count + " messages");
                WebhookResult.Throughput[] t = retryTrial(db, tenants, count, inFlight);
                System.out.println(f(
                        "webhooks:   first delivery %,.0f messages/s, retried %,.0f messages/s, raw ceiling at %d"
                                + " in flight %,.0f requests/s; %.0f µs of CPU per retried message",
                        t[0].messagesPerSecond(),
                        t[1].messagesPerSecond(),
                        inFlight,
                        t[1].rawRequestsPerSecond(),
                        t[1].cpuMicrosPerMessage()));
                first.add(t[0]);
                retried.add(t[1]);
            }
        }
        return new WebhookResult.Retried(
                new WebhookResult.Drained(scenario + ", first delivery", tenants, 1, 1, count / tenants, first),
                new WebhookResult.Drained(scenario + ", failed and retried", tenants, 1, 1, count / tenants, retried));
    }

    /** One trial of {@link #retryRun}: the first delivery and the retry, each beside the raw ceiling. */
    private WebhookResult.Throughput[] retryTrial(Connection db, int tenants, int count, int inFlight)
            throws Exception {
        String endpoint = createEndpoint(receiver.url("/retried"), 1);
        String path = "/api/v1/webhooks/" + endpoint;
        http.expect(200, "PATCH", path, clientKey, "{\"state\":\"disabled\"}");
        prefill(db, streams.subList(0, tenants), count);
        Backlog first =
                timeDelivery(count, () -> http.expect(200, "PATCH", path, clientKey, "{\"state\":\"enabled\"}"));
        WebhookResult.Throughput firstTrial = first.withRaw(1, count, raw(first.bodies(), ENDPOINT_CONCURRENCY));
        try (PreparedStatement ps = db.prepareStatement("UPDATE webhook_messages SET status = 'failed' WHERE"
                + " endpoint_pk = (SELECT pk FROM webhook_endpoints WHERE id = ?) AND status = 'delivered'")) {
            ps.setString(1, endpoint);
            if (ps.executeUpdate() != count) {
                throw new IllegalStateException("expected " + count + " delivered messages to mark failed");
            }
        }
        Backlog retried =
                timeDelivery(count, () -> http.expect(202, "POST", path + "/messages/retry", clientKey, null));
        WebhookResult.Throughput retriedTrial = retried.withRaw(1, count, raw(retried.bodies(), inFlight));
        http.expect(204, "DELETE", path, clientKey, null);
        return new WebhookResult.Throughput[] {firstTrial, retriedTrial};
    }

    private record Raw(double eventsPerSecond, double requestsPerSecond, CpuMeter.Usage cpu) {}

    private Raw raw(List<String> bodies, int concurrency) throws Exception {
        long before = receiver.events();
        long requestsBefore = receiver.requests();
        AtomicInteger next = new AtomicInteger();
        String url = receiver.url("/raw");
        org.eclipse.jetty.client.HttpClient client = new org.eclipse.jetty.client.HttpClient();
        client.setMaxConnectionsPerDestination(concurrency);
        client.start();
        try {
            CpuMeter.Sample a = cpu.sample();
            long started = System.nanoTime();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int c = 0; c < concurrency; c++) {
                    pool.submit(() -> {
                        for (int i = next.getAndIncrement(); i < bodies.size(); i = next.getAndIncrement()) {
                            var response = client.newRequest(url)
                                    .method("POST")
                                    .body(new StringRequestContent("application/json", bodies.get(i)))
                                    .send();
                            if (response.getStatus() != 200) {
                                throw new IllegalStateException("raw POST answered " + response.getStatus());
                            }
                        }
                        return null;
                    });
                }
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            return new Raw(
                    (receiver.events() - before) / seconds,
                    (receiver.requests() - requestsBefore) / seconds,
                    CpuMeter.between(a, cpu.sample()));
        } finally {
            client.stop();
        }
    }

    /**
     * Appends {@code count} events straight into these streams' logs (split evenly, taking turns), as
     * record writes would, through {@code append_event} in statements of 100. Only this setup
     * connection commits without waiting for the disk.
     */
    private static void prefill(Connection db, List<Long> into, int count) throws Exception {
        try (var s = db.createStatement()) {
            s.execute("SET synchronous_commit = off");
        }
        String data =
                "{\"id\":\"rec_prefill\",\"version\":1,\"state\":\"confirmed\",\"startUtc\":\"2026-12-01T14:00:00Z\"}";
        int[] left = new int[into.size()];
        for (int t = 0; t < left.length; t++) {
            left[t] = count / left.length + (t < count % left.length ? 1 : 0);
        }
        // Appends in one statement update the stream's row once each, and each finds the row at the end
        // of a chain of versions no one can prune before the commit: small statements keep that short.
        try (PreparedStatement ps = db.prepareStatement(
                "SELECT count(append_event(?, e.id, 'reservations.created', 'rec_prefill', 'reservations', now(),"
                        + " ?::jsonb, NULL)) FROM unnest(?::uuid[]) AS e(id)")) {
            for (boolean more = true; more; ) {
                more = false;
                for (int t = 0; t < left.length; t++) {
                    int n = Math.min(100, left[t]);
                    if (n == 0) {
                        continue;
                    }
                    java.util.UUID[] ids = new java.util.UUID[n];
                    for (int i = 0; i < n; i++) {
                        ids[i] = Ids.newUuid();
                    }
                    ps.setLong(1, into.get(t));
                    ps.setString(2, data);
                    ps.setArray(3, db.createArrayOf("uuid", ids));
                    ps.executeQuery().close();
                    left[t] -= n;
                    more |= left[t] > 0;
                }
            }
        }
    }

    /**
     * One tenant and {@value #FANOUT_ENDPOINTS} integrations connected to it, each with one events
     * endpoint at batch size 1 on the receiver. Drained: events wait while every endpoint is disabled,
     * all are enabled at once, and the time until the receiver has every message gives messages/s,
     * beside the raw ceiling of the same bodies at {@value #FANOUT_RAW_CONNECTIONS} connections. Live:
     * records written at fixed rates through one of the connections; lag from each event's commit to
     * its arrival at each endpoint.
     */
    private WebhookResult.Fanout fanoutRun() throws Exception {
        String admin = server.adminKey();
        String tenant = "fanout";
        http.expect(201, "POST", "/api/v1/tenants", admin, Json.write(Map.of("id", tenant)));
        Map<String, String> endpoints = new LinkedHashMap<>(); // endpoint id → its integration's client key
        String writer = null;
        for (int i = 0; i < FANOUT_ENDPOINTS; i++) {
            JsonNode integration = createIntegration(admin, "fanout-%02d".formatted(i + 1));
            String token = connection(admin, integration, tenant);
            writer = writer == null ? token : writer;
            String key = integration.get("clientKey").asText();
            endpoints.put(createEndpoint(key, receiver.url("/fanout/" + (i + 1)), 1), key);
        }
        long stream;
        try (Connection db = DriverManager.getConnection(server.jdbcUrl());
                PreparedStatement ps = db.prepareStatement(
                        "SELECT s.pk FROM streams s JOIN tenants t ON t.pk = s.tenant_pk WHERE t.id = ?")) {
            ps.setString(1, tenant);
            try (var rs = ps.executeQuery()) {
                rs.next();
                stream = rs.getLong(1);
            }
        }

        int perEndpoint = options.fanoutEvents();
        System.out.println("webhooks: fan-out, " + FANOUT_ENDPOINTS + " endpoints of as many integrations on one"
                + " tenant: warming up");
        try (Connection db = DriverManager.getConnection(server.jdbcUrl())) {
            Backlog warmUp = fanoutBacklog(db, stream, endpoints, perEndpoint);
            raw(warmUp.bodies(), FANOUT_RAW_CONNECTIONS);
        }
        List<WebhookResult.Throughput> drained = new ArrayList<>();
        for (int trial = 1; trial <= options.trials(); trial++) {
            try (Connection db = DriverManager.getConnection(server.jdbcUrl())) {
                System.out.println("webhooks: fan-out drained, trial " + trial + ": " + perEndpoint
                        + " events waiting for each endpoint");
                Backlog timed = fanoutBacklog(db, stream, endpoints, perEndpoint);
                WebhookResult.Throughput t =
                        timed.withRaw(1, perEndpoint * FANOUT_ENDPOINTS, raw(timed.bodies(), FANOUT_RAW_CONNECTIONS));
                System.out.println(f(
                        "webhooks:   %,.0f messages/s, raw ceiling %,.0f requests/s (ratio %.2f);"
                                + " server + PostgreSQL %.0f µs of CPU per message",
                        t.messagesPerSecond(), t.rawRequestsPerSecond(), t.messageRatio(), t.cpuMicrosPerMessage()));
                drained.add(t);
            }
        }

        List<WebhookResult.Live> live = new ArrayList<>();
        // Every record written from here on is one message for each endpoint.
        long arrivedBefore = receiver.events();
        AtomicLong written = new AtomicLong();
        if (!options.fanoutRates().isEmpty()) {
            int first = options.fanoutRates().getFirst();
            System.out.println("webhooks: fan-out live: warming up at " + first + " events/s");
            PacedWrites writes = new PacedWrites(List.of(writer));
            latencyRun(first, "warm-up", Duration.ofSeconds(10), writes);
            written.addAndGet(writes.written.get());
        }
        for (int rate : options.fanoutRates()) {
            List<WebhookResult.Latency> trials = new ArrayList<>();
            for (int trial = 1; trial <= options.trials(); trial++) {
                // A run that fell behind does not hand its queue to the next.
                awaitArrivals(arrivedBefore + written.get() * FANOUT_ENDPOINTS);
                System.out.println("webhooks: fan-out live, trial " + trial + ": " + rate + " events/s to "
                        + FANOUT_ENDPOINTS + " endpoints (" + rate * FANOUT_ENDPOINTS + " messages/s)");
                PacedWrites writes = new PacedWrites(List.of(writer));
                WebhookResult.Latency l = latencyRun(rate, FANOUT_ENDPOINTS + " endpoints", options.window(), writes);
                written.addAndGet(writes.written.get());
                System.out.println(f(
                        "webhooks:   lag p50 %.1f ms, p99 %.1f ms, max %.1f ms; %,.0f of %,d messages/s delivered,"
                                + " %d writes refused; server + PostgreSQL %.0f µs of CPU per message",
                        l.p50Millis(),
                        l.p99Millis(),
                        l.maxMillis(),
                        l.deliveredPerSecond(),
                        rate * FANOUT_ENDPOINTS,
                        l.refusedWrites(),
                        l.cpuMicrosPerMessage()));
                trials.add(l);
            }
            live.add(new WebhookResult.Live(rate, FANOUT_ENDPOINTS, trials));
        }
        // Disabled and quiet before they are deleted: deleting an endpoint whose streams are being delivered
        // can meet the delivery's own updates of those streams (a deadlock PostgreSQL breaks with a 500).
        awaitArrivals(arrivedBefore + written.get() * FANOUT_ENDPOINTS);
        setStates(endpoints, "disabled");
        settle();
        for (var e : endpoints.entrySet()) {
            http.expect(204, "DELETE", "/api/v1/webhooks/" + e.getKey(), e.getValue(), null);
        }
        return new WebhookResult.Fanout(
                FANOUT_ENDPOINTS,
                new WebhookResult.Drained(
                        "1 tenant × " + FANOUT_ENDPOINTS + " endpoints", 1, FANOUT_ENDPOINTS, 1, perEndpoint, drained),
                live);
    }

    /**
     * Disables every fan-out endpoint, appends {@code perEndpoint} events to the tenant's log, then
     * enables them all at once and times until each has received every event.
     */
    private Backlog fanoutBacklog(Connection db, long stream, Map<String, String> endpoints, int perEndpoint)
            throws Exception {
        setStates(endpoints, "disabled");
        prefill(db, List.of(stream), perEndpoint);
        return timeDelivery((long) perEndpoint * endpoints.size(), () -> setStates(endpoints, "enabled"));
    }

    /** Waits until the receiver has {@code expected} events in all (at most 2 minutes). */
    private void awaitArrivals(long expected) throws InterruptedException {
        long started = System.nanoTime();
        long deadline = started + TimeUnit.MINUTES.toNanos(2);
        while (receiver.events() < expected && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        double waited = (System.nanoTime() - started) / 1e9;
        if (receiver.events() < expected) {
            System.out.println("webhooks:   " + (expected - receiver.events()) + " messages of the runs before had"
                    + " still not arrived after 2 minutes");
        } else if (waited >= 0.5) {
            System.out.println(f("webhooks:   the runs before left messages that took %.1f s more to arrive", waited));
        }
    }

    /**
     * Waits until the receiver has received nothing for a second (at most 2 minutes): what earlier runs
     * left queued has arrived, or stopped.
     */
    private void settle() throws InterruptedException {
        long started = System.nanoTime();
        long deadline = started + TimeUnit.MINUTES.toNanos(2);
        long last = receiver.events();
        long quietSince = started;
        while (System.nanoTime() < deadline) {
            Thread.sleep(100);
            long now = receiver.events();
            if (now != last) {
                last = now;
                quietSince = System.nanoTime();
            } else if (System.nanoTime() - quietSince >= TimeUnit.SECONDS.toNanos(1)) {
                if (quietSince > started) {
                    System.out.println(f(
                            "webhooks:   the queue of the run before took %.1f s to arrive",
                            (quietSince - started) / 1e9));
                }
                return;
            }
        }
        System.out.println("webhooks:   messages were still arriving after 2 minutes");
    }

    /** Sets every endpoint's state at once, one PATCH each on its own virtual thread. */
    private void setStates(Map<String, String> endpoints, String state) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (var e : endpoints.entrySet()) {
                pool.execute(() -> {
                    try {
                        http.expect(
                                200,
                                "PATCH",
                                "/api/v1/webhooks/" + e.getKey(),
                                e.getValue(),
                                "{\"state\":\"" + state + "\"}");
                    } catch (Throwable x) {
                        failure.compareAndSet(null, x);
                    }
                });
            }
        }
        if (failure.get() != null) {
            throw new IllegalStateException("could not make every fan-out endpoint " + state, failure.get());
        }
    }

    private static String f(String format, Object... args) {
        return String.format(java.util.Locale.ROOT, format, args);
    }

    /**
     * Events at the soak's rate for its length. At the end of every minute: the server's heap after a
     * full GC and its live threads, PostgreSQL's CPU and the messages delivered since the soak began
     * (so each minute's PostgreSQL CPU per message), and the size of the delivery tables and their
     * indexes.
     */
    private WebhookResult.Soak soakRun() throws Exception {
        int rate = options.soakRate();
        System.out.println("webhooks: soak at " + rate + " events/s to " + SOAK_ENDPOINTS
                + " endpoints at batch size 1 (" + rate * SOAK_ENDPOINTS + " messages/s) for "
                + options.soak().toMinutes() + " minutes");
        List<String> endpoints = new ArrayList<>();
        for (int i = 0; i < SOAK_ENDPOINTS; i++) {
            endpoints.add(createEndpoint(receiver.url("/soak/" + (i + 1)), 1));
        }
        // Unmeasured, then caught up: on a server that has just started, the first seconds at this rate
        // queue the writes (the JIT is still compiling their path) and deliver the backlog they leave in
        // large, cheap steps, which would make the first minutes look cheaper than the steady state.
        System.out.println("webhooks: soak warm-up, " + SOAK_WARM_UP.toSeconds() + " s at the same rate");
        long arrivedBefore = receiver.events();
        PacedWrites warmUp = new PacedWrites(tokens);
        long warmUpStart = System.nanoTime();
        warmUp.run(rate, warmUpStart, warmUpStart + SOAK_WARM_UP.toNanos(), due -> {});
        warmUp.check("soak's warm-up");
        awaitArrivals(arrivedBefore + (long) warmUp.written.get() * SOAK_ENDPOINTS);
        List<WebhookResult.Sample> samples = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<WebhookResult.RelationSize> sizesAtStart = relationSizes();
        CpuMeter.Sample cpuAtStart = cpu.sample();
        long requestsAtStart = receiver.requests();
        long start = System.nanoTime();
        long end = start + options.soak().toNanos();
        // A sample at the end of every minute; the last one 5 s before the end, still under load.
        long lastSample = end - TimeUnit.SECONDS.toNanos(5);
        AtomicLong nextSample = new AtomicLong(Math.min(start + TimeUnit.MINUTES.toNanos(1), lastSample));
        List<Thread> samplers = new ArrayList<>();
        Latencies latencies = receiver.measure();
        PacedWrites writes = new PacedWrites(tokens);
        writes.run(rate, start, end, due -> {
            if (due >= nextSample.get()) {
                nextSample.set(
                        nextSample.get() == lastSample
                                ? Long.MAX_VALUE
                                : Math.min(nextSample.get() + TimeUnit.MINUTES.toNanos(1), lastSample));
                samplers.add(Thread.ofVirtual().start(() -> {
                    // CPU and messages first: the GC the heap sample forces is the server's, not PostgreSQL's.
                    CpuMeter.Sample now = cpu.sample();
                    CpuMeter.PostgresTicks kinds = now.postgresByKind().since(cpuAtStart.postgresByKind());
                    long messages = receiver.requests() - requestsAtStart;
                    samples.add(sample(
                            (now.nanos() - start) / 60e9,
                            kinds.total() * 0.01,
                            kinds.connections() * 0.01,
                            kinds.autovacuum() * 0.01,
                            messages,
                            relationSizes()));
                }));
            }
        });
        for (Thread sampler : samplers) {
            sampler.join();
        }
        receiver.stopMeasuring();
        for (String endpoint : endpoints) {
            http.expect(204, "DELETE", "/api/v1/webhooks/" + endpoint, clientKey, null);
        }
        writes.check("soak");
        List<WebhookResult.Sample> sorted = samples.stream()
                .sorted(java.util.Comparator.comparingDouble(WebhookResult.Sample::minute))
                .toList();
        synchronized (latencies) {
            return new WebhookResult.Soak(
                    options.soak().toMinutes(),
                    rate,
                    SOAK_ENDPOINTS,
                    latencies.count(),
                    latencies.millis(50),
                    latencies.millis(99),
                    writes.refused.get(),
                    sizesAtStart,
                    sorted);
        }
    }

    /** The delivery tables, each with its rows (live and dead, from the statistics) and its size and its indexes'. */
    private List<WebhookResult.RelationSize> relationSizes() {
        try (Connection db = DriverManager.getConnection(server.jdbcUrl());
                var rs = db.createStatement()
                        .executeQuery("SELECT relname, n_live_tup, n_dead_tup,"
                                + " pg_total_relation_size(relid) - pg_indexes_size(relid), pg_indexes_size(relid),"
                                + " autovacuum_count"
                                + " FROM pg_stat_user_tables WHERE relname IN"
                                + " ('events', 'streams', 'webhook_streams', 'webhook_messages', 'webhook_attempts')"
                                + " ORDER BY relname")) {
            List<WebhookResult.RelationSize> sizes = new ArrayList<>();
            while (rs.next()) {
                sizes.add(new WebhookResult.RelationSize(
                        rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5), rs.getLong(6)));
            }
            return sizes;
        } catch (Exception e) {
            throw new IllegalStateException("could not read the delivery tables' sizes", e);
        }
    }

    /**
     * Record creates at a fixed rate, round-robin over the tenants. A 503 (the server over its capacity
     * says so and writes nothing) is counted; any other failure voids the run.
     */
    private final class PacedWrites {
        final AtomicInteger refused = new AtomicInteger();
        final AtomicInteger written = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final AtomicInteger next = new AtomicInteger();
        private final List<String> writers;

        /** Writes with these access tokens (their tenants), in turn. */
        PacedWrites(List<String> writers) {
            this.writers = writers;
        }

        /** Writes from {@code start} until {@code end} (System.nanoTime()); {@code beforeEach} gets each write's due time. */
        void run(int rate, long start, long end, LongConsumer beforeEach) {
            run(rate, start, due -> due < end, beforeEach);
        }

        /** Writes from {@code start} for as long as {@code goOn} accepts the next write's due time. */
        void run(int rate, long start, LongPredicate goOn, LongConsumer beforeEach) {
            OpenLoop.run(rate, start, goOn, failure, due -> {
                beforeEach.accept(due);
                String token = writers.get(next.getAndIncrement() % writers.size());
                return () -> write(token);
            });
        }

        private void write(String token) throws Exception {
            int status = http.send("POST", "/api/v1/collections/reservations/records", token, BenchFixture.CREATE_BODY)
                    .getStatus();
            if (status == 201) {
                written.incrementAndGet();
            } else if (status == 503) {
                refused.incrementAndGet();
            } else {
                throw new IllegalStateException("a write answered " + status);
            }
        }

        void check(String what) {
            if (failure.get() != null) {
                throw new IllegalStateException("a write failed, so the " + what + " is void", failure.get());
            }
        }
    }

    /**
     * Integration B (a tenant of its own, one endpoint) at {@value #FAIR_RATE} events/s, alone and beside
     * integration A, connected to {@value #SLOW_TENANTS} tenants with {@value #SLOW_ENDPOINTS} endpoints
     * that all answer in 4.9 s (more streams than the node's concurrency). A's tenants write {@value
     * #SLOW_RATE} events/s through the whole phase, so that every one of its streams always has work;
     * "alone" is the same load with A's endpoints disabled and none of their requests in flight, so the two
     * halves differ only in A's slow streams. The halves alternate, trial by trial, so neither has a warmer
     * server or a longer log.
     */
    private WebhookResult.Fairness fairnessRun() throws Exception {
        String admin = server.adminKey();
        JsonNode b = createIntegration(admin, "partner-b");
        String bToken = connect(admin, b, "fair-b");
        String bEndpoint = createEndpoint(b.get("clientKey").asText(), receiver.url("/b"), 100);
        JsonNode a = createIntegration(admin, "partner-a");
        String aKey = a.get("clientKey").asText();
        List<String> aTokens = new ArrayList<>();
        for (int i = 0; i < SLOW_TENANTS; i++) {
            aTokens.add(connect(admin, a, "fair-a-" + i));
        }
        Map<String, String> slowEndpoints = new LinkedHashMap<>();
        for (int i = 0; i < SLOW_ENDPOINTS; i++) {
            slowEndpoints.put(createEndpoint(aKey, receiver.url("/slow"), 100), aKey);
        }
        setStates(slowEndpoints, "disabled");

        Duration window = Duration.ofSeconds(Math.max(options.window().toSeconds(), FAIR_EVENTS / FAIR_RATE));
        AtomicBoolean aWriting = new AtomicBoolean(true);
        PacedWrites aWrites = new PacedWrites(aTokens);
        Thread aWriter = Thread.ofVirtual()
                .start(() -> aWrites.run(SLOW_RATE, System.nanoTime(), due -> aWriting.get(), due -> {}));
        String besideA = "beside A (" + SLOW_TENANTS * SLOW_ENDPOINTS + " streams answering in 4.9 s)";
        List<WebhookResult.Latency> alone = new ArrayList<>();
        List<WebhookResult.Latency> beside = new ArrayList<>();
        double active = 0;
        try {
            System.out.println(
                    "webhooks: fairness: integration B at " + FAIR_RATE + " events/s while A's tenants write "
                            + SLOW_RATE + " events/s; A's " + SLOW_TENANTS * SLOW_ENDPOINTS + " streams answer in "
                            + WebhookReceiver.SLOW.toMillis() + " ms while its endpoints are enabled");
            awaitActiveStreams(1);
            latencyRun(FAIR_RATE, "warm-up", Duration.ofSeconds(10), new PacedWrites(List.of(bToken)));
            for (int trial = 1; trial <= options.trials(); trial++) {
                alone.add(latencyRun(FAIR_RATE, "alone", window, new PacedWrites(List.of(bToken))));
                System.out.println("webhooks:   trial " + trial + ", alone: " + alone.getLast());
                setStates(slowEndpoints, "enabled");
                Thread.sleep(10_000); // A takes every stream it may first
                beside.add(latencyRun(FAIR_RATE, besideA, window, new PacedWrites(List.of(bToken))));
                active = metric("switchboard_webhooks_streams_active ");
                System.out.println("webhooks:   trial " + trial + ", " + besideA + ": " + beside.getLast() + ", "
                        + active + " streams in flight");
                setStates(slowEndpoints, "disabled");
                awaitActiveStreams(1); // A's requests in flight end (4.9 s)
            }
        } finally {
            aWriting.set(false);
            aWriter.join();
        }
        aWrites.check("fairness run");
        for (String endpoint : slowEndpoints.keySet()) {
            http.expect(204, "DELETE", "/api/v1/webhooks/" + endpoint, aKey, null);
        }
        http.expect(
                204,
                "DELETE",
                "/api/v1/webhooks/" + bEndpoint,
                b.get("clientKey").asText(),
                null);
        return new WebhookResult.Fairness(
                CONCURRENCY,
                INTEGRATION_CONCURRENCY,
                SLOW_TENANTS * SLOW_ENDPOINTS,
                WebhookReceiver.SLOW.toMillis(),
                FAIR_RATE * window.toSeconds(),
                alone,
                beside,
                active);
    }

    /** Waits until the node delivers at most {@code streams} streams (B's own may linger), at most 30 s. */
    private void awaitActiveStreams(int streams) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (metric("switchboard_webhooks_streams_active ") > streams) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        "integration A's streams were still in flight 30 s after it was disabled");
            }
            Thread.sleep(100);
        }
    }

    private JsonNode createIntegration(String admin, String name) throws Exception {
        return Json.read(http.expect(
                201,
                "POST",
                "/api/v1/integrations",
                admin,
                Json.write(Map.of(
                        "name",
                        name,
                        "permissions",
                        Map.of("read", List.of("*"), "write", List.of("*")),
                        "eventTypes",
                        List.of("*")))));
    }

    /** A new tenant connected to {@code integration}; returns the connection's access token. */
    private String connect(String admin, JsonNode integration, String tenant) throws Exception {
        http.expect(201, "POST", "/api/v1/tenants", admin, Json.write(Map.of("id", tenant)));
        return connection(admin, integration, tenant);
    }

    /** Connects {@code integration} to an existing tenant; returns the connection's access token. */
    private String connection(String admin, JsonNode integration, String tenant) throws Exception {
        return Json.read(http.expect(
                        201,
                        "POST",
                        "/api/v1/integrations/" + integration.get("id").asText() + "/connections",
                        admin,
                        Json.write(Map.of("tenantId", tenant))))
                .get("accessToken")
                .asText();
    }

    /** The value of a sample in the server's /metrics ({@code line} is its start, up to the value). */
    private double metric(String line) throws Exception {
        String metrics = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create(server.baseUrl() + "/metrics"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
        for (String l : metrics.split("\n")) {
            if (l.startsWith(line)) {
                return Double.parseDouble(l.substring(line.length()).trim());
            }
        }
        return Double.NaN;
    }

    /** A full GC in the server (jcmd), then its heap in use and live threads from /metrics. */
    private WebhookResult.Sample sample(
            double minute,
            double postgresSeconds,
            double connectionSeconds,
            double autovacuumSeconds,
            long messages,
            List<WebhookResult.RelationSize> sizes) {
        try {
            Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
            new ProcessBuilder(jcmd.toString(), Long.toString(server.pid()), "GC.run")
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start()
                    .waitFor(60, TimeUnit.SECONDS);
            String metrics = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create(server.baseUrl() + "/metrics"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
            double heap = 0;
            double threads = 0;
            for (String line : metrics.split("\n")) {
                if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                    heap += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                } else if (line.startsWith("jvm_threads_live_threads ")) {
                    threads = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            return new WebhookResult.Sample(
                    minute,
                    heap / (1024 * 1024),
                    (int) threads,
                    postgresSeconds,
                    connectionSeconds,
                    autovacuumSeconds,
                    messages,
                    sizes);
        } catch (Exception e) {
            throw new IllegalStateException("could not sample the server's heap", e);
        }
    }
}
