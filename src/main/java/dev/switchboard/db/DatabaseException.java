package dev.switchboard.db;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;

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
        return kind() != Kind.ERROR;
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
            if (t instanceof SQLTransientConnectionException) {
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

    /** What kind of failure it is: its label names it in the refusals' count, its reason to the client. */
    public enum Kind {
        POOL_BUSY(
                "pool_busy",
                "every database connection of this server is in use (requests are waiting on the database)"),
        UNAVAILABLE("unavailable", "the database is unavailable"),
        READ_ONLY("read_only", "the database accepts no writes now (it is read-only)"),
        DISK_FULL("disk_full", "the database is out of disk space"),
        OUT_OF_RESOURCES("out_of_resources", "the database is out of resources"),
        LOCK_TIMEOUT(
                "lock_timeout",
                "a row or table the request needs stayed locked longer than the database's lock timeout"),
        STATEMENT_TIMEOUT(
                "statement_timeout", "the database cancelled a statement of the request (it ran past its time limit)"),
        CONFLICT("conflict", "the database rolled the request back to resolve a conflict with another"),
        /** Not one that passes: a statement that is wrong, a bug. */
        ERROR("error", "the database failed");

        private final String label;
        private final String reason;

        Kind(String label, String reason) {
            this.label = label;
            this.reason = reason;
        }

        public String label() {
            return label;
        }
    }

    /** What kind of failure it is, read from its SQLSTATE (and the pool's timeout for one found no connection). */
    public Kind kind() {
        if (poolBusy()) {
            return Kind.POOL_BUSY;
        }
        if (isUnavailable()) {
            return Kind.UNAVAILABLE;
        }
        String state = state();
        if (state == null) {
            return Kind.ERROR;
        }
        if (state.equals("25006")) {
            return Kind.READ_ONLY;
        }
        if (state.equals("53100")) {
            return Kind.DISK_FULL;
        }
        if (state.startsWith("53")) {
            return Kind.OUT_OF_RESOURCES;
        }
        if (state.equals("55P03")) {
            return Kind.LOCK_TIMEOUT;
        }
        if (state.equals("57014")) {
            return Kind.STATEMENT_TIMEOUT;
        }
        return state.startsWith("40") ? Kind.CONFLICT : Kind.ERROR;
    }

    /**
     * Counts a request answered 503 for it, by {@link #kind}: {@code switchboard_database_refusals_total{reason}},
     * so a dashboard tells a full disk from a locked table or a pool with no free connection.
     */
    public void count(MeterRegistry meters) {
        refusals(meters, kind()).increment();
    }

    /** Registers the refusals' count at 0 for every kind that passes, so {@code increase()} counts the first. */
    public static void countFromZero(MeterRegistry meters) {
        for (Kind kind : Kind.values()) {
            if (kind != Kind.ERROR) {
                refusals(meters, kind);
            }
        }
    }

    private static Counter refusals(MeterRegistry meters, Kind kind) {
        return Counter.builder("switchboard.database.refusals")
                .description("Requests answered 503 because the database could not serve them now, by why")
                .tag("reason", kind.label())
                .register(meters);
    }

    /** Why a {@linkplain #isTransient passing} failure happened, in words for the client (no detail of the database). */
    public String reason() {
        return kind().reason;
    }

    /**
     * The pool found no free connection in time while the database answers: its connections are all busy
     * (waiting on a lock, on slow statements). The pool's timeout carries the reason a connection could not
     * be opened as its cause; with none, every connection it had was in use.
     */
    private boolean poolBusy() {
        return getCause() instanceof SQLTransientConnectionException busy && busy.getCause() == null;
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
