package dev.switchboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Api;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real server as an operator runs it: its own process on the embedded PostgreSQL in a data
 * directory. Killed with SIGKILL it leaves PostgreSQL running; the next start must cope, keep every
 * acknowledged write, and not print a new admin key.
 */
@Timeout(240)
class ServerProcessTest {
    private static final Pattern ADMIN_KEY = Pattern.compile("(sb_admin_[A-Za-z0-9_-]{43})");

    @TempDir
    Path dataDir;

    @Test
    void restartAfterSigkillKeepsDataAndTheGeneratedAdminKey() throws Exception {
        int port = freePort();
        Server first = Server.start(dataDir, port);
        String adminKey = first.awaitOutput(ADMIN_KEY);
        first.awaitReady();
        Api admin = first.admin(adminKey);
        admin.post("/api/v1/tenants", Map.of("id", "hotel")).expect(201);
        admin.post("/api/v1/collections", Map.of("name", "rooms")).expect(201);
        String recordId = admin.withHeader("Switchboard-Tenant", "hotel")
                .post("/api/v1/collections/rooms/records", Map.of("data", Map.of("number", 101))).expect(201)
                .json().get("id").asText();

        first.process.destroyForcibly().waitFor(); // SIGKILL: the embedded PostgreSQL keeps running
        assertThat(Files.exists(dataDir.resolve("postgres/postmaster.pid"))).isTrue();

        Server second = Server.start(dataDir, port);
        second.awaitReady();
        Api again = second.admin(adminKey).withHeader("Switchboard-Tenant", "hotel");
        assertThat(again.get("/api/v1/collections/rooms/records/" + recordId).expect(200).json().get("data").get("number")
                .asInt()).isEqualTo(101);
        assertThat(second.output()).doesNotContain("sb_admin_");

        second.process.destroy(); // SIGTERM: a clean stop also stops PostgreSQL
        second.process.waitFor();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30))
                .until(() -> !Files.exists(dataDir.resolve("postgres/postmaster.pid")));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A Switchboard server process and everything it printed. */
    private record Server(Process process, List<String> lines, int port) {
        static Server start(Path dataDir, int port) throws IOException {
            String java = ProcessHandle.current().info().command().orElse("java");
            ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    "dev.switchboard.Main").redirectErrorStream(true);
            pb.environment().keySet().removeIf(k -> k.startsWith("SWITCHBOARD_"));
            pb.environment().put("SWITCHBOARD_DATA_DIR", dataDir.toString());
            pb.environment().put("SWITCHBOARD_PORT", Integer.toString(port));
            pb.environment().put("SWITCHBOARD_HOST", "127.0.0.1");
            Process process = pb.start();
            List<String> lines = Collections.synchronizedList(new ArrayList<>());
            Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // the process ended
                }
            });
            return new Server(process, lines, port);
        }

        String output() {
            synchronized (lines) {
                return String.join("\n", lines);
            }
        }

        String awaitOutput(Pattern pattern) {
            Instant deadline = Instant.now().plusSeconds(120);
            while (Instant.now().isBefore(deadline)) {
                Matcher m = pattern.matcher(output());
                if (m.find()) {
                    return m.group(1);
                }
                if (!process.isAlive()) {
                    throw new AssertionError("the server exited:\n" + output());
                }
                sleep();
            }
            throw new AssertionError("no " + pattern + " in the output:\n" + output());
        }

        void awaitReady() {
            HttpClient client = HttpClient.newHttpClient();
            Instant deadline = Instant.now().plusSeconds(120);
            while (Instant.now().isBefore(deadline)) {
                try {
                    var r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready")).build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 200) {
                        return;
                    }
                } catch (IOException e) {
                    // not listening yet
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(e);
                }
                if (!process.isAlive()) {
                    throw new AssertionError("the server exited:\n" + output());
                }
                sleep();
            }
            throw new AssertionError("the server was not ready within 120 s:\n" + output());
        }

        Api admin(String key) {
            return Api.of("http://127.0.0.1:" + port, key);
        }

        private static void sleep() {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
