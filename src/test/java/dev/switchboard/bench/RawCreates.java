package dev.switchboard.bench;

import dev.switchboard.store.RecordStore;
import dev.switchboard.support.Ids;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The database's ceiling for creates: exactly the statement a create runs ({@link RecordStore#CREATE_SQL}:
 * the record insert and {@code append_event}, one autocommitted statement, so one transaction), with the
 * same parameters the server binds, sent straight over JDBC on one connection per client. What the
 * server adds on top (HTTP, authentication, JSON parsing and schema validation, the pool) is the
 * difference between the two.
 */
final class RawCreates implements AutoCloseable {
    private static final String EVENT_TYPE = BenchFixture.COLLECTION + ".created";

    private final String jdbcUrl;
    private final int collectionPk;
    private final List<Connection> connections = new ArrayList<>();

    RawCreates(String jdbcUrl, int collectionPk) {
        this.jdbcUrl = jdbcUrl;
        this.collectionPk = collectionPk;
    }

    /** A client writing into {@code tenant} over a connection of its own. */
    LoadDriver.Request client(BenchFixture.Tenant tenant) {
        try {
            Connection c = DriverManager.getConnection(jdbcUrl);
            connections.add(c);
            PreparedStatement ps = c.prepareStatement(RecordStore.CREATE_SQL);
            return () -> create(ps, collectionPk, tenant);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot connect to " + jdbcUrl, e);
        }
    }

    /** Creates {@code count} records in {@code tenant} in one transaction (test data for reads). */
    static void fill(String jdbcUrl, int collectionPk, BenchFixture.Tenant tenant, int count) throws SQLException {
        try (Connection c = DriverManager.getConnection(jdbcUrl);
                PreparedStatement ps = c.prepareStatement(RecordStore.CREATE_SQL)) {
            c.setAutoCommit(false);
            for (int i = 0; i < count; i++) {
                create(ps, collectionPk, tenant);
            }
            c.commit();
        }
    }

    private static void create(PreparedStatement ps, int collectionPk, BenchFixture.Tenant tenant) throws SQLException {
        UUID id = Ids.newUuid();
        String publicId = Ids.format("rec", id);
        OffsetDateTime now = OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MICROS);
        Object[] params = {
            tenant.pk(),
            collectionPk,
            id,
            now,
            now,
            BenchFixture.DATA,
            tenant.streamPk(),
            Ids.newUuid(),
            EVENT_TYPE,
            publicId,
            BenchFixture.COLLECTION,
            now,
            thinEvent(publicId),
            null, // sealed
            null, // trace context: none, as the server keeps with tracing off (its default)
            thinEvent(publicId) // the event's data again, written out as committed
        };
        for (int i = 0; i < params.length; i++) {
            ps.setObject(i + 1, params[i]);
        }
        try (ResultSet rs = ps.executeQuery()) {
            if (!rs.next() || rs.getLong("seq") <= 0) {
                throw new IllegalStateException("the create appended no event");
            }
        }
    }

    /** The event a create appends: id, version and the collection's event fields. */
    static String thinEvent(String publicId) {
        return "{\"id\":\"" + publicId
                + "\",\"version\":1,\"state\":\"confirmed\",\"startUtc\":\"2026-12-01T14:00:00Z\"}";
    }

    @Override
    public void close() throws SQLException {
        for (Connection c : connections) {
            c.close();
        }
    }
}
