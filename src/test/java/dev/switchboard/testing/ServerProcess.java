package dev.switchboard.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
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
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Switchboard server in its own process, started as an operator would (its {@code Main}, settings in
 * the environment), so a test can kill it with SIGKILL. Everything it prints is kept.
 */
public final class ServerProcess implements AutoCloseable {
    private final Process process;
    /**
     * Where the process writes its output. A file rather than a pipe: when a process ends, the JDK drains what is
     * left in its pipe into a buffer behind a reader blocked on it, and that reader then fails with "Stream
     * closed", losing the last lines (the shutdown hook's).
     */
    private final Path log;

    private final int port;

    private ServerProcess(Process process, Path log, int port) {
        this.process = process;
        this.log = log;
        this.port = port;
    }

    /** Starts a server on a free port with exactly the given SWITCHBOARD_* settings. */
    public static ServerProcess start(Map<String, String> settings) {
        return start(settings, List.of());
    }

    /**
     * Starts a server with JVM options before its main class, as {@code bin/switchboard} passes
     * {@code SWITCHBOARD_JAVA_OPTS} (e.g. {@code -Xmx256m}; without options the JVM's default heap).
     */
    public static ServerProcess start(Map<String, String> settings, List<String> jvmOptions) {
        return start(settings, jvmOptions, freePort());
    }

    /** Starts a server on {@code port}: a node restarted where a proxy expects it. */
    public static ServerProcess start(Map<String, String> settings, List<String> jvmOptions, int port) {
        FastGuard.refuse("a server process");
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(jvmOptions);
        // The test run's temporary directory (target/, set in pom.xml), where the embedded PostgreSQL's
        // binaries are unpacked: a server process writes nowhere outside the project either.
        command.add("-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.switchboard.Main"));
        Path log;
        try {
            log = Files.createTempFile("switchboard-node-", ".log");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ProcessBuilder pb =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("SWITCHBOARD_"));
        pb.environment().putAll(settings);
        pb.environment().put("SWITCHBOARD_PORT", Integer.toString(port));
        pb.environment().put("SWITCHBOARD_HOST", "127.0.0.1");
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("could not start a server process", e);
        }
        return new ServerProcess(process, log, port);
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public int port() {
        return port;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    public Api api(String token) {
        return Api.of(baseUrl(), token);
    }

    public Process process() {
        return process;
    }

    public String output() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8).stripTrailing();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits for the first match of {@code pattern} in the output and returns its first group. */
    public String awaitOutput(Pattern pattern) {
        Instant deadline = Instant.now().plusSeconds(120);
        while (Instant.now().isBefore(deadline)) {
            Matcher m = pattern.matcher(output());
            if (m.find()) {
                return m.group(1);
            }
            if (!process.isAlive()) {
                throw new AssertionError("the server exited:\n" + output());
            }
            pause();
        }
        throw new AssertionError("no " + pattern + " in the output:\n" + output());
    }

    /** Waits until /health/ready answers 200. */
    public ServerProcess awaitReady() {
        HttpClient client = HttpClient.newHttpClient();
        Instant deadline = Instant.now().plusSeconds(120);
        while (Instant.now().isBefore(deadline)) {
            try {
                var r = client.send(
                        HttpRequest.newBuilder(URI.create(baseUrl() + "/health/ready"))
                                .timeout(Duration.ofSeconds(5))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return this;
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
            pause();
        }
        throw new AssertionError("the server was not ready within 120 s:\n" + output());
    }

    /** SIGKILL: no shutdown hook runs, nothing is released. */
    public void kill() {
        try {
            process.destroyForcibly().waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The node id it logged when it became ready (what its webhook leases name). */
    public String nodeId() {
        return awaitOutput(Pattern.compile("Switchboard node (\\S+) is ready"));
    }

    /** SIGSTOP: the process freezes where it is (as in a long GC pause), holding its sockets and leases. */
    public void suspend() {
        signal("STOP");
    }

    /** SIGCONT: a suspended process carries on from where it was, unaware of the time that passed. */
    public void resume() {
        signal("CONT");
    }

    private void signal(String name) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid()))
                    .inheritIO()
                    .start();
            if (kill.waitFor() != 0) {
                throw new IllegalStateException("kill -" + name + " " + process.pid() + " failed");
            }
        } catch (IOException e) {
            throw new IllegalStateException("could not run kill", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** SIGTERM, then waits for the clean stop. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
