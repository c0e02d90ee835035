package dev.switchboard.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.config.ConfigLoader;
import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.testing.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class JdbcTest {
    /**
     * A connection that breaks inside a transaction fails it as the database being unreachable (503), as
     * its own error says. Putting the connection back in autocommit afterwards failed too ("Connection is
     * closed", with no SQLState), and that failure replaced the first: a 500.
     */
    @Test
    void aConnectionThatBreaksInATransactionFailsItAsUnavailable() throws Exception {
        DatabaseUrl url = TestDatabase.create();
        try (Database database = Database.open(
                ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_DATABASE_URL", url.jdbcUrl())),
                new SimpleMeterRegistry())) {
            assertThatThrownBy(() -> Jdbc.inTransaction(database.dataSource(), c -> {
                        int pid = Jdbc.one(c, "SELECT pg_backend_pid()", rs -> rs.getInt(1))
                                .orElseThrow();
                        try (Connection other = DriverManager.getConnection(url.jdbcUrl())) {
                            other.createStatement().execute("SELECT pg_terminate_backend(" + pid + ")");
                        }
                        return Jdbc.update(c, "SELECT 1");
                    }))
                    .isInstanceOfSatisfying(
                            DatabaseException.class,
                            e -> assertThat(e.isUnavailable())
                                    .as(e.getMessage())
                                    .isTrue());
            Optional<Integer> after =
                    Jdbc.inTransaction(database.dataSource(), c -> Jdbc.one(c, "SELECT 1", rs -> rs.getInt(1)));
            assertThat(after).as("the pool carries on with a new connection").contains(1);
        }
    }
}
