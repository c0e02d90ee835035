package dev.switchboard.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/** A freshly migrated database whose records table fills before autovacuum has analyzed it. */
class TableStatisticsTest {
    /** How RecordStore reads one record (planned here with values, as the driver's statements are at first). */
    private static final String LOOKUP = "SELECT id FROM records WHERE tenant_pk = 1 AND collection_pk = 1"
            + " AND id = '01900000-0000-7000-8000-000000000000'";

    @Test
    void aTableThatHoldsDataButNeverHadStatisticsIsAnalyzedOnceSoLookupsUseThePrimaryKey() throws SQLException {
        try (Database database = TestDatabase.open()) {
            DataSource ds = database.dataSource();
            TableStatistics statistics = new TableStatistics(ds);
            Jdbc.withConnection(ds, c -> {
                Jdbc.update(c, "INSERT INTO tenants (id, name) VALUES ('ten_a', 'A')");
                Jdbc.update(c, "INSERT INTO collections (name, source) VALUES ('rooms', 'api')");
                return Jdbc.update(
                        c,
                        "INSERT INTO records (tenant_pk, collection_pk, id, version, created_at, updated_at, data)"
                                + " SELECT 1, 1, gen_random_uuid(), 1, now(), now(), jsonb_build_object('n', n)"
                                + " FROM generate_series(1, 3000) n");
            });
            assertThat(reltuples(ds, "records")).as("never analyzed").isNegative();

            assertThat(statistics.runOnce()).containsExactly("records");

            assertThat(reltuples(ds, "records")).isEqualTo(3000);
            assertThat(plan(ds)).as("a lookup of one record").contains("records_pkey");

            // pg_upgrade carries no statistics over: the next node to start analyzes the table again,
            // while a node that has analyzed it once leaves it alone (its analyze may not have been allowed).
            Jdbc.withConnection(
                    ds, c -> Jdbc.update(c, "DELETE FROM pg_statistic WHERE starelid = 'records'::regclass"));
            assertThat(columnsWithStatistics(ds)).isZero();
            assertThat(statistics.runOnce()).as("the node that analyzed it").isEmpty();
            assertThat(new TableStatistics(ds).runOnce()).as("the next node").containsExactly("records");
            assertThat(columnsWithStatistics(ds)).isPositive();
        }
    }

    private static int columnsWithStatistics(DataSource ds) {
        return Jdbc.withConnection(
                ds,
                c -> Jdbc.one(c, "SELECT count(*) FROM pg_stats WHERE tablename = 'records'", rs -> rs.getInt(1))
                        .orElseThrow());
    }

    private static float reltuples(DataSource ds, String table) {
        return Jdbc.withConnection(
                ds,
                c -> Jdbc.one(c, "SELECT reltuples FROM pg_class WHERE oid = ?::regclass", rs -> rs.getFloat(1), table)
                        .orElseThrow());
    }

    private static String plan(DataSource ds) {
        return Jdbc.withConnection(
                ds, (Connection c) -> String.join("\n", Jdbc.query(c, "EXPLAIN " + LOOKUP, rs -> rs.getString(1))));
    }
}
