package dev.switchboard.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.switchboard.config.Config;
import dev.switchboard.config.DatabaseUrl;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Optional;
import java.util.Properties;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL Switchboard keeps everything in: the external one named by
 * {@code SWITCHBOARD_DATABASE_URL}, or the embedded one in the data directory. Opening it applies the
 * migrations (Flyway; several nodes starting at once take turns on Flyway's lock).
 */
public final class Database implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Database.class);
    /** Connections the readiness check may hold (its own pool's size). */
    public static final int HEALTH_CONNECTIONS = 1;

    private final HikariDataSource pool;
    private final HikariDataSource delivery;
    private final HikariDataSource health;
    private final DatabaseUrl url;
    private final Optional<EmbeddedDatabase> embedded;
    private final String latestMigration;

    private Database(
            HikariDataSource pool,
            HikariDataSource delivery,
            HikariDataSource health,
            DatabaseUrl url,
            Optional<EmbeddedDatabase> embedded,
            String latestMigration) {
        this.pool = pool;
        this.delivery = delivery;
        this.health = health;
        this.url = url;
        this.embedded = embedded;
        this.latestMigration = latestMigration;
    }

    public static Database open(Config config, MeterRegistry meters) {
        Optional<EmbeddedDatabase> embedded = config.databaseUrl().isPresent()
                ? Optional.empty()
                : Optional.of(EmbeddedDatabase.start(config.dataDir()));
        DatabaseUrl url = config.databaseUrl()
                .orElseGet(() -> new DatabaseUrl(embedded.orElseThrow().jdbcUrl(), null, null));
        HikariDataSource pool = null;
        try {
            pool = pool("switchboard", url, config.databasePoolSize(), meters, null);
            String latest = migrate(pool);
            log.info("Database {} is at schema version {}", url, latest);
            HikariDataSource delivery = pool(
                    "switchboard-delivery",
                    url,
                    Math.max(4, config.databasePoolSize() / 2),
                    meters,
                    "SET synchronous_commit TO off");
            return new Database(pool, delivery, healthPool(url, meters), url, embedded, latest);
        } catch (RuntimeException e) {
            if (pool != null) {
                pool.close();
            }
            embedded.ifPresent(EmbeddedDatabase::close);
            throw e;
        }
    }

    private static HikariDataSource pool(String name, DatabaseUrl url, int size, MeterRegistry meters, String initSql) {
        HikariConfig hikari = new HikariConfig();
        hikari.setPoolName(name);
        hikari.setJdbcUrl(url.jdbcUrl());
        if (url.user() != null) hikari.setUsername(url.user());
        if (url.password() != null) hikari.setPassword(url.password());
        hikari.setMaximumPoolSize(size);
        hikari.setMinimumIdle(size);
        hikari.setConnectionTimeout(5_000);
        // Fail a start against an unreachable database quickly, with the driver's reason.
        hikari.setInitializationFailTimeout(10_000);
        hikari.setConnectionInitSql(initSql);
        hikari.addDataSourceProperty("ApplicationName", name);
        hikari.addDataSourceProperty("reWriteBatchedInserts", "true");
        hikari.addDataSourceProperty("tcpKeepAlive", "true");
        hikari.setMetricRegistry(meters);
        return new HikariDataSource(hikari);
    }

    /**
     * The readiness check's own pool: one connection, opened when first needed, waited for at most 2 s. However
     * many checks arrive, they hold one connection, never the API's, so a busy API pool does not make the
     * node look down and an outage is reported within seconds.
     */
    private static HikariDataSource healthPool(DatabaseUrl url, MeterRegistry meters) {
        HikariConfig hikari = new HikariConfig();
        hikari.setPoolName("switchboard-health");
        hikari.setJdbcUrl(url.jdbcUrl());
        if (url.user() != null) hikari.setUsername(url.user());
        if (url.password() != null) hikari.setPassword(url.password());
        hikari.setMaximumPoolSize(HEALTH_CONNECTIONS);
        hikari.setMinimumIdle(0);
        hikari.setConnectionTimeout(2_000);
        hikari.setValidationTimeout(1_000);
        hikari.setInitializationFailTimeout(-1); // the start has checked the database already
        hikari.addDataSourceProperty("ApplicationName", "switchboard-health");
        hikari.addDataSourceProperty("connectTimeout", "2");
        hikari.addDataSourceProperty("tcpKeepAlive", "true");
        hikari.setMetricRegistry(meters);
        return new HikariDataSource(hikari);
    }

    private static String migrate(DataSource dataSource) {
        Flyway flyway = Flyway.configure()
                .dataSource(dataSource)
                .locations("classpath:db/migration")
                .load();
        flyway.migrate();
        MigrationInfo current = flyway.info().current();
        return current == null ? "none" : current.getVersion().getVersion();
    }

    public DataSource dataSource() {
        return pool;
    }

    /**
     * The webhook dispatcher's own pool (half the size of the main one, at least 4): delivery can never
     * take the API's connections. Its commits do not wait for the disk (synchronous_commit off): they
     * record what was sent, and losing the last of them in a database crash only means sending those
     * messages again. Never write records or events through it.
     */
    public DataSource deliveryDataSource() {
        return delivery;
    }

    /** A connection outside the pool, for a long-lived LISTEN; the caller closes it. */
    public Connection openDedicatedConnection() throws SQLException {
        return openOwnConnection("switchboard-listener", 5);
    }

    private Connection openOwnConnection(String applicationName, int timeoutSeconds) throws SQLException {
        Properties props = new Properties();
        if (url.user() != null) props.setProperty("user", url.user());
        if (url.password() != null) props.setProperty("password", url.password());
        props.setProperty("ApplicationName", applicationName);
        props.setProperty("tcpKeepAlive", "true");
        props.setProperty("connectTimeout", Integer.toString(timeoutSeconds));
        return DriverManager.getConnection(url.jdbcUrl(), props);
    }

    /**
     * True when the database answers and carries the schema this server was built with, or a newer one. It uses the
     * health pool's one connection, waiting at most 2 s for it and 2 s for the answer, so an outage is
     * reported within seconds and checks never open connections of their own. Callers cache the answer.
     */
    public boolean ready() {
        try (Connection c = health.getConnection();
                var s = c.prepareStatement("SELECT version FROM flyway_schema_history "
                        + "WHERE version IS NOT NULL AND success ORDER BY installed_rank DESC LIMIT 1")) {
            s.setQueryTimeout(2);
            try (var rs = s.executeQuery()) {
                // At or past this build's schema: during a rolling upgrade the first new node migrates, and
                // the nodes not yet upgraded must stay in the load balancer (migrations only add).
                return rs.next()
                        && org.flywaydb.core.api.MigrationVersion.fromVersion(rs.getString(1))
                                .isAtLeast(latestMigration);
            }
        } catch (SQLException e) {
            return false;
        }
    }

    public String description() {
        return embedded.isPresent()
                ? "embedded PostgreSQL on port " + embedded.get().port()
                : url.toString();
    }

    @Override
    public void close() {
        health.close();
        delivery.close();
        pool.close();
        embedded.ifPresent(EmbeddedDatabase::close);
    }
}
