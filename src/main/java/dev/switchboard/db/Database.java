package dev.switchboard.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.switchboard.config.Config;
import dev.switchboard.config.DatabaseUrl;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Optional;
import java.util.Properties;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationState;
import org.flywaydb.core.api.MigrationVersion;
import org.postgresql.ds.PGSimpleDataSource;
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
    private final HikariDataSource feed;
    private final HikariDataSource health;
    private final DatabaseUrl url;
    private final Optional<EmbeddedDatabase> embedded;
    /** The newest migration this node carries: the schema it was built for. */
    private final MigrationVersion nodeSchema;
    /** Whether the last readiness check found the schema inside the window (to log its changes once). */
    private volatile boolean inWindow = true;
    /** Whether the last readiness check reached the database (to log an outage and its end once). */
    private volatile boolean reachable = true;

    private final ClockCheck clock;

    private Database(
            HikariDataSource pool,
            HikariDataSource delivery,
            HikariDataSource feed,
            HikariDataSource health,
            DatabaseUrl url,
            Optional<EmbeddedDatabase> embedded,
            MigrationVersion nodeSchema,
            ClockCheck clock) {
        this.clock = clock;
        this.pool = pool;
        this.delivery = delivery;
        this.feed = feed;
        this.health = health;
        this.url = url;
        this.embedded = embedded;
        this.nodeSchema = nodeSchema;
    }

    public static Database open(Config config, MeterRegistry meters) {
        return open(config, meters, null);
    }

    /**
     * Opens it as a node built for schema {@code target} would (null: this build's newest): the upgrade
     * tests' stand-in for a node of an earlier release.
     */
    static Database open(Config config, MeterRegistry meters, MigrationVersion target) {
        Optional<EmbeddedDatabase> embedded = config.databaseUrl().isPresent()
                ? Optional.empty()
                : Optional.of(EmbeddedDatabase.start(
                        config.dataDir(), EmbeddedDatabase.connectionsFor(config.databasePoolSize())));
        DatabaseUrl url = config.databaseUrl()
                .orElseGet(() -> new DatabaseUrl(
                        embedded.orElseThrow().jdbcUrl(),
                        "postgres",
                        embedded.get().password()));
        HikariDataSource pool = null;
        HikariDataSource delivery = null;
        try {
            Duration readTimeout = config.databaseReadTimeout();
            pool = pool("switchboard", url, config.databasePoolSize(), readTimeout, meters, waits(readTimeout));
            MigrationVersion nodeSchema = migrate(url, target, LockWait.DEFAULT);
            SchemaWindow window;
            ClockCheck clock = new ClockCheck(InstantSource.system());
            try (Connection c = pool.getConnection()) {
                window = SchemaWindow.read(c, nodeSchema);
                checkClock(clock, c);
                // Before the node serves: no event is appended at a reused seq. A node opened as an earlier
                // release would be (the upgrade tests) has no log_origin.
                if (window.admitsNode() && target == null) {
                    LogOrigin.check(c);
                }
            } catch (SQLException e) {
                throw new DatabaseException(e);
            }
            if (!window.admitsNode()) {
                throw new IllegalStateException("Switchboard cannot run on database " + url + ": " + window.refusal());
            }
            log.info("Database {} is at schema version {} (this node's: {})", url, window.database(), nodeSchema);
            delivery = pool(
                    "switchboard-delivery",
                    url,
                    deliveryPoolSize(config.databasePoolSize()),
                    readTimeout,
                    meters,
                    "SET synchronous_commit TO off; " + waits(readTimeout));
            HikariDataSource feed = pool(
                    "switchboard-feed",
                    url,
                    feedPoolSize(config.databasePoolSize()),
                    readTimeout,
                    meters,
                    waits(readTimeout));
            Gauge.builder("switchboard.clock.offset", clock, ClockCheck::offsetSeconds)
                    .description("The database's clock minus this node's at the last readiness check")
                    .baseUnit("seconds")
                    .strongReference(true)
                    .register(meters);
            return new Database(pool, delivery, feed, healthPool(url, meters), url, embedded, nodeSchema, clock);
        } catch (RuntimeException e) {
            if (delivery != null) {
                delivery.close();
            }
            if (pool != null) {
                pool.close();
            }
            embedded.ifPresent(EmbeddedDatabase::close);
            throw url.hiding(e);
        }
    }

    /**
     * A pool of {@code size} connections. A read waits at most {@code readTimeout} for the database: a
     * connection whose packets are silently dropped (a failover that moved the database's address, a
     * firewall that forgot the connection) otherwise held its query, and whatever waited on it (a request,
     * every webhook of the node), until the kernel gave up retransmitting, about 15 minutes. Past it the
     * driver closes the connection and the pool opens another.
     */
    private static HikariDataSource pool(
            String name, DatabaseUrl url, int size, Duration readTimeout, MeterRegistry meters, String initSql) {
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
        hikari.addDataSourceProperty("socketTimeout", Long.toString(readTimeout.toSeconds()));
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
        // Its queries' 2 s timeouts send a cancel, which a silent database never answers: the read ends here.
        hikari.addDataSourceProperty("socketTimeout", "5");
        hikari.addDataSourceProperty("tcpKeepAlive", "true");
        hikari.setMetricRegistry(meters);
        return new HikariDataSource(hikari);
    }

    /**
     * How a migration waits for its table's lock: at most {@code timeout} at a time, then it lets go for
     * {@code pause} and tries again, {@code attempts} times in all.
     */
    record LockWait(Duration timeout, Duration pause, int attempts) {
        /** About 75 s in all: inside the shipped Kubernetes startup probe's 120 s, with the node's start. */
        static final LockWait DEFAULT = new LockWait(Duration.ofSeconds(5), Duration.ofSeconds(5), 8);
    }

    /**
     * Applies this node's pending migrations (a newer node's, already applied, are left alone: Flyway ignores
     * future migrations) and returns the newest migration this node carries, up to {@code target}.
     *
     * <p>Migrates over connections of its own (not the pool's, which keep no migration settings), named
     * {@code switchboard-migrations} in pg_stat_activity. A migration that alters a table waits for its lock
     * behind any transaction holding it, and every query on that table, on every node, waits behind the
     * migration: so it waits at most {@link LockWait#timeout} at a time, lets the queries through for
     * {@link LockWait#pause}, and tries again, rather than stop the API for as long as a pg_dump runs.
     */
    static MigrationVersion migrate(DatabaseUrl url, MigrationVersion target, LockWait lockWait) {
        PGSimpleDataSource dataSource = new PGSimpleDataSource();
        dataSource.setURL(url.jdbcUrl());
        if (url.user() != null) dataSource.setUser(url.user());
        if (url.password() != null) dataSource.setPassword(url.password());
        dataSource.setApplicationName("switchboard-migrations");
        // Added to the URL's own options (a search_path, say), which the pool's connections have too.
        String options = dataSource.getOptions();
        dataSource.setOptions((options == null || options.isBlank() ? "" : options + " ") + "-c lock_timeout="
                + lockWait.timeout().toMillis());
        var configuration = Flyway.configure().dataSource(dataSource).locations("classpath:db/migration");
        if (target != null) {
            configuration.target(target);
        }
        Flyway flyway = configuration.load();
        for (int attempt = 1; ; attempt++) {
            try {
                flyway.migrate();
                break;
            } catch (FlywayException e) {
                String state = sqlState(e);
                boolean deadlock = DEADLOCK.equals(state);
                if (!deadlock && !LOCK_NOT_AVAILABLE.equals(state)) {
                    throw e;
                }
                if (attempt == lockWait.attempts()) {
                    throw new IllegalStateException(
                            "Could not apply the migrations: a table they change stayed locked"
                                    + " by another transaction through " + attempt
                                    + " attempts (find it in pg_stat_activity,"
                                    + " end it, and start this node again)",
                            e);
                }
                if (deadlock) {
                    // PostgreSQL rolled the migration back to break the cycle (it holds one table and waited
                    // for another that a transaction waiting for the first held: a node of the previous
                    // release writing both, say). The ones before it are committed; it runs again whole.
                    log.warn(
                            "A migration deadlocked with another transaction and was rolled back to break it: it"
                                    + " tries again in {} ms (attempt {} of {})",
                            lockWait.pause().toMillis(),
                            attempt,
                            lockWait.attempts());
                } else {
                    log.warn(
                            "A migration waited {} ms for a table another transaction holds locked, and every query"
                                    + " on that table waited behind it: it lets go and tries again in {} ms (attempt {}"
                                    + " of {}). A long transaction (a pg_dump, a report) holds up upgrades",
                            lockWait.timeout().toMillis(),
                            lockWait.pause().toMillis(),
                            attempt,
                            lockWait.attempts());
                }
                try {
                    Thread.sleep(lockWait.pause());
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
        MigrationVersion newest = MigrationVersion.EMPTY;
        for (MigrationInfo migration : flyway.info().all()) {
            // Carried: this build has its script (a newer node's is not resolved here), and it is not past the target.
            boolean carried = migration.getVersion() != null
                    && migration.getState().isResolved()
                    && migration.getState() != MigrationState.ABOVE_TARGET
                    && (target == null || !migration.getVersion().isNewerThan(target.getVersion()));
            if (carried && migration.getVersion().isNewerThan(newest.getVersion())) {
                newest = migration.getVersion();
            }
        }
        return newest;
    }

    /** A lock not granted within lock_timeout. */
    private static final String LOCK_NOT_AVAILABLE = "55P03";
    /** The transaction PostgreSQL rolled back to break a deadlock. */
    private static final String DEADLOCK = "40P01";

    /** The SQLSTATE of the first SQL exception among {@code e}'s causes, or null. */
    private static String sqlState(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                return sql.getSQLState();
            }
        }
        return null;
    }

    public DataSource dataSource() {
        return pool;
    }

    /**
     * How long a statement waits for a row or table another transaction holds, on every pool. One
     * transaction holding a table (a DBA's {@code LOCK TABLE}, a long migration run by hand) had every
     * request that touched it wait on its connection until the read timeout: the pool was soon all waiting,
     * so every route failed, not only those that needed the table. Past this wait the request is 503
     * {@code database_unavailable} and its connection serves the next; the other routes are served as long
     * as the requests waiting on the lock leave the pool room. Delivery's step writer writes many streams'
     * steps in one statement, so one step waiting for a locked row held up delivery on the whole node:
     * deleting a connection whose streams had a million messages (their rows locked for the 40 s the delete
     * took) stopped every endpoint's delivery for as long. Past the wait the writer writes the other steps
     * one by one, and the stream whose step failed backs off and sends its message again (the same
     * webhook-id) once the row is free.
     */
    static final Duration LOCK_TIMEOUT = Duration.ofSeconds(2);

    /**
     * The database's own limit on a statement: just under {@code readTimeout}, the driver's. When the driver
     * gives up and drops the connection, a statement still waiting (on a lock) went on in the database,
     * holding its connection slot and locks: requests waiting on one table grew the backends past
     * {@code max_connections} (16 to 58 in two minutes). Under the driver's limit, the database ends the
     * statement first, and the connection stays usable.
     */
    static Duration statementTimeout(Duration readTimeout) {
        return readTimeout.compareTo(Duration.ofSeconds(2)) >= 0
                ? readTimeout.minusSeconds(1)
                : readTimeout.dividedBy(2);
    }

    private static String waits(Duration readTimeout) {
        return "SET lock_timeout TO " + LOCK_TIMEOUT.toMillis() + "; SET statement_timeout TO "
                + statementTimeout(readTimeout).toMillis();
    }

    /**
     * The webhook dispatcher's own pool (half the size of the main one, at least 4): delivery can never
     * take the API's connections. Its commits do not wait for the disk (synchronous_commit off): they
     * record what was sent, and losing the last of them in a database crash only means sending those
     * messages again. Its statements wait at most {@link #LOCK_TIMEOUT} for a lock. Never write
     * records or events through it.
     */
    public DataSource deliveryDataSource() {
        return delivery;
    }

    /**
     * The WebSocket feed's own pool ({@link #feedPoolSize}): the reads that bring committed events to the
     * sockets never wait behind API requests, however many the API's clients (or sockets' requests) keep
     * in flight. Resumes and requests read through the main pool, as the API does.
     */
    public DataSource feedDataSource() {
        return feed;
    }

    /** The delivery pool's size for a main pool of {@code poolSize}. */
    static int deliveryPoolSize(int poolSize) {
        return Math.max(4, poolSize / 2);
    }

    /** The feed pool's size: a live read is short and each stream has one at a time. */
    static int feedPoolSize(int poolSize) {
        return Math.max(2, poolSize / 4);
    }

    /** A connection outside the pool, for a long-lived LISTEN; the caller closes it. */
    public Connection openDedicatedConnection() throws SQLException {
        return openOwnConnection("switchboard-listener", 5);
    }

    /**
     * How long a read on the listener's connection may wait for the database. Its user makes a round trip
     * every second; without a limit, a connection whose packets are silently dropped (a failover that moved
     * the database's address, a firewall that forgot the connection) blocked in a read until the kernel gave
     * up retransmitting, about 15 minutes in which the node heard no other node's events or control
     * messages and never re-read what it missed.
     */
    static final int LISTENER_READ_TIMEOUT_SECONDS = 10;

    private Connection openOwnConnection(String applicationName, int timeoutSeconds) throws SQLException {
        Properties props = new Properties();
        if (url.user() != null) props.setProperty("user", url.user());
        if (url.password() != null) props.setProperty("password", url.password());
        props.setProperty("ApplicationName", applicationName);
        props.setProperty("tcpKeepAlive", "true");
        props.setProperty("connectTimeout", Integer.toString(timeoutSeconds));
        props.setProperty("socketTimeout", Integer.toString(LISTENER_READ_TIMEOUT_SECONDS));
        return DriverManager.getConnection(url.jdbcUrl(), props);
    }

    /**
     * True when the database answers and its schema is this node's, or a newer one inside the compatibility
     * window ({@link SchemaWindow}). It uses the health pool's one connection, waiting at most 2 s for it and 2 s
     * for each answer, so an outage is reported within seconds and checks never open connections of their own.
     * Callers cache the answer.
     */
    public boolean ready() {
        try (Connection c = health.getConnection()) {
            SchemaWindow window = SchemaWindow.read(c, nodeSchema);
            checkClock(clock, c);
            recheckOrigin(c);
            boolean admitted = window.admitsNode();
            if (admitted != inWindow) {
                inWindow = admitted;
                if (admitted) {
                    log.info("The database's schema (V{}) is inside this node's window again", window.database());
                } else {
                    log.warn("Not ready: {}", window.refusal());
                }
            }
            if (!reachable) {
                reachable = true;
                log.info("The database answers again");
            }
            return admitted;
        } catch (SQLException e) {
            // Logged once per outage, with its cause: /health/ready answers 503 meanwhile.
            if (reachable) {
                reachable = false;
                log.warn(
                        "Not ready: the database does not answer ({}); checking again with each probe", e.getMessage());
            }
            return false;
        }
    }

    /**
     * Looks for a restore or a promotion under this running node ({@link LogOrigin}), which is never a reason
     * to be unready: a failed look is only logged, and made again at the next check.
     */
    private static void recheckOrigin(Connection c) {
        try {
            LogOrigin.recheck(c);
        } catch (SQLException e) {
            log.debug("Could not check whether the database was restored: {}", e.getMessage());
        }
    }

    /** Compares the clocks, which is never a reason to be unready: a failed comparison is only logged. */
    private static void checkClock(ClockCheck clock, Connection c) {
        try {
            clock.check(c);
        } catch (SQLException e) {
            log.debug("Could not compare this node's clock with the database's: {}", e.getMessage());
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
        feed.close();
        delivery.close();
        pool.close();
        embedded.ifPresent(EmbeddedDatabase::close);
    }
}
