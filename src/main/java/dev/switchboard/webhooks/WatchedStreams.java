package dev.switchboard.webhooks;

import dev.switchboard.db.Jdbc;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;

/**
 * Which webhook streams follow each event stream, so that a wake-up for a stream no webhook follows
 * costs nothing. Streams come and go only when an endpoint is created or deleted (its streams with it)
 * and when a connection is made or deleted (a stream for each of its integration's endpoints). So a
 * connection change, or a notice that may have been missed, reads {@code webhook_streams} whole
 * ({@link #reload}), while an endpoint change reads only what it can have changed ({@link
 * #endpointChanged}): a new endpoint's streams, a deleted one's removal, and for any other change (URL,
 * filter, state, secret, replay) one lookup of the endpoint's row. An integration changing its endpoints
 * as often as its rate limit allows thus no longer makes every node read every webhook stream each time.
 *
 * <p>The dispatcher's loop alone changes it; wake-ups read it from any thread ({@link #of}).
 */
final class WatchedStreams {
    private final DataSource dataSource;
    /** Webhook stream pks by the event stream they follow: replaced whole by a reload, else changed per key. */
    private volatile ConcurrentHashMap<Long, long[]> byStream = new ConcurrentHashMap<>();
    /** Each watched endpoint's streams, as (event stream, webhook stream) pairs, flattened. */
    private Map<Long, long[]> byEndpoint = new HashMap<>();
    /** Rows of {@code webhook_streams} read so far: what keeping this index has cost. */
    private long rowsRead;

    WatchedStreams(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** The webhook streams following an event stream; null when none does. */
    long[] of(long streamPk) {
        return byStream.get(streamPk);
    }

    /** Reads every webhook stream. */
    void reload() {
        Map<Long, List<Long>> streams = new HashMap<>();
        Map<Long, List<Long>> endpoints = new HashMap<>();
        int rows = Jdbc.withConnection(
                        dataSource,
                        c -> Jdbc.query(c, "SELECT endpoint_pk, stream_pk, pk FROM webhook_streams", rs -> {
                            long stream = rs.getLong(2);
                            long webhookStream = rs.getLong(3);
                            streams.computeIfAbsent(stream, k -> new ArrayList<>())
                                    .add(webhookStream);
                            List<Long> pairs = endpoints.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>());
                            pairs.add(stream);
                            pairs.add(webhookStream);
                            return null;
                        }))
                .size();
        ConcurrentHashMap<Long, long[]> fresh = new ConcurrentHashMap<>(Math.max(16, streams.size() * 2));
        streams.forEach((stream, pks) -> fresh.put(stream, longs(pks)));
        Map<Long, long[]> freshEndpoints = new HashMap<>();
        endpoints.forEach((endpoint, pairs) -> freshEndpoints.put(endpoint, longs(pairs)));
        byStream = fresh;
        byEndpoint = freshEndpoints;
        rowsRead += rows;
    }

    /** An endpoint was created, changed or deleted (on any node). */
    void endpointChanged(long endpointPk) {
        long[] pairs = byEndpoint.get(endpointPk);
        if (pairs == null) {
            // New, or one with no stream yet: its streams, through the (endpoint_pk, stream_pk) index.
            List<long[]> found = Jdbc.withConnection(
                    dataSource,
                    c -> Jdbc.query(
                            c,
                            "SELECT stream_pk, pk FROM webhook_streams WHERE endpoint_pk = ?",
                            rs -> new long[] {rs.getLong(1), rs.getLong(2)},
                            endpointPk));
            rowsRead += found.size();
            if (found.isEmpty()) {
                return;
            }
            long[] added = new long[found.size() * 2];
            for (int i = 0; i < found.size(); i++) {
                long[] row = found.get(i);
                added[2 * i] = row[0];
                added[2 * i + 1] = row[1];
                byStream.merge(row[0], new long[] {row[1]}, WatchedStreams::union);
            }
            byEndpoint.put(endpointPk, added);
            return;
        }
        if (!Jdbc.withConnection(dataSource, c -> EndpointStore.exists(c, endpointPk))) {
            // Deleted: its streams went with it.
            for (int i = 0; i < pairs.length; i += 2) {
                long webhookStream = pairs[i + 1];
                byStream.computeIfPresent(pairs[i], (stream, pks) -> without(pks, webhookStream));
            }
            byEndpoint.remove(endpointPk);
        }
    }

    /** Rows of {@code webhook_streams} read since this index was made. */
    long rowsRead() {
        return rowsRead;
    }

    private static long[] longs(List<Long> values) {
        return values.stream().mapToLong(Long::longValue).toArray();
    }

    private static long[] union(long[] pks, long[] more) {
        long[] all = Arrays.copyOf(pks, pks.length + more.length);
        System.arraycopy(more, 0, all, pks.length, more.length);
        return Arrays.stream(all).distinct().toArray();
    }

    /** The array without {@code pk}; null (the key removed) when nothing is left. */
    private static long[] without(long[] pks, long pk) {
        long[] left = Arrays.stream(pks).filter(p -> p != pk).toArray();
        return left.length == 0 ? null : left;
    }
}
