package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.events.Event;
import dev.switchboard.events.EventFilter;
import dev.switchboard.events.EventLog;
import dev.switchboard.testing.Fast;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

@Fast
class BatchTest {
    private static EventLog.Entry event(long seq, String type) {
        return new EventLog.Entry(
                new Event("evt_" + seq, seq, type, null, Instant.EPOCH, "{\"n\":" + seq + "}", null), null);
    }

    private final Batch batch = new Batch(
            List.of(event(1, "reservations.created"), event(2, "reservations.updated"), event(3, "rooms.created")));

    @Test
    void filtersThatTakeTheSameEventsShareOneFrameHoweverTheyAreWorded() {
        EventFilter one = EventFilter.ALL.narrowedTo(List.of("reservations.*", "reservations.x1"));
        EventFilter two = EventFilter.ALL.narrowedTo(List.of("reservations.*", "reservations.x2"));
        assertThat(one).isNotEqualTo(two);
        assertThat(batch.frame(one, 0)).isSameAs(batch.frame(two, 0));
        assertThat(text(batch.frame(one, 0)))
                .contains("\"seq\":1")
                .contains("\"seq\":2")
                .doesNotContain("\"seq\":3");

        assertThat(batch.frame(EventFilter.ALL, 0)).isSameAs(batch.frame(EventFilter.ALL.narrowedTo(List.of("*")), 0));
        assertThat(text(batch.frame(EventFilter.ALL, 0))).contains("\"seq\":3");
        assertThat(batch.frame(EventFilter.ALL.narrowedTo(List.of("doors.*")), 0))
                .isNull();
    }

    @Test
    void aResumeSeamInsideTheBatchGetsOnlyTheEventsAfterIt() {
        String seam = text(batch.frame(EventFilter.ALL, 2));
        assertThat(seam).contains("\"seq\":3").doesNotContain("\"seq\":2");
        assertThat(batch.frame(EventFilter.ALL, 3)).isNull();
    }

    @Test
    void aBatchNarrowedToAFilterKeepsOnlyTheEventsItTakes() {
        EventFilter reservations = EventFilter.ALL.narrowedTo(List.of("reservations.*"));
        Batch mine = batch.narrowedTo(reservations);
        assertThat(text(mine.frame(EventFilter.ALL, 0)))
                .as("all it carries")
                .isEqualTo(text(batch.frame(reservations, 0)));
        assertThat(mine.bytes())
                .isEqualTo(batch.narrowedTo(reservations).bytes())
                .isLessThan(batch.bytes());
        assertThat(mine.lastSeq()).isEqualTo(2);
        assertThat(text(mine.frame(reservations, 1))).contains("\"seq\":2").doesNotContain("\"seq\":1");
        assertThat(batch.narrowedTo(EventFilter.ALL.narrowedTo(List.of("doors.*"))))
                .isNull();
        assertThat(batch.narrowedTo(EventFilter.ALL))
                .as("all of it: the batch itself, whose frames the sockets that take it all share")
                .isSameAs(batch);
    }

    private static String text(java.nio.ByteBuffer frame) {
        java.nio.ByteBuffer copy = frame.duplicate();
        byte[] bytes = new byte[copy.remaining()];
        copy.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
