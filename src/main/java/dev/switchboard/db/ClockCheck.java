package dev.switchboard.db;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.OffsetDateTime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compares this node's clock with the database's. Leases and retry times are the database's, but a node stamps the records it writes ({@code updatedAt}) and the events it
 * appends ({@code time}) with its own: a node whose clock is behind the others' writes a record version
 * whose {@code updatedAt} is older than the one before it, which a client syncing with {@code updatedFrom}
 * never sees, and events a replay {@code since} a time may skip. Nothing corrects that; this says it
 * happens, once when the clocks drift apart and once when they agree again, and keeps the last offset
 * for {@code /metrics}.
 */
final class ClockCheck {
    private static final Logger log = LoggerFactory.getLogger(ClockCheck.class);
    /** Past this, times written by different nodes may be out of order by more than clients expect. */
    static final Duration TOLERATED = Duration.ofSeconds(1);

    private final InstantSource nodeClock;
    private volatile double offsetSeconds;
    private volatile boolean apart;

    ClockCheck(InstantSource nodeClock) {
        this.nodeClock = nodeClock;
    }

    /**
     * Reads the database's clock over {@code c} and returns how far it is ahead of this node's (negative:
     * behind), measured against the middle of the round trip, so a slow answer is not taken for an offset.
     */
    Duration check(Connection c) throws SQLException {
        Instant sent = nodeClock.instant();
        Instant database;
        try (Statement s = c.createStatement()) {
            s.setQueryTimeout(2);
            try (ResultSet rs = s.executeQuery("SELECT clock_timestamp()")) {
                rs.next();
                database = rs.getObject(1, OffsetDateTime.class).toInstant();
            }
        }
        Instant answered = nodeClock.instant();
        Instant middle = sent.plus(Duration.between(sent, answered).dividedBy(2));
        Duration offset = Duration.between(middle, database);
        offsetSeconds = offset.toNanos() / 1e9;
        boolean nowApart = offset.abs().compareTo(TOLERATED) > 0;
        if (nowApart && !apart) {
            log.warn(
                    "This node's clock is {} ms {} the database's: the records this node writes and the events it"
                            + " appends are stamped with it, so their times are out of order with other nodes'"
                            + " (clients syncing with updatedFrom may miss record versions); keep every node's clock"
                            + " and the database's in sync (NTP)",
                    Math.abs(offset.toMillis()),
                    offset.isNegative() ? "ahead of" : "behind");
        } else if (!nowApart && apart) {
            log.info("This node's clock agrees with the database's again ({} ms apart)", offset.toMillis());
        }
        apart = nowApart;
        return offset;
    }

    /** The database's clock minus this node's at the last check, in seconds (0 before the first). */
    double offsetSeconds() {
        return offsetSeconds;
    }
}
