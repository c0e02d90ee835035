package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import org.junit.jupiter.api.Test;

/**
 * A receiver failing every request wrote two log lines per message (113,000 lines in 30 s from one
 * partner's replay): an endpoint's failed attempts write at most 20 lines a minute, and the next line
 * logged says how many were left out.
 */
@Fast
class EndpointLogLinesTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void anEndpointWritesAtMost20LinesAMinuteAndTheNextSaysHowManyWereLeftOut() {
        EndpointLogLines lines = new EndpointLogLines();
        long t = 0;
        for (int i = 0; i < EndpointLogLines.PER_MINUTE; i++) {
            assertThat(lines.admit("wh_a", t + i)).isZero();
        }
        for (int i = 0; i < 1_000; i++) {
            assertThat(lines.admit("wh_a", t + 30 * SECOND)).isEqualTo(-1);
        }
        assertThat(lines.admit("wh_b", t + 30 * SECOND))
                .as("another endpoint's own minute")
                .isZero();

        assertThat(lines.admit("wh_a", t + 60 * SECOND))
                .as("the next minute's first line")
                .isEqualTo(1_000);
        assertThat(lines.admit("wh_a", t + 61 * SECOND)).isZero();
        assertThat(EndpointLogLines.leftOut(1_000)).contains("1000 more lines").contains("/metrics");
        assertThat(EndpointLogLines.leftOut(0)).isEmpty();
    }
}
