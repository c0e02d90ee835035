package dev.switchboard.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Ids;
import dev.switchboard.support.Json;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;

/**
 * One poller reading a tenant's log through {@code GET /api/v1/events?after=&limit=1000}, page after
 * page, as a partner catching up would; each page is parsed and checked to continue exactly where the
 * last one ended.
 */
final class FeedReader {
    static final int PAGE = 1000;

    private final BenchHttp http;
    private final String token;

    FeedReader(BenchHttp http, String token) {
        this.http = http;
        this.token = token;
    }

    /** What one read measured. */
    record Read(long events, double seconds, CpuMeter.Usage cpu) {
        double perSecond() {
            return events / seconds;
        }
    }

    /**
     * Appends {@code count} record events to the stream through {@code append_event}, the function every
     * write uses, then vacuums and analyzes, as autovacuum soon would: the feed is measured on a log in
     * its steady state, not in the wake of a bulk load. Only this setup connection commits without
     * waiting for the disk.
     */
    static void prefill(Connection db, long streamPk, int count) throws SQLException {
        String sql = "SELECT count(append_event(?, e.id, ?, e.subject, ?, now(), e.data::jsonb, NULL))"
                + " FROM unnest(?::uuid[], ?::text[], ?::text[]) AS e(id, subject, data)";
        try (Statement s = db.createStatement()) {
            s.execute("SET synchronous_commit = off");
        }
        // Appends in one statement update the stream's row once each, and each finds the row at the end
        // of a chain of versions no one can prune before the commit: small statements keep that short.
        int perStatement = 100;
        try (PreparedStatement ps = db.prepareStatement(sql)) {
            for (int done = 0; done < count; done += perStatement) {
                int n = Math.min(perStatement, count - done);
                UUID[] ids = new UUID[n];
                String[] subjects = new String[n];
                String[] data = new String[n];
                for (int i = 0; i < n; i++) {
                    ids[i] = Ids.newUuid();
                    subjects[i] = Ids.format("rec", Ids.newUuid());
                    data[i] = RawCreates.thinEvent(subjects[i]);
                }
                ps.setLong(1, streamPk);
                ps.setString(2, BenchFixture.COLLECTION + ".created");
                ps.setString(3, BenchFixture.COLLECTION);
                ps.setArray(4, db.createArrayOf("uuid", ids));
                ps.setArray(5, db.createArrayOf("text", subjects));
                ps.setArray(6, db.createArrayOf("text", data));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                }
            }
        }
        try (Statement s = db.createStatement()) {
            s.execute("SET synchronous_commit = on");
            s.execute("VACUUM ANALYZE streams, events");
        }
    }

    /** Reads from the start of the log until its head or until {@code limit} has passed. */
    Read read(CpuMeter cpu, Duration limit) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        CpuMeter.Sample a = cpu.sample();
        long after = 0;
        long events = 0;
        while (System.nanoTime() < deadline) {
            JsonNode page =
                    Json.read(http.expect(200, "GET", "/api/v1/events?after=" + after + "&limit=" + PAGE, token, null));
            JsonNode list = page.get("events");
            if (list.isEmpty()) {
                break;
            }
            if (list.get(0).get("seq").asLong() != after + 1 || page.get("next").asLong() != after + list.size()) {
                throw new IllegalStateException(
                        "the feed page after " + after + " is not the next " + list.size() + " events");
            }
            after = page.get("next").asLong();
            events += list.size();
        }
        CpuMeter.Sample b = cpu.sample();
        return new Read(events, (b.nanos() - a.nanos()) / 1e9, CpuMeter.between(a, b));
    }
}
