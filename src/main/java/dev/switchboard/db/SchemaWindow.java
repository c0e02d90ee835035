package dev.switchboard.db;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;
import org.flywaydb.core.api.MigrationVersion;

/**
 * Which database schemas a node can run on: its own, or a newer one inside the compatibility window.
 * During a rolling upgrade the first node of a new release migrates the database while the others
 * still run the previous release; they must stay in service. The window's lower end is the row of
 * {@code schema_compatibility} (migration V14): the oldest schema a node may be built for and still run
 * on this database. Migrations that only add leave it alone; one that older nodes cannot run beside
 * raises it. A node never runs on a database older than its own schema (its migrations apply first).
 *
 * @param node     the newest migration this node carries (what it was built for)
 * @param database the newest migration applied to the database
 * @param oldest   the window's lower end, empty before V14 (the rule was then that migrations only add)
 */
record SchemaWindow(MigrationVersion node, MigrationVersion database, Optional<MigrationVersion> oldest) {

    /** True when this node can serve on this database. */
    boolean admitsNode() {
        if (!database.isAtLeast(node.getVersion())) {
            return false;
        }
        return oldest.map(o -> node.isAtLeast(o.getVersion())).orElse(true);
    }

    /** Why {@link #admitsNode()} is false, for the log and the start's refusal. */
    String refusal() {
        if (!database.isAtLeast(node.getVersion())) {
            return "the database's schema (V" + database + ") is older than this node's (V" + node
                    + "): its migrations have not been applied";
        }
        return "the database's schema (V" + database + ") needs nodes built for schema V"
                + oldest.map(MigrationVersion::getVersion).orElse("?") + " or newer, and this node is built for V"
                + node + ": upgrade this node to the release that applied it";
    }

    /** Reads the database's side of the window (two short queries; the second only when the database is newer). */
    static SchemaWindow read(Connection c, MigrationVersion node) throws SQLException {
        MigrationVersion database;
        boolean hasWindow;
        try (var s = c.prepareStatement("SELECT (SELECT version FROM flyway_schema_history"
                + " WHERE version IS NOT NULL AND success ORDER BY installed_rank DESC LIMIT 1),"
                + " to_regclass('schema_compatibility') IS NOT NULL")) {
            s.setQueryTimeout(2);
            try (var rs = s.executeQuery()) {
                rs.next();
                String version = rs.getString(1);
                database = version == null ? MigrationVersion.EMPTY : MigrationVersion.fromVersion(version);
                hasWindow = rs.getBoolean(2);
            }
        }
        Optional<MigrationVersion> oldest = Optional.empty();
        if (hasWindow && database.isNewerThan(node.getVersion())) {
            try (var s = c.prepareStatement("SELECT oldest_node_schema FROM schema_compatibility")) {
                s.setQueryTimeout(2);
                try (var rs = s.executeQuery()) {
                    if (rs.next()) {
                        oldest = Optional.of(MigrationVersion.fromVersion(rs.getString(1)));
                    }
                }
            }
        }
        return new SchemaWindow(node, database, oldest);
    }
}
