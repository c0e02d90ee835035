package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.db.PageBytes;
import dev.switchboard.events.NewEvent;
import dev.switchboard.support.Ids;
import dev.switchboard.support.Json;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.WsClient;
import dev.switchboard.webhooks.MessageBody;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The bounds on sizes: an event's data is at most 64 KiB, and every reader (a record list page, a feed
 * page, a WebSocket batch, a webhook message) stops at a byte bound as well as a count, with at least
 * one item per page and a cursor or position that continues through everything.
 */
@Timeout(120)
class SizeLimitsTest {
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of(
                "SWITCHBOARD_RATE_LIMIT_REQUESTS", "100000",
                "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true"));
        server.createCollection("docs", "eventFields", List.of("title"));
        server.createCollection("notes", "eventFields", List.of("title", "body"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Api tenant(String id) {
        server.createTenant(id);
        return server.adminFor(id);
    }

    private static String text(int length) {
        return "x".repeat(length);
    }

    /** Pages through a record list to its end, checking each page's data against the bound. */
    private static List<List<String>> pages(Api api, String firstPath) {
        List<List<String>> pages = new ArrayList<>();
        String path = firstPath;
        while (path != null) {
            JsonNode page = api.get(path).expect(200).json();
            List<String> ids = new ArrayList<>();
            long bytes = 0;
            for (JsonNode record : page.get("records")) {
                ids.add(record.get("id").asText());
                bytes += record.get("data").toString().length();
            }
            assertThat(ids).as("a page holds at least one record").isNotEmpty();
            if (ids.size() > 1) {
                assertThat(bytes).as("data on a page of %d records", ids.size()).isLessThanOrEqualTo(PageBytes.MAX);
            }
            pages.add(ids);
            String cursor =
                    page.get("cursor").isNull() ? null : page.get("cursor").asText();
            path = cursor == null ? null : firstPath + "&cursor=" + URLEncoder.encode(cursor, StandardCharsets.UTF_8);
        }
        return pages;
    }

    @Test
    void recordListPagesStopAtOneMebibyteOfDataAndTheirCursorsContinueThroughEveryRecord() {
        Api api = tenant("size-record-pages");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            ids.add(api.post(
                            "/api/v1/collections/docs/records",
                            Map.of("data", Map.of("title", "doc " + i, "body", text(300_000))))
                    .expect(201)
                    .json()
                    .get("id")
                    .asText());
        }

        List<List<String>> byId = pages(api, "/api/v1/collections/docs/records?limit=1000");
        assertThat(byId).extracting(List::size).containsExactly(3, 3, 3, 1);
        assertThat(byId.stream().flatMap(List::stream).toList()).containsExactlyElementsOf(ids);

        List<List<String>> byUpdate =
                pages(api, "/api/v1/collections/docs/records?limit=1000&updatedFrom=2000-01-01T00:00:00Z");
        assertThat(byUpdate).extracting(List::size).containsExactly(3, 3, 3, 1);
        assertThat(byUpdate.stream().flatMap(List::stream).toList()).containsExactlyElementsOf(ids);

        // The count still bounds a page, and the last page still says there is no more.
        assertThat(pages(api, "/api/v1/collections/docs/records?limit=2"))
                .extracting(List::size)
                .containsExactly(2, 2, 2, 2, 2);
    }

    @Test
    void aRecordLargerThanThePageBoundComesOnAPageOfItsOwnAndTheNextPageFollowsIt() {
        try (TestServer big = TestServer.start(Map.of("SWITCHBOARD_MAX_BODY_SIZE", "4MiB"))) {
            big.createCollection("docs");
            big.createTenant("size-big-record");
            Api api = big.adminFor("size-big-record");
            List<String> ids = new ArrayList<>();
            ids.add(api.post("/api/v1/collections/docs/records", Map.of("data", Map.of("body", text(1_500_000))))
                    .expect(201)
                    .json()
                    .get("id")
                    .asText());
            for (int i = 0; i < 3; i++) {
                ids.add(api.post("/api/v1/collections/docs/records", Map.of("data", Map.of("n", i)))
                        .expect(201)
                        .json()
                        .get("id")
                        .asText());
            }
            ids.add(api.post("/api/v1/collections/docs/records", Map.of("data", Map.of("body", text(2_000_000))))
                    .expect(201)
                    .json()
                    .get("id")
                    .asText());

            List<List<String>> pages = pages(api, "/api/v1/collections/docs/records?limit=1000");
            assertThat(pages).extracting(List::size).containsExactly(1, 3, 1);
            assertThat(pages.stream().flatMap(List::stream).toList()).containsExactlyElementsOf(ids);
        }
    }

    @Test
    void aRecordWhoseEventFieldsWouldMakeAnEventOver64KiBIsRefusedNamingTheFieldAndNothingIsWritten() {
        Api api = tenant("size-event-fields");
        Api.Response refused = api.post(
                "/api/v1/collections/notes/records", Map.of("data", Map.of("title", "big", "body", text(70_000))));
        assertThat(refused.status()).isEqualTo(422);
        assertThat(refused.errorCode()).isEqualTo("event_too_large");
        assertThat(refused.json().get("error").get("message").asText())
                .startsWith("data.body: ")
                .contains("65536");
        assertThat(refused.json().get("error").get("details").get("field").asText())
                .isEqualTo("data.body");
        assertThat(api.get("/api/v1/collections/notes/records")
                        .expect(200)
                        .json()
                        .get("records"))
                .isEmpty();
        assertThat(api.get("/api/v1/events").expect(200).json().get("events")).isEmpty();

        JsonNode created = api.post(
                        "/api/v1/collections/notes/records",
                        Map.of("data", Map.of("title", "small", "body", text(1_000))))
                .expect(201)
                .json();
        String path = "/api/v1/collections/notes/records/" + created.get("id").asText();
        Api.Response patched = api.patch(path, Map.of("data", Map.of("body", text(70_000))));
        assertThat(patched.status()).isEqualTo(422);
        assertThat(patched.json().get("error").get("details").get("field").asText())
                .isEqualTo("data.body");
        assertThat(api.get(path).expect(200).json().get("version").asInt()).isEqualTo(1);
        assertThat(api.get("/api/v1/events").expect(200).json().get("events")).hasSize(1);
    }

    @Test
    void anUpdateThatWouldGrowARecordPastTheBodyLimitIsRefusedAndNothingIsWritten() {
        Api api = tenant("size-growing-record");
        String id = api.post("/api/v1/collections/docs/records", Map.of("data", Map.of("a", text(600_000))))
                .expect(201)
                .json()
                .get("id")
                .asText();
        String path = "/api/v1/collections/docs/records/" + id;
        long head = api.get("/api/v1/events").expect(200).json().get("next").asLong();

        // Each patch is well under the body limit; the record they would make is not.
        Api.Response grown = api.patch(path, Map.of("data", Map.of("b", text(600_000))));
        assertThat(grown.status()).isEqualTo(422);
        JsonNode error = grown.json().get("error");
        assertThat(error.get("code").asText()).isEqualTo("record_too_large");
        assertThat(error.get("message").asText())
                .contains(id)
                .contains("1048576 bytes")
                .contains("server.maxBodySize");
        assertThat(error.get("details").get("maxBytes").asLong()).isEqualTo(1_048_576);
        assertThat(error.get("details").get("bytes").asLong()).isGreaterThan(1_200_000);

        JsonNode unchanged = api.get(path).expect(200).json();
        assertThat(unchanged.get("version").asInt()).isEqualTo(1);
        assertThat(unchanged.get("data").has("b")).isFalse();
        assertThat(api.get("/api/v1/events?after=" + head).expect(200).json().get("events"))
                .as("events appended")
                .isEmpty();

        api.patch(path, Map.of("data", Map.of("a", "short", "b", text(600_000))))
                .expect(200);
    }

    @Test
    void aRecordWithLargeDataOutsideItsEventFieldsIsWrittenAndItsEventCarriesOnlyThoseFields() {
        Api api = tenant("size-large-record");
        String body = text(1_000_000);
        JsonNode created = api.post(
                        "/api/v1/collections/docs/records", Map.of("data", Map.of("title", "t", "body", body)))
                .expect(201)
                .json();
        assertThat(api.get("/api/v1/collections/docs/records/"
                                + created.get("id").asText())
                        .expect(200)
                        .json()
                        .get("data")
                        .get("body")
                        .asText())
                .isEqualTo(body);
        JsonNode event =
                api.get("/api/v1/events").expect(200).json().get("events").get(0);
        assertThat(event.get("data"))
                .isEqualTo(Json.read("{\"id\":\"" + created.get("id").asText() + "\",\"version\":1,\"title\":\"t\"}"));
    }

    @Test
    void aCustomEventOfExactly64KiBOfDataIsPublishedAndOneByteMoreIsRefusedNamingData() {
        Api app = tenant("size-custom-event");
        int fits = NewEvent.MAX_DATA_BYTES - "{\"blob\":\"\"}".length();
        app.post("/api/v1/events", Map.of("type", "device.blob", "data", Map.of("blob", text(fits))))
                .expect(201);

        Api.Response refused =
                app.post("/api/v1/events", Map.of("type", "device.blob", "data", Map.of("blob", text(fits + 1))));
        assertThat(refused.status()).isEqualTo(422);
        assertThat(refused.errorCode()).isEqualTo("event_too_large");
        assertThat(refused.json().get("error").get("message").asText())
                .startsWith("data: ")
                .contains("65537");
        assertThat(app.get("/api/v1/events").expect(200).json().get("events")).hasSize(1);
    }

    @Test
    void feedPagesStopAtOneMebibyteOfEventDataAndNextContinuesThroughEveryEvent() {
        Api app = tenant("size-feed-pages");
        for (int i = 0; i < 40; i++) {
            app.post("/api/v1/events", Map.of("type", "device.blob", "data", Map.of("n", i, "blob", text(60_000))))
                    .expect(201);
        }
        List<Integer> sizes = new ArrayList<>();
        List<Long> seqs = new ArrayList<>();
        long after = 0;
        while (true) {
            JsonNode page = app.get("/api/v1/events?limit=1000&after=" + after)
                    .expect(200)
                    .json();
            if (page.get("events").isEmpty()) {
                assertThat(page.get("next").asLong()).isEqualTo(40);
                break;
            }
            long bytes = 0;
            for (JsonNode e : page.get("events")) {
                seqs.add(e.get("seq").asLong());
                bytes += e.get("data").toString().length();
            }
            assertThat(bytes).isLessThanOrEqualTo(PageBytes.MAX);
            sizes.add(page.get("events").size());
            assertThat(page.get("next").asLong()).isEqualTo(seqs.getLast());
            after = page.get("next").asLong();
        }
        assertThat(sizes).containsExactly(17, 17, 6);
        assertThat(seqs)
                .containsExactlyElementsOf(
                        java.util.stream.LongStream.rangeClosed(1, 40).boxed().toList());
    }

    @Test
    void aDeleteIsNeverRefusedForItsEventAndItsEventCarriesOnlyIdAndVersionWhenItsFieldsOutgrewTheLimit()
            throws Exception {
        DatabaseUrl database = TestDatabase.create();
        String id;
        try (TestServer first = TestServer.start(database, Map.of(), InstantSource.system())) {
            first.createCollection("papers", "eventFields", List.of("title"));
            first.createTenant("size-delete");
            id = first.adminFor("size-delete")
                    .post(
                            "/api/v1/collections/papers/records",
                            Map.of("data", Map.of("title", "t", "body", text(100_000))))
                    .expect(201)
                    .json()
                    .get("id")
                    .asText();
        }
        // The operator adds the large field to the collection's eventFields (as a changed configuration would).
        try (Connection c = DriverManager.getConnection(database.jdbcUrl());
                PreparedStatement ps = c.prepareStatement(
                        "UPDATE collections SET event_fields = '{title,body}' WHERE name = 'papers'")) {
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
        try (TestServer restarted = TestServer.start(database, Map.of(), InstantSource.system())) {
            Api api = restarted.adminFor("size-delete");
            assertThat(api.patch("/api/v1/collections/papers/records/" + id, Map.of("data", Map.of("title", "u")))
                            .status())
                    .isEqualTo(422);
            api.delete("/api/v1/collections/papers/records/" + id).expect(204);
            JsonNode events = api.get("/api/v1/events").expect(200).json().get("events");
            JsonNode deleted = events.get(events.size() - 1);
            assertThat(deleted.get("type").asText()).isEqualTo("papers.deleted");
            assertThat(deleted.get("data")).isEqualTo(Json.read("{\"id\":\"" + id + "\",\"version\":2}"));
        }
    }

    @Test
    void aWebSocketReplayComesInBatchesOfAQuarterOfTheQueueAndReachesLiveAfterEveryEvent() {
        String tenant = "size-ws-replay";
        Api app = tenant(tenant);
        for (int i = 0; i < 20; i++) {
            app.post("/api/v1/events", Map.of("type", "device.blob", "data", Map.of("blob", text(60_000))))
                    .expect(201);
        }
        try (WsClient ws = WsClient.connect(server, server.partnerToken(tenant), "?after=0")) {
            ws.await("live");
            assertEventFrames(ws, 20, 256 * 1024);
        }
    }

    @Test
    void aLiveWebSocketReadsABacklogInBatchesOfAQuarterOfTheQueueAndGetsEveryEvent() throws Exception {
        String tenant = "size-ws-live";
        Api app = tenant(tenant);
        try (WsClient ws = WsClient.connect(server, server.partnerToken(tenant), null)) {
            ws.await("live");
            // Events committed without waking this node (as when another node's NOTIFY is lost), then one
            // that wakes it: the feed reads all of them at once, and must split them by bytes.
            appendWithoutWakeUp(tenant, 20, text(60_000));
            app.post("/api/v1/events", Map.of("type", "device.blob", "data", Map.of("blob", "last")))
                    .expect(201);
            assertEventFrames(ws, 21, 256 * 1024);
        }
    }

    private static void assertEventFrames(WsClient ws, int events, int maxBytes) {
        ws.awaitEvents(events);
        List<Long> seqs = new ArrayList<>();
        for (JsonNode message : ws.messages()) {
            if (!message.path("type").asText().equals("events")) {
                continue;
            }
            long bytes = 0;
            for (JsonNode e : message.get("events")) {
                seqs.add(e.get("seq").asLong());
                bytes += e.get("data").toString().length();
            }
            if (message.get("events").size() > 1) {
                assertThat(bytes).as("event data in one frame").isLessThanOrEqualTo(maxBytes);
            }
        }
        assertThat(seqs)
                .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, events)
                        .boxed()
                        .toList());
    }

    private static void appendWithoutWakeUp(String tenant, int count, String blob) throws Exception {
        try (Connection c = DriverManager.getConnection(server.database().jdbcUrl())) {
            long stream;
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT s.pk FROM streams s JOIN tenants t ON t.pk = s.tenant_pk" + " WHERE t.id = ?")) {
                ps.setString(1, tenant);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    stream = rs.getLong(1);
                }
            }
            c.setAutoCommit(false);
            for (int i = 0; i < count; i++) {
                NewEvent event = new NewEvent(
                        Ids.newUuid(),
                        "device.blob",
                        null,
                        null,
                        Instant.now(),
                        Json.write(Map.of("blob", blob)),
                        null);
                try (PreparedStatement ps = c.prepareStatement("SELECT " + NewEvent.APPEND_CALL)) {
                    Object[] params = event.params(stream);
                    for (int p = 0; p < params.length; p++) {
                        ps.setObject(p + 1, params[p] instanceof Instant t ? java.sql.Timestamp.from(t) : params[p]);
                    }
                    ps.executeQuery().close();
                }
            }
            c.commit();
        }
    }

    @Test
    void aWebhookEndpointGetsABacklogOfLargeEventsInMessagesOfAtMostOneMebibyteInOrder() {
        String tenant = "size-webhook";
        server.createTenant(tenant);
        try (Receiver receiver = new Receiver()) {
            Api client = Partner.on(server, tenant, List.of("*"), List.of("*"), List.of("*"))
                    .client();
            for (int i = 0; i < 40; i++) {
                server.adminFor(tenant)
                        .post("/api/v1/events", Map.of("type", "device.blob", "data", Map.of("blob", text(60_000))))
                        .expect(201);
            }
            String webhook = client.post("/api/v1/webhooks", Map.of("url", receiver.url("/big"), "maxBatchSize", 1000))
                    .expect(201)
                    .json()
                    .get("id")
                    .asText();
            // The endpoint starts at the stream's head: the backlog is replayed to it.
            client.post("/api/v1/webhooks/" + webhook + "/replay", Map.of("fromSeq", 1))
                    .expect(202);
            List<Long> seqs = new ArrayList<>();
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> received(receiver).size() >= 40);
            for (Receiver.Received r : receiver.received("/big")) {
                assertThat(r.body().getBytes(StandardCharsets.UTF_8).length)
                        .isLessThanOrEqualTo(MessageBody.MAX_BYTES + 1024);
                r.json().get("events").forEach(e -> seqs.add(e.get("seq").asLong()));
            }
            assertThat(seqs)
                    .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, 40)
                            .boxed()
                            .toList());
        }
    }

    private static List<JsonNode> received(Receiver receiver) {
        List<JsonNode> events = new ArrayList<>();
        receiver.received("/big").forEach(r -> r.json().get("events").forEach(events::add));
        return events;
    }
}
