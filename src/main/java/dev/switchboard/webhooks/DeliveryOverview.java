package dev.switchboard.webhooks;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.switchboard.db.Jdbc;
import dev.switchboard.db.LogOrigin;
import dev.switchboard.support.Ids;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;

/**
 * What the console shows of delivery, read from the rows delivery keeps: an endpoint's streams (one per
 * tenant, or the integration's lifecycle stream) with their position and lag, and the whole server at a
 * glance, failing and disabled endpoints first. Reads only; nothing here is on the delivery path.
 */
public final class DeliveryOverview {
    /** Endpoints listed by the overview at most, the ones needing attention first. */
    static final int OVERVIEW_ENDPOINTS = 200;

    private final DataSource dataSource;

    public DeliveryOverview(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /**
     * One stream of an endpoint. {@code state}: {@code caught_up} (nothing to send), {@code behind}
     * (events to send, no message in flight), {@code delivering} (a message before its first answer),
     * {@code retrying} (a message that failed and waits for {@code nextAttemptAt}), {@code paused} (its
     * connection is disabled) or {@code disabled} (the endpoint is). {@code lagEvents} and {@code lagSeconds}: how many events
     * wait, and the age of the oldest (events the retention removed before they were sent do not wait).
     * {@code retriesWaiting}: failed messages of the stream retried through the API and not sent again yet,
     * which go one at a time beside the stream's own messages (a stream caught up may still have them).
     */
    @JsonPropertyOrder({
        "tenantId",
        "connectionId",
        "state",
        "position",
        "head",
        "lagEvents",
        "lagSeconds",
        "retriesWaiting",
        "messageId",
        "attempts",
        "nextAttemptAt",
        "lastError",
        "lastErrorAt"
    })
    public record Stream(
            String tenantId,
            String connectionId,
            String state,
            long position,
            long head,
            long lagEvents,
            Double lagSeconds,
            long retriesWaiting,
            String messageId,
            Integer attempts,
            Instant nextAttemptAt,
            String lastError,
            Instant lastErrorAt) {}

    /**
     * {@link #streams}' statement. Its parameters: the endpoint (twice), the tenant (twice), the tenant id
     * after which the page starts (twice), the page's size. The retried messages waiting are counted once
     * for the endpoint, through the index of waiting manual messages (as every node's claim reads them),
     * not through each stream's every retried message, which a stream retried again and again keeps by
     * the thousand.
     */
    static final String STREAMS = "WITH retried AS MATERIALIZED (SELECT webhook_stream_pk, count(*) AS waiting"
            + " FROM webhook_messages WHERE lane = 'manual' AND next_attempt_at IS NOT NULL"
            + " AND status = 'pending' AND endpoint_pk = ? AND webhook_stream_pk IS NOT NULL"
            + " GROUP BY webhook_stream_pk)"
            + " SELECT ws.tenant_id, ws.connection_id, ws.connection_state, e.state AS endpoint_state,"
            + " ws.position, s.last_seq AS head, ws.next_attempt_at, ws.message_id, m.attempts,"
            + " oldest.seq AS oldest_seq, extract(epoch FROM (now() - oldest.time)) AS lag_seconds,"
            + " coalesce("
            + LogOrigin.eventsAfterSql("ws.stream_pk", "(oldest.seq - 1)", "s.last_seq", "s.jumped_from")
            + ", 0) AS lag_events,"
            + " coalesce(a.error, ws.last_error) AS last_error, coalesce(r.waiting, 0) AS retries_waiting,"
            + " CASE WHEN a.error IS NOT NULL THEN a.started_at ELSE ws.last_error_at END AS last_error_at"
            + " FROM (SELECT ws.pk, ws.endpoint_pk, ws.stream_pk, ws.position, ws.next_attempt_at,"
            + "   ws.message_id, ws.last_error, ws.last_error_at, t.id AS tenant_id, cn.id AS connection_id,"
            + "   cn.state AS connection_state FROM webhook_streams ws"
            + "   LEFT JOIN connections cn ON cn.pk = ws.connection_pk LEFT JOIN tenants t ON t.pk = cn.tenant_pk"
            + "   WHERE ws.endpoint_pk = ? AND (?::bigint IS NULL OR cn.tenant_pk = ?)"
            + "   AND (?::text IS NULL OR t.id > ?) ORDER BY t.id NULLS FIRST LIMIT ?) ws"
            + " JOIN webhook_endpoints e ON e.pk = ws.endpoint_pk"
            + " JOIN streams s ON s.pk = ws.stream_pk"
            + " LEFT JOIN webhook_messages m ON m.id = ws.message_id"
            + " LEFT JOIN retried r ON r.webhook_stream_pk = ws.pk"
            // The oldest event not yet sent: the one after the position, unless the
            // retention removed it (what is kept is an unbroken run up to the head).
            + " LEFT JOIN LATERAL (SELECT ev.seq, ev.time FROM events ev WHERE ev.stream_pk = ws.stream_pk"
            + "   AND ev.seq > ws.position ORDER BY ev.seq LIMIT 1) oldest ON true"
            + " LEFT JOIN LATERAL (SELECT coalesce(wa.error, wa.outcome || coalesce(' ' || wa.status_code, ''))"
            + "   AS error, wa.started_at FROM webhook_attempts wa WHERE wa.message_pk = m.pk"
            + "   ORDER BY wa.n DESC LIMIT 1) a ON true"
            + " ORDER BY ws.tenant_id NULLS FIRST";

    /**
     * A page of the endpoint's streams, by tenant, after the tenant {@code afterTenantId} (null: from the
     * first); {@code tenantPk} non-null keeps that tenant's only. The page is chosen before anything is
     * looked up for its streams (their messages, attempts and lag): an integration connected to a hundred
     * thousand tenants made one request look up each of them and answer with all.
     */
    public List<Stream> streams(WebhookEndpoint endpoint, Long tenantPk, String afterTenantId, int limit) {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(
                        c,
                        STREAMS,
                        rs -> {
                            long position = rs.getLong("position");
                            long head = rs.getLong("head");
                            Long oldest = (Long) rs.getObject("oldest_seq");
                            java.util.UUID message = rs.getObject("message_id", java.util.UUID.class);
                            int attempts = rs.getInt("attempts");
                            String state;
                            if ("disabled".equals(rs.getString("endpoint_state"))) {
                                state = "disabled";
                            } else if ("disabled".equals(rs.getString("connection_state"))) {
                                state = "paused";
                            } else if (message != null) {
                                state = attempts > 0 ? "retrying" : "delivering";
                            } else {
                                state = oldest != null ? "behind" : "caught_up";
                            }
                            Double lag = oldest == null ? null : Math.max(0, rs.getDouble("lag_seconds"));
                            return new Stream(
                                    rs.getString("tenant_id"),
                                    rs.getString("connection_id"),
                                    state,
                                    position,
                                    head,
                                    Math.max(0, rs.getLong("lag_events")),
                                    lag,
                                    rs.getLong("retries_waiting"),
                                    message == null ? null : Ids.format(WebhookMessage.ID_PREFIX, message),
                                    message == null ? null : attempts,
                                    message == null ? null : Jdbc.instant(rs, "next_attempt_at"),
                                    rs.getString("last_error"),
                                    Jdbc.instant(rs, "last_error_at"));
                        },
                        endpoint.pk(),
                        endpoint.pk(),
                        tenantPk,
                        tenantPk,
                        afterTenantId,
                        afterTenantId,
                        limit));
    }

    /** An endpoint as the overview lists it. */
    @JsonPropertyOrder({"id", "url", "integrationId", "integrationName", "kind", "state", "lastError", "lagEvents"})
    public record EndpointSummary(
            String id,
            String url,
            String integrationId,
            String integrationName,
            String kind,
            String state,
            String lastError,
            long lagEvents) {}

    /** Counts of everything, and the endpoints with failing and disabled ones first. */
    public record Overview(
            long tenants,
            long integrations,
            Map<String, Long> connections,
            Map<String, Long> endpoints,
            List<EndpointSummary> endpointList) {}

    public Overview overview() {
        return Jdbc.withConnection(dataSource, c -> {
            long[] counts = Jdbc.one(
                            c, "SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM integrations)", rs ->
                                    new long[] {rs.getLong(1), rs.getLong(2)})
                    .orElseThrow();
            Map<String, Long> connections = new LinkedHashMap<>();
            connections.put("enabled", 0L);
            connections.put("disabled", 0L);
            Jdbc.query(c, "SELECT state, count(*) FROM connections GROUP BY state", rs -> {
                connections.put(rs.getString(1), rs.getLong(2));
                return null;
            });
            Map<String, Long> endpoints = new LinkedHashMap<>();
            for (WebhookEndpoint.State state : WebhookEndpoint.State.values()) {
                endpoints.put(state.name(), 0L);
            }
            Jdbc.query(c, "SELECT state, count(*) FROM webhook_endpoints GROUP BY state", rs -> {
                endpoints.put(rs.getString(1), rs.getLong(2));
                return null;
            });
            List<EndpointSummary> list = Jdbc.query(
                    c,
                    "SELECT e.id, e.url, i.id AS integration_id, i.name AS integration_name, e.kind, e.state,"
                            + " coalesce(e.state_reason, (SELECT se.last_error FROM webhook_streams se WHERE se.endpoint_pk = e.pk"
                            + "   AND se.errors > 0 ORDER BY se.last_error_at DESC LIMIT 1)) AS last_error,"
                            // Events the retention removed are not waiting: what is kept is an unbroken run up to the
                            // head.
                            + " coalesce((SELECT sum("
                            + LogOrigin.eventsAfterSql("ws.stream_pk", "f.position", "s.last_seq", "s.jumped_from")
                            + ") FROM webhook_streams ws JOIN streams s ON s.pk = ws.stream_pk"
                            + "   CROSS JOIN LATERAL (SELECT greatest(ws.position, coalesce((SELECT min(ev.seq) - 1"
                            + "   FROM events ev WHERE ev.stream_pk = ws.stream_pk), s.last_seq)) AS position) f"
                            + "   WHERE ws.endpoint_pk = e.pk), 0) AS lag"
                            + " FROM webhook_endpoints e JOIN integrations i ON i.pk = e.integration_pk"
                            + " ORDER BY CASE e.state WHEN 'failing' THEN 0 WHEN 'disabled' THEN 1 ELSE 2 END, lag DESC, e.pk"
                            + " LIMIT " + OVERVIEW_ENDPOINTS,
                    rs -> new EndpointSummary(
                            rs.getString("id"),
                            rs.getString("url"),
                            rs.getString("integration_id"),
                            rs.getString("integration_name"),
                            rs.getString("kind"),
                            rs.getString("state"),
                            rs.getString("last_error"),
                            rs.getLong("lag")));
            return new Overview(counts[0], counts[1], connections, endpoints, list);
        });
    }
}
