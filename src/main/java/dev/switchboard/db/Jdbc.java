package dev.switchboard.db;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import javax.sql.DataSource;

/** Small JDBC helpers: parameters bound by position, rows mapped by a lambda, transactions as a block. */
public final class Jdbc {
    private Jdbc() {}

    @FunctionalInterface
    public interface RowMapper<T> {
        T map(ResultSet rs) throws SQLException;
    }

    @FunctionalInterface
    public interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /** The transactions {@link #inTransaction} has open on this thread, with what runs after each commits. */
    private static final ThreadLocal<List<Open>> OPEN = ThreadLocal.withInitial(ArrayList::new);

    /** A transaction in progress (identity matters: two never share a connection). */
    private static final class Open {
        final Connection connection;
        final List<Runnable> afterCommit = new ArrayList<>();

        Open(Connection connection) {
            this.connection = connection;
        }
    }

    /**
     * Runs work in one transaction: committed when it returns, rolled back when it throws. Actions
     * registered with {@link #afterCommit} run after the commit, once the connection is back in the
     * pool and before this returns; a rolled-back transaction runs none.
     */
    public static <T> T inTransaction(DataSource ds, Work<T> work) {
        T result;
        Open open;
        boolean committing = false; // a connection lost from here leaves the outcome unknown
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            open = new Open(c);
            OPEN.get().add(open);
            try {
                result = work.run(c);
                committing = true;
                c.commit();
            } catch (Throwable t) {
                open.afterCommit.clear();
                rollbackQuietly(c, t);
                throw t;
            } finally {
                forget(open);
                restoreAutoCommit(c);
            }
        } catch (SQLException e) {
            throw new DatabaseException(e, committing);
        }
        open.afterCommit.forEach(Runnable::run);
        return result;
    }

    /**
     * {@link #inTransaction}, run again when PostgreSQL ended it to break a deadlock (five runs at most).
     * For a change of many rows that a trigger, the dispatcher or another request may lock in another
     * order (an endpoint's messages): the victim is rolled back whole, so running it again is safe when
     * the work acts only through its connection (after-commit actions are dropped with the rollback).
     */
    public static <T> T inTransactionRetryingDeadlocks(DataSource ds, Work<T> work) {
        return retryingDeadlocks(() -> inTransaction(ds, work));
    }

    /**
     * Runs {@code writes} again when PostgreSQL ended them to break a deadlock (five runs at most): for one
     * statement in autocommit, or a whole transaction, which the database undid. Each run after the first
     * waits a few random milliseconds: run again at once, a transaction that waited first for the same
     * others met them again in the same order and was the one ended again (a disabling among three bulk
     * retries lost three runs in a row on a busy machine).
     */
    public static <T> T retryingDeadlocks(Supplier<T> writes) {
        for (int run = 1; ; run++) {
            try {
                return writes.get();
            } catch (DatabaseException e) {
                if (!e.isDeadlock() || run == 5) {
                    throw e;
                }
                try {
                    Thread.sleep(ThreadLocalRandom.current().nextInt(5, 50 * run));
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /**
     * Runs {@code action} once what was written on {@code c} is committed: after the commit of the
     * {@link #inTransaction} that owns {@code c} (never, if it rolls back), or at once when {@code c} is
     * in autocommit (each statement committed as it ran). A transaction begun some other way has no
     * commit this can see, so it is refused.
     */
    public static void afterCommit(Connection c, Runnable action) throws SQLException {
        for (Open open : OPEN.get()) {
            if (open.connection == c) {
                open.afterCommit.add(action);
                return;
            }
        }
        if (!c.getAutoCommit()) {
            throw new IllegalStateException("after-commit actions need a transaction run by Jdbc.inTransaction");
        }
        action.run();
    }

    private static void forget(Open open) {
        List<Open> stack = OPEN.get();
        stack.remove(open);
        if (stack.isEmpty()) {
            OPEN.remove(); // pooled platform threads keep nothing between transactions
        }
    }

    /** Runs work on a pooled connection in autocommit mode: each statement is its own transaction. */
    public static <T> T withConnection(DataSource ds, Work<T> work) {
        boolean connected = false; // from here a statement in autocommit may commit before its connection is lost
        try (Connection c = ds.getConnection()) {
            connected = true;
            return work.run(c);
        } catch (SQLException e) {
            throw new DatabaseException(e, connected);
        }
    }

    public static <T> List<T> query(Connection c, String sql, RowMapper<T> mapper, Object... params)
            throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, params);
                ResultSet rs = ps.executeQuery()) {
            List<T> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(mapper.map(rs));
            }
            return rows;
        }
    }

    public static <T> Optional<T> one(Connection c, String sql, RowMapper<T> mapper, Object... params)
            throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, params);
                ResultSet rs = ps.executeQuery()) {
            return rs.next() ? Optional.ofNullable(mapper.map(rs)) : Optional.empty();
        }
    }

    public static int update(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, params)) {
            return ps.executeUpdate();
        }
    }

    public static PreparedStatement prepare(Connection c, String sql, Object... params) throws SQLException {
        PreparedStatement ps = c.prepareStatement(sql);
        try {
            for (int i = 0; i < params.length; i++) {
                bind(c, ps, i + 1, params[i]);
            }
            return ps;
        } catch (SQLException | RuntimeException e) {
            ps.close();
            throw e;
        }
    }

    private static void bind(Connection c, PreparedStatement ps, int index, Object value) throws SQLException {
        switch (value) {
            case null -> ps.setObject(index, null);
            case Instant instant -> ps.setObject(index, instant.atOffset(ZoneOffset.UTC));
            // String, Long and Integer arrays go to the driver as they are (the default below), which sends
            // them in binary under their array type, without createArrayOf's lookups by type name and the
            // Array it builds: that was most of the cost of binding a webhook step's arrays, on the one
            // thread that writes every stream's steps. A uuid array goes as strings, for the same reason
            // (the driver has no binary form of it); the SQL casts the parameter (?::uuid[]).
            case UUID[] uuids ->
                ps.setObject(
                        index,
                        Arrays.stream(uuids)
                                .map(u -> u == null ? null : u.toString())
                                .toArray(String[]::new));
            case List<?> list -> ps.setArray(index, c.createArrayOf("text", list.toArray()));
            default -> ps.setObject(index, value);
        }
    }

    public static Instant instant(ResultSet rs, String column) throws SQLException {
        OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }

    public static List<String> strings(ResultSet rs, String column) throws SQLException {
        Array array = rs.getArray(column);
        return array == null ? List.of() : Arrays.asList((String[]) array.getArray());
    }

    public static boolean isUniqueViolation(SQLException e) {
        return "23505".equals(e.getSQLState());
    }

    /**
     * Puts the connection back in autocommit. A connection that broke (the database went silent past its
     * read timeout) refuses even that: the transaction's outcome is already decided, and that refusal
     * replaced it (a "Connection is closed" with no SQLState, a 500 where the read timeout means a 503; or
     * an error after a commit that happened). The pool drops a broken connection on its own.
     */
    private static void restoreAutoCommit(Connection c) {
        try {
            c.setAutoCommit(true);
        } catch (SQLException brokenConnection) {
            // see above
        }
    }

    private static void rollbackQuietly(Connection c, Throwable cause) {
        try {
            c.rollback();
        } catch (SQLException e) {
            cause.addSuppressed(e);
        }
    }
}
