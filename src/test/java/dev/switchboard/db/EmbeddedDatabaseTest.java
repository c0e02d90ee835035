package dev.switchboard.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedDatabaseTest {

    @Test
    void theEmbeddedDatabaseFlushesEveryCommitToDiskBeforeAcknowledgingIt() throws Exception {
        try (Connection c = DriverManager.getConnection(TestDatabase.create().jdbcUrl());
                Statement s = c.createStatement()) {
            assertThat(setting(s, "fsync")).isEqualTo("on");
            assertThat(setting(s, "synchronous_commit")).isEqualTo("on");
            assertThat(setting(s, "full_page_writes")).isEqualTo("on");
            assertThat(setting(s, "max_connections")).isEqualTo("300");
        }
    }

    /**
     * The library makes the cluster for throwaway databases, letting in anyone who reaches its port as the
     * superuser: on a shared host, any local user, with the port in the log.
     */
    @Test
    void theEmbeddedDatabaseLetsInOnlyWithThePasswordKeptInItsDataDirectory() throws Exception {
        TestDatabase.create();
        String url = TestDatabase.url("postgres");
        String withoutPassword = url.replaceFirst("&password=[^&]*", "");
        assertThat(withoutPassword).isNotEqualTo(url);
        assertThatThrownBy(() -> DriverManager.getConnection(withoutPassword).close())
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("password");
        assertThatThrownBy(() -> DriverManager.getConnection(withoutPassword + "&password=wrong")
                        .close())
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("password authentication failed");
        DriverManager.getConnection(url).close();
        Path kept = Path.of("target", "test-postgres", EmbeddedDatabase.PASSWORD_FILE);
        assertThat(url).endsWith("&password=" + Files.readString(kept).strip());
        assertThat(Files.getPosixFilePermissions(kept))
                .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    }

    /**
     * A second node started on the data directory of one still running must not take its PostgreSQL for one a
     * killed server left behind, and stop it under the running node.
     */
    @Test
    void aNodeStartedOnADataDirectoryInUseIsRefusedAndTheRunningOneKeepsItsDatabase(@TempDir Path dir)
            throws Exception {
        try (EmbeddedDatabase running = EmbeddedDatabase.start(dir, 300)) {
            assertThatThrownBy(() -> EmbeddedDatabase.start(dir, 300))
                    .isInstanceOf(dev.switchboard.config.ConfigException.class)
                    .hasMessageStartingWith("SWITCHBOARD_DATA_DIR (dataDir): another Switchboard is running on " + dir);
            java.util.Properties credentials = new java.util.Properties();
            credentials.setProperty("password", running.password());
            try (Connection c = DriverManager.getConnection(running.jdbcUrl(), credentials);
                    Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT 1")) {
                assertThat(rs.next()).isTrue();
            }
        }
    }

    @Test
    void theEmbeddedDatabaseAllowsEveryConnectionTheNodesPoolsMayOpen() {
        for (int poolSize : new int[] {2, 16, 200, 500}) {
            // The main pool, the delivery pool (half, at least 4), the feed's (a quarter, at least 2), the
            // health check's and the listener's.
            int pools = poolSize + Math.max(4, poolSize / 2) + Math.max(2, poolSize / 4) + 4;
            assertThat(EmbeddedDatabase.connectionsFor(poolSize))
                    .as("pool %d", poolSize)
                    .isGreaterThan(pools);
        }
    }

    private static String setting(Statement s, String name) throws Exception {
        try (ResultSet rs = s.executeQuery("SHOW " + name)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
