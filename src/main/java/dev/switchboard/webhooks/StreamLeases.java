package dev.switchboard.webhooks;

import dev.switchboard.db.Jdbc;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * Leases on webhook streams, in the database, so that several nodes share the streams and each is
 * sent by one node at a time. A node claims streams that have work and no live lease with
 * {@code FOR UPDATE SKIP LOCKED} (nodes never wait on each other), renews its leases while it is
 * alive, and releases them when a stream goes idle. A node that dies simply stops renewing: its
 * streams are claimable again when the lease time has passed. All times are the database's.
 */
public final class StreamLeases {
    /** A stream with work: not disabled, lease free, and a retry due, an attempt to finish, or events past its position. */
    private static final String CLAIMABLE = " FROM webhook_streams ws"
            + " JOIN webhook_endpoints e ON e.pk = ws.endpoint_pk"
            + " JOIN streams s ON s.pk = ws.stream_pk"
            + " LEFT JOIN connections c ON c.pk = ws.connection_pk"
            + " WHERE e.state <> 'disabled' AND (ws.connection_pk IS NULL OR c.state = 'enabled')"
            + " AND (ws.lease_until IS NULL OR ws.lease_until < now())"
            + " AND (ws.next_attempt_at <= now()"
            // a message whose sender died mid-attempt (its retry time is set only while a retry waits)
            + "      OR (ws.message_id IS NOT NULL AND ws.next_attempt_at IS NULL)"
            // events to send, unless a worker error holds the stream back until next_attempt_at
            + "      OR (ws.message_id IS NULL AND ws.next_attempt_at IS NULL"
            + "          AND (ws.position < s.last_seq OR ws.rewind_to IS NOT NULL)))";
    /** The first wait after a worker error; each further error in a row doubles it, up to {@link #MAX_ERROR_BACKOFF}. */
    static final Duration FIRST_ERROR_BACKOFF = Duration.ofSeconds(1);

    static final Duration MAX_ERROR_BACKOFF = Duration.ofMinutes(5);

    private final DataSource dataSource;
    private final String nodeId;
    private final Duration leaseTime;

    public StreamLeases(DataSource dataSource, String nodeId, Duration leaseTime) {
        this.dataSource = dataSource;
        this.nodeId = nodeId;
        this.leaseTime = leaseTime;
    }

    /** Which streams to look at: those following some event streams, of one endpoint, retries due, or all. */
    record Scope(String condition, Object parameter) {
        static Scope eventStreams(List<Long> streamPks) {
            return new Scope(" AND ws.stream_pk = ANY(?::bigint[])", streamPks.toArray(Long[]::new));
        }

        static Scope endpoint(long endpointPk) {
            return new Scope(" AND ws.endpoint_pk = ?", endpointPk);
        }

        static Scope retriesDue() {
            return new Scope(" AND ws.next_attempt_at <= now()", null);
        }

        static Scope all() {
            return new Scope("", null);
        }
    }

    /** A stream this node now holds: its pk, the event stream it follows and its endpoint. */
    record Claimed(long pk, long eventStreamPk, long endpointPk) {}

    /**
     * Claims up to {@code limit} streams with work in {@code scope}, taking no more streams of one
     * endpoint than {@code endpointRoom} allows (endpoint pk → streams this node may still take,
     * {@code defaultRoom} for endpoints not listed).
     */
    List<Claimed> claim(Scope scope, int limit, Map<Long, Integer> endpointRoom, int defaultRoom) {
        if (limit <= 0) {
            return List.of();
        }
        Object[] params =
                scope.parameter() == null ? new Object[] {limit * 4} : new Object[] {scope.parameter(), limit * 4};
        return Jdbc.inTransaction(dataSource, c -> {
            List<Claimed> candidates = Jdbc.query(
                    c,
                    "SELECT ws.pk, ws.stream_pk, ws.endpoint_pk" + CLAIMABLE + scope.condition()
                            + " LIMIT ? FOR UPDATE OF ws SKIP LOCKED",
                    rs -> new Claimed(rs.getLong(1), rs.getLong(2), rs.getLong(3)),
                    params);
            Map<Long, Integer> room = new HashMap<>(endpointRoom);
            List<Claimed> chosen = new ArrayList<>();
            for (Claimed candidate : candidates) {
                int left = room.getOrDefault(candidate.endpointPk(), defaultRoom);
                if (left > 0 && chosen.size() < limit) {
                    chosen.add(candidate);
                    room.put(candidate.endpointPk(), left - 1);
                }
            }
            if (!chosen.isEmpty()) {
                Jdbc.update(
                        c,
                        "UPDATE webhook_streams SET leased_by = ?,"
                                + " lease_until = now() + ?::bigint * interval '1 millisecond' WHERE pk = ANY(?::bigint[])",
                        nodeId,
                        leaseTime.toMillis(),
                        chosen.stream().map(Claimed::pk).toArray(Long[]::new));
            }
            return chosen;
        });
    }

    void release(long streamPk) {
        Jdbc.withConnection(
                dataSource,
                c -> Jdbc.update(
                        c,
                        "UPDATE webhook_streams SET leased_by = NULL, lease_until = NULL"
                                + " WHERE pk = ? AND leased_by = ?",
                        streamPk,
                        nodeId));
    }

    /** What a worker error did to a stream: its errors in a row, the endpoint's id, and how long until it may be claimed again. */
    record BackedOff(int errors, String endpointId, Duration delay) {}

    /**
     * Releases a stream after a worker error, holding it back for a wait that doubles with each error in
     * a row (so a stream that fails every time costs a claim every few minutes, not a busy loop), and
     * records the error for the endpoint's state. Empty when the lease is no longer this node's.
     */
    Optional<BackedOff> backOff(long streamPk, String error) {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.one(
                        c,
                        "UPDATE webhook_streams ws SET leased_by = NULL,"
                                + " lease_until = NULL, errors = ws.errors + 1, last_error = ?, last_error_at = now(),"
                                + " next_attempt_at = now() + least(?::bigint * power(2, least(ws.errors, 30)), ?::bigint)"
                                + "   * interval '1 millisecond'"
                                + " FROM webhook_endpoints e WHERE e.pk = ws.endpoint_pk AND ws.pk = ? AND ws.leased_by = ?"
                                + " RETURNING ws.errors, e.id, (extract(epoch FROM ws.next_attempt_at - now()) * 1000)::bigint",
                        rs -> new BackedOff(rs.getInt(1), rs.getString(2), Duration.ofMillis(rs.getLong(3))),
                        error,
                        FIRST_ERROR_BACKOFF.toMillis(),
                        MAX_ERROR_BACKOFF.toMillis(),
                        streamPk,
                        nodeId));
    }

    /** Releases every lease this node holds (at shutdown). */
    int releaseAll() {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.update(
                        c,
                        "UPDATE webhook_streams" + " SET leased_by = NULL, lease_until = NULL WHERE leased_by = ?",
                        nodeId));
    }

    /** The stream's cursor as this node, holding its lease, sees it; empty when the lease is no longer this node's. */
    record Cursor(long position, UUID messageId, Long rewindTo) {}

    Optional<Cursor> cursor(long streamPk) {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.one(
                        c,
                        "SELECT position, message_id, rewind_to"
                                + " FROM webhook_streams WHERE pk = ? AND leased_by = ?",
                        rs -> new Cursor(rs.getLong(1), rs.getObject(2, UUID.class), (Long) rs.getObject(3)),
                        streamPk,
                        nodeId));
    }

    /** What the stream delivers to, or empty when it may not deliver now (disabled, deleted, connection off). */
    Optional<DeliveryTarget> target(long streamPk) {
        return Jdbc.withConnection(dataSource, c -> target(c, streamPk));
    }

    private static Optional<DeliveryTarget> target(Connection c, long streamPk) throws SQLException {
        return Jdbc.one(
                c,
                "SELECT ws.pk AS ws_pk, ws.stream_pk, ws.connection_pk, t.id AS tenant_id, i.event_types AS i_event_types,"
                        + " i.read_collections, " + EndpointStore.COLUMNS
                        + EndpointStore.FROM + " JOIN webhook_streams ws ON ws.endpoint_pk = e.pk"
                        + " LEFT JOIN connections c ON c.pk = ws.connection_pk LEFT JOIN tenants t ON t.pk = c.tenant_pk"
                        + " WHERE ws.pk = ? AND e.state <> 'disabled' AND (ws.connection_pk IS NULL OR c.state = 'enabled')",
                rs -> {
                    List<String> read = Jdbc.strings(rs, "read_collections");
                    return new DeliveryTarget(
                            rs.getLong("ws_pk"),
                            rs.getLong("stream_pk"),
                            (Long) rs.getObject("connection_pk"),
                            EndpointStore.map(rs),
                            rs.getString("tenant_id"),
                            Jdbc.strings(rs, "i_event_types"),
                            read.contains("*") ? null : read);
                },
                streamPk);
    }
}
