package dev.switchboard.events;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.util.List;
import org.junit.jupiter.api.Test;

@Fast
class EventTypesTest {
    @Test
    void patternsMatchExactTypesPrefixesAndEverything() {
        assertThat(EventTypes.matches("*", "reservations.created")).isTrue();
        assertThat(EventTypes.matches("reservations.*", "reservations.created")).isTrue();
        assertThat(EventTypes.matches("reservations.*", "reservations_archive.created"))
                .isFalse();
        assertThat(EventTypes.matches("reservations.created", "reservations.created"))
                .isTrue();
        assertThat(EventTypes.matches("reservations.created", "reservations.updated"))
                .isFalse();
    }

    @Test
    void onlyWellFormedTypesAndPatternsAreAccepted() {
        assertThat(EventTypes.isType("device.command")).isTrue();
        assertThat(EventTypes.isType("Device.Command")).isFalse();
        assertThat(EventTypes.isType("a..b")).isFalse();
        assertThat(EventTypes.isPattern("reservations.*")).isTrue();
        assertThat(EventTypes.isPattern("*.created")).isFalse();
        assertThat(EventTypes.isPattern("reservations.**")).isFalse();
        assertThat(EventTypes.isPattern("%")).isFalse();
    }

    @Test
    void likePatternsEscapeUnderscores() {
        assertThat(EventTypes.toLike("order_lines.*")).isEqualTo("order\\_lines.%");
        assertThat(EventTypes.toLike("*")).isEqualTo("%");
    }

    @Test
    void patternsOverlapWhenSomeTypeMatchesBoth() {
        assertThat(EventTypes.overlap("*", "device.command")).isTrue();
        assertThat(EventTypes.overlap("reservations.*", "reservations.created")).isTrue();
        assertThat(EventTypes.overlap("reservations.created", "reservations.*")).isTrue();
        assertThat(EventTypes.overlap("reservations.*", "reservations.archive.*"))
                .isTrue();
        assertThat(EventTypes.overlap("reservations.*", "customers.*")).isFalse();
        assertThat(EventTypes.overlap("reservations.*", "reservations_archive.created"))
                .isFalse();
        assertThat(EventTypes.overlap("reservations.created", "reservations.updated"))
                .isFalse();
    }

    @Test
    void theIntersectionKeepsTheNarrowerOfEveryNestedPair() {
        assertThat(EventTypes.intersect(List.of("*"), List.of("device.*"))).containsExactly("device.*");
        assertThat(EventTypes.intersect(List.of("device.*"), List.of("*"))).containsExactly("device.*");
        assertThat(EventTypes.intersect(List.of("device.*"), List.of("device.command", "reservations.*")))
                .containsExactly("device.command");
        assertThat(EventTypes.intersect(List.of("a.*", "b.c"), List.of("a.b.*", "b.*")))
                .containsExactly("a.b.*", "b.c");
        assertThat(EventTypes.intersect(List.of("device.*"), List.of("devices.*")))
                .isEmpty();
        assertThat(EventTypes.intersect(List.of("a.b"), List.of("a.b.*"))).isEmpty();
    }
}
