package dev.switchboard.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * nginx in front of nodes on loopback, running {@code deploy/nginx/switchboard.conf} as shipped with only
 * its listen address and its upstream's addresses replaced. Its own process (one, no master), its own
 * prefix, logs and temporary files under the test's directory: the system's nginx is never touched.
 * The access log records, for each request, every upstream nginx tried and what each answered.
 */
public final class Nginx implements AutoCloseable {
    /** The shipped configuration. */
    public static final Path CONFIG = Path.of("deploy", "nginx", "switchboard.conf");

    private static final Pattern UPSTREAM =
            Pattern.compile("(upstream switchboard \\{.*?)((?:\\n\\s*server \\S+[^;\\n]*;)+)", Pattern.DOTALL);
    private static final Pattern SERVER_LINE = Pattern.compile("\\n(\\s*)server \\S+([^;\\n]*);");

    private final Process process;
    private final Path dir;
    private final int port;

    private Nginx(Process process, Path dir, int port) {
        this.process = process;
        this.dir = dir;
        this.port = port;
    }

    /** The nginx binary: NGINX_PATH, else nginx on PATH or in /usr/sbin (bin/reliability installs Debian's). */
    public static Optional<Path> binary() {
        String configured = System.getenv("NGINX_PATH");
        if (configured != null && !configured.isBlank()) {
            return Optional.of(Path.of(configured)).filter(Files::isExecutable);
        }
        return Executables.onPath("nginx", "/usr/sbin", "/usr/local/sbin");
    }

    /**
     * The shipped file with the listen address and the upstream's servers replaced, and without its access
     * log, so the scenario's (which names the upstreams each request tried) applies.
     */
    static String configure(String shipped, int listenPort, List<Integer> nodePorts) {
        Matcher upstream = UPSTREAM.matcher(shipped);
        if (!upstream.find()) {
            throw new IllegalStateException(CONFIG + " has no 'upstream switchboard' block with server lines");
        }
        Matcher first = SERVER_LINE.matcher(upstream.group(2));
        first.find();
        String indent = first.group(1);
        String parameters = first.group(2);
        String servers = nodePorts.stream()
                .map(p -> "\n" + indent + "server 127.0.0.1:" + p + parameters + ";")
                .collect(Collectors.joining());
        String configured = shipped.substring(0, upstream.start(2)) + servers + shipped.substring(upstream.end(2));
        if (!configured.contains("listen 80;")) {
            throw new IllegalStateException(CONFIG + " does not listen on port 80 as expected");
        }
        return configured
                .replace("listen 80;", "listen 127.0.0.1:" + listenPort + ";")
                .replaceAll("(?m)^\\s*access_log .*\n", "");
    }

    /** Starts nginx on a free loopback port in front of the nodes on {@code nodePorts}; waits until it listens. */
    public static Nginx start(Path binary, Path dir, List<Integer> nodePorts) {
        FastGuard.refuse("nginx");
        int port = ServerProcess.freePort();
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("switchboard.conf"), configure(Files.readString(CONFIG), port, nodePorts));
            String temp = dir.toAbsolutePath().toString();
            Files.writeString(
                    dir.resolve("nginx.conf"),
                    String.join(
                            "\n",
                            "daemon off;",
                            "master_process off;",
                            "pid " + temp + "/nginx.pid;",
                            "error_log " + temp + "/error.log warn;",
                            "events { worker_connections 1024; }",
                            "http {",
                            "  log_format upstreams '$status $request_method $uri upstreams=$upstream_addr"
                                    + " answered=$upstream_status';",
                            "  access_log " + temp + "/access.log upstreams;",
                            "  client_body_temp_path " + temp + "/body;",
                            "  proxy_temp_path " + temp + "/proxy;",
                            "  fastcgi_temp_path " + temp + "/fastcgi;",
                            "  uwsgi_temp_path " + temp + "/uwsgi;",
                            "  scgi_temp_path " + temp + "/scgi;",
                            "  include " + temp + "/switchboard.conf;",
                            "}",
                            ""));
            Process process = new ProcessBuilder(binary.toString(), "-p", temp, "-c", temp + "/nginx.conf")
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("stdout.log").toFile())
                    .start();
            Nginx nginx = new Nginx(process, dir, port);
            nginx.awaitListening();
            return nginx;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void awaitListening() throws IOException {
        Instant deadline = Instant.now().plusSeconds(10);
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("nginx exited: " + Files.readString(dir.resolve("stdout.log"))
                        + (Files.exists(dir.resolve("error.log")) ? Files.readString(dir.resolve("error.log")) : ""));
            }
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException e) {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
        throw new IllegalStateException("nginx did not listen on port " + port + " within 10 s");
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    public Api api(String token) {
        return Api.of(baseUrl(), token);
    }

    /** Every access-log line so far: status, method, path, the upstreams tried and what each answered. */
    public List<String> accessLog() {
        try {
            Path log = dir.resolve("access.log");
            return Files.exists(log) ? Files.readAllLines(log) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The error log (refused connections to stopping nodes are logged there). */
    public String errorLog() {
        try {
            Path log = dir.resolve("error.log");
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
