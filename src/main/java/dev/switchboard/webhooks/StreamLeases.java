package dev.switchboard.webhooks;

import dev.switchboard.db.Jdbc;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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

    /** Which streams to look at: those following some event streams, of one endpoint or integration, retries due, or all. */
    record Scope(String condition, Object parameter) {
        static Scope eventStreams(List<Long> streamPks) {
            return new Scope(" AND ws.stream_pk = ANY(?::bigint[])", streamPks.toArray(Long[]::new));
        }

        static Scope endpoint(long endpointPk) {
            return new Scope(" AND ws.endpoint_pk = ?", endpointPk);
        }

        static Scope integration(long integrationPk) {
            return new Scope(" AND e.integration_pk = ?", integrationPk);
        }

        static Scope retriesDue() {
            return new Scope(" AND ws.next_attempt_at <= now()", null);
        }

        static Scope all() {
            return new Scope("", null);
        }
    }

    /** A stream this node now holds: its pk, the event stream it follows, its endpoint and the endpoint's integration. */
    record Claimed(long pk, long eventStreamPk, long endpointPk, long integrationPk) {}

    /**
     * How many more streams this node may take: in all, and of one endpoint or one integration (pk →
     * streams it may still take; {@code endpointDefault} or {@code integrationDefault} for those not
     * listed, which have none in flight). The last {@code reserve} of the total go only to integrations
     * with none in flight, one stream each.
     */
    record Room(
            int total,
            Map<Long, Integer> endpoints,
            int endpointDefault,
            Map<Long, Integer> integrations,
            int integrationDefault,
            int reserve) {
        int endpoint(long pk) {
            return endpoints.getOrDefault(pk, endpointDefault);
        }

        int integration(long pk) {
            return integrations.getOrDefault(pk, integrationDefault);
        }

        private static Long[] full(Map<Long, Integer> room) {
            return room.entrySet().stream()
                    .filter(e -> e.getValue() <= 0)
                    .map(Map.Entry::getKey)
                    .toArray(Long[]::new);
        }
    }

    /**
     * Claims up to {@code room.total()} streams with work in {@code scope}, no more of one endpoint or
     * one integration than {@code room} allows. Streams of full endpoints and integrations are not even
     * candidates, so a slow integration's waiting streams cannot crowd the others out of a claim; see
     * {@link #choose} for the order among the rest.
     *
     * <p>Nor are the streams this node's workers still run ({@code running}), whatever their lease says.
     * Such a worker paused past its lease (another node may have delivered the stream meanwhile and moved
     * its position), or gave its lease up and has not left yet (a retry due at once). A claim renewing the
     * lease under it would let a stale worker go on from where it was, re-sending what the other node
     * sent, or leave the stream leased here with no worker until the lease ran out. Left alone, the
     * worker either goes on under a lease still its own or finds its next write refused and stops, and the
     * stream is claimed once it has.
     */
    List<Claimed> claim(Scope scope, Room room, Collection<Long> running) {
        if (room.total() <= 0) {
            return List.of();
        }
        List<Object> params = new ArrayList<>(
                List.of(running.toArray(Long[]::new), Room.full(room.endpoints()), Room.full(room.integrations())));
        if (scope.parameter() != null) {
            params.add(scope.parameter());
        }
        params.add(room.total() * 4);
        return Jdbc.inTransaction(dataSource, c -> {
            List<Claimed> candidates = Jdbc.query(
                    c,
                    "SELECT ws.pk, ws.stream_pk, ws.endpoint_pk, e.integration_pk" + CLAIMABLE
                            + " AND ws.pk <> ALL(?::bigint[])"
                            + " AND ws.endpoint_pk <> ALL(?::bigint[]) AND e.integration_pk <> ALL(?::bigint[])"
                            + scope.condition()
                            // Longest since its last turn first: streams beyond an integration's share take turns.
                            + " ORDER BY ws.claimed_at NULLS FIRST LIMIT ? FOR UPDATE OF ws SKIP LOCKED",
                    rs -> new Claimed(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4)),
                    params.toArray());
            List<Claimed> chosen = choose(candidates, room);
            if (!chosen.isEmpty()) {
                Jdbc.update(
                        c,
                        "UPDATE webhook_streams SET leased_by = ?, claimed_at = now(),"
                                + " lease_until = now() + ?::bigint * interval '1 millisecond' WHERE pk = ANY(?::bigint[])",
                        nodeId,
                        leaseTime.toMillis(),
                        chosen.stream().map(Claimed::pk).toArray(Long[]::new));
            }
            return chosen;
        });
    }

    /**
     * Which candidates to take: one stream per integration in turn, starting with the integrations
     * with the most room left (the fewest streams in flight here), within the room of each endpoint and
     * integration and the node's. Candidates of one integration keep their order. The last free streams
     * ({@code room.reserve()}) go only to integrations with none in flight, one each: integrations whose
     * endpoints are all slow may each hold their share, yet two of them cannot fill the node between
     * them, and an integration that has an event to send finds a free stream.
     */
    static List<Claimed> choose(List<Claimed> candidates, Room room) {
        Map<Long, ArrayDeque<Claimed>> byIntegration = new LinkedHashMap<>();
        for (Claimed candidate : candidates) {
            byIntegration
                    .computeIfAbsent(candidate.integrationPk(), pk -> new ArrayDeque<>())
                    .add(candidate);
        }
        Map<Long, Integer> endpointLeft = new HashMap<>();
        Map<Long, Integer> integrationLeft = new HashMap<>();
        byIntegration.keySet().forEach(pk -> integrationLeft.put(pk, room.integration(pk)));
        List<Long> turns = new ArrayList<>(byIntegration.keySet());
        turns.sort(Comparator.comparing(integrationLeft::get, Comparator.reverseOrder()));
        List<Claimed> chosen = new ArrayList<>();
        Set<Long> given = new HashSet<>(); // integrations given a stream by this claim
        boolean took = true;
        while (took && chosen.size() < room.total()) {
            took = false;
            for (Long integrationPk : turns) {
                if (chosen.size() >= room.total() || integrationLeft.get(integrationPk) <= 0) {
                    continue;
                }
                boolean noneInFlight =
                        !room.integrations().containsKey(integrationPk) && !given.contains(integrationPk);
                if (chosen.size() >= room.total() - room.reserve() && !noneInFlight) {
                    continue;
                }
                ArrayDeque<Claimed> waiting = byIntegration.get(integrationPk);
                while (!waiting.isEmpty()) {
                    Claimed candidate = waiting.poll();
                    int left = endpointLeft.computeIfAbsent(candidate.endpointPk(), room::endpoint);
                    if (left > 0) {
                        chosen.add(candidate);
                        given.add(integrationPk);
                        endpointLeft.put(candidate.endpointPk(), left - 1);
                        integrationLeft.merge(integrationPk, -1, Integer::sum);
                        took = true;
                        break;
                    }
                }
            }
        }
        return chosen;
    }

    /**
     * Whether a stream of {@code integrationPk} (any of its endpoints) could be claimed now but for room:
     * a busy stream holding its slot longer than {@link StreamWorker#YIELD_AFTER_TIME} gives it up only
     * then.
     */
    boolean othersWaiting(long integrationPk) {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.one(
                                c,
                                "SELECT EXISTS (SELECT 1" + CLAIMABLE + " AND e.integration_pk = ?)",
                                rs -> rs.getBoolean(1),
                                integrationPk)
                        .orElse(false));
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
        return Jdbc.withConnection(dataSource, c -> target(c, streamPk, false));
    }

    /** What the stream delivers to, whatever the state of its endpoint and connection ({@code anyState}), or only when it may deliver now. */
    static Optional<DeliveryTarget> target(Connection c, long streamPk, boolean anyState) throws SQLException {
        return Jdbc.one(
                c,
                "SELECT ws.pk AS ws_pk, ws.stream_pk, ws.connection_pk, t.id AS tenant_id, i.event_types AS i_event_types,"
                        + " i.read_collections, " + EndpointStore.COLUMNS
                        + EndpointStore.FROM + " JOIN webhook_streams ws ON ws.endpoint_pk = e.pk"
                        + " LEFT JOIN connections c ON c.pk = ws.connection_pk LEFT JOIN tenants t ON t.pk = c.tenant_pk"
                        + " WHERE ws.pk = ? AND (? OR (e.state <> 'disabled' AND (ws.connection_pk IS NULL OR c.state = 'enabled')))",
                rs -> new DeliveryTarget(
                        rs.getLong("ws_pk"),
                        rs.getLong("stream_pk"),
                        (Long) rs.getObject("connection_pk"),
                        EndpointStore.map(rs),
                        rs.getString("tenant_id"),
                        Jdbc.strings(rs, "i_event_types"),
                        DeliveryTarget.readable(Jdbc.strings(rs, "read_collections"))),
                streamPk,
                anyState);
    }
}
