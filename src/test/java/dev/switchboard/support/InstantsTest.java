package dev.switchboard.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.testing.Fast;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

@Fast
class InstantsTest {
    @Test
    void aTimeWithAnOffsetIsReadAsTheSameInstantInUtc() {
        assertThat(Instants.parse("2026-01-31T14:00:00+02:00", "since"))
                .isEqualTo(Instant.parse("2026-01-31T12:00:00Z"));
    }

    @Test
    void theTAndTheZMayBeLowerCaseAsRfc3339Allows() {
        assertThat(Instants.parse("2026-01-31t12:00:00z", "updatedFrom"))
                .isEqualTo(Instant.parse("2026-01-31T12:00:00Z"));
    }

    @Test
    void anOffsetWhosePlusAQueryStringTurnedIntoASpaceIsNamedAsSuch() {
        assertThatThrownBy(() -> Instants.parse("2026-01-31T14:00:00 02:00", "updatedFrom"))
                .isInstanceOf(Refusal.InvalidField.class)
                .hasMessageContaining("updatedFrom")
                .hasMessageContaining("%2B");
        assertThatThrownBy(() -> Instants.parse("2026-01-31T14:00:00.5 02:00", "updatedFrom"))
                .hasMessageContaining("%2B");
        // +0200 would not be read either, so it is not suggested
        assertThatThrownBy(() -> Instants.parse("2026-01-31T14:00:00 0200", "updatedFrom"))
                .hasMessageNotContaining("%2B");
    }

    @Test
    void otherTextIsRefusedWithAnExampleOfEachForm() {
        assertThatThrownBy(() -> Instants.parse("2026-01-31 12:00", "since"))
                .isInstanceOf(Refusal.InvalidField.class)
                .hasMessageContaining("since")
                .hasMessageContaining("2026-01-31T12:00:00Z")
                .hasMessageNotContaining("%2B");
        assertThatThrownBy(() -> Instants.parse("+10000-01-01T00:00:00Z", "since"))
                .hasMessageContaining("outside the years 1 to 9999");
    }

    /** Instant.parse moved these to another time (24:00 to the next day, a leap second back a second). */
    @Test
    void aTimeIsTakenOnlyAsWritten() {
        for (String lenient : List.of(
                "2026-01-31T24:00:00Z",
                "2026-12-31T23:59:60Z",
                "2026-01-31T12:00:00.Z",
                "2026-01-31T12:00:00+05:30:30")) {
            assertThatThrownBy(() -> Instants.parse(lenient, "from"))
                    .as(lenient)
                    .isInstanceOf(Refusal.InvalidField.class)
                    .hasMessageContaining("not a time as written");
        }
        assertThat(Instants.parse("2026-01-31T00:00:00Z", "from")).isEqualTo(Instant.parse("2026-01-31T00:00:00Z"));
        assertThat(Instants.parse("2026-01-31T23:59:59.123456789-12:00", "from"))
                .isEqualTo(Instant.parse("2026-02-01T11:59:59.123456789Z"));
    }

    @Test
    void boundsFinerThanAMicrosecondAreMovedToTheMicrosecondThatKeepsTheirMeaning() {
        Instant exact = Instant.parse("2026-01-31T12:00:00.020023Z");
        Instant finer = Instant.parse("2026-01-31T12:00:00.0200226Z");
        assertThat(Instants.microsUp(exact)).isEqualTo(exact);
        assertThat(Instants.microsDown(exact)).isEqualTo(exact);
        assertThat(Instants.microsUp(finer)).isEqualTo(exact);
        assertThat(Instants.microsDown(finer)).isEqualTo(Instant.parse("2026-01-31T12:00:00.020022Z"));
        Instant beforeEpoch = Instant.parse("1969-12-31T23:59:59.9999995Z");
        assertThat(Instants.microsDown(beforeEpoch)).isEqualTo(Instant.parse("1969-12-31T23:59:59.999999Z"));
        assertThat(Instants.microsUp(beforeEpoch)).isEqualTo(Instant.EPOCH);
    }
}
