package dev.switchboard.reliability;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The whole content of a server's database, table by table (every table the migrations made, so new
 * ones are covered without a change here): row count and a digest of every row. Two equal snapshots
 * mean nothing was written in between. Lease columns are left out: webhook workers renew and release
 * leases on their own, which changes no data; so is {@code delivery_stats}, which each node writes once
 * a minute from counts kept in memory. So are a deleted endpoint's messages and attempts, and its note,
 * which retention deletes on its own schedule (V29).
 */
final class DatabaseSnapshot implements AutoCloseable {
    private static final String ROW = "(to_jsonb(t) - 'leased_by' - 'lease_until')::text";
    /** Rows of deleted endpoints that retention deletes whenever it runs, left out. */
    private static final Map<String, String> LIVE = Map.of(
            "webhook_messages",
            " WHERE EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.pk = t.endpoint_pk)",
            "webhook_attempts",
            " WHERE EXISTS (SELECT 1 FROM webhook_messages m JOIN webhook_endpoints e ON e.pk = m.endpoint_pk"
                    + " WHERE m.pk = t.message_pk)");

    private final Connection connection;
    private final String sql;

    DatabaseSnapshot(String jdbcUrl) throws SQLException {
        this.connection = DriverManager.getConnection(jdbcUrl);
        List<String> parts = new ArrayList<>();
        try (Statement s = connection.createStatement();
                ResultSet rs = s.executeQuery(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'flyway_schema_history'"
                                // the console's delivery counts: each node writes its minute's counts on its own
                                + " AND tablename <> 'delivery_stats' AND tablename <> 'deleted_webhook_endpoints'"
                                + " ORDER BY tablename")) {
            while (rs.next()) {
                String table = rs.getString(1);
                parts.add("SELECT '" + table + "' AS t, count(*) || ' rows ' || coalesce(md5(string_agg(" + ROW
                        + ", '|'" + " ORDER BY " + ROW + ")), '') AS digest FROM " + table + " t"
                        + LIVE.getOrDefault(table, ""));
            }
        }
        this.sql = String.join(" UNION ALL ", parts);
    }

    /** Table → "N rows digest". */
    Map<String, String> take() throws SQLException {
        Map<String, String> tables = new TreeMap<>();
        try (Statement s = connection.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                tables.put(rs.getString(1), rs.getString(2));
            }
        }
        return tables;
    }

    /** The tables that differ, with before → after. */
    static Map<String, String> diff(Map<String, String> before, Map<String, String> after) {
        Map<String, String> changed = new LinkedHashMap<>();
        after.forEach((table, digest) -> {
            if (!digest.equals(before.get(table))) {
                changed.put(table, before.get(table) + " → " + digest);
            }
        });
        return changed;
    }

    /**
     * The webhook work still outstanding that could write, each described; empty when idle: messages due
     * within 10 s, and streams behind their event stream's head or asked to replay, on endpoints that
     * are not disabled, for connections that are enabled (delivery leaves the others' streams waiting).
     */
    List<String> webhooksBusy() throws SQLException {
        List<String> busy = new ArrayList<>();
        try (Statement s = connection.createStatement();
                ResultSet rs = s.executeQuery(
                        "SELECT 'message ' || m.id || ' of ' || e.id || ': ' || m.status || ', lane '"
                                + "   || m.lane || ', attempts ' || m.attempts || ', next attempt ' || coalesce(m.next_attempt_at::text, '-')"
                                + "   FROM webhook_messages m JOIN webhook_endpoints e ON e.pk = m.endpoint_pk"
                                + "   WHERE m.status = 'pending' AND e.state <> 'disabled'"
                                + "   AND m.next_attempt_at < now() + interval '10 seconds'"
                                + " UNION ALL SELECT 'stream ' || ws.pk || ' of ' || e.id || ' (' || e.state || '): position ' || ws.position"
                                + "   || ' of ' || s.last_seq || ', message ' || coalesce(ws.message_id::text, '-') || ', rewind '"
                                + "   || coalesce(ws.rewind_to::text, '-') || ', next attempt ' || coalesce(ws.next_attempt_at::text, '-')"
                                + "   || ', leased by ' || coalesce(ws.leased_by, '-') || ' until ' || coalesce(ws.lease_until::text, '-')"
                                + "   || ', errors ' || ws.errors || ' ' || coalesce(ws.last_error, '')"
                                + "   FROM webhook_streams ws JOIN streams s ON s.pk = ws.stream_pk"
                                + "   JOIN webhook_endpoints e ON e.pk = ws.endpoint_pk"
                                // a disabled connection's streams wait until it is enabled, as delivery leaves them
                                + "   LEFT JOIN connections c ON c.pk = ws.connection_pk"
                                + "   WHERE e.state <> 'disabled' AND (ws.connection_pk IS NULL OR c.state = 'enabled')"
                                + "   AND coalesce(ws.next_attempt_at, now()) < now() + interval '10 seconds'"
                                + "   AND (ws.position < s.last_seq OR ws.rewind_to IS NOT NULL OR ws.message_id IS NOT NULL)")) {
            while (rs.next()) {
                busy.add(rs.getString(1));
            }
        }
        return busy;
    }

    @Override
    public void close() throws SQLException {
        connection.close();
    }
}
