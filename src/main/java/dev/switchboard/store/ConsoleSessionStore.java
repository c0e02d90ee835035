package dev.switchboard.store;

import dev.switchboard.db.Jdbc;
import dev.switchboard.support.Ids;
import dev.switchboard.support.Refusal;
import dev.switchboard.support.Tokens;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import javax.sql.DataSource;

/**
 * Console and portal sessions, and the single-use portal links that open portal sessions. Rows in
 * PostgreSQL, so every node knows them; only SHA-256 hashes of the cookie values and link tokens are
 * stored. Times come from the server's clock, so idle expiry is the same on every node that shares it.
 */
public final class ConsoleSessionStore {
    /** However often it is used, a session ends this long after it was opened. */
    public static final Duration ABSOLUTE_LIFETIME = Duration.ofHours(24);
    /** The most a session's idle expiry may lag behind its last request (see {@link #touch}). */
    private static final Duration MAX_TOUCH_STEP = Duration.ofMinutes(1);
    /** Expired rows removed per sign-in or link, so the tables stay small without a background job. */
    private static final int PRUNE_BATCH = 100;

    private static final String COLUMNS = "s.id, s.kind, s.integration_pk, i.id AS integration_id,"
            + " i.name AS integration_name, s.tenant_pk, t.id AS tenant_id, s.capabilities, s.idle_expires_at,"
            + " s.absolute_expires_at";
    private static final String FROM = " FROM console_sessions s LEFT JOIN integrations i ON i.pk = s.integration_pk"
            + " LEFT JOIN tenants t ON t.pk = s.tenant_pk";

    /**
     * Whether a session row may stand for its principal: one the admin key opened (an operator session,
     * or a portal session through a link the admin key made) only if that is the admin key now; a portal
     * session through a link a client key made always (rotating that key deletes it).
     */
    private static final String ITS_KEY =
            " AND (s.admin_key_mac = ? OR (s.kind = 'portal' AND s.admin_key_mac IS NULL))";

    private final DataSource dataSource;
    private final InstantSource clock;
    private final byte[] adminKeyMac;

    /**
     * {@code adminKeyMac}: a keyed hash of the admin key, kept on each operator session: a session opened
     * with an earlier key (one the operator changed because it leaked) is refused like a signed-out one.
     */
    public ConsoleSessionStore(DataSource dataSource, InstantSource clock, byte[] adminKeyMac) {
        this.dataSource = dataSource;
        this.clock = clock;
        this.adminKeyMac = adminKeyMac.clone();
    }

    /** A new session and the cookie value that names it (shown only to the browser it is set in). */
    public record Opened(ConsoleSession session, String cookie) {}

    /** A new portal link: the token goes into the link's URL fragment, only its hash is kept. */
    public record Link(String id, String token, Instant expiresAt) {}

    /** Opens an operator session (the caller has checked the admin key). */
    public Opened openOperator(Duration idleTimeout) {
        String cookie = Tokens.generate(Tokens.SESSION_PREFIX);
        Instant now = now();
        String id = Ids.newId("ses");
        return Jdbc.inTransaction(dataSource, c -> {
            prune(c, now);
            Jdbc.update(
                    c,
                    "INSERT INTO console_sessions (id, token_hash, kind, admin_key_mac, created_at,"
                            + " idle_expires_at, absolute_expires_at) VALUES (?, ?, 'operator', ?, ?, ?, ?)",
                    id,
                    Tokens.hash(cookie),
                    adminKeyMac,
                    now,
                    now.plus(idleTimeout),
                    now.plus(ABSOLUTE_LIFETIME));
            return new Opened(load(c, id).orElseThrow(), cookie);
        });
    }

    /**
     * Creates a single-use link to a portal session for the integration (and tenant, if given); with
     * {@code credential} (what the integration that asked authenticated with; null for the admin key) only
     * while it is current ({@link IntegrationStore#requireCredential}).
     */
    public Link createLink(
            Integration integration,
            Tenant tenant,
            Set<Capability> capabilities,
            Duration ttl,
            IntegrationStore.ClientCredential credential) {
        String token = Tokens.generate(Tokens.PORTAL_LINK_PREFIX);
        Instant now = now();
        Instant expiresAt = now.plus(ttl);
        String id = Ids.newId("pl");
        Jdbc.inTransaction(dataSource, c -> {
            IntegrationStore.requireCredential(c, integration.pk(), credential);
            // Held until the link is written: a connection deleted meanwhile either waits for this link,
            // and deletes it, or is gone before it is written.
            if (tenant != null
                    && Jdbc.one(
                                    c,
                                    "SELECT 1 FROM connections WHERE integration_pk = ? AND tenant_pk = ? FOR KEY SHARE",
                                    rs -> 1,
                                    integration.pk(),
                                    tenant.pk())
                            .isEmpty()) {
                throw notConnected(integration.id(), tenant.id());
            }
            prune(c, now);
            return Jdbc.update(
                    c,
                    "INSERT INTO portal_links (id, token_hash, integration_pk, tenant_pk, capabilities, created_at,"
                            + " expires_at, admin_key_mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    id,
                    Tokens.hash(token),
                    integration.pk(),
                    tenant == null ? null : tenant.pk(),
                    names(capabilities),
                    now,
                    expiresAt,
                    credential == null ? adminKeyMac : null);
        });
        return new Link(id, token, expiresAt);
    }

    /** The refusal of a link for a tenant the integration has no connection to (whether the tenant exists or not). */
    public static Refusal notConnected(String integrationId, String tenantId) {
        return new Refusal.InvalidField(
                "tenantId", "integration '" + integrationId + "' has no connection to a tenant '" + tenantId + "'");
    }

    /**
     * Exchanges a portal link's token for a session, once: the link is marked used and the session
     * created in one statement, whose {@code used_at IS NULL} condition lets exactly one of two
     * concurrent exchanges through (the second waits for the first's row lock, then finds it used).
     * A used link is 410 {@code link_already_used}, an expired one 410 {@code link_expired}, an unknown
     * one 404 {@code link_not_found}.
     */
    public Opened exchangeLink(String token, Duration idleTimeout) {
        byte[] linkHash = Tokens.hash(token);
        String cookie = Tokens.generate(Tokens.SESSION_PREFIX);
        Instant now = now();
        String id = Ids.newId("ses");
        return Jdbc.inTransaction(dataSource, c -> {
            // The integration first, then its link, in the order a client-key rotation takes them (it updates
            // the integration, then deletes the links): taken the other way round (the link, then the
            // integration for the session's foreign key), the two deadlocked and the rotation failed.
            Jdbc.query(
                    c,
                    "SELECT 1 FROM integrations WHERE pk = (SELECT integration_pk FROM portal_links WHERE token_hash = ?)"
                            + " FOR KEY SHARE",
                    rs -> 1,
                    linkHash);
            int opened = Jdbc.update(
                    c,
                    "WITH l AS (UPDATE portal_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
                            + " AND expires_at > ? AND (admin_key_mac IS NULL OR admin_key_mac = ?)"
                            + " RETURNING id, integration_pk, tenant_pk, capabilities, admin_key_mac)"
                            + " INSERT INTO console_sessions (id, token_hash, kind, integration_pk, tenant_pk,"
                            + " capabilities, link_id, created_at, idle_expires_at, absolute_expires_at, admin_key_mac)"
                            + " SELECT ?, ?, 'portal', l.integration_pk, l.tenant_pk, l.capabilities, l.id, ?, ?, ?,"
                            + " l.admin_key_mac FROM l",
                    now,
                    linkHash,
                    now,
                    adminKeyMac,
                    id,
                    Tokens.hash(cookie),
                    now,
                    now.plus(idleTimeout),
                    now.plus(ABSOLUTE_LIFETIME));
            if (opened == 0) {
                record State(Instant usedAt, Instant expiresAt, boolean earlierAdminKey) {}
                Optional<State> link = Jdbc.one(
                        c,
                        "SELECT used_at, expires_at, admin_key_mac IS DISTINCT FROM ? AND admin_key_mac IS NOT NULL"
                                + " AS earlier_admin_key FROM portal_links WHERE token_hash = ?",
                        rs -> new State(
                                Jdbc.instant(rs, "used_at"),
                                Jdbc.instant(rs, "expires_at"),
                                rs.getBoolean("earlier_admin_key")),
                        adminKeyMac,
                        linkHash);
                if (link.isEmpty()) {
                    throw new Refusal.NotFound("link_not_found", "this portal link");
                }
                if (link.get().usedAt() != null) {
                    throw new Refusal.Gone(
                            "link_already_used", "this link was already used; ask for a new portal link");
                }
                if (link.get().earlierAdminKey()) {
                    throw new Refusal.Gone(
                            "link_revoked",
                            "this link was made with an admin key that has since been changed; ask for a new"
                                    + " portal link");
                }
                throw new Refusal.Gone("link_expired", "this link has expired; ask for a new portal link");
            }
            return new Opened(load(c, id).orElseThrow(), cookie);
        });
    }

    /**
     * The live session whose cookie hashes to {@code cookieHash}, its idle expiry moved to
     * {@code idleTimeout} from now. The row is written only when that moves the expiry by more than a
     * tenth of the timeout (at most a minute): an expiry that much early at worst, and a page's burst of
     * requests costs reads only.
     */
    public Optional<ConsoleSession> touch(byte[] cookieHash, Duration idleTimeout) {
        Instant now = now();
        Instant idleUntil = now.plus(idleTimeout);
        return Jdbc.withConnection(dataSource, c -> {
            Optional<ConsoleSession> found = Jdbc.one(
                    c,
                    "SELECT " + COLUMNS + FROM
                            + " WHERE s.token_hash = ? AND s.idle_expires_at > ? AND s.absolute_expires_at > ?"
                            + ITS_KEY,
                    ConsoleSessionStore::map,
                    cookieHash,
                    now,
                    now,
                    adminKeyMac);
            if (found.isEmpty()) {
                return found;
            }
            ConsoleSession s = found.get();
            Instant extended = idleUntil.isBefore(s.absoluteExpiresAt()) ? idleUntil : s.absoluteExpiresAt();
            Duration step = idleTimeout.dividedBy(10).compareTo(MAX_TOUCH_STEP) < 0
                    ? idleTimeout.dividedBy(10)
                    : MAX_TOUCH_STEP;
            if (extended.isAfter(s.idleExpiresAt().plus(step))) {
                Jdbc.update(
                        c,
                        "UPDATE console_sessions SET idle_expires_at = ? WHERE id = ? AND idle_expires_at < ?",
                        extended,
                        s.id(),
                        extended);
                s = new ConsoleSession(
                        s.id(),
                        s.kind(),
                        s.integrationPk(),
                        s.integrationId(),
                        s.integrationName(),
                        s.tenantPk(),
                        s.tenantId(),
                        s.capabilities(),
                        extended,
                        s.absoluteExpiresAt());
            }
            return Optional.of(s);
        });
    }

    /** Which of these sessions are live now (not signed out, not expired, not of an earlier admin key); reads only. */
    public Set<String> live(Set<String> sessionIds) {
        Instant now = now();
        return Jdbc.withConnection(
                dataSource,
                c -> Set.copyOf(Jdbc.query(
                        c,
                        "SELECT s.id FROM console_sessions s WHERE s.id = ANY(?::text[]) AND s.idle_expires_at > ?"
                                + " AND s.absolute_expires_at > ?" + ITS_KEY,
                        rs -> rs.getString(1),
                        sessionIds.toArray(String[]::new),
                        now,
                        now,
                        adminKeyMac)));
    }

    /**
     * Signs a session out: its cookie no longer works on any node. False when it was no longer there (signed
     * out meanwhile, by a request with the same cookie that got here first).
     */
    public boolean delete(String sessionId) {
        return Jdbc.withConnection(
                        dataSource, c -> Jdbc.update(c, "DELETE FROM console_sessions WHERE id = ?", sessionId))
                == 1;
    }

    private Optional<ConsoleSession> load(Connection c, String id) throws SQLException {
        return Jdbc.one(c, "SELECT " + COLUMNS + FROM + " WHERE s.id = ?", ConsoleSessionStore::map, id);
    }

    /** Removes a batch of sessions and links past their expiry (links a day after, so "already used" is told meanwhile). */
    private static void prune(Connection c, Instant now) throws SQLException {
        Jdbc.update(
                c,
                "DELETE FROM console_sessions WHERE id IN (SELECT id FROM console_sessions"
                        + " WHERE idle_expires_at < ? OR absolute_expires_at < ? LIMIT " + PRUNE_BATCH + ")",
                now,
                now);
        Jdbc.update(
                c,
                "DELETE FROM portal_links WHERE id IN (SELECT id FROM portal_links WHERE expires_at < ? LIMIT "
                        + PRUNE_BATCH + ")",
                now.minus(Duration.ofDays(1)));
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

    private static String[] names(Set<Capability> capabilities) {
        return capabilities.stream().map(Capability::name).sorted().toArray(String[]::new);
    }

    private static ConsoleSession map(ResultSet rs) throws SQLException {
        Set<Capability> capabilities = EnumSet.noneOf(Capability.class);
        List<String> names = Jdbc.strings(rs, "capabilities");
        names.forEach(n -> Capability.parse(n).ifPresent(capabilities::add));
        return new ConsoleSession(
                rs.getString("id"),
                ConsoleSession.Kind.valueOf(rs.getString("kind")),
                (Long) rs.getObject("integration_pk"),
                rs.getString("integration_id"),
                rs.getString("integration_name"),
                (Long) rs.getObject("tenant_pk"),
                rs.getString("tenant_id"),
                capabilities,
                Jdbc.instant(rs, "idle_expires_at"),
                Jdbc.instant(rs, "absolute_expires_at"));
    }
}
