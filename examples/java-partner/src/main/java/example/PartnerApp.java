package example;

import com.sun.net.httpserver.HttpServer;
import dev.switchboard.client.ApiException;
import dev.switchboard.client.ConnectionInfo;
import dev.switchboard.client.DataRecord;
import dev.switchboard.client.Event;
import dev.switchboard.client.EventStream;
import dev.switchboard.client.FileCursorStore;
import dev.switchboard.client.SwitchboardClient;
import dev.switchboard.client.WebhookVerificationException;
import dev.switchboard.client.WebhookVerifier;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;

/**
 * A partner application in one file, built on the Switchboard Java client: it writes a record, follows
 * the tenant's events over the WebSocket (resuming from a cursor file after a restart), and receives
 * webhooks on http://localhost:PORT/hooks, verifying each one's signature.
 *
 * <p>Run it with {@code examples/java-partner/run --url … --token sb_access_…}. To feed its webhook
 * receiver on a laptop, run {@code switchboard listen --forward-to http://localhost:3000/hooks} beside it:
 * without {@code --webhook-secret} it verifies with the development secret {@code listen} keeps.
 */
public final class PartnerApp {
    private PartnerApp() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> options = options(args);
        String url = require(options, "--url");
        String token = require(options, "--token");
        int port = Integer.parseInt(options.getOrDefault("--port", "3000"));
        String collection = options.getOrDefault("--collection", "reservations");

        SwitchboardClient client = SwitchboardClient.builder(url, token).build();
        ConnectionInfo connection = client.connection();
        System.out.printf(
                "Connected to tenant %s as integration %s%n", connection.tenantId(), connection.integrationId());

        // 1. Write a record. The idempotency key makes a retry of this call safe.
        try {
            DataRecord created = client.records(collection)
                    .create(
                            // The quick start's reservations require a state.
                            Map.of("state", "confirmed", "note", "written by the example partner"),
                            "example-" + UUID.randomUUID());
            System.out.printf("Created %s in %s (version %d)%n", created.id(), collection, created.version());
        } catch (ApiException e) {
            System.out.printf(
                    "Could not write to %s: %s (code %s, request %s)%n",
                    collection, e.getMessage(), e.code(), e.requestId());
        }

        // 2. Receive webhooks, verifying each request's signature on its raw bytes.
        WebhookVerifier verifier = WebhookVerifier.of(webhookSecret(options));
        HttpServer hooks = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 50);
        hooks.createContext("/hooks", exchange -> {
            try (exchange;
                    InputStream in = exchange.getRequestBody()) {
                byte[] body = in.readAllBytes();
                try {
                    verifier.verify(body, exchange.getRequestHeaders());
                    String text = new String(body, StandardCharsets.UTF_8);
                    System.out.printf(
                            "Webhook %s verified: %s%n",
                            exchange.getRequestHeaders().getFirst("webhook-id"),
                            text.length() > 200 ? text.substring(0, 200) + "…" : text);
                    exchange.sendResponseHeaders(204, -1);
                } catch (WebhookVerificationException e) {
                    System.out.printf("Webhook refused (%s): %s%n", e.reason(), e.getMessage());
                    exchange.sendResponseHeaders(401, -1);
                }
            } catch (IOException e) {
                System.out.println("Webhook request failed: " + e);
            }
        });
        hooks.start();
        System.out.printf("Receiving webhooks on http://127.0.0.1:%d/hooks%n", port);

        // 3. Follow the tenant's events live; the cursor file makes a restart carry on where this one stopped.
        FileCursorStore cursor = new FileCursorStore(Path.of("java-partner.cursor"));
        EventStream stream = client.eventStream(cursor, new EventStream.Listener() {
            @Override
            public void onEvents(List<Event> events) {
                for (Event e : events) {
                    System.out.printf("Event %d %s %s %s%n", e.seq(), e.type(), e.subject(), e.data());
                }
            }

            @Override
            public void onStateChange(EventStream.State state) {
                System.out.println("Event stream: " + state);
            }

            @Override
            public void onClosed(int code, String reason) {
                System.out.printf("The server ended the event stream: %d %s%n", code, reason);
            }
        });

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stream.close();
            hooks.stop(0);
            stopped.countDown();
        }));
        stream.awaitClosed(java.time.Duration.ofDays(365));
        hooks.stop(0);
    }

    /** --webhook-secret, else the development secret {@code switchboard listen} keeps for this user. */
    private static String webhookSecret(Map<String, String> options) throws IOException {
        String given = options.get("--webhook-secret");
        if (given != null) {
            return given;
        }
        String xdg = System.getenv("XDG_CONFIG_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".config");
        Path file = base.resolve("switchboard/listen-signing-secret");
        if (!Files.exists(file)) {
            throw new IllegalArgumentException(
                    "give --webhook-secret whsec_… (the endpoint's secret), or run switchboard listen once to create "
                            + file);
        }
        return Files.readString(file, StandardCharsets.UTF_8).trim();
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 == args.length) {
                throw new IllegalArgumentException("usage: run --url URL --token sb_access_… [--webhook-secret whsec_…]"
                        + " [--port 3000] [--collection reservations]");
            }
            options.put(args[i], args[++i]);
        }
        return options;
    }

    private static String require(Map<String, String> options, String name) {
        String value = options.get(name);
        if (value == null) {
            throw new IllegalArgumentException(name + " is required");
        }
        return value;
    }
}
