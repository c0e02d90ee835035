package dev.switchboard.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * The receiver as a Node HTTP server ({@code bench/lib/webhook-receiver.js}, one process, {@code
 * node:http}): the receiver the webhook targets are stated against. It takes more CPU per request than
 * {@link WebhookReceiver} (about 30 µs more on the benchmark machine), from the cores the server shares,
 * so both Switchboard's figures and the raw ceiling are lower with it. The harness reads its counts,
 * bodies and latencies over {@code /_bench/}.
 */
final class NodeReceiver implements Receiver {
    private final Process process;
    private final String base;
    private final HttpClient control =
            HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private Latencies latencies;

    NodeReceiver(Path root) throws IOException {
        process = new ProcessBuilder(
                        "node",
                        root.resolve("bench/lib/webhook-receiver.js").toString(),
                        Long.toString(WebhookReceiver.SLOW.toMillis()))
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String port =
                new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)).readLine();
        if (port == null || !port.matches("\\d+")) {
            process.destroyForcibly();
            throw new IOException("the Node receiver did not start (it printed " + port + ")");
        }
        base = "http://127.0.0.1:" + port;
    }

    @Override
    public String description() {
        return "a Node HTTP server (node:http, one process)";
    }

    @Override
    public String url(String path) {
        return base + path;
    }

    @Override
    public long events() {
        return counts().get("events").asLong();
    }

    @Override
    public long requests() {
        return counts().get("requests").asLong();
    }

    private JsonNode counts() {
        return Json.read(call("GET", "/_bench/counts"));
    }

    @Override
    public synchronized Latencies measure() {
        call("POST", "/_bench/measure");
        latencies = new Latencies();
        return latencies;
    }

    @Override
    public synchronized void stopMeasuring() {
        JsonNode micros = Json.read(call("POST", "/_bench/stop"));
        if (latencies != null) {
            synchronized (latencies) {
                micros.forEach(m -> latencies.add(m.asLong() * 1000));
            }
            latencies = null;
        }
    }

    @Override
    public void keepBodies() {
        call("POST", "/_bench/keep");
    }

    @Override
    public List<String> keptBodies() {
        List<String> bodies = new ArrayList<>();
        Json.read(call("GET", "/_bench/kept")).forEach(b -> bodies.add(b.asText()));
        return bodies;
    }

    @Override
    public OptionalLong pid() {
        return OptionalLong.of(process.pid());
    }

    private String call(String method, String path) {
        try {
            HttpResponse<String> response = control.send(
                    HttpRequest.newBuilder(URI.create(base + path))
                            .method(method, HttpRequest.BodyPublishers.noBody())
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException(method + " " + path + " answered " + response.statusCode());
            }
            return response.body();
        } catch (IOException e) {
            throw new IllegalStateException("the Node receiver did not answer " + method + " " + path, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
