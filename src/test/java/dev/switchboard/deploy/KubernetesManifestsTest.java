package dev.switchboard.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.switchboard.config.ConfigLoader;
import dev.switchboard.testing.Executables;
import dev.switchboard.testing.Fast;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The manifests in {@code deploy/kubernetes/}: kubectl accepts them, and they fit Switchboard (the probes
 * ask the health checks on ports the container has, the selectors find the pods, every setting is one the
 * server takes). kubectl is {@code KUBECTL}, or the first on {@code PATH}; {@code bin/test} installs
 * Debian's kubernetes-client where there is none and it can. Without one the kubectl test is skipped,
 * saying so.
 */
@Fast
class KubernetesManifestsTest {
    private static final Path MANIFESTS = Path.of("deploy/kubernetes");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @TempDir
    Path home;

    @Test
    void kubectlApplyDryRunClientAcceptsEveryManifest() throws Exception {
        Optional<Path> kubectl = kubectl();
        Assumptions.assumeTrue(
                kubectl.isPresent(),
                "no kubectl (KUBECTL is unset and there is none on PATH): install Debian's kubernetes-client"
                        + " (apt-get install kubernetes-client), or run bin/test as root, which installs it");
        try (EmptyCluster cluster = new EmptyCluster()) {
            List<String> command = List.of(
                    kubectl.get().toString(),
                    "apply",
                    "--dry-run=client",
                    // Schema validation downloads the cluster's OpenAPI document, which only a real API
                    // server has; the structure is checked below, against what Switchboard needs.
                    "--validate=false",
                    "--server=" + cluster.url(),
                    "--cache-dir=" + home.resolve("cache"),
                    "--namespace=switchboard",
                    "-f",
                    MANIFESTS.toString());
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
            pb.environment().put("HOME", home.toString());
            pb.environment().put("KUBECONFIG", home.resolve("no-kubeconfig").toString());
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(String.join(" ", command) + "\n" + out).isZero();
            assertThat(out)
                    .contains("deployment.apps/switchboard created (dry run)")
                    .contains("service/switchboard created (dry run)")
                    .contains("poddisruptionbudget.policy/switchboard created (dry run)");
        }
    }

    @Test
    void probesSelectorsAndSettingsFitTheServer() throws IOException {
        Map<String, JsonNode> byKind = manifests();
        assertThat(byKind).containsOnlyKeys("Deployment", "Service", "PodDisruptionBudget");
        JsonNode deployment = byKind.get("Deployment");
        JsonNode pod = deployment.at("/spec/template");
        JsonNode podLabels = pod.at("/metadata/labels");
        assertThat(labels(deployment.at("/spec/selector/matchLabels"))).isEqualTo(labels(podLabels));
        assertThat(labels(byKind.get("PodDisruptionBudget").at("/spec/selector/matchLabels")))
                .isEqualTo(labels(podLabels));
        assertThat(labels(podLabels))
                .containsAllEntriesOf(labels(byKind.get("Service").at("/spec/selector")));

        JsonNode container = pod.at("/spec/containers/0");
        Map<String, Integer> ports = new HashMap<>();
        container
                .get("ports")
                .forEach(p ->
                        ports.put(p.get("name").asText(), p.get("containerPort").asInt()));
        byKind.get("Service")
                .at("/spec/ports")
                .forEach(p -> assertThat(ports).containsKey(p.get("targetPort").asText()));

        for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
            JsonNode get = container.at("/" + probe + "/httpGet");
            assertThat(get.isMissingNode()).as(probe).isFalse();
            assertThat(get.get("path").asText()).as(probe).isIn("/health/live", "/health/ready");
            assertThat(ports).as(probe + " port").containsKey(get.get("port").asText());
        }
        assertThat(container.at("/livenessProbe/httpGet/path").asText())
                .as("a database outage must not restart the nodes")
                .isEqualTo("/health/live");
        assertThat(container.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/health/ready");

        // The environment is settings the server takes: the literal values as written, the secrets as
        // values of the right shape; SWITCHBOARD_JAVA_OPTS is the launcher's, not the server's.
        Map<String, String> env = new LinkedHashMap<>();
        Map<String, String> fromSecrets = Map.of(
                "SWITCHBOARD_DATABASE_URL", "postgresql://switchboard:pw@postgres:5432/switchboard",
                "SWITCHBOARD_ADMIN_KEY", "sb_admin_" + "0123456789abcdef".repeat(3),
                "SWITCHBOARD_SECRET_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        for (JsonNode e : container.get("env")) {
            String name = e.get("name").asText();
            if (name.equals("SWITCHBOARD_JAVA_OPTS")) {
                continue;
            }
            String value = e.has("value") ? e.get("value").asText() : fromSecrets.get(name);
            assertThat(value).as(name + " has a value or a known secret").isNotNull();
            env.put(name, value);
        }
        assertThat(env).containsKeys(fromSecrets.keySet().toArray(String[]::new));
        var config = ConfigLoader.load(Optional.empty(), env);
        assertThat(config.managementPort()).contains(ports.get("management"));
        assertThat(config.port()).isEqualTo(ports.get("http"));

        assertThat(pod.at("/spec/enableServiceLinks").asBoolean(true)).isFalse();
        int grace = pod.at("/spec/terminationGracePeriodSeconds").asInt();
        int preStop = Integer.parseInt(
                container.at("/lifecycle/preStop/exec/command").get(1).asText());
        assertThat(grace).as("time left to drain after the preStop pause").isGreaterThan(preStop + 30);
        assertThat(pod.at("/spec/securityContext/runAsNonRoot").asBoolean()).isTrue();
    }

    private static Map<String, String> labels(JsonNode node) {
        Map<String, String> labels = new LinkedHashMap<>();
        node.properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
        assertThat(labels).isNotEmpty();
        return labels;
    }

    private static Map<String, JsonNode> manifests() throws IOException {
        Map<String, JsonNode> byKind = new LinkedHashMap<>();
        List<Path> files;
        try (Stream<Path> list = Files.list(MANIFESTS)) {
            files = list.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
        }
        for (Path file : files) {
            try (var parser = YAML.getFactory().createParser(file.toFile())) {
                List<JsonNode> documents = new ArrayList<>();
                YAML.readValues(parser, JsonNode.class).forEachRemaining(documents::add);
                for (JsonNode doc : documents) {
                    assertThat(byKind.put(doc.get("kind").asText(), doc))
                            .as("one " + doc.get("kind").asText())
                            .isNull();
                }
            }
        }
        return byKind;
    }

    static Optional<Path> kubectl() {
        String configured = System.getenv("KUBECTL");
        if (configured != null && !configured.isBlank()) {
            return Optional.of(Path.of(configured));
        }
        return Executables.onPath("kubectl");
    }
}
