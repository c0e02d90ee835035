package dev.switchboard.reliability;

import com.github.f4b6a3.uuid.UuidCreator;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.switchboard.events.Retention;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The production {@link Retention} run against a server's database with a short retention, one pass
 * after another, as another node's pruning pass would run (same SQL, same advisory lock), with SQL
 * checks of one tenant's stream around every pass: before it, whether the pass's time falls across
 * events whose ids are out of {@code seq} order (where deleting by id would leave a hole); after it,
 * that the retained events are an unbroken run of {@code seq} up to the stream's head and that none
 * within the retention went.
 */
final class Pruner implements AutoCloseable {
    /** Of the stream: its first event within the retention, and its last one older than the retention. */
    private static final String AROUND_THE_CUT =
            "SELECT min(seq) FILTER (WHERE id >= ?), max(seq) FILTER (WHERE id < ?)"
                    + " FROM events WHERE stream_pk = ?";
    /** Adjacent events whose ids are in reverse millisecond order (the first 48 bits of a UUIDv7). */
    private static final String INVERSIONS = "SELECT seq FROM (SELECT seq, id, lead(id) OVER (ORDER BY seq) AS next_id"
            + " FROM events WHERE stream_pk = ?) x WHERE next_id IS NOT NULL"
            + " AND left(replace(id::text, '-', ''), 12) > left(replace(next_id::text, '-', ''), 12)";
    /** One snapshot: the oldest and newest retained seq, how many rows, and the stream's head. */
    private static final String RETAINED =
            "SELECT min(seq), max(seq), count(*), (SELECT last_seq FROM streams WHERE pk = ?)"
                    + " FROM events WHERE stream_pk = ?";

    private final HikariDataSource dataSource;
    private final Connection checks;
    private final long streamPk;
    private final Duration retention;
    private final Duration every;
    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.now());
    private final Retention pass;
    private final Thread thread;
    private volatile boolean running = true;

    private long passes;
    private final AtomicLong cuts = new AtomicLong();
    private long pruned;
    private long straddled;
    private final Set<Long> inversions = new HashSet<>();
    private final List<String> holes = new ArrayList<>();
    private final List<String> tooEarly = new ArrayList<>();
    private volatile RuntimeException failure;

    private Pruner(String jdbcUrl, String tenant, Duration retention, Duration every) throws SQLException {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl);
        config.setMaximumPoolSize(2);
        config.setPoolName("test-retention");
        this.dataSource = new HikariDataSource(config);
        this.checks = DriverManager.getConnection(jdbcUrl);
        this.retention = retention;
        this.every = every;
        this.pass = new Retention(dataSource, retention, Duration.ofDays(90), now::get, new SimpleMeterRegistry());
        try (PreparedStatement ps = checks.prepareStatement(
                "SELECT s.pk FROM streams s JOIN tenants t ON t.pk = s.tenant_pk WHERE t.id = ?")) {
            ps.setString(1, tenant);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                this.streamPk = rs.getLong(1);
            }
        }
        this.thread = Thread.ofPlatform().name("test-retention").start(this::loop);
    }

    /** Starts pruning {@code tenant}'s stream (and everything else due) every {@code every}, keeping {@code retention}. */
    static Pruner start(String jdbcUrl, String tenant, Duration retention, Duration every) throws SQLException {
        return new Pruner(jdbcUrl, tenant, retention, every);
    }

    private void loop() {
        try {
            while (running) {
                passOnce();
                RetentionUnderLoadTest.pause(every);
            }
        } catch (RuntimeException e) {
            failure = e;
        } catch (SQLException e) {
            failure = new IllegalStateException(e);
        }
    }

    private void passOnce() throws SQLException {
        Instant at = Instant.now();
        now.set(at);
        UUID bound = UuidCreator.getTimeOrderedEpochMin(at.minus(retention));
        Long firstWithin;
        try (PreparedStatement ps = checks.prepareStatement(AROUND_THE_CUT)) {
            ps.setObject(1, bound);
            ps.setObject(2, bound);
            ps.setLong(3, streamPk);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                firstWithin = rs.getObject(1, Long.class);
                Long lastOlder = rs.getObject(2, Long.class);
                if (firstWithin != null && lastOlder != null && lastOlder > firstWithin) {
                    straddled++;
                }
            }
        }
        try (PreparedStatement ps = checks.prepareStatement(INVERSIONS)) {
            ps.setLong(1, streamPk);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    inversions.add(rs.getLong(1));
                }
            }
        }

        long deleted = pass.runOnce();
        passes++;
        if (deleted > 0) {
            cuts.incrementAndGet();
            pruned += deleted;
        }

        Retained after = readRetained();
        if (after.rows() > 0
                && (after.rows() != after.newest() - after.oldest() + 1 || after.newest() != after.head())) {
            holes.add("after pass " + passes + ": " + after.rows() + " rows from seq " + after.oldest() + " to "
                    + after.newest() + ", head " + after.head());
        }
        if (firstWithin != null && after.rows() > 0 && after.oldest() > firstWithin) {
            tooEarly.add("after pass " + passes + ": oldest retained " + after.oldest() + ", but " + firstWithin
                    + " was within the retention");
        }
    }

    private Retained readRetained() throws SQLException {
        try (PreparedStatement ps = checks.prepareStatement(RETAINED)) {
            ps.setLong(1, streamPk);
            ps.setLong(2, streamPk);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new Retained(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4));
            }
        }
    }

    /** The retained events of the stream: oldest and newest seq, how many, and the stream's head. */
    record Retained(long oldest, long newest, long rows, long head) {}

    /** Stops the passes, then runs one more (with its checks); fails if a pass failed. */
    void stop() throws SQLException, InterruptedException {
        running = false;
        thread.join();
        if (failure != null) {
            throw failure;
        }
        passOnce();
    }

    /** The stream's retained events now (after {@link #stop}). */
    Retained retained() throws SQLException {
        return readRetained();
    }

    long passes() {
        return passes;
    }

    /** Passes that deleted events; fails if a pass failed. */
    long cuts() {
        if (failure != null) {
            throw failure;
        }
        return cuts.get();
    }

    long pruned() {
        return pruned;
    }

    /** Passes whose time fell between events out of seq order: deleting by id would have left a hole. */
    long straddled() {
        return straddled;
    }

    /** Distinct adjacent pairs seen with ids in reverse millisecond order. */
    int inversions() {
        return inversions.size();
    }

    List<String> holes() {
        return holes;
    }

    List<String> tooEarly() {
        return tooEarly;
    }

    @Override
    public void close() throws SQLException {
        running = false;
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            checks.close();
        } finally {
            dataSource.close();
        }
    }
}
