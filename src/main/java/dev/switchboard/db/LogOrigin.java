package dev.switchboard.db;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the database is still the one its event log was written in, checked when a node starts. After a
 * restore to an earlier point (a dump restored, point-in-time recovery, a replica promoted before it had
 * every commit) each tenant's counter is back at an earlier head, and its next events would take seqs that
 * partners had read past for the events lost: a feed reader, a socket or a webhook receiver resuming from a
 * saved position would skip them without a sign. So on such a database the counters jump {@link #JUMP}
 * past their heads once, and every position a partner may hold is behind the next event.
 *
 * <p>The sign is the one row of {@code log_origin}: a restore by {@code pg_restore} writes it anew (its
 * {@code xmin} is no longer the transaction recorded in it), and recovery or a promotion moves the
 * database to a new timeline. Both can also come without a loss (a promotion of a synchronous replica, a
 * move by logical replication); the jump is then a gap in the numbering that costs nothing else. A copy of
 * the data directory taken with the database stopped and put back is not told apart: the documentation
 * says so.
 */
public final class LogOrigin {
    private static final Logger log = LoggerFactory.getLogger(LogOrigin.class);
    /** How far each tenant's counter moves past its head: more events than a tenant writes between a backup and its restore. */
    public static final long JUMP = 10_000_000_000L;

    private LogOrigin() {}

    /**
     * SQL for the count of a stream's events after position {@code position} up to its {@code head}, given
     * its {@code jumpedFrom} column: the span of seqs, less the gap of the last jump when the position is
     * before it. (A stream whose position is before two jumps is counted one gap too many.)
     */
    public static String eventsAfterSql(String position, String head, String jumpedFrom) {
        return "(" + head + " - " + position + " - CASE WHEN " + position + " <= " + jumpedFrom + " THEN " + JUMP
                + " ELSE 0 END)";
    }

    /** The count {@link #eventsAfterSql} makes, for values already read. */
    public static long eventsAfter(long position, long head, Long jumpedFrom) {
        return head - position - (jumpedFrom != null && position <= jumpedFrom ? JUMP : 0);
    }

    /** Checks the database over {@code c} (in a transaction of its own) and moves the counters if it was restored. */
    static void check(Connection c) throws SQLException {
        if (!Jdbc.one(c, "SELECT to_regclass('log_origin') IS NOT NULL", rs -> rs.getBoolean(1))
                .orElse(false)) {
            return; // a node opening the database as an earlier release would (the upgrade tests)
        }
        String timeline = timeline(c);
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            record Origin(long writtenBy, long xmin, String timeline) {}
            // Locked: nodes starting together after a restore jump once, the second finding the row rewritten.
            Origin origin = Jdbc.one(
                            c,
                            "SELECT written_by::text::bigint, xmin::text::bigint, timeline FROM log_origin FOR UPDATE",
                            rs -> new Origin(rs.getLong(1), rs.getLong(2), rs.getString(3)))
                    .orElse(null);
            if (origin == null) {
                Jdbc.update(
                        c,
                        "INSERT INTO log_origin (written_by, timeline) VALUES (pg_current_xact_id(), ?)"
                                + " ON CONFLICT DO NOTHING",
                        timeline);
            } else {
                boolean rewritten = (origin.writtenBy() & 0xFFFF_FFFFL) != origin.xmin();
                boolean newTimeline = timeline != null && !Objects.equals(timeline, origin.timeline());
                if (rewritten || newTimeline) {
                    jump(
                            c,
                            rewritten
                                    ? "its log's origin row was written anew (a restore from a dump)"
                                    : "its timeline is " + timeline + " where the log was written on "
                                            + origin.timeline()
                                            + " (point-in-time recovery, a replica promoted, or marked restored)",
                            timeline);
                }
            }
            c.commit();
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(autoCommit);
        }
    }

    private static void jump(Connection c, String why, String timeline) throws SQLException {
        int streams = Jdbc.update(c, "UPDATE streams SET jumped_from = last_seq, last_seq = last_seq + " + JUMP);
        Jdbc.update(
                c,
                "UPDATE log_origin SET written_by = pg_current_xact_id(), timeline = ?, jumped_at = now()",
                timeline);
        log.warn(
                "This database is not where its event log was last written: {}. Events lost with the restore may"
                        + " have been read by partners, so each of the {} tenants' next events is numbered {} past"
                        + " its newest: every position a partner saved is behind it, and nothing new is skipped."
                        + " The events after the restored point are gone: tell partners to resynchronise what they"
                        + " read after it (docs/deployment.md, Backups and restore)",
                why,
                streams,
                JUMP);
    }

    /** The database's timeline, from its current WAL file's name; null where the role may not read it. */
    private static String timeline(Connection c) {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)")) {
            rs.next();
            return rs.getString(1);
        } catch (SQLException e) {
            log.info(
                    "The database's timeline cannot be read ({}): a point-in-time recovery will not be noticed",
                    e.getMessage());
            return null;
        }
    }
}
