package dev.switchboard.webhooks;

import dev.switchboard.config.Durations;
import dev.switchboard.db.Jdbc;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.events.ControlMessage.WebhookChanged;
import dev.switchboard.store.Integration;
import dev.switchboard.store.IntegrationStore;
import dev.switchboard.store.PageCursor;
import dev.switchboard.support.Ids;
import dev.switchboard.support.Refusal;
import dev.switchboard.support.SecretBox;
import java.net.URI;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Webhook endpoints and their signing secrets. Creating an endpoint also creates its delivery streams:
 * one per connected tenant (events endpoints) or one on the integration's lifecycle stream, each
 * starting at its stream's newest event. Every change tells every node through the control channel
 * ({@code WebhookChanged}) so dispatchers pick it up at once.
 */
public final class EndpointStore {
    static final String COLUMNS = "e.pk, e.id, e.integration_pk, i.id AS integration_id, e.url, e.kind, e.event_types,"
            + " e.max_batch_size, e.retry_delays_ms, e.state, e.state_reason, e.failing_since, e.created_at, e.updated_at,"
            + " (SELECT count(*) FROM webhook_streams se WHERE se.endpoint_pk = e.pk AND se.errors > 0) AS streams_in_error,"
            + " le.last_error, le.last_error_at";
    /** The endpoint's latest stream error (for the API: a stuck stream shows there). */
    private static final String LAST_ERROR =
            " LEFT JOIN LATERAL (SELECT se.last_error, se.last_error_at FROM webhook_streams se"
                    + " WHERE se.endpoint_pk = e.pk AND se.last_error_at IS NOT NULL ORDER BY se.last_error_at DESC LIMIT 1) le ON true";

    static final String FROM = " FROM webhook_endpoints e JOIN integrations i ON i.pk = e.integration_pk" + LAST_ERROR;
    /** An integration may have this many endpoints: each one multiplies the delivery work. */
    public static final int MAX_PER_INTEGRATION = 20;

    private final DataSource dataSource;
    private final SecretBox secrets;
    private final ControlChannel control;

    public EndpointStore(DataSource dataSource, SecretBox secrets, ControlChannel control) {
        this.dataSource = dataSource;
        this.secrets = secrets;
        this.control = control;
    }

    /** A new endpoint and its signing secret: the only time the secret is shown. */
    public record Created(WebhookEndpoint endpoint, String secret) {}

    /**
     * The fields an update sets; null leaves one as it is. {@code retryDelays} is set when
     * {@code setRetryDelays}, to null for the server's schedule.
     */
    public record Patch(
            String url,
            List<String> eventTypes,
            Integer maxBatchSize,
            boolean setRetryDelays,
            List<Duration> retryDelays,
            WebhookEndpoint.State state) {}

    public Created create(
            Integration integration,
            WebhookUrl url,
            WebhookEndpoint.Kind kind,
            List<String> eventTypes,
            int maxBatchSize,
            List<Duration> retryDelays,
            IntegrationStore.ClientCredential credential) {
        String secret = Signer.newSecret();
        WebhookEndpoint endpoint = Jdbc.inTransaction(dataSource, c -> {
            lockIntegration(c, integration.pk());
            IntegrationStore.requireCredential(c, integration.pk(), credential);
            int existing = Jdbc.one(
                            c,
                            "SELECT count(*) FROM webhook_endpoints WHERE integration_pk = ?",
                            rs -> rs.getInt(1),
                            integration.pk())
                    .orElse(0);
            if (credential != null) {
                refuseOperatorDisabledUrl(c, integration.pk(), url);
            }
            if (existing >= MAX_PER_INTEGRATION) {
                throw new Refusal.Conflict(
                        "too_many_webhooks",
                        "integration '" + integration.id() + "' already has " + existing
                                + " webhook endpoints, the most it may have");
            }
            long pk = Jdbc.one(
                            c,
                            "INSERT INTO webhook_endpoints (id, integration_pk, url, kind, event_types,"
                                    + " max_batch_size, retry_delays_ms, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'enabled') RETURNING pk",
                            rs -> rs.getLong(1),
                            Ids.newId("wh"),
                            integration.pk(),
                            url.toString(),
                            kind.name(),
                            eventTypes,
                            maxBatchSize,
                            millis(retryDelays))
                    .orElseThrow();
            Jdbc.update(c, "INSERT INTO webhook_secrets (endpoint_pk, sealed) VALUES (?, ?)", pk, secrets.seal(secret));
            if (kind == WebhookEndpoint.Kind.events) {
                Jdbc.update(
                        c,
                        "INSERT INTO webhook_streams (endpoint_pk, stream_pk, connection_pk, position)"
                                + " SELECT ?, s.pk, c.pk, s.last_seq FROM connections c JOIN streams s ON s.tenant_pk = c.tenant_pk"
                                + " WHERE c.integration_pk = ?",
                        pk,
                        integration.pk());
            } else {
                Jdbc.update(
                        c,
                        "INSERT INTO webhook_streams (endpoint_pk, stream_pk, position)"
                                + " SELECT ?, s.pk, s.last_seq FROM streams s WHERE s.integration_pk = ?",
                        pk,
                        integration.pk());
            }
            control.publish(c, new WebhookChanged(pk));
            return load(c, pk);
        });
        return new Created(endpoint, secret);
    }

    /** Whether the endpoint follows the tenant: its integration is connected to it (enabled or not). */
    public boolean follows(long endpointPk, long tenantPk) {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.one(
                                c,
                                "SELECT 1 FROM webhook_streams ws JOIN connections c ON c.pk = ws.connection_pk"
                                        + " WHERE ws.endpoint_pk = ? AND c.tenant_pk = ? LIMIT 1",
                                rs -> true,
                                endpointPk,
                                tenantPk)
                        .isPresent());
    }

    public Optional<WebhookEndpoint> find(String id) {
        return Jdbc.withConnection(
                dataSource, c -> Jdbc.one(c, "SELECT " + COLUMNS + FROM + " WHERE e.id = ?", EndpointStore::map, id));
    }

    /** Through the caller's connection: delivery reads endpoints through its own pool, not the API's. */
    static Optional<WebhookEndpoint> find(Connection c, long pk) throws SQLException {
        return Jdbc.one(c, "SELECT " + COLUMNS + FROM + " WHERE e.pk = ?", EndpointStore::map, pk);
    }

    /**
     * Endpoints in creation order after {@code afterId} (a {@link PageCursor}: where that endpoint is, or
     * was, when it has been deleted since); of one integration, or all when {@code integrationPk} is null.
     */
    public List<WebhookEndpoint> list(Long integrationPk, String afterId, int limit) {
        long afterPk = PageCursor.after(
                afterId,
                "wh",
                id -> find(id).filter(e -> integrationPk == null || e.integrationPk() == integrationPk)
                        .map(WebhookEndpoint::pk),
                id -> Jdbc.withConnection(
                        dataSource,
                        c -> Jdbc.one(
                                        c,
                                        // COLLATE "C": ids compare as the ASCII they are, whatever the database's
                                        // collation
                                        "SELECT coalesce(max(pk), 0) FROM webhook_endpoints"
                                                + " WHERE (?::bigint IS NULL OR integration_pk = ?) AND id COLLATE \"C\" < ?",
                                        rs -> rs.getLong(1),
                                        integrationPk,
                                        integrationPk,
                                        id)
                                .orElse(0L)),
                "an endpoint id");
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(
                        c,
                        "SELECT " + COLUMNS + FROM
                                + " WHERE (?::bigint IS NULL OR e.integration_pk = ?) AND e.pk > ? ORDER BY e.pk LIMIT ?",
                        EndpointStore::map,
                        integrationPk,
                        integrationPk,
                        afterPk,
                        limit));
    }

    /**
     * Applies {@code changes}; with {@code credential} (what the integration that asked authenticated with;
     * null for the admin key) only while it is current ({@link IntegrationStore#requireCredential}).
     */
    public WebhookEndpoint update(
            WebhookEndpoint current, Patch changes, IntegrationStore.ClientCredential credential) {
        // Disabling fails the endpoint's waiting retries and tests (V27's trigger), enabling makes them due:
        // either takes its turn among the retries and tests, and the dispatcher may still be locking those
        // rows in another order.
        return Jdbc.inTransactionRetryingDeadlocks(dataSource, c -> {
            IntegrationStore.requireCredential(c, current.integrationPk(), credential);
            if (changes.state() != null) {
                MessageLog.takeManualTurn(c, current.pk());
            }
            if (changes.eventTypes() != null) {
                // Messages before the endpoint's row, the order in which recording an attempt locks them
                // (its message, then its endpoint's health): the other order deadlocked with an attempt
                // recorded meanwhile on a failing endpoint.
                forgetKeptBodies(c, "pk = ?", current.pk());
            }
            if (changes.state() == WebhookEndpoint.State.disabled) {
                lockWaitingManualMessages(c, List.of(current.pk()));
            }
            boolean operator = credential == null;
            if (changes.url() != null && !operator) {
                refuseOperatorDisabledUrl(c, current.integrationPk(), new WebhookUrl(URI.create(changes.url())));
            }
            if (changes.state() == WebhookEndpoint.State.enabled) {
                // Retries waiting their delay go now: a partner enables the endpoint once its receiver is
                // fixed, and a stream waiting out a long delay (retryDelays up to 7d) held every later event
                // of its tenant back until then. Messages and streams before the endpoint's row, as above.
                Jdbc.update(
                        c,
                        "UPDATE webhook_messages SET next_attempt_at = now() WHERE endpoint_pk = ? AND lane = 'manual'"
                                + " AND status = 'pending' AND next_attempt_at > now()",
                        current.pk());
                Jdbc.update(
                        c,
                        "UPDATE webhook_streams SET next_attempt_at = now() WHERE endpoint_pk = ? AND next_attempt_at > now()",
                        current.pk());
            }
            String state = changes.state() == null ? null : changes.state().name();
            int updated = Jdbc.update(
                    c,
                    "UPDATE webhook_endpoints SET url = coalesce(?, url), event_types = coalesce(?, event_types),"
                            + " max_batch_size = coalesce(?, max_batch_size),"
                            + " retry_delays_ms = CASE WHEN ? THEN ?::bigint[] ELSE retry_delays_ms END,"
                            + " state = coalesce(?::text, state),"
                            + " state_reason = CASE WHEN ?::text IS NULL THEN state_reason"
                            + "   WHEN ?::text = 'disabled' THEN CASE WHEN ? OR " + OPERATOR_DISABLED
                            + "     THEN 'disabled by the operator' ELSE 'disabled through the API' END ELSE NULL END,"
                            + " disabled_by_operator = CASE WHEN ?::text IS NULL THEN disabled_by_operator"
                            + "   WHEN ?::text = 'disabled' THEN ? OR " + OPERATOR_DISABLED + " ELSE false END,"
                            + " failing_since = CASE WHEN ?::text = 'enabled' THEN NULL ELSE failing_since END,"
                            + " updated_at = now() WHERE pk = ?"
                            // The integration may neither enable what the operator disabled nor give it another
                            // URL: the operator's enabling would then send where they never looked.
                            + " AND (? OR NOT " + OPERATOR_DISABLED
                            + "   OR (?::text IS DISTINCT FROM 'enabled' AND coalesce(?, url) = url))",
                    changes.url(),
                    changes.eventTypes(),
                    changes.maxBatchSize(),
                    changes.setRetryDelays(),
                    millis(changes.retryDelays()),
                    state,
                    state,
                    state,
                    operator,
                    state,
                    state,
                    operator,
                    state,
                    current.pk(),
                    operator,
                    state,
                    changes.url());
            if (updated == 0) {
                if (exists(c, current.pk())) {
                    throw operatorDisabled();
                }
                throw deleted(current); // since the request looked it up
            }
            control.publish(c, new WebhookChanged(current.pk()));
            return load(c, current.pk());
        });
    }

    /**
     * A new endpoint for the URL of one the operator disabled, or another endpoint given that URL, would undo
     * their stop, however the URL is spelled (HTTP://, %6F for o, /./, a default port, an IPv4 address
     * written as IPv6): compared as the receiver reads them.
     */
    private static void refuseOperatorDisabledUrl(Connection c, long integrationPk, WebhookUrl url)
            throws SQLException {
        if (Jdbc.query(
                        c,
                        "SELECT url FROM webhook_endpoints WHERE integration_pk = ? AND " + OPERATOR_DISABLED,
                        rs -> new WebhookUrl(URI.create(rs.getString(1))).canonical(),
                        integrationPk)
                .contains(url.canonical())) {
            throw new Refusal.Forbidden(
                    "disabled_by_operator",
                    "the operator disabled this integration's endpoint for this URL; only the operator may"
                            + " enable it, or delete it for a new one");
        }
    }

    /**
     * The operator disabled the endpoint and it is still disabled: the flag alone is not enough, since a
     * node of the previous release (V28's compatibility window) enables an endpoint without clearing it.
     */
    private static final String OPERATOR_DISABLED = "(state = 'disabled' AND disabled_by_operator)";

    private static Refusal operatorDisabled() {
        return new Refusal.Forbidden(
                "disabled_by_operator",
                "the operator disabled this endpoint; only the operator may enable it, delete it or change its URL");
    }

    static boolean exists(Connection c, long pk) throws SQLException {
        return Jdbc.one(c, "SELECT 1 FROM webhook_endpoints WHERE pk = ?", rs -> 1, pk)
                .isPresent();
    }

    /**
     * In the caller's transaction, which changes what the integration may receive: its events endpoints'
     * messages still to be sent or retried forget a body an earlier release kept when an attempt failed
     * (stream messages keep none now), so each is built again from its range of the log through the
     * filter as it is now. Kept, such a body went out again on a retry whatever the integration may no
     * longer receive.
     */
    public List<String> forgetKeptBodies(Connection c, long integrationPk) throws SQLException {
        forgetKeptBodies(c, "integration_pk = ?", integrationPk);
        return List.of();
    }

    private static void forgetKeptBodies(Connection c, String endpoints, long pk) throws SQLException {
        Jdbc.update(c, String.format(FORGET_KEPT_BODIES, endpoints), pk);
    }

    /** Read through V24's index of the few messages that keep a body, not every message of the endpoints. */
    static final String FORGET_KEPT_BODIES =
            "UPDATE webhook_messages SET body = NULL WHERE endpoint_pk IN (SELECT pk FROM webhook_endpoints WHERE %s"
                    + " AND kind = 'events') AND first_seq IS NOT NULL AND body IS NOT NULL"
                    + " AND status IN ('pending', 'failed')";

    /**
     * Disables the integration's lifecycle endpoints in the caller's transaction (its client key is being
     * rotated: an endpoint a leaked key registered would otherwise go on receiving access tokens); returns
     * their ids. Their events wait in the log: the partner re-enables its own with the new key.
     */
    public List<String> disableLifecycle(Connection c, long integrationPk) throws SQLException {
        // As a disabling through the API takes them (update): each endpoint's manual turn, its waiting
        // messages, then its row. Rows first, a rotation deadlocked with tests and attempts in flight.
        List<Long> lifecycle = Jdbc.query(
                c,
                "SELECT pk FROM webhook_endpoints WHERE integration_pk = ? AND kind = 'lifecycle'"
                        + " AND state <> 'disabled' ORDER BY pk",
                rs -> rs.getLong(1),
                integrationPk);
        for (long pk : lifecycle) {
            MessageLog.takeManualTurn(c, pk);
        }
        lockWaitingManualMessages(c, lifecycle);
        record Disabled(long pk, String id) {}
        List<Disabled> disabled = Jdbc.query(
                c,
                "UPDATE webhook_endpoints SET state = 'disabled', state_reason = 'the integration''s client key was"
                        + " rotated: re-enable it with the new key if it is yours', updated_at = now()"
                        + " WHERE integration_pk = ? AND kind = 'lifecycle' AND state <> 'disabled' RETURNING pk, id",
                rs -> new Disabled(rs.getLong("pk"), rs.getString("id")),
                integrationPk);
        for (Disabled d : disabled) {
            control.publish(c, new WebhookChanged(d.pk()));
        }
        return disabled.stream().map(Disabled::id).toList();
    }

    /**
     * Locks the waiting tests and retries of the endpoints, which disabling them fails (V27's trigger, from
     * the endpoint's row): taken before the endpoints' rows, in the order a retry of many and recording an
     * attempt take them, messages then endpoint.
     */
    private static void lockWaitingManualMessages(Connection c, List<Long> endpointPks) throws SQLException {
        Jdbc.query(
                c,
                "SELECT pk FROM webhook_messages WHERE endpoint_pk = ANY(?::bigint[]) AND lane = 'manual'"
                        + " AND status = 'pending' AND next_attempt_at IS NOT NULL ORDER BY pk FOR UPDATE",
                rs -> rs.getLong(1),
                (Object) endpointPks.toArray(Long[]::new));
    }

    /**
     * Deletes the endpoint with its streams, messages and attempts. Delivery writing to one of its
     * streams holds that stream's row and then needs the endpoint's (a new message refers to it), while
     * the delete holds the endpoint's and then needs its streams': PostgreSQL breaks such a cycle by
     * aborting one side, and the delete is then simply run again.
     */
    public void delete(WebhookEndpoint endpoint, IntegrationStore.ClientCredential credential) {
        Jdbc.inTransactionRetryingDeadlocks(dataSource, c -> {
            lockIntegration(c, endpoint.integrationPk());
            MessageLog.takeManualTurn(c, endpoint.pk());
            // Deleted and made again, it would send to the same URL the operator stopped
            if (credential != null
                    && Jdbc.one(
                                    c,
                                    "SELECT 1 FROM webhook_endpoints WHERE pk = ? AND " + OPERATOR_DISABLED,
                                    rs -> 1,
                                    endpoint.pk())
                            .isPresent()) {
                throw operatorDisabled();
            }
            // Found by the route before this lock: a delete that committed meanwhile leaves nothing here,
            // and this request did nothing (404), rather than a second 204 and a second audit entry.
            if (Jdbc.update(c, "DELETE FROM webhook_endpoints WHERE pk = ?", endpoint.pk()) == 0) {
                throw deleted(endpoint);
            }
            control.publish(c, new WebhookChanged(endpoint.pk()));
            return null;
        });
    }

    /** At most this many secrets sign a request: the current one and the two it replaced last. */
    static final int SIGNING_SECRETS = 3;

    /**
     * Makes a new signing secret the current one. The ones it replaces keep signing for {@code grace}
     * (receivers accept any signature that verifies), so partners can switch without losing a request;
     * only the {@link #SIGNING_SECRETS} newest do.
     */
    public String rotateSecret(WebhookEndpoint endpoint, Duration grace) {
        String secret = Signer.newSecret();
        Jdbc.inTransaction(dataSource, c -> {
            // Held until the commit: a delete waits for the new secret instead of breaking its insert, and
            // rotations take turns (under a shared lock, rotations at once each left their secret current).
            if (Jdbc.one(
                            c,
                            "SELECT pk FROM webhook_endpoints WHERE pk = ? FOR NO KEY UPDATE",
                            rs -> rs.getLong(1),
                            endpoint.pk())
                    .isEmpty()) {
                throw deleted(endpoint); // since the request looked it up
            }
            // Expired ones go, and so do all but the newest SIGNING_SECRETS - 1 still signing: each rotation
            // would otherwise add one more secret that every request is signed with (a client key rotating
            // in a loop made each attempt compute and carry thousands of signatures).
            Jdbc.update(
                    c,
                    "DELETE FROM webhook_secrets WHERE endpoint_pk = ? AND (expires_at <= now() OR ctid NOT IN"
                            + " (SELECT ctid FROM webhook_secrets WHERE endpoint_pk = ?"
                            + "  ORDER BY expires_at DESC NULLS FIRST, created_at DESC LIMIT ?))",
                    endpoint.pk(),
                    endpoint.pk(),
                    SIGNING_SECRETS - 1);
            Jdbc.update(
                    c,
                    "UPDATE webhook_secrets SET expires_at = now() + ? * interval '1 millisecond'"
                            + " WHERE endpoint_pk = ? AND expires_at IS NULL",
                    grace.toMillis(),
                    endpoint.pk());
            Jdbc.update(
                    c,
                    "INSERT INTO webhook_secrets (endpoint_pk, sealed) VALUES (?, ?)",
                    endpoint.pk(),
                    secrets.seal(secret));
            control.publish(c, new WebhookChanged(endpoint.pk()));
            return null;
        });
        return secret;
    }

    /** The secrets that sign requests to the endpoint now, the current one first, read on {@code c}. */
    SigningSecrets signingSecrets(Connection c, long endpointPk) throws SQLException {
        // How long each still signs, by the database's clock (which set expires_at), not this node's.
        record Row(String secret, Long expiresInMillis) {}
        List<Row> rows = Jdbc.query(
                c,
                "SELECT sealed, (extract(epoch FROM expires_at - now()) * 1000)::bigint AS expires_in"
                        + " FROM webhook_secrets"
                        + " WHERE endpoint_pk = ? AND (expires_at IS NULL OR expires_at > now())"
                        + " ORDER BY expires_at DESC NULLS FIRST, created_at DESC LIMIT " + SIGNING_SECRETS,
                rs -> new Row(secrets.open(rs.getBytes(1)), (Long) rs.getObject("expires_in")),
                endpointPk);
        Duration firstExpiresIn = rows.stream()
                .map(Row::expiresInMillis)
                .filter(java.util.Objects::nonNull)
                .min(Long::compare)
                .map(Duration::ofMillis)
                .orElse(null);
        return new SigningSecrets(rows.stream().map(Row::secret).toList(), firstExpiresIn);
    }

    /**
     * The secrets an endpoint's requests are signed with now, and how long until the first of them stops
     * signing (a rotated-out one's grace period ends; null when none will): whoever keeps them must read
     * them again then.
     */
    public record SigningSecrets(List<String> secrets, Duration firstExpiresIn) {}

    /**
     * Endpoint and connection changes of one integration take turns on the integration's row: a
     * connection created while an endpoint is created must get that endpoint's stream, whichever commits
     * first. Endpoint changes lock it exclusively, connection changes shared ({@code ConnectionStore}).
     */
    private static void lockIntegration(Connection c, long integrationPk) throws SQLException {
        Jdbc.one(c, "SELECT pk FROM integrations WHERE pk = ? FOR UPDATE", rs -> rs.getLong(1), integrationPk);
    }

    private static Refusal deleted(WebhookEndpoint endpoint) {
        return new Refusal.NotFound("webhook '" + endpoint.id() + "'");
    }

    private static WebhookEndpoint load(Connection c, long pk) throws SQLException {
        return Jdbc.one(c, "SELECT " + COLUMNS + FROM + " WHERE e.pk = ?", EndpointStore::map, pk)
                .orElseThrow();
    }

    static WebhookEndpoint map(ResultSet rs) throws SQLException {
        java.sql.Array delays = rs.getArray("retry_delays_ms");
        List<String> retryDelays = delays == null
                ? null
                : Arrays.stream((Long[]) delays.getArray())
                        .map(ms -> Durations.format(Duration.ofMillis(ms)))
                        .toList();
        return new WebhookEndpoint(
                rs.getLong("pk"),
                rs.getString("id"),
                rs.getLong("integration_pk"),
                rs.getString("integration_id"),
                rs.getString("url"),
                WebhookEndpoint.Kind.valueOf(rs.getString("kind")),
                Jdbc.strings(rs, "event_types"),
                rs.getInt("max_batch_size"),
                retryDelays,
                WebhookEndpoint.State.valueOf(rs.getString("state")),
                rs.getString("state_reason"),
                Jdbc.instant(rs, "failing_since"),
                rs.getInt("streams_in_error"),
                rs.getString("last_error"),
                Jdbc.instant(rs, "last_error_at"),
                Jdbc.instant(rs, "created_at"),
                Jdbc.instant(rs, "updated_at"));
    }

    private static Long[] millis(List<Duration> delays) {
        return delays == null ? null : delays.stream().map(Duration::toMillis).toArray(Long[]::new);
    }

    /** The endpoint's retry schedule, or null for the server's. */
    static List<Duration> retryDelays(WebhookEndpoint endpoint) {
        return endpoint.retryDelays() == null
                ? null
                : endpoint.retryDelays().stream().map(Durations::parse).toList();
    }
}
