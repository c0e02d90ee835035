package dev.switchboard.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
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
 * DevTools protocol: open a page, evaluate JavaScript in it, click and type as a user does (real mouse
 * and keyboard input events, so a covered or hidden element cannot be clicked), wait for elements,
 * capture screenshots, and collect what the page's console reports as errors (console.error, uncaught
 * exceptions, and the browser's own error entries: CSP violations, failed loads). Started with a fresh
 * profile and every background network feature off, so it only talks to the test server on loopback.
 */
public final class HeadlessChromium implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private final Process process;
    private final Path profile;
    private final WebSocket devtools;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final List<ConsoleEntry> console = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** An error the page's console showed: where it came from (javascript, exception, network, security, …). */
    public record ConsoleEntry(String source, String text, String url) {
        @Override
        public String toString() {
            return source + ": " + text + (url == null || url.isEmpty() ? "" : " (" + url + ")");
        }
    }

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
        for (String name : NAMES) {
            Optional<Path> found = Executables.onPath(name);
            if (found.isPresent()) {
                return found;
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
            call("Runtime.enable", Map.of());
            call("Log.enable", Map.of());
            call("Page.enable", Map.of());
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
            } else if (message.has("method")) {
                onEvent(message.get("method").asText(), message.path("params"));
            }
        }
    }

    private void onEvent(String method, JsonNode params) {
        switch (method) {
            case "Runtime.consoleAPICalled" -> {
                String type = params.path("type").asText();
                if (type.equals("error") || type.equals("assert")) {
                    StringBuilder text = new StringBuilder();
                    for (JsonNode arg : params.path("args")) {
                        text.append(text.isEmpty() ? "" : " ")
                                .append(
                                        arg.has("value")
                                                ? arg.get("value").asText()
                                                : arg.path("description").asText());
                    }
                    console.add(new ConsoleEntry("console." + type, text.toString(), null));
                }
            }
            case "Runtime.exceptionThrown" -> {
                JsonNode details = params.path("exceptionDetails");
                String text = details.path("exception")
                        .path("description")
                        .asText(details.path("text").asText());
                console.add(
                        new ConsoleEntry("exception", text, details.path("url").asText()));
            }
            case "Log.entryAdded" -> {
                JsonNode entry = params.path("entry");
                if (entry.path("level").asText().equals("error")) {
                    console.add(new ConsoleEntry(
                            entry.path("source").asText(),
                            entry.path("text").asText(),
                            entry.path("url").asText()));
                }
            }
            default -> {}
        }
    }

    /** Every error the page's console has shown since the browser started (or since {@link #clearConsole}). */
    public List<ConsoleEntry> consoleErrors() {
        return List.copyOf(console);
    }

    public void clearConsole() {
        console.clear();
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

    /**
     * Opens a page and waits until the new document has loaded (its modules may still be running, and may have
     * changed the address already).
     */
    public void load(String url) {
        evaluate("window.switchboardPreviousPage = true");
        open(url);
        Awaitility.await()
                .atMost(WAIT)
                .until(() -> evaluate("!window.switchboardPreviousPage && document.readyState === 'complete'")
                        .asBoolean());
    }

    /** Evaluates a JavaScript expression in the page; returns its value as JSON. */
    public JsonNode evaluate(String expression) {
        JsonNode result = call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true));
        return result.path("result").path("value");
    }

    /** Evaluates an expression that gives a promise, and returns what it resolves to. */
    public JsonNode await(String expression) {
        JsonNode result =
                call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true, "awaitPromise", true));
        return result.path("result").path("value");
    }

    private static final Duration WAIT = Duration.ofSeconds(20);

    private static String query(String selector) {
        return "document.querySelector(" + Json.write(selector) + ")";
    }

    /** Waits until an element matching the CSS selector is in the page and shown. */
    public void waitFor(String selector) {
        Awaitility.await()
                .atMost(WAIT)
                .alias("an element " + selector + " on "
                        + evaluate("location.href").asText())
                .until(() -> evaluate("(e => !!e && e.getClientRects().length > 0)(" + query(selector) + ")")
                        .asBoolean());
    }

    /** Waits until the text of the element matching the selector contains {@code text}; returns that text. */
    public String waitForText(String selector, String text) {
        Awaitility.await()
                .atMost(WAIT)
                .alias("'" + text + "' in " + selector)
                .until(() -> text(selector).contains(text));
        return text(selector);
    }

    /** The text of the first element matching the selector ("" when there is none). */
    public String text(String selector) {
        return evaluate("(e => e ? e.innerText : '')(" + query(selector) + ")").asText();
    }

    public boolean exists(String selector) {
        return evaluate("!!" + query(selector)).asBoolean();
    }

    /** Clicks the middle of the element with the mouse, as a user would (scrolled into view first). */
    public void click(String selector) {
        waitFor(selector);
        JsonNode box = evaluate("(e => { e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
                + " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })(" + query(selector) + ")");
        double x = box.get("x").asDouble();
        double y = box.get("y").asDouble();
        for (String type : List.of("mousePressed", "mouseReleased")) {
            call(
                    "Input.dispatchMouseEvent",
                    Map.of("type", type, "x", x, "y", y, "button", "left", "buttons", 1, "clickCount", 1));
        }
    }

    /** Focuses the field, replaces its value with {@code text} typed as keyboard input. */
    public void type(String selector, String text) {
        waitFor(selector);
        evaluate("(e => { e.focus(); e.select && e.select(); })(" + query(selector) + ")");
        call("Input.insertText", Map.of("text", text));
    }

    /** Presses one key (e.g. "Enter", "Tab", "Escape") in the focused element. */
    public void press(String key) {
        Map<String, Object> event = new java.util.HashMap<>(Map.of("key", key, "code", key));
        int code = switch (key) {
            case "Enter" -> 13;
            case "Tab" -> 9;
            case "Escape" -> 27;
            default -> 0;
        };
        event.put("windowsVirtualKeyCode", code);
        if (key.equals("Enter")) {
            event.put("text", "\r");
        }
        event.put("type", "keyDown");
        call("Input.dispatchKeyEvent", event);
        event.put("type", "keyUp");
        event.remove("text");
        call("Input.dispatchKeyEvent", event);
    }

    /** The size of the page's window in CSS pixels; a narrow one is shown as a phone would show it. */
    public void viewport(int width, int height) {
        boolean mobile = width < 600;
        call(
                "Emulation.setDeviceMetricsOverride",
                Map.of("width", width, "height", height, "deviceScaleFactor", 1, "mobile", mobile));
    }

    /** The time zone the page runs in (an IANA name such as "Pacific/Auckland"). */
    public void timeZone(String zone) {
        call("Emulation.setTimezoneOverride", Map.of("timezoneId", zone));
    }

    /** Writes a PNG of the whole page (up to {@code maxHeight} CSS pixels of it) to {@code file}. */
    public void screenshot(Path file, int maxHeight) throws IOException {
        JsonNode size = call("Page.getLayoutMetrics", Map.of()).path("cssContentSize");
        JsonNode viewport = call("Page.getLayoutMetrics", Map.of()).path("cssLayoutViewport");
        double width = viewport.path("clientWidth").asDouble();
        double height = Math.min(
                Math.max(
                        size.path("height").asDouble(),
                        viewport.path("clientHeight").asDouble()),
                maxHeight);
        JsonNode shot = call(
                "Page.captureScreenshot",
                Map.of(
                        "format",
                        "png",
                        "captureBeyondViewport",
                        true,
                        "clip",
                        Map.of("x", 0, "y", 0, "width", width, "height", height, "scale", 1)));
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, java.util.Base64.getDecoder().decode(shot.get("data").asText()));
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
