package dev.switchboard.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

class EmbeddedDatabaseTest {

    @Test
    void theEmbeddedDatabaseFlushesEveryCommitToDiskBeforeAcknowledgingIt() throws Exception {
        try (Connection c = DriverManager.getConnection(TestDatabase.create().jdbcUrl());
                Statement s = c.createStatement()) {
            assertThat(setting(s, "fsync")).isEqualTo("on");
            assertThat(setting(s, "synchronous_commit")).isEqualTo("on");
            assertThat(setting(s, "full_page_writes")).isEqualTo("on");
        }
    }

    private static String setting(Statement s, String name) throws Exception {
        try (ResultSet rs = s.executeQuery("SHOW " + name)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
