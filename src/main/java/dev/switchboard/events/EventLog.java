package dev.switchboard.events;

import dev.switchboard.db.Jdbc;
import dev.switchboard.db.PageBytes;
import dev.switchboard.support.Ids;
import dev.switchboard.support.Refusal;
import dev.switchboard.tracing.Tracing;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The ordered log of every stream. Appending bumps the stream's counter row and inserts the event in
 * the writer's own transaction, so an event commits with the change it describes and {@code seq}
 * follows commit order (ARCHITECTURE.md explains why no reader can pass a later-committing event).
 * Reading returns what is committed after a position, up to the stream's head.
 */
public final class EventLog {
    private final DataSource dataSource;
    private final EventWakeups wakeups;

    public EventLog(DataSource dataSource, EventWakeups wakeups) {
        this.dataSource = dataSource;
        this.wakeups = wakeups;
    }

    /** Appends in the caller's transaction; call {@link #published} once it has committed. */
    public long append(Connection c, long streamPk, NewEvent event) throws SQLException {
        return Tracing.statement(
                "SELECT",
                "append_event",
                () -> Jdbc.one(c, "SELECT " + NewEvent.APPEND_CALL, rs -> rs.getLong(1), event.params(streamPk))
                        .orElseThrow());
    }

    /** Work on an append's connection right after it, in its transaction. */
    @FunctionalInterface
    public interface AfterAppend {
        void run(Connection c, long seq) throws SQLException;
    }

    /**
     * Appends one event in a transaction of its own, between what {@code before} and {@code after} write on
     * the same connection (committed together, or not at all), and wakes its readers, handing them the
     * event. {@code before} runs first, so the stream's row, which the append locks until the commit, is
     * not also held through its round trips; when it answers false, nothing is appended (what it wrote is
     * committed) and 0 is returned.
     */
    public long appendAlone(long streamPk, NewEvent event, Jdbc.Work<Boolean> before, AfterAppend after) {
        Object[] params = event.params(streamPk);
        Object[] withData = Arrays.copyOf(params, params.length + 1);
        withData[params.length] = event.dataJson();
        record Appended(long seq, String data) {}
        Appended appended = Jdbc.inTransaction(dataSource, c -> {
            if (!before.run(c)) {
                return null;
            }
            Appended a = Tracing.statement(
                    "SELECT",
                    "append_event",
                    () -> Jdbc.one(
                                    c,
                                    "SELECT " + NewEvent.APPEND_CALL + " AS seq, " + NewEvent.COMMITTED_DATA
                                            + " AS data",
                                    rs -> new Appended(rs.getLong("seq"), rs.getString("data")),
                                    withData)
                            .orElseThrow());
            after.run(c, a.seq());
            return a;
        });
        if (appended == null) {
            return 0;
        }
        Entry entry = committed(event, appended.seq(), appended.data()); // outside the statement's span
        published(streamPk, entry);
        return entry.event().seq();
    }

    /** Wakes readers on every node: the event at {@code seq} of the stream has committed. */
    public void published(long streamPk, long seq) {
        wakeups.published(streamPk, seq);
    }

    /**
     * Wakes readers on every node: {@code committed} has committed. Readers on this node may take it as
     * it is instead of reading it back from the log.
     */
    public void published(long streamPk, Entry committed) {
        wakeups.published(streamPk, committed);
    }

    /**
     * The entry of an event this node has just appended at {@code seq}, as a read of the log returns
     * it: {@code data} is its data as the database writes it out ({@link NewEvent#COMMITTED_DATA}),
     * and the event's time is already at the database's precision (microseconds). Called on the
     * writer's thread, in the span whose trace context {@link NewEvent#params} kept with the event.
     */
    public static Entry committed(NewEvent event, long seq, String data) {
        return new Entry(
                new Event(
                        Ids.format("evt", event.id()),
                        seq,
                        event.type(),
                        event.subject(),
                        event.time(),
                        data,
                        null,
                        Tracing.traceparent()),
                event.collection());
    }

    /**
     * What a read after a position found: a page, or why that position has none. Each edge answers the
     * last two its own way (the feed with an error, a WebSocket replay with a message).
     */
    public sealed interface ReadResult permits Page, PositionExpired, PositionAhead {
        /** The page, or the position's refusal, for a reader that answers a bad position with an error. */
        default Page orRefuse() {
            return switch (this) {
                case Page page -> page;
                case PositionExpired expired ->
                    throw new Refusal.PositionExpired(expired.after(), expired.oldest(), expired.head());
                case PositionAhead ahead -> throw ahead.refusal();
            };
        }
    }

    /**
     * A page of the feed: the events, and the position to read after next. {@code full}: the page stopped
     * at its limit, at its byte bound (of data), or at the end of the positions one read looks at
     * ({@link #SCANNED}), so more events may follow at once.
     */
    public record Page(List<Event> events, long next, boolean full) implements ReadResult {}

    /** The position is older than the retention: events after it are gone; {@code oldest} is the oldest kept. */
    public record PositionExpired(long after, long oldest, long head) implements ReadResult {}

    /** The position is past the stream's newest event, {@code head}: no client was given it. */
    public record PositionAhead(long after, long head) implements ReadResult {
        public Refusal refusal() {
            return new Refusal.InvalidField(
                    "after", "position " + after + " is ahead of this stream's newest event (" + head + ")");
        }
    }

    /**
     * Reads up to {@code limit} events after {@code after} ({@code null}: from the oldest retained), and
     * no more than {@link PageBytes#MAX} bytes of their data (always at least one event).
     * {@code next} is the last event returned when the page stopped at its limit or byte bound, the last
     * position looked at when it stopped after {@link #SCANNED} of them, else the stream's head, so a
     * reader with a narrow filter moves past events it does not see. A position older than the
     * retention finds no page ({@link PositionExpired}), so the reader knows it missed events.
     */
    public ReadResult read(long streamPk, Long after, int limit, EventFilter filter) {
        return read(streamPk, after, limit, PageBytes.MAX, filter);
    }

    /** Reads like {@link #read(long, Long, int, EventFilter)}, with at most {@code maxBytes} of data. */
    public ReadResult read(long streamPk, Long after, int limit, int maxBytes, EventFilter filter) {
        Slice slice = slice(streamPk, after == null ? 0 : after, limit, maxBytes, filter);
        if (after != null && after > slice.head()) {
            return new PositionAhead(after, slice.head());
        }
        if (after != null && after < slice.first() - 1) {
            return new PositionExpired(after, slice.first(), slice.head());
        }
        return slice.page(after == null ? 0 : after, limit);
    }

    /**
     * Reads like {@link #read} for a reader that must go on whatever happened (a webhook stream): from
     * a position older than the retention it reads from the oldest event kept, and says how many
     * positions it had to pass over. Events carry their sealed secrets.
     */
    public Onward readOnward(long streamPk, long after, int limit, EventFilter filter) {
        // The events after an expired position are the oldest kept.
        Slice slice = slice(streamPk, after, limit, PageBytes.MAX, filter);
        long from = Math.max(after, slice.first() - 1);
        return new Onward(slice.page(from, limit), from - after);
    }

    /** A page, and how many expired positions were passed over to read it. */
    public record Onward(Page page, long expired) {}

    /**
     * The most positions one read looks at. A filter that lets through few events (a narrow {@code types},
     * a grant of few collections) would otherwise have a read walk from its position to the head for a
     * page it does not fill: millions of rows for one request, holding a connection of the pool the
     * writers use. A read that reaches this many ends there, full, with {@code next} past what it
     * looked at, and the reader reads on from it.
     */
    static final int SCANNED = 20_000;

    /** {@code end}: the last position the read looked at (the head, or {@link #SCANNED} past the start). */
    private record Slice(List<Event> events, long first, long head, long end, boolean cut) {
        Page page(long after, int limit) {
            if (cut || events.size() == limit) {
                return new Page(events, events.getLast().seq(), true);
            }
            if (end < head) {
                return new Page(events, Math.max(end, after), true);
            }
            return new Page(events, Math.max(head, after), false);
        }
    }

    private Slice slice(long streamPk, long after, int limit, int maxBytes, EventFilter filter) {
        List<Object> params = new ArrayList<>();
        params.add(streamPk);
        params.add(after);
        params.add(SCANNED);
        params.add(after);
        // A filter that passes nothing still reads up to the stream's head (or the end of the positions
        // scanned): the page ends there.
        String where = "stream_pk = s.pk AND seq > ? AND seq <= s.scan_end" + filter.sql("", params);
        params.add(limit);
        // The stream's head and oldest retained seq once per page: in the select list of the join, the
        // min(seq) lookup would run again for every row returned. The scan starts at the first event after
        // the position: the oldest kept when the position is older, and past the gap a restored database's
        // counters jumped (LogOrigin), which would otherwise take reads of SCANNED positions each to cross
        // (numeric: no position a client sends overflows it).
        String sql = "WITH h AS MATERIALIZED (SELECT pk, last_seq, jumped_from, jumped_to,"
                + " (SELECT min(seq) FROM events WHERE stream_pk = streams.pk) AS first_seq FROM streams WHERE pk = ?),"
                + " s AS (SELECT pk, last_seq, jumped_from, jumped_to, first_seq, least(last_seq::numeric, coalesce((SELECT min(seq)"
                + "   FROM events WHERE stream_pk = h.pk AND seq > ?), last_seq + 1) - 1 + ?)::bigint AS scan_end FROM h)"
                + " SELECT s.last_seq, s.jumped_from, s.jumped_to, s.first_seq, s.scan_end, e.id, e.seq, e.type, e.subject, e.time, e.data, e.sealed,"
                + " e.trace_context FROM s LEFT JOIN LATERAL ("
                + PageBytes.bounded(
                        "id, seq, type, subject, time, sealed, trace_context",
                        "SELECT id, seq, type, subject, time, data, data_bytes, sealed, trace_context FROM events WHERE "
                                + where
                                + " ORDER BY seq LIMIT ?",
                        "seq",
                        maxBytes)
                + ") e ON true";
        return Jdbc.withConnection(dataSource, c -> {
            try (PreparedStatement ps = Jdbc.prepare(c, sql, params.toArray());
                    ResultSet rs = ps.executeQuery()) {
                List<Event> events = new ArrayList<>();
                long head = 0;
                long first = 0;
                long end = 0;
                boolean cut = false;
                while (rs.next()) {
                    head = rs.getLong("last_seq");
                    end = rs.getLong("scan_end");
                    first = rs.getLong("first_seq");
                    if (rs.wasNull()) {
                        first = head + 1; // nothing retained: the next event is the oldest
                    }
                    first = afterTheJump(first, (Long) rs.getObject("jumped_from"), (Long) rs.getObject("jumped_to"));
                    if (rs.getObject("seq") != null && rs.getString("data") == null) {
                        cut = true; // the event past the byte bound: the page ends before it
                    } else if (rs.getObject("seq") != null) {
                        events.add(event(rs, rs.getBytes("sealed")));
                    }
                }
                return new Slice(events, first, head, end, cut);
            }
        });
    }

    /**
     * The oldest position a reader may start from without having missed an event, given the stream's
     * oldest kept event {@code first} (its head + 1 when none is kept): the positions a restored database's
     * counter jumped over (LogOrigin) held no event, so a reader anywhere from the head it jumped from on
     * has missed nothing the retention removed, though the oldest event kept is past the gap.
     */
    static long afterTheJump(long first, Long jumpedFrom, Long jumpedTo) {
        return jumpedFrom != null && first > jumpedFrom && first - 1 <= jumpedTo ? jumpedFrom + 1 : first;
    }

    /** The event of a row that selects id, seq, type, subject, time, data (as text) and trace_context. */
    private static Event event(ResultSet rs, byte[] sealed) throws SQLException {
        return new Event(
                Ids.format("evt", rs.getObject("id", UUID.class)),
                rs.getLong("seq"),
                rs.getString("type"),
                rs.getString("subject"),
                Jdbc.instant(rs, "time"),
                rs.getString("data"),
                sealed,
                rs.getString("trace_context"));
    }

    /** The position of a stream's newest event (0 when it has none). */
    public long head(long streamPk) {
        return Jdbc.withConnection(
                        dataSource,
                        c -> Jdbc.one(c, "SELECT last_seq FROM streams WHERE pk = ?", rs -> rs.getLong(1), streamPk))
                .orElseThrow(() -> new IllegalArgumentException("no stream " + streamPk));
    }

    /** An event with the collection of the record that produced it ({@code null} for other events). */
    public record Entry(Event event, String collection) {}

    /** Entries read together; {@code full}: the read stopped at its limit or its byte bound, so more may follow. */
    public record Entries(List<Entry> entries, boolean full) {}

    /**
     * Reads up to {@code limit} events after {@code after} (and no more than {@code maxBytes} of their
     * data, always at least one), unfiltered and with their collection, for a reader that filters for
     * many subscribers itself (the WebSocket hub reads each stream once).
     */
    public Entries readEntries(long streamPk, long after, int limit, int maxBytes) {
        String sql = PageBytes.bounded(
                "id, seq, type, subject, time, collection, trace_context",
                "SELECT e.id, e.seq, e.type, e.subject, e.time, e.data, e.data_bytes, e.collection, e.trace_context"
                        + " FROM events e JOIN streams s ON s.pk = e.stream_pk"
                        + " WHERE e.stream_pk = ? AND e.seq > ? AND e.seq <= s.last_seq ORDER BY e.seq LIMIT ?",
                "seq",
                maxBytes);
        List<Entry> read = Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(
                        c, sql, rs -> new Entry(event(rs, null), rs.getString("collection")), streamPk, after, limit));
        boolean cut = !read.isEmpty() && read.getLast().event().data() == null;
        List<Entry> entries = cut ? read.subList(0, read.size() - 1) : read;
        return new Entries(entries, cut || entries.size() == limit);
    }
}
