package dev.switchboard.websockets;

import dev.switchboard.testing.Fast;
import java.util.List;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

@Fast
class PatternsTest {
    @Test
    void theIntersectionKeepsTheNarrowerOfEveryNestedPair() {
        assertThat(Patterns.intersect(List.of("*"), List.of("device.*"))).containsExactly("device.*");
        assertThat(Patterns.intersect(List.of("device.*"), List.of("*"))).containsExactly("device.*");
        assertThat(Patterns.intersect(List.of("device.*"), List.of("device.command", "reservations.*")))
                .containsExactly("device.command");
        assertThat(Patterns.intersect(List.of("a.*", "b.c"), List.of("a.b.*", "b.*"))).containsExactly("a.b.*", "b.c");
        assertThat(Patterns.intersect(List.of("device.*"), List.of("devices.*"))).isEmpty();
        assertThat(Patterns.intersect(List.of("a.b"), List.of("a.b.*"))).isEmpty();
    }
}
