package dev.switchboard.bench;

import dev.switchboard.db.EmbeddedDatabase;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * A Switchboard server started the way an operator starts one, {@code bin/switchboard}, with its
 * embedded PostgreSQL in a temporary data directory, listening on loopback only. Knows the server's
 * and the postmaster's process ids (for CPU accounting) and the database's port (for the raw JDBC
 * ceiling). Stopping it stops both and deletes the data directory.
 */
final class BenchServer implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofMinutes(3);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

    private final Process process;
    private final Path dataDir;
    private final int port;
    private final String adminKey;
    private final AtomicBoolean closed = new AtomicBoolean();

    private BenchServer(Process process, Path dataDir, int port, String adminKey) {
        this.process = process;
        this.dataDir = dataDir;
        this.port = port;
        this.adminKey = adminKey;
    }

    /**
     * Starts the server with the given extra environment; its output goes to {@code log}.
     * {@code jvmOptions}, when not empty, are added to the server's JVM (a JFR recording, say).
     */
    static BenchServer start(Path root, Path log, Map<String, String> env, String jvmOptions) throws Exception {
        Path dataDir = Files.createTempDirectory("switchboard-bench-");
        int port = freePort();
        String adminKey = "sb_admin_bench-" + Long.toHexString(System.nanoTime());
        ProcessBuilder pb = new ProcessBuilder(root.resolve("bin/switchboard").toString())
                .directory(dataDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().putAll(env);
        pb.environment().put("SWITCHBOARD_HOST", "127.0.0.1");
        pb.environment().put("SWITCHBOARD_PORT", Integer.toString(port));
        pb.environment().put("SWITCHBOARD_DATA_DIR", dataDir.toString());
        pb.environment().put("SWITCHBOARD_ADMIN_KEY", adminKey);
        if (!jvmOptions.isBlank()) {
            pb.environment().put("JDK_JAVA_OPTIONS", jvmOptions);
        }
        BenchServer server = new BenchServer(pb.start(), dataDir, port, adminKey);
        try {
            server.awaitReady(log);
            return server;
        } catch (Exception e) {
            server.close();
            throw e;
        }
    }

    private void awaitReady(Path log) throws Exception {
        HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the server exited with " + process.exitValue() + "; see " + log);
            }
            try {
                HttpResponse<Void> r = http.send(
                        HttpRequest.newBuilder(URI.create(baseUrl() + "/health/ready"))
                                .timeout(Duration.ofSeconds(2))
                                .build(),
                        HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException(
                "the server was not ready within " + START_TIMEOUT.toSeconds() + " s; see " + log);
    }

    String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    String adminKey() {
        return adminKey;
    }

    Path dataDir() {
        return dataDir;
    }

    long pid() {
        return process.pid();
    }

    /** The embedded PostgreSQL's postmaster: its pid file's first line is the pid, the fourth the port. */
    private List<String> postmasterPidFile() throws IOException {
        return Files.readAllLines(dataDir.resolve("postgres/postmaster.pid"));
    }

    long postgresPid() throws IOException {
        return Long.parseLong(postmasterPidFile().get(0).trim());
    }

    String jdbcUrl() throws IOException {
        String password = Files.readString(dataDir.resolve(EmbeddedDatabase.PASSWORD_FILE))
                .strip();
        return "jdbc:postgresql://127.0.0.1:" + postmasterPidFile().get(3).trim() + "/postgres?user=postgres&password="
                + password;
    }

    @Override
    /** Stops the server and deletes its data directory; once, whether from a shutdown hook or a try block. */
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        Optional<ProcessHandle> postmaster = Optional.empty();
        try {
            postmaster = ProcessHandle.of(postgresPid());
        } catch (IOException | RuntimeException e) {
            // PostgreSQL never started
        }
        process.destroy(); // SIGTERM: the server closes its pool, then stops its PostgreSQL
        try {
            if (!process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            }
            if (postmaster.isPresent() && postmaster.get().isAlive()) {
                postmaster.get().destroy(); // its server was killed: ask PostgreSQL to shut down itself
                postmaster.get().onExit().get(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            postmaster.ifPresent(ProcessHandle::destroyForcibly);
        }
        deleteRecursively(dataDir);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static void deleteRecursively(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("spine: could not delete " + dir + ": " + e.getMessage());
        }
    }
}
