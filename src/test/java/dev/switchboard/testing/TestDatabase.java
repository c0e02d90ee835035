package dev.switchboard.testing;

import dev.switchboard.config.ConfigLoader;
import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.db.Database;
import dev.switchboard.db.EmbeddedDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One real PostgreSQL for the whole test run (the embedded one, started once), with the production
 * migrations applied to a template database. Each test class gets its own database cloned from the
 * template, which takes a few milliseconds and isolates classes completely.
 */
public final class TestDatabase {
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static EmbeddedDatabase postgres;

    private TestDatabase() {}

    private static synchronized EmbeddedDatabase postgres() {
        if (postgres == null) {
            Path dir = Path.of("target", "test-postgres").toAbsolutePath();
            deleteRecursively(dir);
            postgres = EmbeddedDatabase.start(dir, EmbeddedDatabase.connectionsFor(16));
            Runtime.getRuntime().addShutdownHook(new Thread(postgres::close));
            exec("CREATE DATABASE switchboard_template");
            var config = ConfigLoader.load(
                    Optional.empty(), Map.of("SWITCHBOARD_DATABASE_URL", url("switchboard_template")));
            try (Database migrated = Database.open(config, new SimpleMeterRegistry())) {
                // migrations applied; closing releases the template for cloning
            }
        }
        return postgres;
    }

    /** A new, migrated, empty database. */
    public static DatabaseUrl create() {
        FastGuard.refuse("a test database");
        postgres();
        String name = "switchboard_test_" + COUNTER.incrementAndGet();
        exec("CREATE DATABASE " + name + " TEMPLATE switchboard_template");
        return DatabaseUrl.parse(url(name));
    }

    /**
     * A new, migrated, empty database opened as a node opens it with the default settings (its pools),
     * with no server on it: for tests of a store or a background job alone.
     */
    public static Database open() {
        var config = ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_DATABASE_URL", create().jdbcUrl()));
        return Database.open(config, new SimpleMeterRegistry());
    }

    /** A new database with no schema at all: for tests that apply the migrations themselves (an upgrade). */
    public static DatabaseUrl createEmpty() {
        FastGuard.refuse("a test database");
        postgres();
        String name = "switchboard_empty_" + COUNTER.incrementAndGet();
        exec("CREATE DATABASE " + name);
        return DatabaseUrl.parse(url(name));
    }

    /**
     * A copy of {@code source} as it is now, file for file (as a copy of a stopped database's directory
     * is): a backup to restore. Nothing may be connected to {@code source}.
     */
    public static DatabaseUrl copyOf(DatabaseUrl source) {
        String from = source.jdbcUrl().replaceAll("^.*/([^/?]+)(\\?.*)?$", "$1");
        String name = "switchboard_copy_" + COUNTER.incrementAndGet();
        exec("CREATE DATABASE " + name + " TEMPLATE " + from);
        return DatabaseUrl.parse(url(name));
    }

    /**
     * A new superuser role that logs in with {@code password} (the test PostgreSQL asks for passwords, as
     * the embedded one does): for tests that give a server a password of their own. Returns its name.
     */
    public static String superuser(String password) {
        postgres();
        String role = "pw_" + COUNTER.incrementAndGet() + "_" + System.nanoTime() % 1_000_000;
        exec("CREATE ROLE " + role + " LOGIN SUPERUSER PASSWORD '" + password.replace("'", "''") + "'");
        return role;
    }

    public static String url(String database) {
        return postgres.jdbcUrl(database) + "&password=" + postgres.password();
    }

    private static void exec(String sql) {
        try (Connection c = DriverManager.getConnection(url("postgres"));
                Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
