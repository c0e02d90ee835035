package dev.switchboard.db;

import java.sql.SQLException;

/**
 * A database failure the request cannot recover from. Failures that pass (the database unreachable, out
 * of resources, read-only, a lock or statement timeout, a conflict) render as 503 so clients retry;
 * others as 500.
 */
public final class DatabaseException extends RuntimeException {
    private final boolean sent;

    public DatabaseException(SQLException cause) {
        this(cause, false);
    }

    /**
     * {@code sent}: the failure came once a change may have reached the database (a commit, or a statement
     * in autocommit), so a lost connection leaves its outcome unknown ({@link #outcomeUnknown}).
     */
    public DatabaseException(SQLException cause, boolean sent) {
        super(cause.getMessage(), cause);
        this.sent = sent;
    }

    /** PostgreSQL broke a lock cycle by aborting this transaction: running it again may well succeed. */
    public boolean isDeadlock() {
        return "40P01".equals(state());
    }

    /**
     * The database could not do it now, for a reason that passes: unreachable ({@link #isUnavailable}),
     * out of resources (class 53: disk, memory, connections), a transaction rolled back to break a
     * conflict (class 40), a statement cancelled (57014, a timeout), a lock not granted in time (55P03), or
     * writes refused (25006: a standby, or a database made read-only). Not a statement that is wrong.
     */
    public boolean isTransient() {
        if (isUnavailable()) {
            return true;
        }
        String state = state();
        return state != null
                && (state.startsWith("53")
                        || state.startsWith("40")
                        || state.equals("57014")
                        || state.equals("55P03")
                        || state.equals("25006"));
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

    /**
     * The connection was lost after a change may have reached the database: it may have been made or not.
     * (A statement the database refused, or a transaction lost before its commit, made nothing.)
     */
    public boolean outcomeUnknown() {
        return sent && isUnavailable();
    }

    /** Why a {@linkplain #isTransient passing} failure happened, in words for the client (no detail of the database). */
    public String reason() {
        if (poolBusy()) {
            return "every database connection of this server is in use (requests are waiting on the database)";
        }
        if (isUnavailable()) {
            return "the database is unavailable";
        }
        String state = state();
        if (state == null) {
            return "the database failed";
        }
        if (state.equals("25006")) {
            return "the database accepts no writes now (it is read-only)";
        }
        if (state.equals("53100")) {
            return "the database is out of disk space";
        }
        if (state.startsWith("53")) {
            return "the database is out of resources";
        }
        if (state.equals("55P03")) {
            return "a row or table the request needs stayed locked longer than the database's lock timeout";
        }
        if (state.equals("57014")) {
            return "the database cancelled a statement of the request (it ran past its time limit)";
        }
        if (state.startsWith("40")) {
            return "the database rolled the request back to resolve a conflict with another";
        }
        return "the database failed";
    }

    /**
     * The pool found no free connection in time while the database answers: its connections are all busy
     * (waiting on a lock, on slow statements). The pool's timeout carries the reason a connection could not
     * be opened as its cause; with none, every connection it had was in use.
     */
    private boolean poolBusy() {
        return getCause() instanceof java.sql.SQLTransientConnectionException busy && busy.getCause() == null;
    }

    /**
     * The message for the log, on one line (PostgreSQL's hint, context and position come on lines of their
     * own), with the cause when that says more: a pool's "Connection is not available, request timed out"
     * carries why the connections it tried to open failed (the database's connection limit, a refused
     * password) only as its cause.
     */
    public String detail() {
        Throwable root = getCause();
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String detail = root == getCause() || root.getMessage() == null
                ? getMessage()
                : getMessage() + " (" + root.getMessage() + ")";
        return detail.replaceAll("\\s*\\R\\s*", "; ");
    }

    private String state() {
        return getCause() instanceof SQLException sql ? sql.getSQLState() : null;
    }
}
