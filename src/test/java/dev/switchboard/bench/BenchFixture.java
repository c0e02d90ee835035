package dev.switchboard.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the benchmark writes to and reads from, set up through the admin API as an operator would: a
 * {@code reservations} collection with a JSON Schema and two event fields; one busy tenant, one tenant
 * per client, and a tenant whose log the feed reader reads; one integration per client (read and write
 * {@code reservations}, receive {@code reservations.*}), connected to the busy tenant and to the
 * client's own tenant, so every client has its own access tokens.
 */
record BenchFixture(int collectionPk, Tenant busy, List<Tenant> own, Tenant feed) {
    static final String COLLECTION = "reservations";
    static final String COLLECTION_JSON = """
            {"name":"reservations","eventFields":["state","startUtc"],"schema":{"type":"object",
             "required":["state","startUtc"],"properties":{
               "state":{"type":"string","enum":["confirmed","checked_in","checked_out","cancelled"]},
               "startUtc":{"type":"string"},"endUtc":{"type":"string"},
               "guest":{"type":"object","properties":{"name":{"type":"string"},"email":{"type":"string"}}},
               "room":{"type":"string"},"adults":{"type":"integer","minimum":1}}}}""";
    /** A record's data, as stored (compact). */
    static final String DATA = "{\"state\":\"confirmed\",\"startUtc\":\"2026-12-01T14:00:00Z\","
            + "\"endUtc\":\"2026-12-03T10:00:00Z\",\"guest\":{\"name\":\"Ada Lovelace\",\"email\":\"ada@example.com\"},"
            + "\"room\":\"101\",\"adults\":2}";
    /** The body of a create. */
    static final String CREATE_BODY = "{\"data\":" + DATA + "}";

    /** A tenant: its public id, row key and event stream, and one access token per client with a connection to it. */
    record Tenant(String id, long pk, long streamPk, List<String> tokens) {
        String token(int client) {
            return tokens.get(client % tokens.size());
        }
    }

    static BenchFixture create(BenchHttp http, String adminKey, Connection db, int clients) throws Exception {
        http.expect(201, "POST", "/api/v1/collections", adminKey, COLLECTION_JSON);
        List<String> busyTokens = new ArrayList<>();
        List<Tenant> own = new ArrayList<>();
        String feedToken = null;
        createTenant(http, adminKey, "busy");
        createTenant(http, adminKey, "feed");
        for (int i = 0; i < clients; i++) {
            String tenantId = "tenant-%02d".formatted(i + 1);
            createTenant(http, adminKey, tenantId);
            String integration = Json.read(http.expect(
                            201,
                            "POST",
                            "/api/v1/integrations",
                            adminKey,
                            Json.write(Map.of(
                                    "name", "client-" + (i + 1),
                                    "permissions", Map.of("read", List.of(COLLECTION), "write", List.of(COLLECTION)),
                                    "eventTypes", List.of(COLLECTION + ".*")))))
                    .get("id")
                    .asText();
            busyTokens.add(connect(http, adminKey, integration, "busy"));
            own.add(tenant(db, tenantId, List.of(connect(http, adminKey, integration, tenantId))));
            if (i == 0) {
                feedToken = connect(http, adminKey, integration, "feed");
            }
        }
        int collectionPk = one(db, "SELECT pk FROM collections WHERE name = ?", COLLECTION, rs -> rs.getInt(1));
        return new BenchFixture(
                collectionPk, tenant(db, "busy", busyTokens), own, tenant(db, "feed", List.of(feedToken)));
    }

    private static void createTenant(BenchHttp http, String adminKey, String id) throws Exception {
        http.expect(201, "POST", "/api/v1/tenants", adminKey, Json.write(Map.of("id", id, "name", id)));
    }

    private static String connect(BenchHttp http, String adminKey, String integration, String tenant) throws Exception {
        JsonNode connection = Json.read(http.expect(
                201,
                "POST",
                "/api/v1/integrations/" + integration + "/connections",
                adminKey,
                Json.write(Map.of("tenantId", tenant))));
        return connection.get("accessToken").asText();
    }

    private static Tenant tenant(Connection db, String id, List<String> tokens) throws SQLException {
        return one(
                db,
                "SELECT t.pk, s.pk FROM tenants t JOIN streams s ON s.tenant_pk = t.pk WHERE t.id = ?",
                id,
                rs -> new Tenant(id, rs.getLong(1), rs.getLong(2), List.copyOf(tokens)));
    }

    private interface Row<T> {
        T map(ResultSet rs) throws SQLException;
    }

    private static <T> T one(Connection db, String sql, String param, Row<T> row) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement(sql)) {
            ps.setString(1, param);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new IllegalStateException("not found: " + sql + " [" + param + "]");
                }
                return row.map(rs);
            }
        }
    }
}
