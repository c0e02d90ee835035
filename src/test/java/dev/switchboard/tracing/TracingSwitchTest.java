package dev.switchboard.tracing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.testing.Fast;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** When the standard OTEL_* variables turn tracing on, and what a kept trace context parses to. */
@Fast
class TracingSwitchTest {
    private static boolean on(Map<String, String> env) {
        return Tracing.wanted(Tracing.properties(env));
    }

    @Test
    void tracingIsOffWithoutOtelVariables() {
        assertThat(on(Map.of())).isFalse();
        assertThat(on(Map.of("OTEL_SERVICE_NAME", "switchboard-eu", "SWITCHBOARD_PORT", "8080")))
                .isFalse();
        assertThat(Tracing.fromEnvironment(Map.of(), "1").on()).isFalse();
    }

    @Test
    void anEndpointOrAnExporterTurnsItOn() {
        assertThat(on(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")))
                .isTrue();
        assertThat(on(Map.of("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/v1/traces")))
                .isTrue();
        assertThat(on(Map.of("OTEL_TRACES_EXPORTER", "otlp"))).isTrue();
        assertThat(on(Map.of("OTEL_SDK_DISABLED", "false"))).isTrue();
    }

    @Test
    void theStandardSwitchesTurnItOffWhateverElseIsSet() {
        assertThat(on(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "OTEL_SDK_DISABLED", "true")))
                .isFalse();
        assertThat(on(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "OTEL_TRACES_EXPORTER", "none")))
                .isFalse();
    }

    @Test
    void anExporterThisBuildDoesNotCarryIsRefusedByName() {
        assertThatThrownBy(() -> Tracing.fromEnvironment(Map.of("OTEL_TRACES_EXPORTER", "zipkin"), "1"))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("zipkin");
    }

    @Test
    void aKeptTraceContextParsesBackAndAnythingElseIsIgnored() {
        var context = Tracing.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assertThat(context.isValid()).isTrue();
        assertThat(context.getTraceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(context.getSpanId()).isEqualTo("00f067aa0ba902b7");
        assertThat(context.isSampled()).isTrue();
        assertThat(Tracing.parse(null).isValid()).isFalse();
        assertThat(Tracing.parse("not a traceparent").isValid()).isFalse();
        assertThat(Tracing.parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01")
                        .isValid())
                .isFalse();
    }

    @Test
    void withTracingOffNoTraceContextIsKeptAndStatementsJustRun() {
        assertThat(Tracing.traceparent()).isNull();
        assertThat(Tracing.statement("INSERT", "records", () -> 42)).isEqualTo(42);
        assertThat(Tracing.OFF.startCaused(
                        "webhook POST", io.opentelemetry.api.trace.SpanKind.CLIENT, java.util.List.of()))
                .isNull();
    }
}
