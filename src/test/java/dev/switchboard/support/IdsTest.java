package dev.switchboard.support;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

@Fast
class IdsTest {
    @Test
    void idsRoundTripAndSortByCreationTime() {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            ids.add(Ids.newId("rec"));
        }
        assertThat(ids).isSorted().doesNotHaveDuplicates();
        for (String id : ids) {
            assertThat(id).hasSize(30).startsWith("rec_");
            assertThat(Ids.format("rec", Ids.parse("rec", id).orElseThrow())).isEqualTo(id);
        }
    }

    @Test
    void extremeUuidsRoundTrip() {
        for (UUID u : List.of(new UUID(0, 0), new UUID(-1, -1), new UUID(Long.MIN_VALUE, 1))) {
            assertThat(Ids.parse("x", Ids.format("x", u))).contains(u);
        }
    }

    @Test
    void textThatIsNotAnIdOfThatKindIsRejected() {
        String id = Ids.newId("rec");
        assertThat(Ids.parse("evt", id)).isEmpty();
        assertThat(Ids.parse("rec", id.substring(0, 29))).isEmpty();
        assertThat(Ids.parse("rec", "rec_" + "u".repeat(26))).isEmpty(); // u is not in the alphabet
        assertThat(Ids.parse("rec", "rec_8" + "0".repeat(25))).isEmpty(); // more than 128 bits
        assertThat(Ids.parse("rec", null)).isEmpty();
    }
}
