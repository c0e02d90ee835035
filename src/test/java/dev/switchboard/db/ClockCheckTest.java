package dev.switchboard.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.CapturedLogs;
import dev.switchboard.testing.TestDatabase;
import java.sql.Connection;
import java.time.Clock;
import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ClockCheckTest {

    @Test
    void aNodeWhoseClockDriftsFromTheDatabasesSaysSoOnceAndAgainWhenTheyAgree() throws Exception {
        AtomicReference<Duration> drift = new AtomicReference<>(Duration.ofSeconds(-30));
        InstantSource node = () -> Clock.systemUTC().instant().plus(drift.get());
        ClockCheck check = new ClockCheck(node);
        try (Database database = TestDatabase.open();
                Connection c = database.dataSource().getConnection();
                CapturedLogs logs = new CapturedLogs()) {
            Duration offset = check.check(c);
            assertThat(offset).isBetween(Duration.ofSeconds(29), Duration.ofSeconds(31));
            assertThat(check.offsetSeconds()).isBetween(29.0, 31.0);
            check.check(c);
            assertThat(logs.lines())
                    .filteredOn(l -> l.startsWith("WARN") && l.contains("clock"))
                    .singleElement()
                    .asString()
                    .contains("behind the database's");

            drift.set(Duration.ZERO);
            assertThat(check.check(c).abs()).isLessThan(ClockCheck.TOLERATED);
            assertThat(logs.lines()).anyMatch(l -> l.startsWith("INFO") && l.contains("agrees with the database's"));
        }
    }
}
