package dev.switchboard.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;

/**
 * A real headless Chromium (Debian's, which bin/test installs when it runs as root) driven over the
 * DevTools protocol: open
 * a page, evaluate JavaScript in it. Started with a fresh profile and every background network
 * feature off, so it only talks to the test server on loopback.
 */
public final class HeadlessChromium implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private final Process process;
    private final Path profile;
    private final WebSocket devtools;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();

    /** The names Chromium and Chrome go by on PATH, Debian's first. */
    private static final List<String> NAMES =
            List.of("chromium", "chromium-browser", "google-chrome", "google-chrome-stable");

    /**
     * The browser to run: {@code CHROMIUM_PATH} when it is set (even to something that is not there, so
     * that a wrong setting fails loudly instead of skipping the tests), otherwise the first of
     * {@link #NAMES} found on PATH, the way a shell would find it. bin/lib/chromium.sh looks the same way.
     */
    public static Optional<Path> binary() {
        String configured = System.getenv("CHROMIUM_PATH");
        if (configured != null && !configured.isBlank()) {
            return Optional.of(Path.of(configured));
        }
        String path = System.getenv().getOrDefault("PATH", "");
        for (String name : NAMES) {
            for (String dir : path.split(File.pathSeparator)) {
                if (!dir.isEmpty()) {
                    Path candidate = Path.of(dir, name);
                    if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                        return Optional.of(candidate);
                    }
                }
            }
        }
        return Optional.empty();
    }

    public HeadlessChromium() throws IOException {
        Path binary = binary().orElseThrow(() -> new IllegalStateException("no Chromium: " + Browser.HOW_TO_RUN));
        if (!Files.isExecutable(binary)) {
            throw new IllegalStateException(
                    "CHROMIUM_PATH is " + binary + ", which is not an executable: " + Browser.HOW_TO_RUN);
        }
        // Chromium keeps sockets under its profile and temporary directory, and a socket's path may be at
        // most 107 bytes: a short directory in the system's /tmp, not one under target/ (the test JVM's
        // java.io.tmpdir). It is Chromium's TMPDIR too, so close() deletes everything Chromium put there.
        Path systemTmp = Path.of(System.getenv().getOrDefault("TMPDIR", "/tmp"));
        profile = Files.createTempDirectory(systemTmp, "switchboard-chromium");
        ProcessBuilder builder = new ProcessBuilder(
                        binary.toString(),
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-quic",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--user-data-dir=" + profile,
                        "--remote-debugging-address=127.0.0.1",
                        "--remote-debugging-port=0",
                        "about:blank")
                .redirectErrorStream(true)
                .redirectOutput(profile.resolve("chromium.log").toFile());
        builder.environment().put("TMPDIR", profile.toString());
        process = builder.start();
        try {
            Path portFile = profile.resolve("DevToolsActivePort");
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> Files.exists(portFile)
                            && Files.readAllLines(portFile).size() >= 2);
            int port = Integer.parseInt(Files.readAllLines(portFile).getFirst().trim());
            String pageSocket =
                    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> pageTarget(port), p -> p != null);
            devtools = HTTP.newWebSocketBuilder()
                    .buildAsync(URI.create(pageSocket), new Listener())
                    .orTimeout(10, TimeUnit.SECONDS)
                    .join();
        } catch (RuntimeException e) {
            close();
            throw new IllegalStateException(
                    "Chromium did not start (log in " + profile.resolve("chromium.log") + ")", e);
        }
    }

    private static String pageTarget(int port) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        for (JsonNode target : Json.read(r.body())) {
            if (target.path("type").asText().equals("page")) {
                return target.get("webSocketDebuggerUrl").asText();
            }
        }
        return null;
    }

    private final class Listener extends JsonTextListener {
        @Override
        protected void onJson(JsonNode message) {
            CompletableFuture<JsonNode> waiting =
                    message.has("id") ? pending.remove(message.get("id").asInt()) : null;
            if (waiting != null) {
                waiting.complete(message);
            }
        }
    }

    private JsonNode call(String method, Map<String, Object> params) {
        int id = ids.incrementAndGet();
        CompletableFuture<JsonNode> answer = new CompletableFuture<>();
        pending.put(id, answer);
        devtools.sendText(Json.write(Map.of("id", id, "method", method, "params", params)), true)
                .join();
        JsonNode result = answer.orTimeout(15, TimeUnit.SECONDS).join();
        if (result.has("error")) {
            throw new IllegalStateException(method + " failed: " + result.get("error"));
        }
        return result.get("result");
    }

    public void open(String url) {
        call("Page.navigate", Map.of("url", url));
    }

    /** Evaluates a JavaScript expression in the page; returns its value as JSON. */
    public JsonNode evaluate(String expression) {
        JsonNode result = call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true));
        return result.path("result").path("value");
    }

    /** Evaluates a JavaScript expression returning a list of strings. */
    public List<String> strings(String expression) {
        JsonNode value = evaluate(expression);
        return value.isArray()
                ? Json.MAPPER.convertValue(
                        value, Json.MAPPER.getTypeFactory().constructCollectionType(List.class, String.class))
                : List.of();
    }

    @Override
    public void close() {
        if (devtools != null) {
            devtools.abort();
        }
        // Chromium's helper processes (the network service among them) may still be writing into the
        // profile after the browser process exits: wait for all of them before deleting it.
        List<ProcessHandle> helpers = process.descendants().toList();
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            for (ProcessHandle helper : helpers) {
                helper.destroy();
                helper.onExit().get(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            helpers.forEach(ProcessHandle::destroyForcibly);
        }
        TestDatabase.deleteRecursively(profile);
    }
}
