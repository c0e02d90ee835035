package dev.switchboard.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.testing.Fast;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The console and portal settings: the frame-ancestors sources, the brand, the idle timeout. */
@Fast
class ConsoleSettingsTest {
    private static ConsoleSettings load(Map<String, String> env) {
        return ConfigLoader.load(Optional.empty(), env).console();
    }

    @Test
    void theDefaultsFrameThePortalOnTheServersOwnPagesOnly() {
        ConsoleSettings settings = load(Map.of());
        assertThat(settings.sessionIdleTimeout()).isEqualTo(Duration.ofMinutes(30));
        assertThat(settings.frameAncestorsDirective()).isEqualTo("'self'");
        assertThat(settings.brandName()).isEqualTo("Switchboard");
        assertThat(settings.accentColor()).isEqualTo("#2563eb");
    }

    @Test
    void originsAndKeywordsBecomeTheFrameAncestorsDirective() {
        ConsoleSettings settings = load(Map.of(
                "SWITCHBOARD_PORTAL_FRAME_ANCESTORS", "self, https://App.Example.com, 'https://admin.example.com:8443'",
                "SWITCHBOARD_PORTAL_NAME", "  Acme Hotels ",
                "SWITCHBOARD_PORTAL_ACCENT_COLOR", "#FF0080",
                "SWITCHBOARD_CONSOLE_SESSION_IDLE_TIMEOUT", "2h"));
        assertThat(settings.frameAncestorsDirective())
                .isEqualTo("'self' https://app.example.com https://admin.example.com:8443");
        assertThat(settings.brandName()).isEqualTo("Acme Hotels");
        assertThat(settings.accentColor()).isEqualTo("#FF0080");
        assertThat(settings.sessionIdleTimeout()).isEqualTo(Duration.ofHours(2));
        assertThat(load(Map.of("SWITCHBOARD_PORTAL_FRAME_ANCESTORS", "'none'")).frameAncestorsDirective())
                .isEqualTo("'none'");
    }

    @Test
    void badValuesAreRefusedNamingTheSetting() {
        for (Map.Entry<String, String> bad : Map.of(
                        "SWITCHBOARD_PORTAL_FRAME_ANCESTORS", "none,self",
                        "SWITCHBOARD_PORTAL_ACCENT_COLOR", "blue",
                        "SWITCHBOARD_PORTAL_NAME", "x".repeat(61),
                        "SWITCHBOARD_CONSOLE_SESSION_IDLE_TIMEOUT", "30s")
                .entrySet()) {
            assertThatThrownBy(() -> load(Map.of(bad.getKey(), bad.getValue())))
                    .as(bad.getKey())
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith(bad.getKey() + " (");
        }
        assertThatThrownBy(() -> load(Map.of("SWITCHBOARD_PORTAL_FRAME_ANCESTORS", "https://*.example.com")))
                .hasMessageContaining("wildcards");
    }
}
