package dev.switchboard.db;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the database is still the one its event log was written in, checked when a node starts (before
 * it serves) and at each readiness check. After a
 * restore to an earlier point (a dump restored, point-in-time recovery, a replica promoted before it had
 * every commit) each tenant's counter is back at an earlier head, and its next events would take seqs that
 * partners had read past for the events lost: a feed reader, a socket or a webhook receiver resuming from a
 * saved position would skip them without a sign. So on such a database each counter jumps once, past
 * every seq handed out before (to the time in microseconds, {@link #JUMPED}), and every position a partner
 * may hold is behind the next event.
 *
 * <p>The sign is the one row of {@code log_origin}: a restore by {@code pg_restore} writes it anew (its
 * {@code xmin} is no longer the transaction recorded in it), and archive recovery (point-in-time) or a
 * promotion moves the database to a new timeline. Some restores leave both as they were and are not told
 * apart: a base backup or a storage snapshot started without archive recovery, a stopped database's
 * directory copied back, a backup taken before this check existed; and a promotion while nodes run is seen
 * at their next readiness check ({@link #recheck}). The documentation says so, and how to mark such a
 * database by hand. Some changes give a sign with nothing lost (a synchronous replica promoted,
 * {@code pg_upgrade} starting a new cluster on timeline 1, a table rewrite by {@code pg_repack}): the jump
 * is then a gap in the numbering that costs nothing else.
 */
public final class LogOrigin {
    private static final Logger log = LoggerFactory.getLogger(LogOrigin.class);
    /**
     * Where a jumped counter goes: to the database's time in microseconds since 1970, past any head a tenant
     * reached by counting, and past the seqs handed out since an earlier jump (no tenant writes a million
     * events a second), so a second restore of the same backup numbers past the first's events too. Not a
     * fixed step past the head: that would hand those out again. Microseconds stay below 2^53 until the year
     * 2255, so JavaScript clients read every seq exactly.
     */
    static final String JUMPED = "greatest(last_seq + 1, (extract(epoch FROM now()) * 1000000)::bigint)";

    /** Streams counted exactly past a restore's gap, up to this many events (a lower bound beyond). */
    static final int COUNTED_PAST_A_GAP = 100_000;

    private LogOrigin() {}

    /**
     * SQL for the count of stream {@code streamPk}'s events after {@code position} up to its {@code head},
     * given its {@code jumpedFrom} column: the span of seqs, except for a position before a restore's gap
     * (or gaps), where the events are counted, up to {@link #COUNTED_PAST_A_GAP}.
     */
    public static String eventsAfterSql(String streamPk, String position, String head, String jumpedFrom) {
        return "(CASE WHEN " + position + " <= " + jumpedFrom + " THEN (SELECT count(*) FROM (SELECT 1 FROM events"
                + " past_gap WHERE past_gap.stream_pk = " + streamPk + " AND past_gap.seq > " + position + " LIMIT "
                + COUNTED_PAST_A_GAP + ") counted) ELSE " + head + " - " + position + " END)";
    }

    /** The one row as read, and the database's timeline now (null where the role may not read it). */
    private record Origin(long writtenBy, long xmin, String recordedTimeline, String timeline) {
        private static final String SELECT =
                "SELECT written_by::text::bigint, xmin::text::bigint, timeline FROM log_origin";

        /** Why the log was not last written in this database, or null: it was. */
        String restored() {
            if ((writtenBy & 0xFFFF_FFFFL) != xmin) {
                return "its log's origin row was written anew (a restore from a dump, or marked restored)";
            }
            // A timeline first read now (the role may read it since) is recorded, not taken for a move.
            if (timeline != null && recordedTimeline != null && !timeline.equals(recordedTimeline)) {
                return "its timeline is " + timeline + " where the log was written on " + recordedTimeline
                        + " (point-in-time recovery, or a replica promoted)";
            }
            return null;
        }
    }

    /**
     * Checks the database over {@code c} when the node starts (in a transaction of its own), and moves the
     * counters if it was restored.
     */
    static void check(Connection c) throws SQLException {
        String timeline = timeline(c);
        if (timeline == null) {
            log.info("The database's timeline cannot be read by this role: a point-in-time recovery or a"
                    + " promotion will not be noticed, a restore from a dump will");
        }
        checkLocked(c, timeline);
    }

    /**
     * Checks again on each readiness check, without a lock unless there is a sign: a replica promoted, or
     * a database restored, under a running node is seen within a probe's interval, not at its next start.
     */
    static void recheck(Connection c) throws SQLException {
        String timeline = timeline(c);
        if (read(c, timeline, "").map(Origin::restored).isPresent()) {
            checkLocked(c, timeline);
        }
    }

    /** The row as read now ({@code lock}: a locking clause, or none), with the timeline {@code timeline}. */
    private static Optional<Origin> read(Connection c, String timeline, String lock) throws SQLException {
        return Jdbc.one(
                c, Origin.SELECT + lock, rs -> new Origin(rs.getLong(1), rs.getLong(2), rs.getString(3), timeline));
    }

    private static void checkLocked(Connection c, String timeline) throws SQLException {
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            // Locked: nodes starting together after a restore jump once, the second finding the row rewritten.
            Origin origin = read(c, timeline, " FOR UPDATE").orElse(null);
            String restored = origin == null ? null : origin.restored();
            if (origin == null) {
                Jdbc.update(
                        c,
                        "INSERT INTO log_origin (written_by, timeline) VALUES (pg_current_xact_id(), ?)"
                                + " ON CONFLICT DO NOTHING",
                        timeline);
            } else if (restored != null) {
                jump(c, restored, timeline);
            } else if (timeline != null && origin.recordedTimeline() == null) {
                Jdbc.update(c, "UPDATE log_origin SET written_by = pg_current_xact_id(), timeline = ?", timeline);
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
        int streams = Jdbc.update(
                c, "UPDATE streams SET jumped_from = last_seq, last_seq = " + JUMPED + ", jumped_to = " + JUMPED);
        Jdbc.update(
                c,
                "UPDATE log_origin SET written_by = pg_current_xact_id(), timeline = ?, jumped_at = now()",
                timeline);
        log.warn(
                "This database is not where its event log was last written: {}. Events lost with the restore may"
                        + " have been read by partners, so the next event of each of the {} streams (a tenant's, or an"
                        + " integration's lifecycle) is numbered past every seq handed out before, from the time in"
                        + " microseconds: every position a partner saved is behind it, and nothing new is skipped."
                        + " The events after the restored point are gone: tell partners to resynchronise what they"
                        + " read after it (docs/deployment.md, Backups and restore)",
                why,
                streams);
    }

    /** The database's timeline, from its current WAL file's name; null where the role may not read it. */
    private static String timeline(Connection c) {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)")) {
            rs.next();
            return rs.getString(1);
        } catch (SQLException e) {
            return null;
        }
    }
}
