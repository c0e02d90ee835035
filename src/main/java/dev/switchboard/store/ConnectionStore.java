package dev.switchboard.store;

import dev.switchboard.db.DatabaseException;
import dev.switchboard.db.Jdbc;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.events.ControlMessage.ConnectionChanged;
import dev.switchboard.events.EventLog;
import dev.switchboard.events.NewEvent;
import dev.switchboard.support.Ids;
import dev.switchboard.support.Json;
import dev.switchboard.support.Refusal;
import dev.switchboard.support.SecretBox;
import dev.switchboard.support.Tokens;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Connections of integrations to tenants. Every change (created, enabled, disabled, deleted,
 * token_rotated) appends a lifecycle event to the integration's own stream in the same transaction,
 * and tells every node to forget what it cached about the connection, so a disabled or deleted
 * connection's token is refused at once. A new access token travels in its lifecycle event sealed.
 */
public final class ConnectionStore {
    private static final String COLUMNS =
            "c.pk, c.id, i.id AS integration_id, t.id AS tenant_id, c.state," + " c.created_at, c.updated_at";
    private static final String FROM = " FROM connections c JOIN integrations i ON i.pk = c.integration_pk"
            + " JOIN tenants t ON t.pk = c.tenant_pk";

    private final DataSource dataSource;
    private final EventLog eventLog;
    private final SecretBox secrets;
    private final InstantSource clock;
    private final ControlChannel control;

    public ConnectionStore(
            DataSource dataSource, EventLog eventLog, ControlChannel control, SecretBox secrets, InstantSource clock) {
        this.dataSource = dataSource;
        this.eventLog = eventLog;
        this.control = control;
        this.secrets = secrets;
        this.clock = clock;
    }

    /** A connection with the access token just issued: the only time the token is shown. */
    public record WithToken(IntegrationConnection connection, String accessToken) {}

    /** What an access token stands for: its connection, the integration and the tenant. */
    public record Grant(IntegrationConnection connection, Integration integration, Tenant tenant) {}

    public WithToken create(Integration integration, Tenant tenant) {
        String token = Tokens.generate(Tokens.ACCESS_TOKEN_PREFIX);
        String id = Ids.newId("con");
        try {
            return change(integration.streamPk(), c -> {
                lockIntegrationShared(c, integration.id());
                long pk = Jdbc.one(
                                c,
                                "INSERT INTO connections (id, integration_pk, tenant_pk, token_hash, state)"
                                        + " VALUES (?, ?, ?, ?, 'enabled') RETURNING pk",
                                rs -> rs.getLong(1),
                                id,
                                integration.pk(),
                                tenant.pk(),
                                Tokens.hash(token))
                        .orElseThrow();
                // The tenant's events reach each of the integration's events webhooks from now on.
                Jdbc.update(
                        c,
                        "INSERT INTO webhook_streams (endpoint_pk, stream_pk, connection_pk, position)"
                                + " SELECT e.pk, s.pk, ?, s.last_seq FROM webhook_endpoints e JOIN streams s ON s.tenant_pk = ?"
                                + " WHERE e.integration_pk = ? AND e.kind = 'events'",
                        pk,
                        tenant.pk(),
                        integration.pk());
                IntegrationConnection connection = load(c, pk);
                return new Outcome<>(new WithToken(connection, token), "connection.created", connection, token);
            });
        } catch (DatabaseException e) {
            if (e.getCause() instanceof SQLException sql && Jdbc.isUniqueViolation(sql)) {
                throw new Refusal.Conflict(
                        "already_connected",
                        "integration '" + integration.id() + "' is already connected to tenant '" + tenant.id() + "'");
            }
            throw e;
        }
    }

    public IntegrationConnection setEnabled(String id, boolean enabled) {
        IntegrationConnection.State state =
                enabled ? IntegrationConnection.State.enabled : IntegrationConnection.State.disabled;
        return changeExisting(id, (c, current) -> {
            if (current.state() == state) {
                return new Outcome<>(current, null, current, null); // already so: no event
            }
            Jdbc.update(
                    c, "UPDATE connections SET state = ?, updated_at = now() WHERE pk = ?", state.name(), current.pk());
            IntegrationConnection updated = load(c, current.pk());
            return new Outcome<>(updated, "connection." + state, updated, null);
        });
    }

    public WithToken rotateToken(String id) {
        String token = Tokens.generate(Tokens.ACCESS_TOKEN_PREFIX);
        return changeExisting(id, (c, current) -> {
            Jdbc.update(
                    c,
                    "UPDATE connections SET token_hash = ?, updated_at = now() WHERE pk = ?",
                    Tokens.hash(token),
                    current.pk());
            IntegrationConnection updated = load(c, current.pk());
            return new Outcome<>(new WithToken(updated, token), "connection.token_rotated", updated, token);
        });
    }

    public void delete(String id) {
        changeExisting(id, (c, current) -> {
            // Its webhook streams go with it (ON DELETE CASCADE); an endpoint being created waits for the
            // integration's row, which changeExisting holds.
            // Portal sessions and unopened links for this tenant of the integration have nothing left to
            // show, and must not outlive the connection that let them see it. Links first: an exchange of
            // one (link used and session created in one statement) either finds its link gone, or has
            // committed by the time the links' delete has waited for it, and its session is then deleted
            // by the next statement, which sees it. Sessions first left such a session behind.
            Jdbc.update(
                    c,
                    "DELETE FROM portal_links l USING connections n WHERE n.pk = ? AND l.used_at IS NULL"
                            + " AND l.integration_pk = n.integration_pk AND l.tenant_pk = n.tenant_pk",
                    current.pk());
            Jdbc.update(
                    c,
                    "DELETE FROM console_sessions s USING connections n WHERE n.pk = ? AND s.kind = 'portal'"
                            + " AND s.integration_pk = n.integration_pk AND s.tenant_pk = n.tenant_pk",
                    current.pk());
            Jdbc.update(c, "DELETE FROM connections WHERE pk = ?", current.pk());
            return new Outcome<>(current, "connection.deleted", current, null);
        });
    }

    public Optional<IntegrationConnection> find(String id) {
        return Jdbc.withConnection(
                dataSource, c -> Jdbc.one(c, "SELECT " + COLUMNS + FROM + " WHERE c.id = ?", ConnectionStore::map, id));
    }

    public IntegrationConnection get(String id) {
        return find(id).orElseThrow(() -> new Refusal.NotFound("connection '" + id + "'"));
    }

    /**
     * A page of the integration's connections in creation order, after the one {@code cursor} names (or
     * where it was, when it has been deleted since).
     */
    public List<IntegrationConnection> listForIntegration(String integrationId, String cursor, int limit) {
        long afterPk = PageCursor.after(
                cursor,
                "con",
                id -> find(id).filter(c -> c.integrationId().equals(integrationId))
                        .map(IntegrationConnection::pk),
                id -> Jdbc.withConnection(
                        dataSource,
                        c -> Jdbc.one(
                                        c,
                                        // COLLATE "C": ids compare as the ASCII they are, whatever the database's
                                        // collation
                                        "SELECT coalesce(max(c.pk), 0) FROM connections c JOIN integrations i"
                                                + " ON i.pk = c.integration_pk WHERE i.id = ? AND c.id COLLATE \"C\" < ?",
                                        rs -> rs.getLong(1),
                                        integrationId,
                                        id)
                                .orElse(0L)),
                "a connection id");
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(
                        c,
                        "SELECT " + COLUMNS + FROM + " WHERE i.id = ? AND c.pk > ? ORDER BY c.pk LIMIT ?",
                        ConnectionStore::map,
                        integrationId,
                        afterPk,
                        limit));
    }

    /** The grant behind an access token, whatever the connection's state (the caller checks it). */
    public Optional<Grant> findGrant(byte[] tokenHash) {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.one(
                        c,
                        "SELECT " + COLUMNS + ", i.pk AS i_pk, i.name AS i_name,"
                                + " i.read_collections, i.write_collections, i.event_types, i.created_at AS i_created_at,"
                                + " i.updated_at AS i_updated_at, si.pk AS i_stream_pk, t.pk AS t_pk, t.name AS t_name,"
                                + " t.created_at AS t_created_at, st.pk AS t_stream_pk" + FROM
                                + " JOIN streams si ON si.integration_pk = i.pk JOIN streams st ON st.tenant_pk = t.pk"
                                + " WHERE c.token_hash = ?",
                        rs -> new Grant(
                                map(rs),
                                new Integration(
                                        rs.getLong("i_pk"),
                                        rs.getString("integration_id"),
                                        rs.getString("i_name"),
                                        new Permissions(
                                                Jdbc.strings(rs, "read_collections"),
                                                Jdbc.strings(rs, "write_collections")),
                                        Jdbc.strings(rs, "event_types"),
                                        Jdbc.instant(rs, "i_created_at"),
                                        Jdbc.instant(rs, "i_updated_at"),
                                        rs.getLong("i_stream_pk")),
                                new Tenant(
                                        rs.getLong("t_pk"),
                                        rs.getString("tenant_id"),
                                        rs.getString("t_name"),
                                        Jdbc.instant(rs, "t_created_at"),
                                        rs.getLong("t_stream_pk"))),
                        (Object) tokenHash));
    }

    /** What a mutation did: its result, and the lifecycle event it records (none when {@code type} is null). */
    private record Outcome<T>(T result, String type, IntegrationConnection connection, String token) {}

    @FunctionalInterface
    private interface Mutation<T> {
        Outcome<T> apply(Connection c) throws SQLException;
    }

    @FunctionalInterface
    private interface ExistingMutation<T> {
        Outcome<T> apply(Connection c, IntegrationConnection current) throws SQLException;
    }

    private <T> T changeExisting(String id, ExistingMutation<T> mutation) {
        IntegrationConnection existing = get(id);
        long streamPk = Jdbc.withConnection(
                dataSource,
                c -> Jdbc.one(
                                c,
                                "SELECT s.pk FROM streams s JOIN integrations i ON i.pk = s.integration_pk WHERE i.id = ?",
                                rs -> rs.getLong(1),
                                existing.integrationId())
                        .orElseThrow());
        return change(streamPk, c -> {
            // The integration's row before the connection's, as every change of a connection takes them: a
            // rotation took the integration's (for its lifecycle endpoints) after the connection's, while an
            // endpoint being created holds the integration's and waits for the connection's (its streams'
            // keys), and the two deadlocked.
            lockIntegrationShared(c, existing.integrationId());
            IntegrationConnection current = Jdbc.one(
                            c, "SELECT " + COLUMNS + FROM + " WHERE c.id = ? FOR UPDATE OF c", ConnectionStore::map, id)
                    .orElseThrow(() -> new Refusal.NotFound("connection '" + id + "'"));
            return mutation.apply(c, current);
        });
    }

    private <T> T change(long lifecycleStream, Mutation<T> mutation) {
        long[] seq = {0};
        // A delete takes its streams' messages with it (V21's trigger), rows a retry or the dispatcher may
        // be locking in another order meanwhile.
        T result = Jdbc.inTransactionRetryingDeadlocks(dataSource, c -> {
            Outcome<T> change = mutation.apply(c);
            if (change.type() != null) {
                control.publish(c, new ConnectionChanged(change.connection().pk()));
                seq[0] = eventLog.append(
                        c,
                        lifecycleStream,
                        lifecycleEvent(change, change.token() != null && carried(c, lifecycleStream)));
            }
            return change.result();
        });
        if (seq[0] > 0) {
            eventLog.published(lifecycleStream, seq[0]);
        }
        return result;
    }

    /**
     * Whether a lifecycle webhook stream will send the token a change's event carries. Only the
     * lifecycle endpoints there are now do: one created later starts after this event (every change of a
     * connection holds the integration's row shared, and endpoint creation takes it exclusively, so it
     * waits for this change to commit), and a lifecycle endpoint cannot be replayed. Where none will, the
     * token is not kept at all: a sealed copy in the log could be opened, for as long as the retention
     * keeps the event, by anyone who reads the database and its sealing key (by default in the same
     * database).
     */
    private static boolean carried(Connection c, long lifecycleStream) throws SQLException {
        return Jdbc.one(c, "SELECT 1 FROM webhook_streams WHERE stream_pk = ? LIMIT 1", rs -> true, lifecycleStream)
                .isPresent();
    }

    private NewEvent lifecycleEvent(Outcome<?> outcome, boolean withToken) {
        IntegrationConnection conn = outcome.connection();
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("connectionId", conn.id());
        data.put("integrationId", conn.integrationId());
        data.put("tenantId", conn.tenantId());
        data.put("state", outcome.type().equals("connection.deleted") ? "deleted" : conn.state());
        byte[] sealed = withToken ? secrets.seal(outcome.token()) : null;
        return new NewEvent(
                Ids.newUuid(),
                outcome.type(),
                conn.id(),
                null,
                clock.instant().truncatedTo(ChronoUnit.MICROS),
                Json.write(data),
                sealed);
    }

    /**
     * Connection and webhook-endpoint changes of one integration take turns on the integration's row,
     * so a connection created while an endpoint is created still gets that endpoint's delivery stream.
     * Connections take the lock shared (they do not wait for each other), endpoints exclusively.
     */
    private static void lockIntegrationShared(Connection c, String integrationId) throws SQLException {
        Jdbc.one(c, "SELECT pk FROM integrations WHERE id = ? FOR SHARE", rs -> rs.getLong(1), integrationId);
    }

    private static IntegrationConnection load(Connection c, long pk) throws SQLException {
        return Jdbc.one(c, "SELECT " + COLUMNS + FROM + " WHERE c.pk = ?", ConnectionStore::map, pk)
                .orElseThrow();
    }

    private static IntegrationConnection map(ResultSet rs) throws SQLException {
        return new IntegrationConnection(
                rs.getLong("pk"),
                rs.getString("id"),
                rs.getString("integration_id"),
                rs.getString("tenant_id"),
                IntegrationConnection.State.valueOf(rs.getString("state")),
                Jdbc.instant(rs, "created_at"),
                Jdbc.instant(rs, "updated_at"));
    }
}
