package dev.switchboard.store;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.switchboard.db.DatabaseException;
import dev.switchboard.db.Jdbc;
import dev.switchboard.support.Ids;
import dev.switchboard.support.Refusal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/** Tenants and their event streams. Tenants never change once created, so lookups are cached. */
public final class TenantStore {
    /** The longest tenant id. */
    public static final int MAX_ID_LENGTH = 64;
    /** Operators may bring their own tenant ids (their customer ids), within this alphabet. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:-]{0," + (MAX_ID_LENGTH - 1) + "}");

    private static final String COLUMNS = "t.pk, t.id, t.name, t.created_at, s.pk AS stream_pk";

    private final DataSource dataSource;
    private final Cache<String, Tenant> byId = Caffeine.newBuilder()
            .maximumSize(100_000)
            .expireAfterAccess(Duration.ofMinutes(10))
            .build();

    public TenantStore(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public Tenant create(String id, String name) {
        String tenantId = id == null ? Ids.newId("ten") : id;
        String tenantName = name == null ? tenantId : name;
        if (!ID.matcher(tenantId).matches()) {
            throw new Refusal.InvalidField(
                    "id",
                    "must be 1-" + MAX_ID_LENGTH
                            + " letters, digits, '_', '.', ':' or '-', starting with a letter or digit");
        }
        try {
            return Jdbc.inTransaction(dataSource, c -> {
                long pk = Jdbc.one(
                                c,
                                "INSERT INTO tenants (id, name) VALUES (?, ?) RETURNING pk",
                                rs -> rs.getLong(1),
                                tenantId,
                                tenantName)
                        .orElseThrow();
                Jdbc.update(c, "INSERT INTO streams (tenant_pk) VALUES (?)", pk);
                return Jdbc.one(
                                c,
                                "SELECT " + COLUMNS
                                        + " FROM tenants t JOIN streams s ON s.tenant_pk = t.pk WHERE t.pk = ?",
                                TenantStore::map,
                                pk)
                        .orElseThrow();
            });
        } catch (DatabaseException e) {
            if (e.getCause() instanceof SQLException sql && Jdbc.isUniqueViolation(sql)) {
                throw new Refusal.Conflict("tenant_exists", "a tenant with id '" + tenantId + "' already exists");
            }
            throw e;
        }
    }

    public Optional<Tenant> find(String id) {
        Tenant cached = byId.getIfPresent(id);
        if (cached != null) {
            return Optional.of(cached);
        }
        Optional<Tenant> found = Jdbc.withConnection(
                dataSource,
                c -> Jdbc.one(
                        c,
                        "SELECT " + COLUMNS + " FROM tenants t JOIN streams s ON s.tenant_pk = t.pk WHERE t.id = ?",
                        TenantStore::map,
                        id));
        found.ifPresent(t -> byId.put(id, t));
        return found;
    }

    public Tenant get(String id) {
        return find(id).orElseThrow(() -> new Refusal.NotFound("tenant '" + id + "'"));
    }

    /** Tenants in creation order after the tenant with id {@code after} (a {@link PageCursor}). */
    public List<Tenant> list(String after, int limit) {
        long afterPk = PageCursor.after(after, id -> find(id).map(Tenant::pk), "a tenant id");
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(
                        c,
                        "SELECT " + COLUMNS + " FROM tenants t JOIN streams s ON s.tenant_pk = t.pk"
                                + " WHERE t.pk > ? ORDER BY t.pk LIMIT ?",
                        TenantStore::map,
                        afterPk,
                        limit));
    }

    private static Tenant map(ResultSet rs) throws SQLException {
        return new Tenant(
                rs.getLong("pk"),
                rs.getString("id"),
                rs.getString("name"),
                Jdbc.instant(rs, "created_at"),
                rs.getLong("stream_pk"));
    }
}
