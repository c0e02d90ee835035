package dev.switchboard.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.support.Refusal;
import dev.switchboard.testing.Fast;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A reader that answers a bad position with an error gets the same refusal the feed has always given. */
@Fast
class ReadResultTest {

    @Test
    void aPageIsItself() {
        EventLog.Page page = new EventLog.Page(List.of(), 7, false);
        assertThat(page.orRefuse()).isSameAs(page);
    }

    @Test
    void anExpiredPositionIsRefusedWithTheOldestAndNewestPositions() {
        assertThatThrownBy(() -> new EventLog.PositionExpired(3, 10, 20).orRefuse())
                .isInstanceOfSatisfying(Refusal.PositionExpired.class, e -> {
                    assertThat(e.code()).isEqualTo("position_expired");
                    assertThat(e.oldest()).isEqualTo(10);
                    assertThat(e.head()).isEqualTo(20);
                    assertThat(e.details()).isEqualTo(Map.of("oldestSeq", 10L, "headSeq", 20L));
                })
                .hasMessage("events after position 3 are past the retention period and gone; resynchronise through the"
                        + " records API, then read from the newest position");
    }

    @Test
    void aPositionAheadOfTheHeadIsAnInvalidAfter() {
        assertThatThrownBy(() -> new EventLog.PositionAhead(30, 20).orRefuse())
                .isInstanceOfSatisfying(
                        Refusal.InvalidField.class, e -> assertThat(e.field()).isEqualTo("after"))
                .hasMessage("after: position 30 is ahead of this stream's newest event (20)");
    }
}
