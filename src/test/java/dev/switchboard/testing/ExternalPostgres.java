package dev.switchboard.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A PostgreSQL that Switchboard reaches as an external database (SWITCHBOARD_DATABASE_URL), owned by
 * the test so it can be stopped and started again on the same port and data directory while a server
 * keeps running: an outage, then the database returning.
 */
public final class ExternalPostgres implements AutoCloseable {
    private final Path dataDir;
    private final int port;
    private EmbeddedPostgres postgres;

    private ExternalPostgres(Path dataDir, int port) {
        this.dataDir = dataDir;
        this.port = port;
    }

    public static ExternalPostgres start(Path dataDir) {
        FastGuard.refuse("an external PostgreSQL");
        ExternalPostgres pg = new ExternalPostgres(dataDir, ServerProcess.freePort());
        pg.start();
        return pg;
    }

    /** Starts (again) on the same port and data directory. */
    public synchronized void start() {
        try {
            Files.createDirectories(dataDir);
            postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(dataDir)
                    .setCleanDataDirectory(false)
                    .setPort(port)
                    .setPGStartupWait(Duration.ofSeconds(60))
                    .setServerConfig("max_connections", "200")
                    // durable, as an operator's database is (the library's default is not)
                    .setServerConfig("fsync", "on")
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("listen_addresses", "127.0.0.1")
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A fast shutdown: connected clients are cut off, as in an outage. */
    public synchronized void stop() {
        try {
            postgres.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        postgres = null;
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres";
    }

    @Override
    public synchronized void close() {
        if (postgres != null) {
            stop();
        }
    }
}
