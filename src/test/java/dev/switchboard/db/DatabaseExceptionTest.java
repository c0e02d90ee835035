package dev.switchboard.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import org.junit.jupiter.api.Test;

/** Which failures pass, and what of one reaches the log. */
@Fast
class DatabaseExceptionTest {

    @Test
    void failuresThatPassAreTheOnesTheDatabaseMayServeLater() {
        for (String state :
                new String[] {"08006", "57P01", "53300", "53100", "40001", "40P01", "57014", "55P03", "25006"}) {
            assertThat(new DatabaseException(new SQLException("x", state)).isTransient())
                    .as(state)
                    .isTrue();
        }
        assertThat(new DatabaseException(new SQLException("x", "25006")).kind().label())
                .isEqualTo("read_only");
        assertThat(new DatabaseException(new SQLException("x", "53100")).kind().label())
                .isEqualTo("disk_full");
        assertThat(new DatabaseException(new SQLException("x", "55P03")).kind().label())
                .isEqualTo("lock_timeout");
        assertThat(new DatabaseException(new SQLException("x", "57P01")).kind().label())
                .isEqualTo("unavailable");
        for (String state : new String[] {"42P01", "23505", "22P02", "XX000"}) {
            assertThat(new DatabaseException(new SQLException("x", state)).isTransient())
                    .as(state)
                    .isFalse();
        }
    }

    @Test
    void onlyAConnectionLostOnceAChangeWasSentLeavesItsOutcomeUnknown() {
        assertThat(new DatabaseException(new SQLException("lost", "08006"), true).outcomeUnknown())
                .isTrue();
        assertThat(new DatabaseException(new SQLException("lost", "08006"), false).outcomeUnknown())
                .isFalse();
        // Refused by the database: the statement made nothing, sent or not.
        assertThat(new DatabaseException(new SQLException("read-only", "25006"), true).outcomeUnknown())
                .isFalse();
    }

    @Test
    void aPoolWithEveryConnectionInUseIsNotADatabaseThatIsDown() {
        DatabaseException busy = new DatabaseException(new SQLTransientConnectionException(
                "switchboard - Connection is not available, request timed out after 5000ms (total=16, active=16)"));
        assertThat(busy.isUnavailable()).isTrue();
        assertThat(busy.reason())
                .isEqualTo("every database connection of this server is in use (requests are waiting on the database)");
        DatabaseException down = new DatabaseException(new SQLTransientConnectionException(
                "switchboard - Connection is not available", new SQLException("Connection refused", "08001")));
        assertThat(down.reason()).isEqualTo("the database is unavailable");
    }

    @Test
    void theLogLineCarriesWhyAPoolCouldNotConnect() {
        SQLException why = new SQLException("FATAL: sorry, too many clients already", "53300");
        DatabaseException e = new DatabaseException(new SQLTransientConnectionException(
                "switchboard - Connection is not available, request timed out after 5000ms", why));
        assertThat(e.detail())
                .isEqualTo("switchboard - Connection is not available, request timed out after 5000ms"
                        + " (FATAL: sorry, too many clients already)");
        assertThat(new DatabaseException(new SQLException("plain", "08006")).detail())
                .isEqualTo("plain");
        // PostgreSQL's hint and context come on lines of their own: one line a request, as the log promises.
        assertThat(new DatabaseException(new SQLException(
                                "ERROR: could not extend file \"base/1/2\": No space left on device\n  Hint: Check free"
                                        + " disk space.\n  Where: SQL statement \"UPDATE streams\"",
                                "53100"))
                        .detail())
                .isEqualTo("ERROR: could not extend file \"base/1/2\": No space left on device; Hint: Check free disk"
                        + " space.; Where: SQL statement \"UPDATE streams\"");
    }
}
