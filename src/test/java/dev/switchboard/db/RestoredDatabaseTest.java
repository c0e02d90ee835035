package dev.switchboard.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.WsClient;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/**
 * A database restored to an earlier point: the events after it are gone, and partners hold positions past
 * its head. Their next events must come after those positions, on the feed, a socket and a webhook stream.
 */
class RestoredDatabaseTest {
    private static final Map<String, String> ENV = Map.of(
            "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
            "SWITCHBOARD_RATE_LIMIT_REQUESTS", "100000");

    @Test
    void afterARestoreToAnEarlierPointNewEventsComeAfterEveryPositionAPartnerSaved() throws Exception {
        DatabaseUrl live = TestDatabase.create();
        try (Receiver receiver = new Receiver()) {
            Partner partner;
            Partner quiet;
            String paused;
            try (TestServer server = TestServer.start(live, ENV, InstantSource.system())) {
                server.createCollection("rooms");
                partner = Partner.create(server, List.of("rooms.*"));
                quiet = Partner.create(server, List.of("rooms.*"));
                quiet.writeRecords("rooms", 2, Map.of("state", "free"));
                partner.webhook(Map.of("url", receiver.url("/hook")));
                // Disabled by its partner before the backup: its stream stays behind what follows.
                paused = partner.webhook(Map.of("url", receiver.url("/paused")))
                        .get("id")
                        .asText();
                partner.client()
                        .patch("/api/v1/webhooks/" + paused, Map.of("state", "disabled"))
                        .expect(200);
                partner.writeRecords("rooms", 3, Map.of("state", "free"));
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> delivered(receiver).size() >= 3);
            }
            DatabaseUrl backup = TestDatabase.copyOf(live);
            DatabaseUrl sameBackup = TestDatabase.copyOf(live); // to restore a second time, later
            long backupHead = stream(backup, partner.tenant(), "last_seq");
            long micros = System.currentTimeMillis() * 1000;

            long savedPosition;
            try (TestServer server = TestServer.start(live, ENV, InstantSource.system())) {
                server.api(partner.accessToken())
                        .post("/api/v1/collections/rooms/records", Map.of("data", Map.of("state", "lost")))
                        .expect(201);
                savedPosition = feed(server, partner, 0).get("next").asLong();
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> delivered(receiver).size() >= 4);
            }
            assertThat(savedPosition).isGreaterThan(backupHead);

            long quietHead = stream(backup, quiet.tenant(), "last_seq");
            restoreAsADumpWould(backup);
            removeEvents(backup, quiet.tenant()); // as the retention does, on a tenant quiet for longer
            try (TestServer server = TestServer.start(backup, ENV, InstantSource.system());
                    WsClient socket = WsClient.connect(server, partner.accessToken(), "?after=" + savedPosition)) {
                socket.await("live");
                String written = server.api(partner.accessToken())
                        .post("/api/v1/collections/rooms/records", Map.of("data", Map.of("state", "after")))
                        .expect(201)
                        .json()
                        .get("id")
                        .asText();
                JsonNode page = feed(server, partner, savedPosition);
                assertThat(page.get("events")).hasSize(1);
                JsonNode event = page.get("events").get(0);
                assertThat(event.get("subject").asText()).isEqualTo(written);
                // Past every seq handed out (the time in microseconds), with the gap's bounds noted.
                long jumpedTo = stream(backup, partner.tenant(), "jumped_to");
                assertThat(jumpedTo).isGreaterThanOrEqualTo(micros).isGreaterThan(savedPosition);
                assertThat(event.get("seq").asLong()).isEqualTo(jumpedTo + 1);
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> !socket.events().isEmpty());
                assertThat(socket.events().getFirst().get("id").asText())
                        .isEqualTo(event.get("id").asText());
                await().atMost(Duration.ofSeconds(20))
                        .until(() ->
                                delivered(receiver).contains(event.get("id").asText()));
                // The paused endpoint's lag counts the events it has not sent, not the positions jumped over.
                JsonNode stream = server.api(partner.client().token())
                        .get("/api/v1/webhooks/" + paused + "/streams")
                        .expect(200)
                        .json()
                        .get("streams")
                        .get(0);
                assertThat(stream.get("lagEvents").asLong()).isEqualTo(4);
                // A tenant whose events the retention removed: a reader at its old head missed nothing; one
                // before it missed those events, and reads on from the head the numbering jumped from.
                assertThat(feed(server, quiet, quietHead).get("events")).isEmpty();
                Api.Response expired = server.api(quiet.accessToken()).get("/api/v1/events?after=0");
                assertThat(expired.status()).isEqualTo(410);
                assertThat(expired.json().at("/error/details/oldestSeq").asLong())
                        .isEqualTo(quietHead + 1);
            }
            // A restart on the same database is no restore: the numbering goes on.
            try (TestServer server = TestServer.start(backup, ENV, InstantSource.system())) {
                server.api(partner.accessToken())
                        .post("/api/v1/collections/rooms/records", Map.of("data", Map.of("state", "again")))
                        .expect(201);
                long jumpedTo = stream(backup, partner.tenant(), "jumped_to");
                JsonNode page = feed(server, partner, jumpedTo);
                assertThat(page.get("events"))
                        .extracting(e -> e.get("seq").asLong())
                        .containsExactly(jumpedTo + 1, jumpedTo + 2);

                // Marked restored under the running node (as deployment.md tells for a copied directory; a
                // promotion shows the same way): its next readiness check numbers on past the head.
                mark(backup);
                Thread.sleep(1_100); // past the readiness answer kept for a second
                server.api(null).get("/health/ready").expect(200);
                server.api(partner.accessToken())
                        .post("/api/v1/collections/rooms/records", Map.of("data", Map.of("state", "marked")))
                        .expect(201);
                long markedTo = stream(backup, partner.tenant(), "jumped_to");
                assertThat(markedTo).isGreaterThan(jumpedTo + 2);
                assertThat(feed(server, partner, jumpedTo + 2).get("events"))
                        .extracting(e -> e.get("seq").asLong())
                        .containsExactly(markedTo + 1);
                savedPosition = markedTo + 1;
            }
            // The same backup restored again: the counter must pass every seq handed out since the first
            // restore, not only the backup's head.
            restoreAsADumpWould(sameBackup);
            try (TestServer server = TestServer.start(sameBackup, ENV, InstantSource.system())) {
                server.api(partner.accessToken())
                        .post("/api/v1/collections/rooms/records", Map.of("data", Map.of("state", "twice")))
                        .expect(201);
                assertThat(feed(server, partner, savedPosition).get("events")).hasSize(1);
            }
        }
    }

    private static void mark(DatabaseUrl database) throws Exception {
        try (Connection c = DriverManager.getConnection(database.jdbcUrl());
                Statement s = c.createStatement()) {
            s.executeUpdate("UPDATE log_origin SET timeline = 'restored'");
        }
    }

    /** The event ids the receiver got on /hook. */
    private static Set<String> delivered(Receiver receiver) {
        return receiver.received("/hook").stream()
                .flatMap(r -> StreamSupport.stream(r.json().get("events").spliterator(), false))
                .map(e -> e.get("id").asText())
                .collect(Collectors.toSet());
    }

    private static JsonNode feed(TestServer server, Partner partner, long after) {
        return server.api(partner.accessToken())
                .get("/api/v1/events?limit=1000&after=" + after)
                .expect(200)
                .json();
    }

    /** A tenant's head (last_seq), or where its counter last jumped to (jumped_to), read from the database. */
    private static long stream(DatabaseUrl database, String tenant, String column) throws Exception {
        try (Connection c = DriverManager.getConnection(database.jdbcUrl());
                var s = c.prepareStatement(
                        "SELECT s." + column + " FROM streams s JOIN tenants t ON t.pk = s.tenant_pk WHERE t.id = ?")) {
            s.setString(1, tenant);
            try (var rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static void removeEvents(DatabaseUrl database, String tenant) throws Exception {
        try (Connection c = DriverManager.getConnection(database.jdbcUrl());
                var s = c.prepareStatement("DELETE FROM events WHERE stream_pk ="
                        + " (SELECT s.pk FROM streams s JOIN tenants t ON t.pk = s.tenant_pk WHERE t.id = ?)")) {
            s.setString(1, tenant);
            s.executeUpdate();
        }
    }

    /**
     * What pg_restore does to the one row that tells: writes it anew (a restore writes every row anew). The
     * copy is file for file, as a stopped database's directory copied back would be, which is not noticed.
     */
    private static void restoreAsADumpWould(DatabaseUrl database) throws Exception {
        try (Connection c = DriverManager.getConnection(database.jdbcUrl());
                Statement s = c.createStatement()) {
            s.execute("CREATE TEMP TABLE origin AS SELECT * FROM log_origin");
            s.execute("DELETE FROM log_origin");
            s.execute("INSERT INTO log_origin SELECT * FROM origin");
        }
    }
}
