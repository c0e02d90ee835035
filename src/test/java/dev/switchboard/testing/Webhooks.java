package dev.switchboard.testing;

import dev.switchboard.config.DatabaseUrl;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * "Run what is due now" for webhook delivery. Its times (a retry's wait, the back-off after a worker
 * error) are the database's {@code now()}, not an injected clock, so a test cannot step them; once it
 * has checked the wait it set, it moves every pending wait to now, and the dispatcher's next tick
 * (every 250 ms) claims the streams as if the time had passed. Leases are left alone: their expiry is
 * what the lease tests are about.
 */
public final class Webhooks {
    private Webhooks() {}

    /** Ends every wait for a retry or after a worker error, on stream and manual messages; returns how many. */
    public static int makeDue(DatabaseUrl database) {
        try (Connection c = DriverManager.getConnection(database.jdbcUrl());
                Statement s = c.createStatement()) {
            return s.executeUpdate("UPDATE webhook_streams SET next_attempt_at = now() WHERE next_attempt_at > now()")
                    + s.executeUpdate("UPDATE webhook_messages SET next_attempt_at = now()"
                            + " WHERE lane = 'manual' AND status = 'pending' AND next_attempt_at > now()");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
