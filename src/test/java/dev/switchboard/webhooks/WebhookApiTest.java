package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Ids;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.QueryPlans;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The webhook endpoints API: who may manage what, and bad input refused with a 400 that changes nothing. */
class WebhookApiTest {
    static TestServer server;
    static JsonNode integration;
    static Api client;

    @BeforeAll
    static void start() {
        // Webhooks may not call private addresses: the production default. The messages the tests write
        // have random ids, which the server's own retention could take for old ones mid-test.
        server = TestServer.start(Map.of("SWITCHBOARD_EVENTS_RETENTION", "36500d"));
        server.createCollection("orders");
        integration = server.createIntegration("shop", List.of("orders"), List.of(), List.of("orders.*"));
        client = server.api(integration.get("clientKey").asText());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** The client key of a new integration of the same permissions as the shared one. */
    private static Api ownClient(String name) {
        return server.api(server.createIntegration(name, List.of("orders"), List.of(), List.of("orders.*"))
                .get("clientKey")
                .asText());
    }

    private static JsonNode create(Api api, Map<String, Object> body) {
        return api.post("/api/v1/webhooks", body).expect(201).json();
    }

    @Test
    void aClientKeyManagesItsOwnEndpointsAndSeesNoOtherIntegrations() {
        JsonNode mine = create(client, Map.of("url", "https://partner.example/hooks?token=t"));
        assertThat(mine.get("integrationId").asText())
                .isEqualTo(integration.get("id").asText());
        assertThat(mine.get("kind").asText()).isEqualTo("events");
        assertThat(mine.get("eventTypes")).extracting(JsonNode::asText).containsExactly("*");
        assertThat(mine.get("maxBatchSize").asInt()).isEqualTo(100);
        String path = "/api/v1/webhooks/" + mine.get("id").asText();
        assertThat(client.get(path).expect(200).json().has("secret")).isFalse();

        JsonNode other = server.createIntegration("other", List.of("*"), List.of(), List.of("*"));
        Api otherClient = server.api(other.get("clientKey").asText());
        otherClient.get(path).expect(404);
        otherClient.patch(path, Map.of("maxBatchSize", 1)).expect(404);
        otherClient.delete(path).expect(404);
        otherClient.post(path + "/test", "").expect(404);
        assertThat(otherClient.get("/api/v1/webhooks").expect(200).json().get("webhooks"))
                .isEmpty();
        otherClient
                .post(
                        "/api/v1/webhooks",
                        Map.of(
                                "url",
                                "https://x.example/",
                                "integrationId",
                                integration.get("id").asText()))
                .expect(400);

        String tenant = server.createTenant("t-" + System.nanoTime());
        String accessToken = server.connect(integration.get("id").asText(), tenant)
                .get("accessToken")
                .asText();
        server.api(accessToken).get("/api/v1/webhooks").expect(403);
        server.api(accessToken).get(path).expect(403);
        server.api("sb_client_not-a-real-key").get("/api/v1/webhooks").expect(401);
    }

    /**
     * Test messages waiting to be sent are bounded per endpoint: nothing else bounded them (they are not
     * pruned while pending), and every node's claim of manual messages sorted them all four times a second.
     */
    @Test
    void anEndpointMayHaveOnlySoManyTestMessagesWaiting() throws Exception {
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/tests"));
        String path = "/api/v1/webhooks/" + endpoint.get("id").asText();
        manualMessages(endpoint.get("id").asText(), "pending", MessageLog.MAX_PENDING_TESTS);
        Api.Response refused = client.post(path + "/test", "");
        assertThat(refused.status()).isEqualTo(429);
        assertThat(refused.errorCode()).isEqualTo("too_many_pending_tests");
        assertThat(refused.header("Retry-After")).isEqualTo("5");

        try (var c = java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                var s = c.prepareStatement("DELETE FROM webhook_messages WHERE pk = (SELECT min(m.pk) FROM"
                        + " webhook_messages m JOIN webhook_endpoints e ON e.pk = m.endpoint_pk WHERE e.id = ?)")) {
            s.setString(1, endpoint.get("id").asText());
            assertThat(s.executeUpdate()).isEqualTo(1);
        }
        client.post(path + "/test", "").expect(202);
    }

    /** Each of a burst counted the waiting tests before the others committed: 200 at once left 112 waiting. */
    @Test
    void testsSentAtOnceStillLeaveNoMoreThanTheLimitWaiting() throws Exception {
        Api client = ownClient("burst"); // its own requests' rate limit
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/burst"));
        String path = "/api/v1/webhooks/" + endpoint.get("id").asText();
        int room = 10;
        manualMessages(endpoint.get("id").asText(), "pending", MessageLog.MAX_PENDING_TESTS - room);
        List<Integer> statuses = new ArrayList<>();
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            List<java.util.concurrent.Future<Integer>> sent = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                sent.add(threads.submit(() -> client.post(path + "/test", "").status()));
            }
            for (var f : sent) {
                statuses.add(f.get());
            }
        }
        assertThat(statuses).containsOnly(202, 429);
        assertThat(statuses.stream().filter(s -> s == 202).count()).isGreaterThanOrEqualTo(room);
        try (var c = java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                var s = c.prepareStatement("SELECT count(*) FROM webhook_messages m JOIN webhook_endpoints e"
                        + " ON e.pk = m.endpoint_pk WHERE e.id = ? AND m.lane = 'manual' AND m.status = 'pending'")) {
            s.setString(1, endpoint.get("id").asText());
            try (var rs = s.executeQuery()) {
                rs.next();
                assertThat(rs.getInt(1)).as("tests waiting").isLessThanOrEqualTo(MessageLog.MAX_PENDING_TESTS);
            }
        }
    }

    /**
     * Retries lock an endpoint's messages and then the endpoint; disabling it fails its waiting retries from
     * the endpoint's row. Sent at once they deadlocked, and PostgreSQL's victim was answered 500.
     */
    @Test
    void retriesRacingEachOtherAndADisablingAreNeverAnswered500() throws Exception {
        Api client = ownClient("racing"); // its own requests' rate limit
        String id = create(client, Map.of("url", "https://partner.example/racing"))
                .get("id")
                .asText();
        String path = "/api/v1/webhooks/" + id;
        List<Integer> statuses = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int round = 0; round < 10; round++) {
            client.patch(path, Map.of("state", "enabled")).expect(200);
            manualMessages(id, "failed", 24);
            List<String> failed = new ArrayList<>();
            client.get(path + "/messages?status=failed&limit=24")
                    .expect(200)
                    .json()
                    .get("messages")
                    .forEach(m -> failed.add(m.get("id").asText()));
            List<java.util.concurrent.Callable<Integer>> requests = new ArrayList<>();
            requests.add(() -> client.patch(path, Map.of("state", "disabled")).status());
            for (int i = 0; i < 3; i++) {
                requests.add(() -> client.post(path + "/messages/retry", "").status());
            }
            failed.subList(0, 12)
                    .forEach(m -> requests.add(() ->
                            client.post(path + "/messages/" + m + "/retry", "").status()));
            try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                for (var f : threads.invokeAll(requests)) {
                    statuses.add(f.get());
                }
            }
        }
        assertThat(statuses).allSatisfy(status -> assertThat(status).isLessThan(500));
    }

    /**
     * A client key's rotation disables the integration's lifecycle endpoints, whose trigger fails their
     * waiting tests: it took the endpoints' rows before those messages, the other order from the tests
     * being sent, recorded and enabled meanwhile, and they deadlocked, PostgreSQL's victim answered 503
     * and the requests queued behind it past their lock wait too.
     */
    @Test
    void rotatingAClientKeyWhileItsLifecycleEndpointIsTestedIsNeverAnswered5xx() throws Exception {
        JsonNode rotating = server.createIntegration("rotating", List.of("orders"), List.of(), List.of("orders.*"));
        String id = create(
                        server.api(rotating.get("clientKey").asText()),
                        Map.of(
                                "url",
                                "https://partner.example/lifecycle",
                                "kind",
                                "lifecycle",
                                "retryDelays",
                                List.of("1s", "1s", "1s")))
                .get("id")
                .asText();
        String path = "/api/v1/webhooks/" + id;
        String rotate = "/api/v1/integrations/" + rotating.get("id").asText() + "/rotate-client-key";
        List<Integer> statuses = new java.util.concurrent.CopyOnWriteArrayList<>();
        long until = System.nanoTime() + Duration.ofSeconds(12).toNanos();
        List<java.util.concurrent.Callable<Void>> clients = new ArrayList<>();
        clients.add(() -> {
            while (System.nanoTime() < until) {
                statuses.add(server.admin.post(rotate, "").status());
                Thread.sleep(100);
            }
            return null;
        });
        clients.add(() -> {
            while (System.nanoTime() < until) {
                statuses.add(
                        server.admin.patch(path, Map.of("state", "enabled")).status());
            }
            return null;
        });
        for (int i = 0; i < 2; i++) {
            clients.add(() -> {
                while (System.nanoTime() < until) {
                    statuses.add(server.admin.post(path + "/test", "").status());
                }
                return null;
            });
        }
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (var f : threads.invokeAll(clients)) {
                f.get();
            }
        }
        assertThat(statuses).allSatisfy(status -> assertThat(status).isLessThan(500));
    }

    @Test
    void aFilteredMessageListLooksThroughSoManyMessagesARequestAndItsCursorGoesOnFromThere() throws Exception {
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/many"));
        String path = "/api/v1/webhooks/" + endpoint.get("id").asText() + "/messages";
        // Three failed messages, then twice as many delivered ones as a request looks through, and some
        manualMessages(endpoint.get("id").asText(), "failed", 3);
        manualMessages(endpoint.get("id").asText(), "delivered", 2 * MessageLog.LIST_SCAN + 50);

        List<Integer> pageSizes = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        String cursor = "";
        do {
            JsonNode page = client.get(path + "?status=failed&limit=2&cursor=" + cursor)
                    .expect(200)
                    .json();
            pageSizes.add(page.get("messages").size());
            page.get("messages").forEach(m -> failed.add(m.get("id").asText()));
            cursor = page.get("cursor").isNull() ? null : page.get("cursor").asText();
        } while (cursor != null && pageSizes.size() < 10);
        // Two requests each read the newest 10,000 delivered messages and stopped; the third reached the
        // failed ones and filled its page; the fourth found the last and the end.
        assertThat(pageSizes).containsExactly(0, 0, 2, 1);
        assertThat(failed).doesNotHaveDuplicates();
        JsonNode all = client.get(path + "?limit=500").expect(200).json();
        assertThat(all.get("messages")).hasSize(500);
        assertThat(all.get("messages").get(0).get("status").asText()).isEqualTo("delivered");
    }

    /** A page that fills stops the scan: an unfiltered page of 50 reads about 50 messages, not 10,000. */
    @Test
    void aPageOfABusyEndpointsMessagesReadsAboutAPage() throws Exception {
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/busy"));
        manualMessages(endpoint.get("id").asText(), "delivered", 200_000);
        try (var c = java.sql.DriverManager.getConnection(server.database().jdbcUrl())) {
            c.createStatement().execute("ANALYZE webhook_messages");
            long endpointPk = pk(c, endpoint.get("id").asText());
            List<Object> scanned = java.util.Arrays.asList(
                    false, endpointPk, null, null, endpointPk, MessageLog.LIST_SCAN, MessageLog.LIST_SCAN);
            List<Object> params = new ArrayList<>(scanned);
            params.addAll(List.of(50, 50, endpointPk));
            params.addAll(scanned);
            JsonNode plan = QueryPlans.explain(c, MessageLog.pageSql(""), params.toArray());
            assertThat(QueryPlans.rowsRead(plan, "webhook_messages"))
                    .as(plan.toPrettyString())
                    .isLessThan(500);
            // Not to weigh on the other tests' plans
            c.createStatement().execute("DELETE FROM webhook_messages WHERE endpoint_pk = " + endpointPk);
        }
    }

    @Test
    void aMessageListByEventTypeLooksThroughSoManyPositionsOfTheLogARequest() throws Exception {
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/wide-ranges"));
        String path = "/api/v1/webhooks/" + endpoint.get("id").asText() + "/messages";
        // 250 messages, each a range of 1,000 positions of the log: 250,000 positions to look through
        int width = 1_000;
        try (var c = java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                var s = c.prepareStatement("INSERT INTO webhook_messages (id, endpoint_pk, lane, tenant_id,"
                        + " first_seq, last_seq, event_count, status) SELECT gen_random_uuid(), e.pk, 'stream', 't',"
                        + " g * ?, g * ? + ? - 1, 1, 'delivered' FROM webhook_endpoints e, generate_series(1, 250) g"
                        + " WHERE e.id = ?")) {
            s.setInt(1, width);
            s.setInt(2, width);
            s.setInt(3, width);
            s.setString(4, endpoint.get("id").asText());
            assertThat(s.executeUpdate()).isEqualTo(250);
        }
        int requests = 0;
        String cursor = "";
        do {
            JsonNode page = client.get(path + "?eventType=nothing.carried&cursor=" + cursor)
                    .expect(200)
                    .json();
            assertThat(page.get("messages")).isEmpty();
            cursor = page.get("cursor").isNull() ? null : page.get("cursor").asText();
            requests++;
        } while (cursor != null && requests < 10);
        assertThat(requests)
                .as("requests of at most %d positions each", MessageLog.LIST_SCAN_EVENTS)
                .isEqualTo(3);
    }

    @Test
    void readingAnEndpointReadsItsStreamsInErrorNotEveryStreamOfItsTenants() throws Exception {
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/wide"));
        String id = endpoint.get("id").asText();
        int tenants = 20_000;
        try (var c = java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                var s = c.createStatement()) {
            // An integration connected to 20,000 tenants, one of whose streams is failing
            s.execute("INSERT INTO tenants (id, name) SELECT 'wide-' || g, 'wide' FROM generate_series(1, " + tenants
                    + ") g");
            s.execute("INSERT INTO streams (tenant_pk) SELECT pk FROM tenants WHERE id LIKE 'wide-%'");
            s.execute("INSERT INTO webhook_streams (endpoint_pk, stream_pk, position) SELECT e.pk, st.pk, 0"
                    + " FROM webhook_endpoints e, streams st JOIN tenants t ON t.pk = st.tenant_pk"
                    + " WHERE e.id = '" + id + "' AND t.id LIKE 'wide-%'");
            s.execute("UPDATE webhook_streams SET errors = 2, last_error = 'refused', last_error_at = now()"
                    + " WHERE pk = (SELECT max(pk) FROM webhook_streams)");
            s.execute("ANALYZE webhook_streams");
            JsonNode plan = QueryPlans.explain(
                    c, "SELECT " + EndpointStore.COLUMNS + EndpointStore.FROM + " WHERE e.pk = ?", pk(c, id));
            assertThat(QueryPlans.rowsRead(plan, "webhook_streams"))
                    .as(plan.toPrettyString())
                    .isLessThan(100);
        }
        JsonNode read = client.get("/api/v1/webhooks/" + id).expect(200).json();
        assertThat(read.get("streamsInError").asInt()).isEqualTo(1);
        assertThat(read.get("lastStreamError").asText()).isEqualTo("refused");
    }

    @Test
    void narrowingAnEndpointReadsOnlyTheMessagesThatKeepABody() throws Exception {
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/narrowed"));
        String id = endpoint.get("id").asText();
        try (var c = java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                var s = c.createStatement()) {
            // 20,000 delivered stream messages, which keep no body, and one failed by an earlier release with its body
            s.execute("INSERT INTO webhook_messages (id, endpoint_pk, lane, tenant_id, first_seq, last_seq,"
                    + " event_count, body, status) SELECT gen_random_uuid(), e.pk, 'stream', 't', g, g, 1,"
                    + " CASE WHEN g = 1 THEN '{\"events\":[]}' END, CASE WHEN g = 1 THEN 'failed' ELSE 'delivered' END"
                    + " FROM webhook_endpoints e, generate_series(1, 20000) g WHERE e.id = '" + id + "'");
            s.execute("ANALYZE webhook_messages");
            JsonNode plan = QueryPlans.explain(c, String.format(EndpointStore.FORGET_KEPT_BODIES, "id = ?"), id);
            assertThat(QueryPlans.rowsRead(plan, "webhook_messages"))
                    .as(plan.toPrettyString())
                    .isLessThan(100);
        }
        client.patch("/api/v1/webhooks/" + id, Map.of("eventTypes", List.of("orders.created")))
                .expect(200);
        try (var c = java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                var s = c.createStatement();
                var rs = s.executeQuery("SELECT count(*) FROM webhook_messages m JOIN webhook_endpoints e"
                        + " ON e.pk = m.endpoint_pk WHERE e.id = '" + id + "' AND m.body IS NOT NULL")) {
            rs.next();
            assertThat(rs.getInt(1)).as("bodies kept after the narrowing").isZero();
        }
    }

    /**
     * A replay "since" a time finds each stream's first event stamped at or after it by a binary search of
     * the log, not by reading the log from its oldest event (no index covers time): the same answer, also
     * where writers that waited on one another stamped events out of order, from a few pages.
     */
    @Test
    void aReplaySinceATimeFindsItsEventWithoutReadingTheLogFromItsStart() throws Exception {
        String tenant = server.createTenant("long-log");
        server.connect(integration.get("id").asText(), tenant);
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/replayed"));
        Instant start = Instant.parse("2026-11-01T00:00:00Z");
        int events = 200_000;
        try (var c = java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                var s = c.createStatement()) {
            // A second apart, each of every seven stamped up to 18 s late (out of order within the minute)
            s.execute("WITH st AS (SELECT s.pk FROM streams s JOIN tenants t ON t.pk = s.tenant_pk WHERE t.id = '"
                    + tenant + "') INSERT INTO events (stream_pk, seq, id, type, collection, time, data)"
                    + " SELECT st.pk, g, gen_random_uuid(), 'orders.created', 'orders', timestamptz '" + start
                    + "' + g * interval '1 second' + (g % 7) * interval '3 seconds', '{}' FROM st,"
                    + " generate_series(1, " + events + ") g");
            s.execute("UPDATE streams SET last_seq = " + events + " WHERE tenant_pk = (SELECT pk FROM tenants"
                    + " WHERE id = '" + tenant + "')");
            s.execute("UPDATE webhook_streams ws SET position = " + events + " FROM webhook_endpoints e WHERE"
                    + " e.pk = ws.endpoint_pk AND e.id = '" + endpoint.get("id").asText() + "'");
            s.execute("ANALYZE events");
            long stream;
            try (var rs = s.executeQuery("SELECT s.pk FROM streams s JOIN tenants t ON t.pk = s.tenant_pk"
                    + " WHERE t.id = '" + tenant + "'")) {
                rs.next();
                stream = rs.getLong(1);
            }
            for (long second : List.of(0L, 1L, 5L, 100_000L, 150_007L, 199_990L, 300_000L)) {
                Instant since = start.plusSeconds(second);
                try (var rs = s.executeQuery("SELECT first_event_since(" + stream + ", '" + since + "'),"
                        + " (SELECT min(seq) FROM events WHERE stream_pk = " + stream + " AND time >= '" + since
                        + "')")) {
                    rs.next();
                    assertThat((Long) rs.getObject(1)).as("since " + since).isEqualTo((Long) rs.getObject(2));
                }
            }
            JsonNode plan = QueryPlans.explain(
                            c,
                            "SELECT first_event_since(?, ?)",
                            stream,
                            java.time.OffsetDateTime.ofInstant(start.plusSeconds(190_000), java.time.ZoneOffset.UTC))
                    .get(0)
                    .get("Plan");
            long pages = plan.get("Shared Hit Blocks").asLong()
                    + plan.get("Shared Read Blocks").asLong();
            assertThat(pages).as("pages read for a log of %d events", events).isLessThan(300);
        }

        client.post(
                        "/api/v1/webhooks/" + endpoint.get("id").asText() + "/replay",
                        Map.of("since", start.plusSeconds(150_000).toString(), "tenantId", tenant))
                .expect(202);
        try (var c = java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                var s = c.createStatement();
                var rs = s.executeQuery("SELECT ws.rewind_to, (SELECT min(seq) - 1 FROM events ev WHERE"
                        + " ev.stream_pk = ws.stream_pk AND ev.time >= '" + start.plusSeconds(150_000) + "')"
                        + " FROM webhook_streams ws JOIN webhook_endpoints e ON e.pk = ws.endpoint_pk"
                        + " WHERE e.id = '" + endpoint.get("id").asText() + "'")) {
            rs.next();
            assertThat(rs.getLong(1)).as("the replayed stream's position").isEqualTo(rs.getLong(2));
        }
        client.delete("/api/v1/webhooks/" + endpoint.get("id").asText()).expect(204);
    }

    /** Writes {@code count} manual messages of the endpoint; pending ones are due in an hour. */
    private static void manualMessages(String endpointId, String status, int count) throws java.sql.SQLException {
        try (var c = java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                var s = c.prepareStatement("INSERT INTO webhook_messages (id, endpoint_pk, lane, event_count, body,"
                        + " status, next_attempt_at) SELECT gen_random_uuid(), e.pk, 'manual', 1, '{}', ?,"
                        + " CASE WHEN ? = 'pending' THEN now() + interval '1 hour' END"
                        + " FROM webhook_endpoints e, generate_series(1, ?) WHERE e.id = ?")) {
            s.setString(1, status);
            s.setString(2, status);
            s.setInt(3, count);
            s.setString(4, endpointId);
            assertThat(s.executeUpdate()).isEqualTo(count);
        }
    }

    private static long pk(java.sql.Connection c, String endpointId) throws java.sql.SQLException {
        try (var s = c.prepareStatement("SELECT pk FROM webhook_endpoints WHERE id = ?")) {
            s.setString(1, endpointId);
            try (var rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** A cursor names a place in the list: an endpoint deleted while a client pages does not end its paging. */
    @Test
    void aCursorWhoseEndpointWasDeletedGoesOnFromWhereItWasAndOnlyNonIdsAreRefused() {
        JsonNode own = server.createIntegration("paged", List.of("orders"), List.of(), List.of("orders.*"));
        Api paged = server.api(own.get("clientKey").asText());
        String first =
                create(paged, Map.of("url", "https://p.example/1")).get("id").asText();
        String second =
                create(paged, Map.of("url", "https://p.example/2")).get("id").asText();
        JsonNode page = paged.get("/api/v1/webhooks?limit=1").expect(200).json();
        assertThat(page.get("webhooks")).extracting(w -> w.get("id").asText()).containsExactly(first);
        assertThat(page.get("cursor").asText()).isEqualTo(first);
        assertThat(paged.get("/api/v1/webhooks?limit=1&cursor=" + first)
                        .expect(200)
                        .json()
                        .get("webhooks"))
                .extracting(w -> w.get("id").asText())
                .containsExactly(second);

        String othersEndpoint = create(client, Map.of("url", "https://p.example/other"))
                .get("id")
                .asText();
        paged.delete("/api/v1/webhooks/" + first).expect(204);
        assertThat(paged.get("/api/v1/webhooks?limit=1&cursor=" + first)
                        .expect(200)
                        .json()
                        .get("webhooks"))
                .as("after the deleted endpoint: the next one")
                .extracting(w -> w.get("id").asText())
                .containsExactly(second);
        assertThat(paged.get("/api/v1/webhooks?limit=1&cursor=wh_"
                                + first.substring(3).toUpperCase(java.util.Locale.ROOT))
                        .expect(200)
                        .json()
                        .get("webhooks"))
                .as("an id is read whatever its letters' case")
                .extracting(w -> w.get("id").asText())
                .containsExactly(second);
        assertThat(paged.get("/api/v1/webhooks?cursor=" + othersEndpoint)
                        .expect(200)
                        .json()
                        .get("webhooks"))
                .as("another integration's endpoint, made after both: a place past this integration's")
                .isEmpty();
        // Taken as no cursor, each of these started the paging over at the first endpoint.
        for (String cursor : List.of("whk_nothing", "wh_nothing", "con_" + first.substring(3))) {
            Api.Response r = paged.get("/api/v1/webhooks?limit=1&cursor=" + cursor);
            assertThat(r.status()).as(cursor).isEqualTo(400);
            assertThat(r.json().get("error").get("message").asText())
                    .isEqualTo("cursor: is not an endpoint id this server returned");
        }
        assertThat(paged.get("/api/v1/webhooks?cursor=").expect(200).json().get("webhooks"))
                .extracting(w -> w.get("id").asText())
                .containsExactly(second);
    }

    @Test
    void theAdminSeesEveryConfiguredWebhookAndCreatesThemForAnyIntegration() {
        JsonNode other = server.createIntegration("listed", List.of("*"), List.of(), List.of("*"));
        server.admin
                .post("/api/v1/webhooks", Map.of("url", "https://a.example/"))
                .expect(400);
        JsonNode made = create(
                server.admin,
                Map.of(
                        "url",
                        "https://b.example/",
                        "integrationId",
                        other.get("id").asText(),
                        "kind",
                        "lifecycle"));
        create(client, Map.of("url", "https://c.example/"));
        JsonNode all = server.admin.get("/api/v1/webhooks").expect(200).json().get("webhooks");
        assertThat(all).extracting(w -> w.get("url").asText()).contains("https://b.example/", "https://c.example/");
        assertThat(server.admin
                        .get("/api/v1/webhooks?integrationId=" + other.get("id").asText())
                        .json()
                        .get("webhooks"))
                .extracting(w -> w.get("id").asText())
                .containsExactly(made.get("id").asText());
        // A client key naming another integration is refused, not answered with its own endpoints.
        Api.Response foreign = client.get(
                        "/api/v1/webhooks?integrationId=" + other.get("id").asText())
                .expect(400);
        assertThat(foreign.json().at("/error/details/field").asText()).isEqualTo("integrationId");
    }

    @Test
    void badEndpointsAreRefusedNamingTheFieldAndNothingIsCreated() {
        int before = client.get("/api/v1/webhooks").json().get("webhooks").size();
        // Each bad body, and the field its refusal names.
        Map<Map<String, Object>, String> bad = new java.util.LinkedHashMap<>();
        bad.put(Map.of(), "url");
        bad.put(Map.of("url", "ftp://partner.example/"), "url");
        bad.put(Map.of("url", "https://user:pw@partner.example/"), "url");
        bad.put(Map.of("url", "http://127.0.0.1:8080/"), "url");
        bad.put(Map.of("url", "http://169.254.169.254/latest/meta-data/"), "url");
        bad.put(Map.of("url", "http://[::ffff:10.0.0.1]/"), "url");
        bad.put(Map.of("url", "http://2130706433/"), "url");
        bad.put(Map.of("url", "http://localhost/"), "url");
        bad.put(Map.of("url", 42), "url");
        bad.put(Map.of("url", "https://p.example/", "kind", "everything"), "kind");
        bad.put(Map.of("url", "https://p.example/", "maxBatchSize", 0), "maxBatchSize");
        bad.put(Map.of("url", "https://p.example/", "maxBatchSize", 1001), "maxBatchSize");
        bad.put(Map.of("url", "https://p.example/", "maxBatchSize", "10"), "maxBatchSize");
        bad.put(Map.of("url", "https://p.example/", "eventTypes", List.of("customers.*")), "eventTypes[0]");
        bad.put(Map.of("url", "https://p.example/", "eventTypes", List.of()), "eventTypes");
        bad.put(Map.of("url", "https://p.example/", "eventTypes", List.of("bad pattern")), "eventTypes[0]");
        bad.put(
                Map.of("url", "https://p.example/", "kind", "lifecycle", "eventTypes", List.of("orders.*")),
                "eventTypes[0]");
        bad.put(Map.of("url", "https://p.example/", "retryDelays", List.of("soon")), "retryDelays[0]");
        bad.put(Map.of("url", "https://p.example/", "retryDelays", List.of("8d")), "retryDelays[0]");
        bad.put(Map.of("url", "https://p.example/", "retryDelays", List.of("0s", "0s", "0s")), "retryDelays[0]");
        bad.put(Map.of("url", "https://p.example/", "retryDelays", List.of("1s", "999ms")), "retryDelays[1]");
        bad.put(Map.of("url", "https://p.example/", "secret", "whsec_mine"), "secret");
        Map<Map<String, Object>, String> named = new java.util.LinkedHashMap<>();
        for (Map<String, Object> body : bad.keySet()) {
            Api.Response r = client.post("/api/v1/webhooks", body);
            assertThat(r.status()).as(body.toString()).isEqualTo(400);
            assertThat(r.json().get("error").get("message").asText())
                    .as(body.toString())
                    .isNotBlank();
            named.put(body, r.json().path("error").path("details").path("field").asText());
        }
        assertThat(named).as("the field each refusal names").containsExactlyEntriesOf(bad);
        client.post("/api/v1/webhooks", "{\"url\": ").expect(400);
        assertThat(client.get("/api/v1/webhooks").json().get("webhooks")).hasSize(before);
    }

    @Test
    void changesAreValidatedAndApplied() {
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/a", "retryDelays", List.of("10s")));
        assertThat(endpoint.get("retryDelays")).extracting(JsonNode::asText).containsExactly("10s");
        String path = "/api/v1/webhooks/" + endpoint.get("id").asText();
        client.patch(path, Map.of("kind", "lifecycle")).expect(400);
        client.patch(path, Map.of("state", "paused")).expect(400);
        client.patch(path, Map.of("url", "http://10.0.0.1/")).expect(400);
        JsonNode changed = client.patch(
                        path,
                        Map.of(
                                "url",
                                "https://partner.example/b",
                                "maxBatchSize",
                                7,
                                "eventTypes",
                                List.of("orders.created"),
                                "state",
                                "disabled"))
                .expect(200)
                .json();
        assertThat(changed.get("url").asText()).isEqualTo("https://partner.example/b");
        assertThat(changed.get("maxBatchSize").asInt()).isEqualTo(7);
        assertThat(changed.get("state").asText()).isEqualTo("disabled");
        JsonNode reset = client.patch(path, "{\"retryDelays\": null, \"maxBatchSize\": null, \"state\": \"enabled\"}")
                .expect(200)
                .json();
        assertThat(reset.get("retryDelays").isNull()).isTrue();
        assertThat(reset.get("maxBatchSize").asInt())
                .as("null: the default, as on creation")
                .isEqualTo(100);
        assertThat(reset.get("state").asText()).isEqualTo("enabled");
        client.delete(path).expect(204);
        client.get(path).expect(404);
    }

    @Test
    void rotatingTheSecretReturnsANewOneOnce() {
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/r"));
        JsonNode rotated = client.post("/api/v1/webhooks/" + endpoint.get("id").asText() + "/rotate-secret", "")
                .expect(200)
                .json();
        assertThat(rotated.get("secret").asText())
                .startsWith("whsec_")
                .isNotEqualTo(endpoint.get("secret").asText());
        assertThat(rotated.get("previousSecretsValidFor").asText()).isEqualTo("1d");
    }

    /**
     * A message cursor that names none of the endpoint's messages (removed since with its connection, or
     * another endpoint's) was read as the end of the list, and a misspelt filter as none: both looked like a
     * complete, filtered answer.
     */
    @Test
    void aMessageCursorThatNamesNoMessageOfTheEndpointOrAnUnknownFilterIsRefused() {
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/paging"));
        String messages = "/api/v1/webhooks/" + endpoint.get("id").asText() + "/messages";
        Api.Response gone = client.get(messages + "?cursor=" + dev.switchboard.support.Ids.newId("msg"));
        assertThat(gone.status()).isEqualTo(400);
        assertThat(gone.json().at("/error/message").asText())
                .startsWith("cursor: is not a message of this endpoint")
                .contains("list again from the first page");
        Api.Response misspelt = client.get(messages + "?tenantid=hotel-1");
        assertThat(misspelt.status()).isEqualTo(400);
        assertThat(misspelt.json().at("/error/message").asText())
                .startsWith("tenantid: is not a query parameter of this list");
        client.get(messages + "?tenantId=hotel-1&status=failed&limit=5").expect(200);

        String streams = "/api/v1/webhooks/" + endpoint.get("id").asText() + "/streams";
        Api.Response unfiltered = client.get(streams + "?tenantId=hotel-1");
        assertThat(unfiltered.status()).isEqualTo(400);
        assertThat(unfiltered.json().at("/error/message").asText())
                .isEqualTo("tenantId: is not a query parameter of this list (it takes limit, cursor)");
        client.get(streams + "?limit=5").expect(200);
    }

    /**
     * Routes that take no body refuse one that says something: a rotation asked for {"gracePeriod":"0s"} (a
     * leaked secret, revoked at once) rotated with the default day of grace, and a test asked for with a
     * body that is not JSON was sent.
     */
    @Test
    void routesThatTakeNoBodyRefuseOneWithFieldsOrNotJsonAndDoNothing() {
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/no-body"));
        String path = "/api/v1/webhooks/" + endpoint.get("id").asText();
        Api.Response rotation = client.post(path + "/rotate-secret", Map.of("gracePeriod", "0s"));
        assertThat(rotation.status()).isEqualTo(400);
        assertThat(rotation.json().at("/error/message").asText()).startsWith("gracePeriod:");
        Api.Response test = client.post(path + "/test", "not json");
        assertThat(test.status()).isEqualTo(400);
        assertThat(test.errorCode()).isEqualTo("invalid_json");
        assertThat(client.get(path + "/messages").json().get("messages")).isEmpty();

        // An empty object, or none, is no body.
        JsonNode again = create(client, Map.of("url", "https://partner.example/no-body-2"));
        String other = "/api/v1/webhooks/" + again.get("id").asText();
        client.post(other + "/rotate-secret", Map.of()).expect(200);
        client.post(other + "/test", "").expect(202);
        JsonNode connection = server.connect(
                server.createIntegration("no-body", List.of("*"), List.of(), List.of("*"))
                        .get("id")
                        .asText(),
                server.createTenant("no-body-" + System.nanoTime()));
        String connectionPath = "/api/v1/connections/" + connection.get("id").asText();
        assertThat(server.admin
                        .post(connectionPath + "/disable", Map.of("reason", "x"))
                        .status())
                .isEqualTo(400);
        assertThat(server.admin.get(connectionPath).json().get("state").asText())
                .isEqualTo("enabled");
    }

    /**
     * Retried messages (and tests) waiting on an endpoint that is then disabled fail again: kept pending,
     * they stayed past the retention, read by every node's claim of manual messages four times a second.
     */
    @Test
    void disablingAnEndpointFailsTheRetriesAndTestsWaitingOnIt() throws Exception {
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/switched-off"));
        String path = "/api/v1/webhooks/" + endpoint.get("id").asText();
        manualMessages(endpoint.get("id").asText(), "pending", 3);
        client.patch(path, Map.of("maxBatchSize", 5)).expect(200);
        assertThat(messages(path, "pending")).as("while enabled").hasSize(3);

        client.patch(path, Map.of("state", "disabled")).expect(200);
        assertThat(messages(path, "pending")).isEmpty();
        // Each says why it failed without being sent: before, it showed only the attempts made before.
        assertThat(messages(path, "failed")).hasSize(3).allSatisfy(m -> {
            assertThat(m.get("nextAttemptAt").isNull()).isTrue();
            assertThat(m.get("attempts")).hasSize(1);
            JsonNode notSent = m.get("attempts").get(0);
            assertThat(notSent.get("n").asInt()).isEqualTo(1);
            assertThat(notSent.get("outcome").asText()).isEqualTo("endpoint_disabled");
            assertThat(notSent.get("status").isNull()).isTrue();
            assertThat(notSent.get("error").asText())
                    .isEqualTo("not sent: the endpoint was disabled (disabled through the API); retry it once the"
                            + " endpoint is enabled again");
        });
        client.patch(path, Map.of("state", "enabled")).expect(200);
        assertThat(client.post(path + "/messages/retry", Map.of())
                        .expect(202)
                        .json()
                        .get("retried")
                        .asInt())
                .isEqualTo(3);
    }

    /** A bulk retry for a tenant the endpoint does not follow is refused as a replay is, not answered "0 retried". */
    @Test
    void aBulkRetryForATenantTheEndpointDoesNotFollowIsRefused() throws Exception {
        // An integration of its own: the shared one's endpoints are at their most.
        JsonNode own = server.createIntegration("bulk-tenant", List.of("orders"), List.of(), List.of("orders.*"));
        Api client = server.api(own.get("clientKey").asText());
        String followed = server.createTenant("followed-" + System.nanoTime());
        server.connect(own.get("id").asText(), followed);
        String other = server.createTenant("other-" + System.nanoTime());
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/bulk-tenant"));
        String path = "/api/v1/webhooks/" + endpoint.get("id").asText();
        manualMessages(endpoint.get("id").asText(), "failed", 2);

        for (String tenant : List.of(other, "no-such-tenant")) {
            Api.Response refused = client.post(path + "/messages/retry", Map.of("tenantId", tenant));
            assertThat(refused.status()).isEqualTo(400);
            assertThat(refused.json().at("/error/message").asText())
                    .isEqualTo("tenantId: the endpoint's integration has no connection to a tenant '" + tenant + "'");
        }
        assertThat(client.get(path + "/messages?status=failed")
                        .expect(200)
                        .json()
                        .get("messages"))
                .as("nothing changed")
                .hasSize(2);

        // A tenant it follows: its messages are picked (these have none).
        assertThat(client.post(path + "/messages/retry", Map.of("tenantId", followed))
                        .expect(202)
                        .json()
                        .get("retried")
                        .asInt())
                .isZero();
        client.patch(path, Map.of("state", "disabled")).expect(200);
    }

    /**
     * A bulk retry looked through every message of the endpoint in one request: 280,000 failed ones with an
     * event type that matched none took 46 s, and once past the statement timeout it failed however often it
     * was sent again. A request looks through a bounded window of messages, oldest first, and answers where
     * the next goes on: the last message it looked at, or the last it retried when it reached its limit.
     */
    @Test
    void aBulkRetryLooksThroughABoundedWindowAndAnswersWhereTheNextGoesOn() throws Exception {
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/bulk"));
        String id = endpoint.get("id").asText();
        String path = "/api/v1/webhooks/" + id;
        manualMessages(id, "failed", 2);
        manualMessages(id, "delivered", MessageLog.RETRY_SCAN);
        manualMessages(id, "failed", 3);

        JsonNode first = client.post(path + "/messages/retry", "").expect(202).json();
        assertThat(first.get("retried").asInt()).isEqualTo(2);
        assertThat(first.get("limit").asInt()).isEqualTo(10_000);
        String cursor = first.get("cursor").asText();
        assertThat(cursor).as("the window ended before the endpoint's newest").startsWith("msg_");

        JsonNode second = client.post(path + "/messages/retry", Map.of("cursor", cursor))
                .expect(202)
                .json();
        assertThat(second.get("retried").asInt()).isEqualTo(3);
        assertThat(second.get("cursor").isNull()).as("nothing left to look at").isTrue();
        assertThat(messages(path, "failed")).isEmpty();

        // At its limit, it goes on after the last it retried.
        JsonNode other = create(client, Map.of("url", "https://partner.example/bulk-limit"));
        String otherPath = "/api/v1/webhooks/" + other.get("id").asText();
        manualMessages(other.get("id").asText(), "failed", 10_001);
        JsonNode full =
                client.post(otherPath + "/messages/retry", "").expect(202).json();
        assertThat(full.get("retried").asInt()).isEqualTo(10_000);
        JsonNode rest = client.post(
                        otherPath + "/messages/retry",
                        Map.of("cursor", full.get("cursor").asText()))
                .expect(202)
                .json();
        assertThat(rest.get("retried").asInt()).isEqualTo(1);
        assertThat(rest.get("cursor").isNull()).isTrue();

        // A cursor names one of this endpoint's messages.
        for (String wrong : List.of(full.get("cursor").asText(), "msg_nonsense")) {
            Api.Response refused = client.post(path + "/messages/retry", Map.of("cursor", wrong));
            assertThat(refused.status()).isEqualTo(400);
            assertThat(refused.json().at("/error/message").asText()).startsWith("cursor: is not a message");
        }
        // Sent to a host that does not exist, the retried messages would wait for their retries: disabled, the
        // endpoints fail them again at once.
        client.patch(path, Map.of("state", "disabled")).expect(200);
        client.patch(otherPath, Map.of("state", "disabled")).expect(200);
    }

    private static List<JsonNode> messages(String path, String status) {
        List<JsonNode> found = new ArrayList<>();
        client.get(path + "/messages?status=" + status)
                .expect(200)
                .json()
                .get("messages")
                .forEach(found::add);
        return found;
    }

    @Test
    void anEndpointTheOperatorDisabledStaysDisabledUntilTheOperatorEnablesIt() {
        String path = "/api/v1/webhooks/"
                + create(client, Map.of("url", "https://partner.example/flooding"))
                        .get("id")
                        .asText();
        server.admin.patch(path, Map.of("state", "disabled")).expect(200);
        assertThat(client.get(path).expect(200).json().get("stateReason").asText())
                .isEqualTo("disabled by the operator");

        Api.Response refused = client.patch(path, Map.of("state", "enabled"));
        assertThat(refused.status()).isEqualTo(403);
        assertThat(refused.errorCode()).isEqualTo("disabled_by_operator");
        // Its other settings are the integration's, and disabling it again takes nothing from the operator.
        client.patch(path, Map.of("maxBatchSize", 7, "state", "disabled")).expect(200);
        assertThat(client.patch(path, Map.of("state", "enabled")).status()).isEqualTo(403);
        JsonNode kept = client.get(path).expect(200).json();
        assertThat(kept.get("state").asText()).isEqualTo("disabled");
        assertThat(kept.get("maxBatchSize").asInt()).isEqualTo(7);

        // Deleted and made again, or made again beside it, it would send to the same URL; given another URL,
        // the operator's enabling would send where they never looked.
        assertThat(client.delete(path).status()).isEqualTo(403);
        for (String sameAddress : List.of(
                "https://partner.example/flooding",
                "HTTPS://Partner.Example:443/flooding",
                "https://partner.example/%66looding",
                "https://partner.example/./flooding",
                "https://partner.example/x/../flooding?")) {
            Api.Response again = client.post("/api/v1/webhooks", Map.of("url", sameAddress));
            assertThat(again.status()).as(sameAddress).isEqualTo(403);
            assertThat(again.errorCode()).isEqualTo("disabled_by_operator");
        }
        assertThat(client.patch(path, Map.of("url", "https://partner.example/elsewhere"))
                        .status())
                .isEqualTo(403);
        assertThat(client.get(path).expect(200).json().get("url").asText())
                .isEqualTo("https://partner.example/flooding");
        // Nor may another endpoint be given its URL: it would send there as a new one would.
        String other = "/api/v1/webhooks/"
                + create(client, Map.of("url", "https://partner.example/other"))
                        .get("id")
                        .asText();
        Api.Response moved = client.patch(other, Map.of("url", "https://partner.example/%66looding"));
        assertThat(moved.status()).isEqualTo(403);
        assertThat(moved.errorCode()).isEqualTo("disabled_by_operator");
        assertThat(client.get(other).expect(200).json().get("url").asText()).isEqualTo("https://partner.example/other");
        client.delete(other).expect(204);

        server.admin.patch(path, Map.of("state", "enabled")).expect(200);
        client.patch(path, Map.of("state", "disabled")).expect(200);
        assertThat(client.get(path).expect(200).json().get("stateReason").asText())
                .isEqualTo("disabled through the API");
        assertThat(client.patch(path, Map.of("state", "enabled"))
                        .expect(200)
                        .json()
                        .get("state")
                        .asText())
                .isEqualTo("enabled");
        client.delete(path).expect(204);
    }

    @Test
    void aDisabledEndpointIsSentNoTestOrRetryUntilItIsEnabled() throws Exception {
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/off"));
        String path = "/api/v1/webhooks/" + endpoint.get("id").asText();
        UUID failed = UUID.randomUUID();
        try (var c = java.sql.DriverManager.getConnection(server.database().jdbcUrl());
                var s = c.prepareStatement("INSERT INTO webhook_messages (id, endpoint_pk, lane, event_count, body,"
                        + " status) SELECT ?, pk, 'manual', 1, '{}', 'failed' FROM webhook_endpoints WHERE id = ?")) {
            s.setObject(1, failed);
            s.setString(2, endpoint.get("id").asText());
            s.executeUpdate();
        }
        client.patch(path, Map.of("state", "disabled")).expect(200);
        // Each would wait, pending and kept past the retention, to go out whenever it is enabled again.
        for (String action : List.of("/test", "/messages/retry", "/messages/" + Ids.format("msg", failed) + "/retry")) {
            assertThat(client.post(path + action, Map.of()).expect(409).errorCode())
                    .as(action)
                    .isEqualTo("endpoint_disabled");
        }
        assertThat(messages(path, "pending")).isEmpty();
        client.patch(path, Map.of("state", "enabled")).expect(200);
        client.post(path + "/test", "").expect(202);
    }

    @Test
    void messageQueriesAndReplaysAreValidated() {
        JsonNode endpoint = create(client, Map.of("url", "https://partner.example/m"));
        String path = "/api/v1/webhooks/" + endpoint.get("id").asText();
        client.get(path + "/messages?status=lost").expect(400);
        client.get(path + "/messages?limit=0").expect(400);
        client.get(path + "/messages?cursor=nope").expect(400);
        assertThat(client.get(path + "/messages").expect(200).json().get("messages"))
                .isEmpty();
        client.get(path + "/messages/msg_nope").expect(404);
        client.post(path + "/messages/msg_nope/retry", "").expect(404);
        client.post(path + "/replay", Map.of()).expect(400);
        client.post(path + "/replay", Map.of("fromSeq", 0)).expect(400);
        client.post(path + "/replay", Map.of("fromSeq", 1, "since", "2026-01-01T00:00:00Z"))
                .expect(400);
        client.post(path + "/replay", Map.of("since", "yesterday")).expect(400);
        // A tenant that does not exist and one the integration is not connected to get the same answer.
        String missing = client.post(path + "/replay", Map.of("fromSeq", 1, "tenantId", "nobody"))
                .expect(400)
                .json()
                .at("/error/message")
                .asText();
        String elsewhere = server.createTenant("elsewhere-" + System.nanoTime());
        String unconnected = client.post(path + "/replay", Map.of("fromSeq", 1, "tenantId", elsewhere))
                .expect(400)
                .json()
                .at("/error/message")
                .asText();
        assertThat(unconnected.replace(elsewhere, "nobody")).isEqualTo(missing);
        // A connected tenant with nothing to replay (a position past its head) is not refused.
        server.connect(integration.get("id").asText(), elsewhere);
        assertThat(client.post(path + "/replay", Map.of("fromSeq", 99_999, "tenantId", elsewhere))
                        .expect(202)
                        .json()
                        .get("streams")
                        .asInt())
                .isZero();
        assertThat(client.post(path + "/replay", Map.of("fromSeq", 1))
                        .expect(202)
                        .json()
                        .get("streams")
                        .asInt())
                .isZero();
    }

    @Test
    void aLifecycleEndpointOnPlainHttpIsRefusedNamingTheUrlBecauseItsMessagesCarryAccessTokens() {
        int before = client.get("/api/v1/webhooks").json().get("webhooks").size();
        Api.Response refused = client.post(
                        "/api/v1/webhooks", Map.of("url", "http://partner.example/lifecycle", "kind", "lifecycle"))
                .expect(400);
        assertThat(refused.errorCode()).isEqualTo("invalid_field");
        assertThat(refused.json().path("error").path("message").asText())
                .startsWith("url: ")
                .contains("https")
                .contains("access tokens");
        assertThat(client.get("/api/v1/webhooks").json().get("webhooks")).hasSize(before);

        JsonNode lifecycle = create(client, Map.of("url", "https://partner.example/lifecycle", "kind", "lifecycle"));
        String path = "/api/v1/webhooks/" + lifecycle.get("id").asText();
        assertThat(client.patch(path, Map.of("url", "http://partner.example/lifecycle"))
                        .expect(400)
                        .json()
                        .path("error")
                        .path("message")
                        .asText())
                .startsWith("url: ");
        assertThat(client.get(path).expect(200).json().get("url").asText())
                .isEqualTo("https://partner.example/lifecycle");
        // Events endpoints carry no tokens: plain http stays the partner's choice.
        create(client, Map.of("url", "http://partner.example/events"));
    }

    @Test
    void aLifecycleEndpointStoredWithAnHttpUrlBeforeThatWasRefusedIsNeverSentATokenAndShowsWhy() {
        JsonNode owner = server.createIntegration("legacy", List.of(), List.of(), List.of("*"));
        Api ownerClient = server.api(owner.get("clientKey").asText());
        JsonNode lifecycle =
                create(ownerClient, Map.of("url", "https://partner.example/lifecycle", "kind", "lifecycle"));
        String path = "/api/v1/webhooks/" + lifecycle.get("id").asText();
        // As an endpoint registered before lifecycle URLs had to be https was stored.
        dev.switchboard.db.Jdbc.withConnection(
                server.switchboard().database().dataSource(),
                c -> dev.switchboard.db.Jdbc.update(
                        c,
                        "UPDATE webhook_endpoints SET url = 'http://partner.example/lifecycle' WHERE id = ?",
                        lifecycle.get("id").asText()));
        server.createTenant("legacy-hotel");
        server.connect(owner.get("id").asText(), "legacy-hotel"); // a connection.created, with its token

        JsonNode shown = org.awaitility.Awaitility.await()
                .atMost(java.time.Duration.ofSeconds(20))
                .until(
                        () -> ownerClient.get(path).expect(200).json(),
                        e -> e.path("streamsInError").asInt() == 1);
        assertThat(shown.path("lastStreamError").asText()).contains("https").contains("access tokens");
        assertThat(ownerClient.get(path + "/messages").expect(200).json().get("messages"))
                .allSatisfy(m -> assertThat(m.get("attempts")).isEmpty());
    }

    @Test
    void anIntegrationHasABoundedNumberOfEndpoints() {
        JsonNode busy = server.createIntegration("busy", List.of(), List.of(), List.of("*"));
        Api busyClient = server.api(busy.get("clientKey").asText());
        for (int i = 0; i < EndpointStore.MAX_PER_INTEGRATION; i++) {
            create(busyClient, Map.of("url", "https://p.example/" + i));
        }
        assertThat(busyClient
                        .post("/api/v1/webhooks", Map.of("url", "https://p.example/one-more"))
                        .expect(409)
                        .errorCode())
                .isEqualTo("too_many_webhooks");
    }
}
