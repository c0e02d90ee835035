package dev.switchboard.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.switchboard.config.Config;
import dev.switchboard.config.ConfigLoader;
import dev.switchboard.testing.Fast;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code deploy/compose.yaml}, the nginx configuration it mounts and the {@code Dockerfile} agree with
 * each other and with the server: the nodes' settings are ones the server takes, nginx sends to the
 * nodes' port and never forwards their metrics, the image runs the distribution {@code bin/dist} makes,
 * as a user other than root, with a health check. (Running them needs a container engine that can pull
 * the postgres and nginx images; docs/deployment.md says what was run.)
 */
@Fast
class ComposeFileTest {
    private static final Path COMPOSE = Path.of("deploy/compose.yaml");
    private static final Path DOCKERFILE = Path.of("Dockerfile");

    @Test
    void twoNodesOnOnePostgresqlBehindNginxWithSettingsTheServerTakes() throws IOException {
        JsonNode compose = new ObjectMapper(new YAMLFactory()).readTree(COMPOSE.toFile());
        JsonNode services = compose.get("services");
        List<String> names = new ArrayList<>();
        services.fieldNames().forEachRemaining(names::add);
        assertThat(names).containsExactlyInAnyOrder("postgres", "switchboard-1", "switchboard-2", "nginx");
        JsonNode node = services.get("switchboard-1");
        // Both nodes are the x-switchboard mapping (<<: *switchboard); Jackson's YAML reader gives the
        // alias's anchor name, not the mapping, so the test follows it by hand.
        assertThat(node.path("<<").asText()).isEqualTo("switchboard");
        assertThat(Files.readString(COMPOSE)).contains("x-switchboard: &switchboard");
        JsonNode merged = compose.get("x-switchboard");
        assertThat(services.get("switchboard-2")).isEqualTo(node);
        assertThat(merged.at("/build/context").asText()).isEqualTo("..");

        Map<String, String> env = new LinkedHashMap<>();
        merged.get("environment")
                .properties()
                .forEach(e -> env.put(e.getKey(), resolve(e.getValue().asText())));
        Config config = ConfigLoader.load(Optional.empty(), env);
        assertThat(config.databaseUrl()).as("one PostgreSQL for both nodes").isPresent();
        assertThat(config.databaseUrl().get().jdbcUrl()).contains("//postgres:5432/switchboard");
        assertThat(config.managementPort()).isPresent();
        assertThat(merged.at("/depends_on/postgres/condition").asText()).isEqualTo("service_healthy");

        String nginx = Files.readString(COMPOSE.resolveSibling(
                services.at("/nginx/volumes/0").asText().split(":")[0].replaceFirst("^\\./", "")));
        assertThat(nginx)
                .contains("server switchboard-1:" + config.port())
                .contains("server switchboard-2:" + config.port())
                .doesNotContain(":" + config.managementPort().get())
                .contains("location = /metrics { return 404; }")
                .contains("proxy_set_header Upgrade $http_upgrade")
                .contains("proxy_set_header X-Forwarded-Proto");
        Matcher timeout = Pattern.compile("proxy_read_timeout (\\d+)s").matcher(nginx);
        assertThat(timeout.find()).isTrue();
        assertThat(Long.parseLong(timeout.group(1)))
                .as("the proxy outlasts a long poll and the WebSocket ping interval")
                .isGreaterThan(config.eventsMaxWait().toSeconds())
                .isGreaterThan(config.websockets().pingInterval().toSeconds());
        assertThat(config.failedAuthLimit().failures())
                .as("behind nginx every client has nginx's address: nginx limits per client instead")
                .isZero();
        assertThat(nginx).contains("limit_req zone=per_client");
    }

    @Test
    void theImageRunsTheDistributionAsAnotherUserThanRootWithAHealthCheck() throws IOException {
        String dockerfile = Files.readString(DOCKERFILE);
        assertThat(dockerfile)
                .contains("ADD target/dist/switchboard-${VERSION}-linux-x64.tar.gz /opt/")
                .contains("ENTRYPOINT [\"/opt/switchboard/bin/switchboard\"]")
                .contains("HEALTHCHECK")
                .contains("/health/ready");
        Matcher user = Pattern.compile("(?m)^USER (\\S+)").matcher(dockerfile);
        assertThat(user.find()).isTrue();
        assertThat(user.group(1)).doesNotStartWith("0").doesNotStartWith("root");
        assertThat(Files.readString(Path.of("bin/dist")))
                .as("the tarball the Dockerfile adds is the one bin/dist makes")
                .contains("tarball=\"target/dist/$name-$platform.tar.gz\"")
                .contains("platform=linux-x64");
        assertThat(Files.readAllLines(Path.of(".dockerignore"))).contains("!target/dist/*.tar.gz");
    }

    /** compose's ${NAME:-default} and ${NAME:?error}, with values of the right shape for the secrets. */
    private static String resolve(String value) {
        Map<String, String> samples = Map.of(
                "SWITCHBOARD_ADMIN_KEY",
                "sb_admin_" + "0123456789abcdef".repeat(3),
                "SWITCHBOARD_SECRET_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        Matcher m = Pattern.compile("\\$\\{([A-Z_]+)(?::([-?])([^}]*))?}").matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String replacement = samples.containsKey(m.group(1))
                    ? samples.get(m.group(1))
                    : "-".equals(m.group(2)) ? m.group(3) : "x";
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }
}
