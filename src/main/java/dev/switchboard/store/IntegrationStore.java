package dev.switchboard.store;

import dev.switchboard.db.Jdbc;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.events.ControlMessage.IntegrationChanged;
import dev.switchboard.support.Ids;
import dev.switchboard.support.Refusal;
import dev.switchboard.support.Tokens;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/** Integrations: partner applications with their client keys (stored hashed) and permissions. */
public final class IntegrationStore {
    private static final String COLUMNS = "i.pk, i.id, i.name, i.read_collections, i.write_collections, i.event_types,"
            + " i.created_at, i.updated_at, s.pk AS stream_pk";
    private static final String FROM = " FROM integrations i JOIN streams s ON s.integration_pk = i.pk";

    private final DataSource dataSource;
    private final ControlChannel control;

    public IntegrationStore(DataSource dataSource, ControlChannel control) {
        this.dataSource = dataSource;
        this.control = control;
    }

    /** An integration just created, with its client key: the only time the key is shown. */
    public record Created(Integration integration, String clientKey) {}

    public Created create(String name, Permissions permissions, List<String> eventTypes) {
        String clientKey = Tokens.generate(Tokens.CLIENT_KEY_PREFIX);
        Integration integration = Jdbc.inTransaction(dataSource, c -> {
            long pk = Jdbc.one(
                            c,
                            "INSERT INTO integrations (id, name, client_key_hash, read_collections,"
                                    + " write_collections, event_types) VALUES (?, ?, ?, ?, ?, ?) RETURNING pk",
                            rs -> rs.getLong(1),
                            Ids.newId("int"),
                            name,
                            Tokens.hash(clientKey),
                            permissions.read(),
                            permissions.write(),
                            eventTypes)
                    .orElseThrow();
            Jdbc.update(c, "INSERT INTO streams (integration_pk) VALUES (?)", pk);
            return Jdbc.one(c, "SELECT " + COLUMNS + FROM + " WHERE i.pk = ?", IntegrationStore::map, pk)
                    .orElseThrow();
        });
        return new Created(integration, clientKey);
    }

    public Optional<Integration> find(String id) {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.one(c, "SELECT " + COLUMNS + FROM + " WHERE i.id = ?", IntegrationStore::map, id));
    }

    public Integration get(String id) {
        return find(id).orElseThrow(() -> new Refusal.NotFound("integration '" + id + "'"));
    }

    public Optional<Integration> findByClientKeyHash(byte[] hash) {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.one(
                        c, "SELECT " + COLUMNS + FROM + " WHERE i.client_key_hash = ?", IntegrationStore::map, (Object)
                                hash));
    }

    /** Integrations in creation order after the one with id {@code after} (a {@link PageCursor}). */
    public List<Integration> list(String after, int limit) {
        long afterPk = PageCursor.after(after, id -> find(id).map(Integration::pk), "an integration id");
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(
                        c,
                        "SELECT " + COLUMNS + FROM + " WHERE i.pk > ? ORDER BY i.pk LIMIT ?",
                        IntegrationStore::map,
                        afterPk,
                        limit));
    }

    /**
     * Changes name, permissions or event types (null leaves one as it is); every node re-reads it. When
     * permissions or event types are given, {@code whatItReceives} runs in the same transaction.
     */
    public Integration update(
            String id,
            String name,
            Permissions permissions,
            List<String> eventTypes,
            AlsoInTransaction whatItReceives) {
        return Jdbc.inTransaction(dataSource, c -> {
            Integration current = Jdbc.one(
                            c,
                            "SELECT " + COLUMNS + FROM + " WHERE i.id = ? FOR UPDATE OF i",
                            IntegrationStore::map,
                            id)
                    .orElseThrow(() -> new Refusal.NotFound("integration '" + id + "'"));
            Permissions p = permissions == null ? current.permissions() : permissions;
            Jdbc.update(
                    c,
                    "UPDATE integrations SET name = ?, read_collections = ?, write_collections = ?,"
                            + " event_types = ?, updated_at = now() WHERE pk = ?",
                    name == null ? current.name() : name,
                    p.read(),
                    p.write(),
                    eventTypes == null ? current.eventTypes() : eventTypes,
                    current.pk());
            if (permissions != null || eventTypes != null) {
                whatItReceives.run(c, current.pk());
            }
            control.publish(c, new IntegrationChanged(current.pk()));
            return Jdbc.one(c, "SELECT " + COLUMNS + FROM + " WHERE i.pk = ?", IntegrationStore::map, current.pk())
                    .orElseThrow();
        });
    }

    /**
     * What a change an integration asks for must still find current as it is written: the client key it
     * carried (its hash), or the portal session it came through, which stands for the key that made its
     * link and ends with that key's rotation.
     */
    public sealed interface ClientCredential {
        record Key(byte[] hash) implements ClientCredential {}

        record PortalSession(String id) implements ClientCredential {}
    }

    /**
     * In the caller's transaction, before a change an integration asked for: refuses it (401) when its
     * {@code credential} is no longer current (the key was rotated, or the portal session ended with the
     * rotation), and otherwise holds the integration's row until the commit. A rotation under way is
     * waited for, so a request authenticated just before it (or on a node that has not heard of it yet)
     * cannot leave behind a portal link or an enabled endpoint that the rotation's clean-up never saw.
     * Null (the admin key) checks nothing.
     */
    public static void requireCredential(Connection c, long integrationPk, ClientCredential credential)
            throws SQLException {
        switch (credential) {
            case null -> {}
            case ClientCredential.Key key -> {
                if (Jdbc.one(
                                c,
                                "SELECT pk FROM integrations WHERE pk = ? AND client_key_hash = ? FOR SHARE",
                                rs -> rs.getLong(1),
                                integrationPk,
                                key.hash())
                        .isEmpty()) {
                    throw new Refusal.Unauthenticated("the client key was rotated; use the integration's new one");
                }
            }
            case ClientCredential.PortalSession session -> {
                Jdbc.one(c, "SELECT pk FROM integrations WHERE pk = ? FOR SHARE", rs -> rs.getLong(1), integrationPk);
                // A statement of its own, so its snapshot is taken once the lock is granted: one statement
                // joining the session would be checked again after a rotation only for the locked row.
                if (Jdbc.one(
                                c,
                                "SELECT 1 FROM console_sessions WHERE id = ? AND integration_pk = ?",
                                rs -> rs.getInt(1),
                                session.id(),
                                integrationPk)
                        .isEmpty()) {
                    throw new Refusal.Unauthenticated(
                            "the portal session has ended (signed out, expired, or ended by a rotation of the"
                                    + " integration's client key); open a new portal link");
                }
            }
        }
    }

    /** What one transaction does besides a change of the integration {@code integrationPk}. */
    @FunctionalInterface
    public interface AlsoInTransaction {
        List<String> run(Connection c, long integrationPk) throws SQLException;
    }

    /** A rotated client key, shown once, and what the rotation revoked with the old key. */
    public record Rotated(Integration integration, String clientKey, List<String> revoked) {}

    /**
     * Replaces the integration's client key: the old one is refused at once on every node. {@code revoke}
     * runs in the same transaction, so what the old key set up (its lifecycle endpoints) is revoked in
     * the same instant the key is, leaving no moment in which either works without the other.
     */
    public Rotated rotateClientKey(String id, AlsoInTransaction revoke) {
        String clientKey = Tokens.generate(Tokens.CLIENT_KEY_PREFIX);
        // Disabling the lifecycle endpoints fails their waiting tests and retries (V27's trigger), rows the
        // dispatcher may be claiming in another order meanwhile: a deadlock's victim here runs again.
        return Jdbc.inTransactionRetryingDeadlocks(dataSource, c -> {
            long pk = Jdbc.one(
                            c,
                            "UPDATE integrations SET client_key_hash = ?, updated_at = now() WHERE id = ? RETURNING pk",
                            rs -> rs.getLong(1),
                            Tokens.hash(clientKey),
                            id)
                    .orElseThrow(() -> new Refusal.NotFound("integration '" + id + "'"));
            control.publish(c, new IntegrationChanged(pk));
            // A key is rotated because it leaked: portal links and sessions may have been made with it, and
            // each would keep what the key gave (enabling again the lifecycle endpoints disabled below).
            Jdbc.update(c, "DELETE FROM portal_links WHERE integration_pk = ? AND used_at IS NULL", pk);
            Jdbc.update(c, "DELETE FROM console_sessions WHERE kind = 'portal' AND integration_pk = ?", pk);
            List<String> revoked = revoke.run(c, pk);
            Integration integration = Jdbc.one(
                            c, "SELECT " + COLUMNS + FROM + " WHERE i.pk = ?", IntegrationStore::map, pk)
                    .orElseThrow();
            return new Rotated(integration, clientKey, List.copyOf(revoked));
        });
    }

    static Integration map(ResultSet rs) throws SQLException {
        return new Integration(
                rs.getLong("pk"),
                rs.getString("id"),
                rs.getString("name"),
                new Permissions(Jdbc.strings(rs, "read_collections"), Jdbc.strings(rs, "write_collections")),
                Jdbc.strings(rs, "event_types"),
                Jdbc.instant(rs, "created_at"),
                Jdbc.instant(rs, "updated_at"),
                rs.getLong("stream_pk"));
    }
}
