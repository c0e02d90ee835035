package dev.switchboard.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.testing.Fast;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Fast
class ServiceLinksTest {
    @TempDir
    Path dir;

    /** What Kubernetes injects for a Service named {@code name} with a port named http (8080) and one unnamed. */
    private static Map<String, String> serviceLinks(String prefix, String ip, int port) {
        Map<String, String> env = new LinkedHashMap<>();
        String address = "tcp://" + ip + ":" + port;
        env.put(prefix + "_SERVICE_HOST", ip);
        env.put(prefix + "_SERVICE_PORT", String.valueOf(port));
        env.put(prefix + "_SERVICE_PORT_HTTP", String.valueOf(port));
        env.put(prefix + "_PORT", address);
        env.put(prefix + "_PORT_" + port + "_TCP", address);
        env.put(prefix + "_PORT_" + port + "_TCP_PROTO", "tcp");
        env.put(prefix + "_PORT_" + port + "_TCP_PORT", String.valueOf(port));
        env.put(prefix + "_PORT_" + port + "_TCP_ADDR", ip);
        return env;
    }

    @Test
    void aKubernetesServiceNamedSwitchboardDoesNotStopTheStartAndIsIgnoredWithOneWarning() {
        Map<String, String> env = serviceLinks("SWITCHBOARD", "10.0.0.1", 8080);
        // Services named switchboard-management and switchboard-metrics (udp, to show the protocol varies).
        env.putAll(serviceLinks("SWITCHBOARD_MANAGEMENT", "10.0.0.2", 9090));
        env.put("SWITCHBOARD_METRICS_PORT_9102_UDP_ADDR", "10.0.0.3");
        env.put("SWITCHBOARD_METRICS_PORT", "udp://10.0.0.3:9102");
        env.put("SWITCHBOARD_ADMIN_KEY", "sb_admin_" + "k".repeat(32));
        List<String> warnings = new ArrayList<>();

        Config config = ConfigLoader.load(Optional.empty(), env, warnings::add);

        assertThat(config.port()).as("the default, not the service's address").isEqualTo(8080);
        assertThat(config.managementPort()).isEmpty();
        assertThat(config.adminKey())
                .as("real settings beside them still apply")
                .isPresent();
        assertThat(warnings).hasSize(1);
        assertThat(warnings.getFirst())
                .contains("SWITCHBOARD_PORT_8080_TCP_ADDR", "SWITCHBOARD_SERVICE_HOST", "SWITCHBOARD_MANAGEMENT_PORT")
                .contains("service-link")
                .contains("enableServiceLinks: false")
                .doesNotContain("10.0.0.1");
    }

    @Test
    void realPortSettingsStillApplyAndAreStillCheckedWhenTheyAreNotServiceAddresses() {
        List<String> warnings = new ArrayList<>();
        Config config = ConfigLoader.load(
                Optional.empty(),
                Map.of("SWITCHBOARD_PORT", "9000", "SWITCHBOARD_MANAGEMENT_PORT", "9001"),
                warnings::add);
        assertThat(config.port()).isEqualTo(9000);
        assertThat(config.managementPort()).contains(9001);
        assertThat(warnings).isEmpty();

        for (String notAnAddress : List.of("tcp://10.0.0.1", "http://10.0.0.1:8080", "tcp://:8080", "8080x")) {
            assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_PORT", notAnAddress)))
                    .as(notAnAddress)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("SWITCHBOARD_PORT (server.port)");
        }
    }

    @Test
    void noSettingHasTheShapeOfAServiceLink() {
        for (Setting<?> setting : SettingTable.ALL) {
            assertThat(ServiceLinks.isServiceLink(setting.variable(), "1"))
                    .as(setting.variable())
                    .isFalse();
        }
    }

    @Test
    void namesThatOnlyLookLikeServiceLinksAreStillRefused() {
        for (String name : List.of(
                "SWITCHBOARD_SERVICE_HOSTS",
                "SWITCHBOARD_PORT_HTTP_TCP",
                "SWITCHBOARD_PORT_8080_HTTP",
                "SWITCHBOARD_PORT_8080_TCP_HOST",
                "SWITCHBOARDX_SERVICE_HOST")) {
            if (!name.startsWith("SWITCHBOARD_")) {
                assertThat(ServiceLinks.isServiceLink(name, "x")).as(name).isFalse();
                continue;
            }
            assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of(name, "10.0.0.1")))
                    .as(name)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining(name + " is not a Switchboard setting");
        }
    }

    @Test
    void aMisspeltVariableIsRefusedWithTheSettingItWasProbablyMeantToBe() {
        assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_WEBHOOK_TIMEOUT", "5s")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("SWITCHBOARD_WEBHOOK_TIMEOUT is not a Switchboard setting")
                .hasMessageContaining("did you mean SWITCHBOARD_WEBHOOKS_TIMEOUT?");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_DATABSE_URL", "x")))
                .hasMessageContaining("did you mean SWITCHBOARD_DATABASE_URL?");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_PROT", "9000")))
                .hasMessageContaining("did you mean SWITCHBOARD_PORT?");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_TEMPERATURE", "hot")))
                .as("nothing near it: no guess")
                .hasMessageContaining("SWITCHBOARD_TEMPERATURE is not a Switchboard setting")
                .hasMessageNotContaining("did you mean");
    }

    @Test
    void aMisspeltFileSettingIsRefusedWithTheSettingItWasProbablyMeantToBe() throws IOException {
        Path file = dir.resolve("switchboard.yaml");
        Files.writeString(file, "webhooks:\n  retyDelays: [1m]\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(file), Map.of()))
                .hasMessageContaining("'webhooks.retyDelays' is not a Switchboard setting")
                .hasMessageContaining("did you mean webhooks.retryDelays?");
    }

    @Test
    void suggestionsNeedToBeCloseAndUnambiguous() {
        assertThat(Suggestions.distance("kitten", "sitting")).isEqualTo(3);
        assertThat(Suggestions.distance("SWITCHBOARD_PROT", "SWITCHBOARD_PORT")).isEqualTo(1);
        assertThat(Suggestions.nearest("abcd", List.of("abce", "abcf"))).isEmpty();
        assertThat(Suggestions.nearest("abcd", List.of("abce", "wxyz"))).contains("abce");
        assertThat(Suggestions.nearest("abcd", List.of("wxyz"))).isEmpty();
    }
}
