package dev.switchboard.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Closed-loop HTTP load from wrk (Debian's wrk 4): N clients as N wrk threads, each with one keep-alive
 * connection and its own access token, sending its next request as soon as the last is answered
 * (bench/spine.lua). wrk is C on epoll and costs about a fifth of the CPU per request that a JVM
 * client costs here; as it shares the two cores with the server and PostgreSQL, that difference would
 * otherwise come straight off the server's figures. A warm-up run precedes each measured run.
 */
final class WrkLoad {
    /** One request a client sends in turn with the others of its list. */
    record Target(int client, String token, String path) {}

    private final Path script;
    private final Path workDir;
    private final String baseUrl;
    private final CpuMeter cpu;
    private final Duration warmup;
    private final Duration window;

    WrkLoad(Path script, Path workDir, String baseUrl, CpuMeter cpu, Duration warmup, Duration window) {
        this.script = script;
        this.workDir = workDir;
        this.baseUrl = baseUrl;
        this.cpu = cpu;
        this.warmup = warmup;
        this.window = window;
    }

    Measurement run(int clients, String method, List<Target> targets, String body) throws Exception {
        Path requests = requestsFile(targets);
        try {
            if (!warmup.isZero()) {
                wrk(clients, warmup, method, requests, body);
            }
            CpuMeter.Sample a = cpu.sample();
            JsonNode result = wrk(clients, window, method, requests, body);
            CpuMeter.Sample b = cpu.sample();
            long count = result.get("requests").asLong();
            return new Measurement(
                    count / (result.get("micros").asLong() / 1e6),
                    result.get("p50").asLong() / 1000.0,
                    result.get("p99").asLong() / 1000.0,
                    count,
                    CpuMeter.between(a, b));
        } finally {
            Files.deleteIfExists(requests);
        }
    }

    /** Sends the load for {@code duration} without measuring it. */
    void warm(Duration duration, int clients, String method, List<Target> targets, String body) throws Exception {
        Path requests = requestsFile(targets);
        try {
            wrk(clients, duration, method, requests, body);
        } finally {
            Files.deleteIfExists(requests);
        }
    }

    private Path requestsFile(List<Target> targets) throws IOException {
        List<String> lines = new ArrayList<>();
        for (Target t : targets) {
            lines.add(t.client() + " " + t.token() + " " + t.path());
        }
        return Files.write(Files.createTempFile(workDir, "wrk-", ".txt"), lines, StandardCharsets.UTF_8);
    }

    private JsonNode wrk(int clients, Duration duration, String method, Path requests, String body) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(
                        "wrk",
                        "--threads",
                        Integer.toString(clients),
                        "--connections",
                        Integer.toString(clients),
                        "--duration",
                        duration.toSeconds() + "s",
                        "--timeout",
                        "10s",
                        "--script",
                        script.toString(),
                        baseUrl)
                .redirectErrorStream(true);
        pb.environment().put("SPINE_REQUESTS", requests.toString());
        pb.environment().put("SPINE_METHOD", method);
        if (body != null) {
            pb.environment().put("SPINE_BODY", body);
        }
        Process wrk = pb.start();
        String output;
        try {
            output = new String(wrk.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            if (!wrk.waitFor(duration.toSeconds() + 30, TimeUnit.SECONDS)) {
                wrk.destroyForcibly();
            }
        }
        String line = output.lines()
                .filter(l -> l.startsWith("SPINE "))
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("wrk failed: " + output));
        JsonNode result = Json.read(line.substring(6));
        long errors = result.get("connect").asLong()
                + result.get("read").asLong()
                + result.get("write").asLong()
                + result.get("status").asLong()
                + result.get("timeout").asLong();
        if (errors > 0) {
            throw new IllegalStateException("wrk saw " + errors + " failed requests, so the run is void: " + line);
        }
        return result;
    }

    /** Fails with what to do when wrk is not on the PATH (bench/spine installs it when it is not). */
    static void requireInstalled() throws IOException, InterruptedException {
        try {
            new ProcessBuilder("wrk", "--version")
                    .redirectErrorStream(true)
                    .start()
                    .waitFor();
        } catch (IOException e) {
            throw new IOException("wrk is not installed: bench/spine installs Debian's wrk (apt-get install wrk)", e);
        }
    }
}
