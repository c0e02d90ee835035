package dev.switchboard.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.config.Config;
import dev.switchboard.config.ConfigLoader;
import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.Test;

/**
 * A rolling upgrade from the previous release's schema (V9): a node built for it stays ready while a
 * node of this release migrates the database under it, and leaves service only when a migration says
 * nodes of its schema can no longer run beside it.
 */
class SchemaUpgradeTest {
    /** The newest migration of the previous release. */
    private static final MigrationVersion PREVIOUS_RELEASE = MigrationVersion.fromVersion("9");

    @Test
    void aPreviousReleaseNodeStaysReadyWhileANewNodeMigratesUntilAMigrationRaisesTheWindow() throws Exception {
        DatabaseUrl url = TestDatabase.createEmpty();
        Config config = ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_DATABASE_URL", url.jdbcUrl()));
        try (Database previous = Database.open(config, new SimpleMeterRegistry(), PREVIOUS_RELEASE)) {
            assertThat(newestApplied(url)).as("the previous release's schema").isEqualTo("9");
            assertThat(previous.ready()).isTrue();

            // A node of this release starts on it: it applies the newer migrations and serves.
            try (TestServer current = TestServer.start(url, Map.of(), InstantSource.system())) {
                assertThat(MigrationVersion.fromVersion(newestApplied(url)).isNewerThan("9"))
                        .isTrue();
                Partner partner = Partner.create(current, List.of("*"));
                current.admin
                        .post("/api/v1/collections", Map.of("name", "rooms"))
                        .expect(201);
                partner.writeRecords("rooms", 3, Map.of("floor", 2));
                assertThat(partner.access()
                                .get("/api/v1/events")
                                .expect(200)
                                .json()
                                .get("events")
                                .size())
                        .isEqualTo(3);

                assertThat(previous.ready())
                        .as("the previous release's node, on the migrated database")
                        .isTrue();
                assertThat(current.api(null).get("/health/ready").status()).isEqualTo(200);

                // A later migration that nodes built for V9 cannot run beside raises the window's lower end.
                exec(url, "UPDATE schema_compatibility SET oldest_node_schema = '" + newestApplied(url) + "'");
                assertThat(previous.ready()).as("outside the window").isFalse();
                assertThat(current.api(null).get("/health/ready").status()).isEqualTo(200);
                assertThatThrownBy(() -> Database.open(config, new SimpleMeterRegistry(), PREVIOUS_RELEASE)
                                .close())
                        .as("a node of the previous release starting now")
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("needs nodes built for schema V" + newestApplied(url) + " or newer")
                        .hasMessageContaining("built for V9");

                exec(url, "UPDATE schema_compatibility SET oldest_node_schema = '9'");
                assertThat(previous.ready()).as("inside the window again").isTrue();
            }
        }
    }

    @Test
    void aNodeOfThisReleaseIsNotReadyOnADatabaseRestoredToAnOlderSchema() throws Exception {
        DatabaseUrl url = TestDatabase.create();
        Config config = ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_DATABASE_URL", url.jdbcUrl()));
        try (Database current = Database.open(config, new SimpleMeterRegistry())) {
            assertThat(current.ready()).isTrue();
            exec(url, "UPDATE flyway_schema_history SET success = false WHERE version = '" + newestApplied(url) + "'");
            assertThat(current.ready()).as("the newest migration undone").isFalse();
        }
    }

    /** The newest migration applied to the database at {@code url}. */
    static String newestApplied(DatabaseUrl url) throws SQLException {
        try (Connection c = DriverManager.getConnection(url.jdbcUrl());
                var rs = c.createStatement()
                        .executeQuery("SELECT version FROM flyway_schema_history WHERE version IS NOT NULL AND success"
                                + " ORDER BY installed_rank DESC LIMIT 1")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static void exec(DatabaseUrl url, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(url.jdbcUrl());
                var s = c.createStatement()) {
            s.execute(sql);
        }
    }
}
