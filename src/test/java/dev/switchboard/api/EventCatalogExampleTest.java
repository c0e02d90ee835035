package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.Json;
import dev.switchboard.testing.Fast;
import org.junit.jupiter.api.Test;

/** The event catalog's example values fall within their schema's bounds, however large or fractional. */
@Fast
class EventCatalogExampleTest {
    private static String example(String schema) {
        return Json.write(ConsoleApiRoutes.sample(Json.read(schema), 0));
    }

    @Test
    void numbersAreChosenWithinTheBoundsAsWritten() {
        assertThat(example("{\"type\":\"integer\"}")).isEqualTo("1");
        assertThat(example("{\"type\":\"number\"}")).isEqualTo("1.5");
        // Read as a long, this minimum wrapped around to -6101065172474983726.
        assertThat(example("{\"type\":\"integer\",\"minimum\":12345678901234567890}"))
                .isEqualTo("12345678901234567890");
        assertThat(example("{\"type\":\"number\",\"minimum\":12345678901234567890.5}"))
                .isEqualTo("12345678901234567890.5");
        assertThat(example("{\"type\":\"integer\",\"minimum\":0.5}")).isEqualTo("1");
        assertThat(example("{\"type\":\"integer\",\"exclusiveMinimum\":5}")).isEqualTo("6");
        assertThat(example("{\"type\":\"integer\",\"maximum\":-5}")).isEqualTo("-5");
        assertThat(example("{\"type\":\"number\",\"exclusiveMaximum\":0}")).isEqualTo("-1");
        assertThat(example("{\"type\":\"number\",\"minimum\":2,\"maximum\":3}")).isEqualTo("2");
        assertThat(example("{\"type\":\"integer\",\"minimum\":0}")).isEqualTo("0");
    }
}
