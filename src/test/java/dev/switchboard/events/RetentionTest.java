package dev.switchboard.events;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class RetentionTest {
    @Test
    void eventsPastRetentionAreDeletedAndOldPositionsAreReportedGone() {
        AtomicReference<Instant> now = new AtomicReference<>(Instant.now());
        try (TestServer server = TestServer.start(dev.switchboard.testing.TestDatabase.create(), Map.of(), now::get)) {
            server.createTenant("old-hotel");
            Api app = server.adminFor("old-hotel");
            for (int i = 0; i < 3; i++) {
                app.post("/api/v1/events", Map.of("type", "device.command")).expect(201);
            }
            var dataSource = server.switchboard().database().dataSource();
            Retention retention = new Retention(dataSource, Duration.ofDays(7), now::get, new SimpleMeterRegistry());
            assertThat(retention.runOnce()).isZero();

            dev.switchboard.store.Jdbc.withConnection(dataSource, c -> c.createStatement().executeUpdate(
                    "INSERT INTO integrations (id, name, client_key_hash, read_collections, write_collections, event_types)"
                            + " VALUES ('int_r', 'r', '\\x01', '{}', '{}', '{}');"
                            + " INSERT INTO webhook_endpoints (id, integration_pk, url, kind, event_types, max_batch_size, state)"
                            + " SELECT 'wh_r', pk, 'https://p.example/', 'events', '{*}', 100, 'enabled' FROM integrations;"
                            + " INSERT INTO webhook_messages (id, endpoint_pk, lane, event_count, body, status)"
                            + " SELECT lpad(to_hex(n), 32, '0')::uuid, pk, 'manual', 1, '{}', s FROM webhook_endpoints,"
                            + " unnest(ARRAY['delivered', 'failed', 'pending']) WITH ORDINALITY AS u(s, n)"));
            java.util.function.Supplier<java.util.List<String>> messages = () -> dev.switchboard.store.Jdbc.withConnection(
                    dataSource, c -> dev.switchboard.store.Jdbc.query(c, "SELECT status FROM webhook_messages ORDER BY status",
                            rs -> rs.getString(1)));

            now.set(now.get().plus(Duration.ofDays(8)));
            assertThat(retention.runOnce()).isEqualTo(3);
            assertThat(messages.get()).as("finished messages go with their events; pending ones stay").containsExactly("pending");
            app.post("/api/v1/events", Map.of("type", "device.command")).expect(201);

            Api.Response gone = app.get("/api/v1/events?after=1");
            assertThat(gone.status()).isEqualTo(410);
            assertThat(gone.errorCode()).isEqualTo("position_expired");
            assertThat(gone.json().get("error").get("details").get("oldestSeq").asLong()).isEqualTo(4);
            // Without a position a reader starts at the oldest retained event; the position just before it is valid.
            assertThat(app.get("/api/v1/events").json().get("events")).extracting(e -> e.get("seq").asLong()).containsExactly(4L);
            assertThat(app.get("/api/v1/events?after=3").expect(200).json().get("events")).hasSize(1);
        }
    }

    @Test
    void deletesInBatchesUntilNothingIsDue() {
        AtomicReference<Instant> now = new AtomicReference<>(Instant.now());
        try (TestServer server = TestServer.start(dev.switchboard.testing.TestDatabase.create(), Map.of(), now::get)) {
            server.createTenant("busy-hotel");
            var dataSource = server.switchboard().database().dataSource();
            int total = Retention.BATCH * 2 + 17;
            dev.switchboard.store.Jdbc.withConnection(dataSource, c -> {
                try (var s = c.createStatement()) {
                    s.execute("WITH st AS (SELECT s.pk FROM streams s JOIN tenants t ON t.pk = s.tenant_pk WHERE t.id = 'busy-hotel'),"
                            + " n AS (UPDATE streams SET last_seq = " + total + " WHERE pk = (SELECT pk FROM st))"
                            + " INSERT INTO events (stream_pk, seq, id, type, time, data)"
                            + " SELECT (SELECT pk FROM st), g, lpad(to_hex(g), 32, '0')::uuid, 'bulk.loaded', now(), '{}'"
                            + " FROM generate_series(1, " + total + ") g");
                }
                return null;
            });
            // Ids whose time bits are all zero sort below every UUIDv7 of today: old events.
            now.set(now.get().plus(Duration.ofDays(8)));
            long deleted = new Retention(dataSource, Duration.ofDays(7), now::get, new SimpleMeterRegistry()).runOnce();
            assertThat(deleted).isEqualTo(total);
        }
    }
}
