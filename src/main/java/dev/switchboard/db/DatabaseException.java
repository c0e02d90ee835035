package dev.switchboard.db;

import java.sql.SQLException;

/**
 * A database failure the request cannot recover from. Failures whose SQLState says the database is
 * unreachable (class 08, or an admin shutdown) render as 503 so clients retry; others as 500.
 */
public final class DatabaseException extends RuntimeException {
    public DatabaseException(SQLException cause) {
        super(cause.getMessage(), cause);
    }

    /** PostgreSQL broke a lock cycle by aborting this transaction: running it again may well succeed. */
    public boolean isDeadlock() {
        return getCause() instanceof SQLException sql && "40P01".equals(sql.getSQLState());
    }

    public boolean isUnavailable() {
        Throwable t = getCause();
        while (t != null) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                if (state.startsWith("08") || state.startsWith("57P") || state.equals("53300")) {
                    return true;
                }
            }
            if (t instanceof java.sql.SQLTransientConnectionException) {
                return true;
            }
            t = t.getCause();
        }
        return false;
    }
}
