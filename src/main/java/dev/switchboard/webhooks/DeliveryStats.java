package dev.switchboard.webhooks;

import dev.switchboard.db.Jdbc;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivery counts the console charts, kept in PostgreSQL without a statement per delivered message:
 * each node counts attempts, deliveries, abandoned messages, attempt durations and delivery lag in
 * memory, per endpoint per minute, and writes them all in one statement every {@link #FLUSH_EVERY}
 * ({@link #flush}) into {@code delivery_stats}. Durations and lags are counted in fixed histogram buckets, so percentiles
 * over any endpoints, nodes and minutes come from summed buckets (each percentile is the upper bound
 * of the bucket it falls in). A node that crashes loses at most its last 10 s of counts; rows older
 * than {@link #KEEP} are removed.
 */
public final class DeliveryStats implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DeliveryStats.class);
    /** Upper bounds (ms) of the histogram buckets; one more bucket counts what is above the last. */
    static final long[] BOUNDS_MS = {
        1,
        2,
        5,
        10,
        20,
        50,
        100,
        200,
        500,
        1_000,
        2_000,
        5_000,
        10_000,
        20_000,
        30_000,
        60_000,
        120_000,
        300_000,
        600_000,
        1_800_000,
        3_600_000,
        21_600_000,
        86_400_000
    };

    static final int BUCKETS = BOUNDS_MS.length + 1;
    /**
     * How often the counts are written: the console's charts are this late at most. A write adds to the
     * minute's rows, so writing more often than the rows' minute changes their number not at all.
     */
    static final Duration FLUSH_EVERY = Duration.ofSeconds(10);

    static final Duration KEEP = Duration.ofHours(48);

    private record Key(long minute, String endpointId) {}

    /** The endpoint id of a minute's sum over all endpoints (no endpoint id is '*'). */
    static final String ALL = "*";

    /** One endpoint's minute: delivered, failed (abandoned), failed attempts, then the two histograms. */
    private static final class Counts {
        final AtomicIntegerArray values = new AtomicIntegerArray(3 + 2 * BUCKETS);
    }

    private final DataSource dataSource;
    private final String nodeId;
    private final InstantSource clock;
    /** Recording holds the read lock (many at once); a flush takes the write lock to swap the map. */
    private final ReadWriteLock swap = new ReentrantReadWriteLock();

    private volatile Map<Key, Counts> current = new ConcurrentHashMap<>();
    private final ScheduledExecutorService flusher;
    private volatile Instant lastPrune = Instant.EPOCH;

    public DeliveryStats(DataSource dataSource, String nodeId, InstantSource clock) {
        this.dataSource = dataSource;
        this.nodeId = nodeId;
        this.clock = clock;
        this.flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "delivery-stats");
            t.setDaemon(true);
            return t;
        });
    }

    public void start() {
        long every = FLUSH_EVERY.toMillis();
        flusher.scheduleWithFixedDelay(this::flushQuietly, every, every, TimeUnit.MILLISECONDS);
    }

    /** An attempt's outcome and duration; a delivered attempt is a delivered message. */
    void attempt(String endpointId, boolean delivered, long durationMillis) {
        record(endpointId, counts -> {
            counts.values.incrementAndGet(delivered ? 0 : 2);
            counts.values.incrementAndGet(3 + bucket(durationMillis));
        });
    }

    /** An attempt that sent nothing and abandoned its message: a failed attempt with no duration. */
    void notSent(String endpointId) {
        record(endpointId, counts -> {
            counts.values.incrementAndGet(2);
            counts.values.incrementAndGet(1);
        });
    }

    /** A stream's message delivered (counted by its attempt), {@code lag} after its oldest event was committed. */
    void delivered(String endpointId, Duration lag) {
        record(endpointId, counts -> counts.values.incrementAndGet(3 + BUCKETS + bucket(Math.max(0, lag.toMillis()))));
    }

    /** A message abandoned after its last attempt. */
    void abandoned(String endpointId) {
        record(endpointId, counts -> counts.values.incrementAndGet(1));
    }

    private void record(String endpointId, java.util.function.Consumer<Counts> change) {
        long minute = clock.instant().getEpochSecond() / 60;
        swap.readLock().lock();
        try {
            change.accept(current.computeIfAbsent(new Key(minute, endpointId), k -> new Counts()));
        } finally {
            swap.readLock().unlock();
        }
    }

    static int bucket(long millis) {
        int i = Arrays.binarySearch(BOUNDS_MS, millis);
        return i >= 0 ? i : -i - 1;
    }

    private void flushQuietly() {
        try {
            flush();
        } catch (RuntimeException e) {
            log.warn("Could not write delivery stats; they are kept for the next try: {}", e.toString());
        }
    }

    /**
     * Writes what was counted since the last flush, in one statement (added to the rows of the same
     * minutes this node wrote before). On failure the counts are kept for the next flush.
     */
    public synchronized void flush() {
        Map<Key, Counts> taken;
        swap.writeLock().lock();
        try {
            taken = current;
            current = new ConcurrentHashMap<>();
        } finally {
            swap.writeLock().unlock();
        }
        if (!taken.isEmpty()) {
            try {
                write(taken);
            } catch (RuntimeException e) {
                swap.readLock().lock();
                try {
                    taken.forEach((key, counts) -> {
                        Counts into = current.computeIfAbsent(key, k -> new Counts());
                        for (int i = 0; i < counts.values.length(); i++) {
                            into.values.addAndGet(i, counts.values.get(i));
                        }
                    });
                } finally {
                    swap.readLock().unlock();
                }
                throw e;
            }
        }
        Instant now = clock.instant();
        if (Duration.between(lastPrune, now).compareTo(Duration.ofHours(1)) >= 0) {
            lastPrune = now;
            Jdbc.withConnection(
                    dataSource, c -> Jdbc.update(c, "DELETE FROM delivery_stats WHERE minute < ?", now.minus(KEEP)));
        }
    }

    private void write(Map<Key, Counts> byEndpoint) {
        // The sum over all endpoints of each minute, as endpoint '*': the chart of everything reads one row.
        Map<Key, Counts> taken = new HashMap<>(byEndpoint);
        byEndpoint.forEach((key, counts) -> {
            Counts all = taken.computeIfAbsent(new Key(key.minute(), ALL), k -> new Counts());
            for (int v = 0; v < counts.values.length(); v++) {
                all.values.addAndGet(v, counts.values.get(v));
            }
        });
        int n = taken.size();
        Instant[] minutes = new Instant[n];
        String[] endpoints = new String[n];
        Integer[] delivered = new Integer[n];
        Integer[] failed = new Integer[n];
        Integer[] failedAttempts = new Integer[n];
        String[] latency = new String[n];
        String[] lag = new String[n];
        int i = 0;
        for (Map.Entry<Key, Counts> e : taken.entrySet()) {
            AtomicIntegerArray v = e.getValue().values;
            minutes[i] = Instant.ofEpochSecond(e.getKey().minute() * 60);
            endpoints[i] = e.getKey().endpointId();
            delivered[i] = v.get(0);
            failed[i] = v.get(1);
            failedAttempts[i] = v.get(2);
            latency[i] = histogram(v, 3);
            lag[i] = histogram(v, 3 + BUCKETS);
            i++;
        }
        String[] minuteTexts = Arrays.stream(minutes).map(Instant::toString).toArray(String[]::new);
        Jdbc.withConnection(
                dataSource,
                c -> Jdbc.update(
                        c,
                        "INSERT INTO delivery_stats AS d (minute, endpoint_id, node_id, delivered, failed, failed_attempts,"
                                + " latency, lag)"
                                + " SELECT m::timestamptz, e, ?, dl, f, fa, l::int[], g::int[]"
                                + " FROM unnest(?::text[], ?::text[], ?::int[], ?::int[], ?::int[], ?::text[], ?::text[])"
                                + "   AS u(m, e, dl, f, fa, l, g)"
                                + " ON CONFLICT (minute, endpoint_id, node_id) DO UPDATE SET"
                                + " delivered = d.delivered + excluded.delivered, failed = d.failed + excluded.failed,"
                                + " failed_attempts = d.failed_attempts + excluded.failed_attempts,"
                                + " latency = ARRAY(SELECT a + b FROM unnest(d.latency, excluded.latency) AS h(a, b)),"
                                + " lag = ARRAY(SELECT a + b FROM unnest(d.lag, excluded.lag) AS h(a, b))",
                        nodeId,
                        minuteTexts,
                        endpoints,
                        delivered,
                        failed,
                        failedAttempts,
                        latency,
                        lag));
    }

    private static String histogram(AtomicIntegerArray v, int from) {
        StringBuilder text = new StringBuilder("{");
        for (int i = 0; i < BUCKETS; i++) {
            text.append(i == 0 ? "" : ",").append(v.get(from + i));
        }
        return text.append('}').toString();
    }

    /** One bucket of the chart; the percentiles are null when nothing was measured in it. */
    public record Bucket(
            Instant start,
            long delivered,
            long failed,
            long retried,
            Long latencyP50Ms,
            Long latencyP99Ms,
            Long lagP99Ms) {}

    /**
     * The buckets of {@code bucketSize} covering {@code window} up to now, oldest first (empty ones
     * included), over the endpoints picked: one endpoint, an integration's, or all (both null).
     * {@code retried}: failed attempts whose message was tried again (failed attempts less abandoned
     * messages).
     */
    public List<Bucket> buckets(Duration window, Duration bucketSize, String endpointId, String integrationId) {
        long size = bucketSize.toSeconds();
        long now = clock.instant().getEpochSecond();
        long last = Math.floorDiv(now, size);
        long first = last - window.toSeconds() / size + 1;
        Instant since = Instant.ofEpochSecond(first * size);
        // One pass over the rows: each histogram bucket is its own sum (no unnest), over the '*' rows for
        // everything, one endpoint's rows, or an integration's endpoints' (at most 20).
        StringBuilder sums = new StringBuilder();
        for (int i = 1; i <= BUCKETS; i++) {
            sums.append(", sum(d.latency[").append(i).append("]) AS l").append(i);
        }
        for (int i = 1; i <= BUCKETS; i++) {
            sums.append(", sum(d.lag[").append(i).append("]) AS g").append(i);
        }
        String which = endpointId != null
                ? "d.endpoint_id = ?"
                : integrationId != null
                        ? "d.endpoint_id IN (SELECT e.id FROM webhook_endpoints e JOIN integrations i"
                                + " ON i.pk = e.integration_pk WHERE i.id = ?)"
                        : "d.endpoint_id = ?";
        String picked = endpointId != null ? endpointId : integrationId != null ? integrationId : ALL;
        Map<Long, long[]> counts = new HashMap<>();
        Map<Long, long[]> latency = new HashMap<>();
        Map<Long, long[]> lag = new HashMap<>();
        Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(
                        c,
                        "SELECT floor(extract(epoch FROM d.minute) / ?)::bigint AS b, sum(d.delivered) AS delivered,"
                                + " sum(d.failed) AS failed, sum(d.failed_attempts) AS failed_attempts" + sums
                                + " FROM delivery_stats d WHERE " + which + " AND d.minute >= ? GROUP BY b",
                        rs -> {
                            long b = rs.getLong("b");
                            counts.put(b, new long[] {
                                rs.getLong("delivered"), rs.getLong("failed"), rs.getLong("failed_attempts")
                            });
                            long[] l = new long[BUCKETS];
                            long[] g = new long[BUCKETS];
                            for (int i = 0; i < BUCKETS; i++) {
                                l[i] = rs.getLong("l" + (i + 1));
                                g[i] = rs.getLong("g" + (i + 1));
                            }
                            latency.put(b, l);
                            lag.put(b, g);
                            return null;
                        },
                        size,
                        picked,
                        since));
        List<Bucket> buckets = new ArrayList<>();
        for (long b = first; b <= last; b++) {
            long[] c = counts.getOrDefault(b, new long[3]);
            long[] l = latency.get(b);
            long[] g = lag.get(b);
            buckets.add(new Bucket(
                    Instant.ofEpochSecond(b * size),
                    c[0],
                    c[1],
                    Math.max(0, c[2] - c[1]),
                    percentile(l, 0.50),
                    percentile(l, 0.99),
                    percentile(g, 0.99)));
        }
        return buckets;
    }

    /** The upper bound of the bucket holding the {@code p} quantile; null for no samples. */
    static Long percentile(long[] histogram, double p) {
        if (histogram == null) {
            return null;
        }
        long total = Arrays.stream(histogram).sum();
        if (total == 0) {
            return null;
        }
        long rank = (long) Math.ceil(p * total);
        long seen = 0;
        for (int i = 0; i < histogram.length; i++) {
            seen += histogram[i];
            if (seen >= rank) {
                return i < BOUNDS_MS.length ? BOUNDS_MS[i] : BOUNDS_MS[BOUNDS_MS.length - 1];
            }
        }
        return BOUNDS_MS[BOUNDS_MS.length - 1];
    }

    /** Writes what is left, then stops. */
    @Override
    public void close() {
        flusher.shutdownNow();
        flushQuietly();
    }
}
