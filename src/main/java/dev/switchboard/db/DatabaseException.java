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

    /**
     * The database could not do it now, for a reason that passes: unreachable ({@link #isUnavailable}),
     * out of resources (class 53: disk, memory, connections), a transaction rolled back to break a
     * conflict (class 40), a statement cancelled (57014, a timeout), or a lock not granted in time (55P03).
     * Not a statement that is wrong.
     */
    public boolean isTransient() {
        if (isUnavailable()) {
            return true;
        }
        String state = getCause() instanceof SQLException sql ? sql.getSQLState() : null;
        return state != null
                && (state.startsWith("53") || state.startsWith("40") || state.equals("57014") || state.equals("55P03"));
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
