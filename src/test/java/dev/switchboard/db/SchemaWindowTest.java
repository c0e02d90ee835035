package dev.switchboard.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.util.Optional;
import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.Test;

@Fast
class SchemaWindowTest {
    @Test
    void aNodeRunsOnItsOwnSchemaAndOnNewerOnesWhoseWindowStillIncludesIt() {
        assertThat(window("14", "14", null).admitsNode()).isTrue();
        assertThat(window("9", "14", "9").admitsNode())
                .as("a previous release, migrations that only add")
                .isTrue();
        assertThat(window("9", "14", "12").admitsNode())
                .as("a migration raised the window past it")
                .isFalse();
        assertThat(window("12", "14", "12").admitsNode())
                .as("at the window's lower end")
                .isTrue();
        assertThat(window("9", "10", null).admitsNode())
                .as("no window yet: migrations only added")
                .isTrue();
    }

    @Test
    void aNodeNeverRunsOnAnOlderSchemaAndSaysWhy() {
        SchemaWindow restored = window("14", "9", null);
        assertThat(restored.admitsNode()).isFalse();
        assertThat(restored.refusal()).contains("older than this node's (V14)");
        assertThat(window("9", "20", "17").refusal())
                .isEqualTo("the database's schema (V20) needs nodes built for schema V17 or newer, and this node is"
                        + " built for V9: upgrade this node to the release that applied it");
    }

    private static SchemaWindow window(String node, String database, String oldest) {
        return new SchemaWindow(
                MigrationVersion.fromVersion(node),
                MigrationVersion.fromVersion(database),
                Optional.ofNullable(oldest).map(MigrationVersion::fromVersion));
    }
}
