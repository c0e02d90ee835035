package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import dev.switchboard.support.Tokens;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.RawHttp;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.WsClient;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Requests on the socket: the records and events operations of the HTTP API, answered like it. */
class WebSocketRequestsTest {
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("SWITCHBOARD_RATE_LIMIT_REQUESTS", "100000"));
        server.createCollection(
                "reservations",
                "eventFields",
                List.of("state"),
                "schema",
                Map.of(
                        "type", "object",
                        "required", List.of("state"),
                        "properties", Map.of("state", Map.of("type", "string"))));
        server.createCollection("secrets");
        server.switchboard().websockets().wrapOperations(inner -> original = inner);
    }

    /** The server's own operations, which a test that wraps them puts back. */
    private static Operations original;

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Partner partner(List<String> read, List<String> write) {
        String tenant = server.createTenant("ws-req-" + System.nanoTime());
        return Partner.on(server, tenant, read, write, List.of("*"));
    }

    private static Map<String, Object> params(Object... kv) {
        Map<String, Object> map = new java.util.LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            map.put((String) kv[i], kv[i + 1]);
        }
        return map;
    }

    /**
     * A socket's requests, each a whole frame, are not a flood of frames: thousands a second are taken (the
     * frame limit counts fragments and control frames only), while the token's rate limit allows them.
     */
    @Test
    void thousandsOfRequestsInWholeFramesAreNotAFlood() {
        Partner partner = partner(List.of("*"), List.of("*"));
        try (WsClient ws = WsClient.connect(server, partner.accessToken(), null)) {
            ws.await("live");
            int batch = 50;
            int batches = 100; // 5,000 frames, more than the frame limit of 4,000 in 10 s
            long started = System.nanoTime();
            for (int b = 0; b < batches; b++) {
                for (int i = 0; i < batch; i++) {
                    ws.sendRequest(
                            "r" + (b * batch + i),
                            "records.get",
                            params("collection", "reservations", "id", "rec_01m93p1qnyfxdtcyqhwwm2a7bj"));
                }
                int answered = (b + 1) * batch;
                org.awaitility.Awaitility.await()
                        .pollDelay(Duration.ZERO)
                        .pollInterval(Duration.ofMillis(2))
                        .atMost(Duration.ofSeconds(15))
                        .until(() -> ws.isClosed() || ws.responses().size() >= answered);
                assertThat(ws.isClosed())
                        .as("closed after %d requests: %s", answered, ws.closeReason())
                        .isFalse();
            }
            assertThat(ws.responses()).hasSize(batch * batches);
            // Over one window of the frame limit, a machine this slow proves nothing either way.
            org.junit.jupiter.api.Assumptions.assumeTrue(
                    System.nanoTime() - started < Duration.ofSeconds(10).toNanos(),
                    "5,000 requests took longer than the frame limit's window");
        }
    }

    @Test
    void recordsAreCreatedReadListedUpdatedAndDeletedOverTheSocketAsOverHttp() {
        Partner partner = partner(List.of("*"), List.of("*"));
        Api http = partner.access();
        try (WsClient ws = WsClient.connect(server, partner.accessToken(), null)) {
            ws.await("live");
            JsonNode created = ws.request(
                    "c1", "records.create", params("collection", "reservations", "data", Map.of("state", "new")));
            assertThat(created.get("status").asInt()).isEqualTo(201);
            assertThat(created.get("seq").asLong()).isEqualTo(1);
            String id = created.at("/result/id").asText();
            assertThat(created.at("/result/data/state").asText()).isEqualTo("new");

            JsonNode got = ws.request("g1", "records.get", params("collection", "reservations", "id", id));
            assertThat(got.get("status").asInt()).isEqualTo(200);
            assertThat(got.has("seq")).isFalse();
            assertThat(got.get("result"))
                    .isEqualTo(http.get("/api/v1/collections/reservations/records/" + id)
                            .expect(200)
                            .json());

            JsonNode updated = ws.request(
                    "u1",
                    "records.update",
                    params("collection", "reservations", "id", id, "ifMatch", 1, "data", Map.of("state", "in")));
            assertThat(updated.get("status").asInt()).isEqualTo(200);
            assertThat(updated.get("seq").asLong()).isEqualTo(2);
            assertThat(updated.at("/result/version").asInt()).isEqualTo(2);

            JsonNode listed =
                    ws.request("l1", "records.list", params("collection", "reservations", "ids", List.of(id)));
            assertThat(listed.get("result"))
                    .isEqualTo(http.get("/api/v1/collections/reservations/records?ids=" + id)
                            .expect(200)
                            .json());

            JsonNode events = ws.request("e1", "events.list", params("after", 0, "types", List.of("reservations.*")));
            assertThat(events.get("result"))
                    .isEqualTo(http.get("/api/v1/events?after=0&types=reservations.*")
                            .expect(200)
                            .json());

            JsonNode deleted = ws.request("d1", "records.delete", params("collection", "reservations", "id", id));
            assertThat(deleted.get("status").asInt()).isEqualTo(204);
            assertThat(deleted.get("seq").asLong()).isEqualTo(3);
            assertThat(deleted.has("result")).isFalse();
            http.get("/api/v1/collections/reservations/records/" + id).expect(404);
            // Each write's event came on the socket, after its response.
            assertThat(ws.awaitEvents(3))
                    .extracting(e -> e.get("type").asText())
                    .containsExactly("reservations.created", "reservations.updated", "reservations.deleted");
        }
    }

    /**
     * A list over the socket ends its page at a quarter of the socket's queue of data, with a cursor to
     * the rest: a page as large as the queue (1 MiB, as over HTTP) closed the client as a slow consumer
     * (4100) when anything else waited beside it, an event or the heartbeat's ping, however fast it read.
     */
    @Test
    void aListAnswersWithAPageThatFitsTheSocketsQueueAndACursorToTheRest() {
        Partner partner = partner(List.of("*"), List.of("*"));
        String blob = "x".repeat(10_000);
        int count = 40; // 400 KB of data: over a quarter of the 1 MiB queue, under HTTP's 1 MiB page
        for (int i = 0; i < count; i++) {
            partner.access()
                    .post("/api/v1/collections/secrets/records", Map.of("data", Map.of("blob", blob)))
                    .expect(201);
        }
        assertThat(partner.access()
                        .get("/api/v1/collections/secrets/records?limit=100")
                        .expect(200)
                        .json()
                        .get("records"))
                .as("an HTTP page")
                .hasSize(count);
        try (WsClient ws = WsClient.connect(server, partner.accessToken(), null)) {
            ws.await("live");
            List<String> ids = new ArrayList<>();
            String cursor = null;
            int pages = 0;
            do {
                Map<String, Object> params = params("collection", "secrets", "limit", 100);
                if (cursor != null) {
                    params.put("cursor", cursor);
                }
                JsonNode page = ws.request("l" + pages++, "records.list", params);
                assertThat(page.get("status").asInt()).isEqualTo(200);
                assertThat(page.at("/result/records").size() * blob.length())
                        .as("data in one answer")
                        .isLessThanOrEqualTo(256 * 1024);
                page.at("/result/records").forEach(r -> ids.add(r.get("id").asText()));
                cursor = page.at("/result/cursor").isNull()
                        ? null
                        : page.at("/result/cursor").asText();
            } while (cursor != null && pages < 10);
            assertThat(ids)
                    .as("every record once, over the pages")
                    .hasSize(count)
                    .doesNotHaveDuplicates();
            assertThat(pages).isGreaterThan(1);
        }
    }

    @Test
    void refusedRequestsGetTheHttpStatusCodeAndMessageAndTheSocketStaysOpen() {
        Partner partner = partner(List.of("reservations"), List.of("reservations"));
        Api http = partner.access();
        try (WsClient ws = WsClient.connect(server, partner.accessToken(), null)) {
            ws.await("live");
            // Each the same refusal as the HTTP route's.
            assertSame(
                    ws.request("a", "records.create", params("collection", "reservations", "data", Map.of("state", 5))),
                    http.post("/api/v1/collections/reservations/records", Map.of("data", Map.of("state", 5))));
            assertSame(
                    ws.request("b", "records.create", params("collection", "nope", "data", Map.of())),
                    http.post("/api/v1/collections/nope/records", Map.of("data", Map.of())));
            assertSame(
                    ws.request("c", "records.get", params("collection", "secrets", "id", "rec_x")),
                    http.get("/api/v1/collections/secrets/records/rec_x"));
            assertSame(
                    ws.request("d", "records.list", params("collection", "reservations", "limit", 0)),
                    http.get("/api/v1/collections/reservations/records?limit=0"));
            assertSame(
                    ws.request("d2", "records.list", params("collection", "reservations", "limit", 10.5)),
                    http.get("/api/v1/collections/reservations/records?limit=10.5"));
            assertThat(ws.request("d2b", "records.list", params("collection", "reservations", "limit", 10.0))
                            .get("status")
                            .asInt())
                    .as("10.0 is ten")
                    .isEqualTo(200);
            assertSame(
                    ws.request("d3", "events.list", params("after", new java.math.BigInteger("99999999999999999999"))),
                    http.get("/api/v1/events?after=99999999999999999999"));
            List<String> tooMany =
                    java.util.Collections.nCopies(1001, "rec_x"); // one past the limit, short enough for a URL
            assertSame(
                    ws.request("d4", "records.list", params("collection", "reservations", "ids", tooMany)),
                    http.get("/api/v1/collections/reservations/records?ids=" + String.join(",", tooMany)));
            String id = ws.request(
                            "e", "records.create", params("collection", "reservations", "data", Map.of("state", "x")))
                    .at("/result/id")
                    .asText();
            JsonNode conflict = ws.request(
                    "f",
                    "records.update",
                    params("collection", "reservations", "id", id, "ifMatch", 7, "data", Map.of("state", "y")));
            assertSame(
                    conflict,
                    http.withHeader("If-Match", "7")
                            .patch(
                                    "/api/v1/collections/reservations/records/" + id,
                                    Map.of("data", Map.of("state", "y"))));
            assertThat(conflict.at("/error/details/currentVersion").asInt()).isEqualTo(1);
            // A version no record can be at is a mistake, as a param and as a header; and null is not "no
            // condition", as an empty If-Match is not.
            for (Integer version : Arrays.asList(0, -5, null)) {
                JsonNode impossible = ws.request(
                        "f" + version,
                        "records.delete",
                        params("collection", "reservations", "id", id, "ifMatch", version));
                assertThat(impossible.get("status").asInt()).as("%s", version).isEqualTo(400);
                assertThat(impossible.at("/error/details/field").asText()).isEqualTo("ifMatch");
                assertThat(http.withHeader("If-Match", version == null ? "" : String.valueOf(version))
                                .delete("/api/v1/collections/reservations/records/" + id)
                                .errorCode())
                        .isEqualTo("invalid_header");
            }
            // Nor is a null idempotency key no key, or one a non-ASCII space begins the key after it.
            for (Object key : Arrays.asList(null, "\u2003booking-9")) {
                JsonNode refused = ws.request(
                        "k" + key,
                        "records.create",
                        params("collection", "reservations", "data", Map.of("state", "x"), "idempotencyKey", key));
                assertThat(refused.get("status").asInt()).as("%s", key).isEqualTo(400);
                assertThat(refused.at("/error/details/field").asText()).isEqualTo("idempotencyKey");
            }
            // An update that changes nothing appends no event, so its response names none.
            JsonNode unchanged = ws.request(
                    "f1", "records.update", params("collection", "reservations", "id", id, "data", Map.of()));
            assertThat(unchanged.get("status").asInt()).isEqualTo(200);
            assertThat(unchanged.has("seq")).as(unchanged.toString()).isFalse();
            assertThat(unchanged.at("/result/version").asInt()).isEqualTo(1);
            assertSame(ws.request("g", "events.list", params("after", -1)), http.get("/api/v1/events?after=-1"));
            // What HTTP takes from the path or the query, the socket takes as written: neither trimmed nor bounded.
            String longName = "c".repeat(201);
            assertSame(
                    ws.request("g1", "records.get", params("collection", longName, "id", id)),
                    http.get("/api/v1/collections/" + longName + "/records/" + id));
            assertSame(
                    ws.request("g2", "records.get", params("collection", "reservations", "id", " " + id + " ")),
                    http.get("/api/v1/collections/reservations/records/%20" + id + "%20"));
            JsonNode firstPage = ws.request("g3", "records.list", params("collection", "reservations", "cursor", ""));
            assertThat(firstPage.get("status").asInt()).isEqualTo(200);
            assertThat(firstPage.get("result"))
                    .isEqualTo(http.get("/api/v1/collections/reservations/records?cursor=")
                            .expect(200)
                            .json());

            // Requests the socket cannot perform as sent.
            JsonNode unknown = ws.request("h", "records.drop", params());
            assertThat(unknown.get("status").asInt()).isEqualTo(400);
            assertThat(unknown.at("/error/code").asText()).isEqualTo("unknown_method");
            JsonNode badParam = ws.request("i", "records.get", params("collection", "reservations", "idd", "x"));
            assertThat(badParam.at("/error/message").asText()).startsWith("idd: is not a field of this request");
            ws.send("{\"type\":\"request\",\"id\":\"j\",\"method\":\"records.get\",\"params\":[1]}");
            assertThat(ws.awaitResponse("j").at("/error/message").asText()).isEqualTo("params: must be a JSON object");
            // JSON the parser refuses, as HTTP refuses the same body: still answered, with the id.
            ws.send("{\"type\":\"request\",\"id\":\"dup\",\"method\":\"records.create\","
                    + "\"params\":{\"collection\":\"reservations\",\"collection\":\"reservations\",\"data\":{}}}");
            JsonNode duplicate = ws.awaitResponse("dup");
            assertThat(duplicate.get("status").asInt()).isEqualTo(400);
            assertThat(duplicate.at("/error/code").asText()).isEqualTo("invalid_json");
            assertThat(duplicate.at("/error/message").asText()).contains("Duplicate field 'collection'");
            ws.send("{\"type\":\"request\",\"method\":\"records.get\"}");
            JsonNode noId = ws.await(m ->
                    m.path("type").asText().equals("response") && m.get("id").isNull());
            assertThat(noId.get("status").asInt()).isEqualTo(400);
            assertThat(noId.at("/error/details/field").asText()).isEqualTo("id");

            ws.send("{\"type\":\"ping\"}");
            ws.await("pong");
            assertThat(ws.isClosed()).isFalse();
            // Nothing the refused writes would have appended: only the one accepted create.
            assertThat(http.get("/api/v1/events").expect(200).json().get("events"))
                    .hasSize(1);
        }
    }

    /**
     * A record's data may be as deeply nested over the socket as over HTTP: the request's envelope
     * (the message and its params) does not count against it, as the HTTP body's does not.
     */
    @Test
    void dataNestedAsDeepAsHttpTakesIsTakenOverTheSocketAndOneLevelMoreIsRefusedAlike() {
        Partner partner = partner(List.of("reservations"), List.of("reservations"));
        Api http = partner.access();
        // In an HTTP body {"data": …} the data object is at depth 2.
        int deepest = Json.MAX_NESTING_DEPTH - 1;
        try (WsClient ws = WsClient.connect(server, partner.accessToken(), null)) {
            ws.await("live");
            JsonNode taken =
                    ws.request("deep", "records.create", params("collection", "reservations", "data", nested(deepest)));
            assertThat(taken.get("status").asInt()).as(taken.toString()).isEqualTo(201);
            http.post("/api/v1/collections/reservations/records", Map.of("data", nested(deepest)))
                    .expect(201);

            JsonNode refused = ws.request(
                    "deeper", "records.create", params("collection", "reservations", "data", nested(deepest + 1)));
            Api.Response refusedOverHttp =
                    http.post("/api/v1/collections/reservations/records", Map.of("data", nested(deepest + 1)));
            assertThat(refused.get("status").asInt())
                    .isEqualTo(refusedOverHttp.status())
                    .isEqualTo(400);
            assertThat(refusedOverHttp.json().at("/error/code").asText()).isEqualTo("invalid_json");
            assertThat(refused.at("/error/code").asText()).isEqualTo("invalid_json");
            // Jackson counts from the message, a level above params; the refusal counts from params.
            assertThat(refused.at("/error/message").asText())
                    .isEqualTo("the request is not valid JSON: params are nested more than 64 levels deep,"
                            + " the limit of a request body");
            // Answered with its id wherever the id stands, past the params it could not take.
            ws.send("{\"type\":\"request\",\"method\":\"records.create\",\"params\":{\"collection\":"
                    + "\"reservations\",\"data\":" + Json.write(nested(deepest + 1)) + "},\"id\":\"id-last\"}");
            assertThat(ws.awaitResponse("id-last").at("/error/message").asText())
                    .isEqualTo(refused.at("/error/message").asText());
            assertThat(ws.isClosed()).isFalse();
        }
    }

    /** Data of {@code depth} nested objects, the outermost one included, valid for the reservations schema. */
    private static Map<String, Object> nested(int depth) {
        Map<String, Object> inner = Map.of();
        for (int i = 1; i < depth; i++) {
            inner = Map.of("n", inner);
        }
        Map<String, Object> data = new java.util.LinkedHashMap<>(inner);
        data.put("state", "deep");
        return data;
    }

    private static void assertSame(JsonNode response, Api.Response http) {
        assertThat(response.get("status").asInt()).isEqualTo(http.status());
        JsonNode error = http.json().get("error");
        assertThat(response.at("/error/code").asText())
                .isEqualTo(error.get("code").asText());
        assertThat(response.at("/error/message").asText())
                .isEqualTo(error.get("message").asText());
        assertThat(response.at("/error/details")).isEqualTo(error.get("details"));
    }

    @Test
    void aRequestHasThePermissionsOfNowNotThoseOfTheUpgrade() {
        Partner partner = partner(List.of("reservations"), List.of("reservations"));
        try (WsClient ws = WsClient.connect(server, partner.accessToken(), null)) {
            ws.await("live");
            Map<String, Object> create = params("collection", "reservations", "data", Map.of("state", "a"));
            assertThat(ws.request("before", "records.create", create)
                            .get("status")
                            .asInt())
                    .isEqualTo(201);
            server.admin
                    .patch(
                            "/api/v1/integrations/" + partner.integrationId(),
                            Map.of("permissions", Map.of("read", List.of("reservations"), "write", List.of())))
                    .expect(200);
            JsonNode after = ws.request("after", "records.create", create);
            assertThat(after.get("status").asInt()).isEqualTo(403);
            assertThat(after.at("/error/message").asText())
                    .isEqualTo("this integration may not write collection 'reservations'");
            assertThat(ws.request("read", "records.list", params("collection", "reservations"))
                            .get("status")
                            .asInt())
                    .isEqualTo(200);
        }
    }

    /**
     * The refusal a request gets is the one HTTP gives: the collection is checked first, as the route's path
     * segment is (a read-only token's create with a stray field was 400 here, 403 over HTTP), and times, type
     * patterns and numbers are read as the query reads them.
     */
    @Test
    void everyRefusalIsTheOneTheSameRequestGetsOverHttp() {
        Partner reader = partner(List.of("reservations"), List.of());
        Api http = reader.access();
        String records = "/api/v1/collections/reservations/records";
        try (WsClient ws = WsClient.connect(server, reader.accessToken(), null)) {
            ws.await("live");
            sameAnswer(
                    http.post(records, Map.of("data", Map.of("state", "x"), "note", 1)),
                    ws.request(
                            "1",
                            "records.create",
                            params("collection", "reservations", "data", Map.of("state", "x"), "note", 1)),
                    403);
            sameAnswer(
                    http.delete(records + "/rec_x"),
                    ws.request("2", "records.delete", params("collection", "reservations", "id", "rec_x")),
                    403);
            sameAnswer(
                    http.get("/api/v1/collections/secrets/records?sort=id"),
                    ws.request("3", "records.list", params("collection", "secrets")),
                    403);
            sameAnswer(
                    http.get("/api/v1/collections/nowhere/records?limit=0"),
                    ws.request("4", "records.list", params("collection", "nowhere", "limit", 0)),
                    403); // one it may not read, whether or not it exists
            sameAnswer(
                    http.get(records + "?updatedFrom=2030-01-01T00:00:00Z%09"),
                    ws.request(
                            "5",
                            "records.list",
                            params("collection", "reservations", "updatedFrom", "2030-01-01T00:00:00Z\t")),
                    400);
            sameAnswer(
                    http.get(records + "?updatedFrom="),
                    ws.request("6", "records.list", params("collection", "reservations", "updatedFrom", "")),
                    200);
            sameAnswer(
                    http.get("/api/v1/events?types=reservations.*,%20plain.*"),
                    ws.request("7", "events.list", params("types", List.of("reservations.*", " plain.*"))),
                    200);
            // Trimmed alike: white space of any kind around a pattern; a control character is no pattern.
            sameAnswer(
                    http.get("/api/v1/events?types=%E2%80%83plain.*"),
                    ws.request("7a", "events.list", params("types", List.of("\u2003plain.*"))),
                    200);
            sameAnswer(
                    http.get("/api/v1/events?types=%01plain.*"),
                    ws.request("7b", "events.list", params("types", List.of("\u0001plain.*"))),
                    400);
            sameAnswer(
                    http.get(records + "?limit=1000000000000000000"),
                    ws.request(
                            "8", "records.list", params("collection", "reservations", "limit", 1000000000000000000L)),
                    400);
        }
    }

    private static void sameAnswer(Api.Response http, JsonNode socket, int status) {
        assertThat(http.status()).as(http.body()).isEqualTo(status);
        assertThat(socket.get("status").asInt()).as(socket.toString()).isEqualTo(status);
        if (status >= 400) {
            assertThat(socket.get("error").get("code")).isEqualTo(http.json().at("/error/code"));
            assertThat(socket.get("error").get("message")).isEqualTo(http.json().at("/error/message"));
        }
    }

    @Test
    void theSameDataIsTheSameRequestWhateverItsWhiteSpace() throws Exception {
        Partner partner = partner(List.of("*"), List.of("*"));
        String spaced = "{ \"data\" : { \"state\" : \"b\" } }";
        Api keyed = partner.access().withHeader("Idempotency-Key", "spaced-1");
        JsonNode first = keyed.post("/api/v1/collections/reservations/records", spaced)
                .expect(201)
                .json();
        Api.Response compact = keyed.post("/api/v1/collections/reservations/records", "{\"data\":{\"state\":\"b\"}}")
                .expect(201);
        assertThat(compact.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(compact.json()).isEqualTo(first);
        try (WsClient ws = WsClient.connect(server, partner.accessToken(), null)) {
            ws.await("live");
            JsonNode overSocket = ws.request(
                    "s",
                    "records.create",
                    params("collection", "reservations", "data", Map.of("state", "b"), "idempotencyKey", "spaced-1"));
            assertThat(overSocket.get("replayed").asBoolean()).isTrue();
            assertThat(overSocket.get("result")).isEqualTo(first);
            // A header's value has no surrounding spaces; the key sent with them is the same key.
            JsonNode padded = ws.request(
                    "p",
                    "records.create",
                    params(
                            "collection",
                            "reservations",
                            "data",
                            Map.of("state", "b"),
                            "idempotencyKey",
                            " spaced-1\t"));
            assertThat(padded.get("replayed").asBoolean()).isTrue();
            assertThat(padded.get("result")).isEqualTo(first);

            // A header's bytes past ASCII reach the route as ISO-8859-1: a key with them would be another
            // key over HTTP than here, so both refuse it.
            JsonNode accented = ws.request(
                    "a",
                    "records.create",
                    params("collection", "reservations", "data", Map.of("state", "b"), "idempotencyKey", "clé-1"));
            assertThat(accented.get("status").asInt()).isEqualTo(400);
            assertThat(accented.at("/error/message").asText())
                    .isEqualTo("idempotencyKey: must be a string of 1-255 printable ASCII characters");
        }
        RawHttp.Response accented = RawHttp.send(
                "127.0.0.1",
                server.switchboard().port(),
                new RawHttp.Request(
                        "POST",
                        "/api/v1/collections/reservations/records",
                        List.of(
                                Map.entry("Authorization", "Bearer " + partner.accessToken()),
                                Map.entry("Content-Type", "application/json"),
                                Map.entry("Idempotency-Key", "clé-1")),
                        spaced.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        false),
                Duration.ofSeconds(10));
        assertThat(accented.status()).isEqualTo(400);
        assertThat(Json.read(accented.text()).at("/error/message").asText())
                .isEqualTo("Idempotency-Key must be 1-255 printable ASCII characters");

        // A key the previous release stored (its fingerprint: the HTTP body's bytes as sent) still replays
        // its retry, sent as before.
        Api older = partner.access().withHeader("Idempotency-Key", "spaced-2");
        JsonNode second = older.post("/api/v1/collections/reservations/records", spaced)
                .expect(201)
                .json();
        try (Connection c = DriverManager.getConnection(server.database().jdbcUrl());
                PreparedStatement ps =
                        c.prepareStatement("UPDATE idempotency_keys SET fingerprint = ? WHERE key = 'spaced-2'")) {
            ps.setBytes(1, Tokens.hash("reservations\n" + spaced));
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
        Api.Response retried =
                older.post("/api/v1/collections/reservations/records", spaced).expect(201);
        assertThat(retried.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(retried.json()).isEqualTo(second);
    }

    @Test
    void aRetriedCreateWithTheSameIdempotencyKeyReplaysTheFirstOverTheSocketAndHttp() {
        Partner partner = partner(List.of("*"), List.of("*"));
        try (WsClient ws = WsClient.connect(server, partner.accessToken(), null)) {
            ws.await("live");
            Map<String, Object> create =
                    params("collection", "reservations", "data", Map.of("state", "new"), "idempotencyKey", "booking-1");
            JsonNode first = ws.request("1", "records.create", create);
            JsonNode again = ws.request("2", "records.create", create);
            assertThat(again.get("replayed").asBoolean()).isTrue();
            assertThat(again.get("seq")).isEqualTo(first.get("seq"));
            assertThat(again.get("result")).isEqualTo(first.get("result"));
            Api.Response overHttp = partner.access()
                    .withHeader("Idempotency-Key", "booking-1")
                    .post("/api/v1/collections/reservations/records", Map.of("data", Map.of("state", "new")))
                    .expect(201);
            assertThat(overHttp.header("Idempotent-Replayed")).isEqualTo("true");
            assertThat(overHttp.json()).isEqualTo(first.get("result"));
            JsonNode reused = ws.request(
                    "3",
                    "records.create",
                    params(
                            "collection",
                            "reservations",
                            "data",
                            Map.of("state", "other"),
                            "idempotencyKey",
                            "booking-1"));
            assertThat(reused.get("status").asInt()).isEqualTo(422);
            assertThat(reused.at("/error/code").asText()).isEqualTo("idempotency_key_reused");
            assertThat(partner.access().get("/api/v1/events").json().get("events"))
                    .hasSize(1);
        }
    }

    @Test
    void requestsCountAgainstTheTokensRateLimitLikeHttpRequests() throws InterruptedException {
        try (TestServer limited = TestServer.start(Map.of("SWITCHBOARD_RATE_LIMIT_REQUESTS", "6"))) {
            limited.createCollection("reservations");
            limited.createTenant("limited");
            String token = limited.partnerToken("limited");
            // Opening the socket is one request; four more on it, then one over HTTP: six.
            try (WsClient ws = WsClient.connect(limited, token, null)) {
                ws.await("live");
                for (int i = 0; i < 4; i++) {
                    assertThat(ws.request("r" + i, "events.list", params())
                                    .get("status")
                                    .asInt())
                            .isEqualTo(200);
                }
                limited.api(token).get("/api/v1/events").expect(200);
                JsonNode throttled = ws.request("over", "events.list", params());
                assertThat(throttled.get("status").asInt()).isEqualTo(429);
                assertThat(throttled.at("/error/code").asText()).isEqualTo("rate_limited");
                assertThat(throttled.get("retryAfter").asLong()).isPositive();
                limited.api(token).get("/api/v1/events").expect(429);

                // A client that keeps sending once refused: each refusal counts against the socket's
                // messages per 10 s as it is answered, so it is closed as one flooding pings would be, at
                // the refusal past the limit, whatever it sends next (counted at its next message, a
                // client that then waited stayed open, and one sending bursts was closed a burst late).
                int sent = 0;
                while (!ws.isClosed() && sent < 2 * ClientMessages.MAX_PER_WINDOW) {
                    String id = "f" + sent++;
                    ws.sendRequest(id, "events.list", params());
                    Awaitility.await()
                            .pollDelay(Duration.ZERO)
                            .pollInterval(Duration.ofMillis(1))
                            .atMost(Duration.ofSeconds(10))
                            .until(() -> ws.isClosed()
                                    || ws.responses().stream()
                                            .anyMatch(r -> r.get("id").asText().equals(id)));
                }
                assertThat(ws.awaitClose()).isEqualTo(CloseCode.TOO_MANY_MESSAGES.code());
                assertThat(sent)
                        .as("with the refusal of 'over', the limit is passed at this many")
                        .isEqualTo(ClientMessages.MAX_PER_WINDOW);
            }
        }
    }

    /**
     * A socket's message limit counts messages, after parsing them, and a connection may hold many sockets:
     * one access token's 120 sockets, each sending 64 KiB messages of empty JSON objects under its limit,
     * kept a 2-core node's CPU busy and other tenants' requests waiting seconds. Its sockets on a node
     * together send no more than one socket may, charged before a message is parsed: here 3 sockets, 60
     * messages of 4 KB each (the limit 100 of 4 KiB per 10 s), and one is closed.
     */
    @Test
    void aConnectionsSocketsTogetherSendNoMoreThanOneSocketMay() {
        try (TestServer small = TestServer.start(Map.of("SWITCHBOARD_WEBSOCKETS_MAX_MESSAGE_SIZE", "4KiB"))) {
            small.createTenant("chatty");
            String token = small.partnerToken("chatty");
            String padded = "{\"type\":\"ping\",\"pad\":\"" + "x".repeat(3_950) + "\"}";
            List<WsClient> sockets = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    WsClient ws = WsClient.connect(small, token, null);
                    ws.await("live");
                    sockets.add(ws);
                }
                for (int round = 0; round < 60; round++) {
                    for (WsClient ws : sockets) {
                        if (!ws.isClosed()) {
                            ws.send(padded);
                        }
                    }
                }
                Awaitility.await()
                        .atMost(Duration.ofSeconds(10))
                        .until(() -> sockets.stream().anyMatch(WsClient::isClosed));
                WsClient closed =
                        sockets.stream().filter(WsClient::isClosed).findFirst().orElseThrow();
                assertThat(closed.awaitClose()).isEqualTo(CloseCode.TOO_MANY_MESSAGES.code());
                assertThat(closed.messages().stream()
                                .filter(m -> m.path("type").asText().equals("error"))
                                .count())
                        .as(
                                "its own messages answered before it was closed, under its limit of %d",
                                ClientMessages.MAX_PER_WINDOW)
                        .isLessThan(ClientMessages.MAX_PER_WINDOW);
            } finally {
                sockets.forEach(WsClient::close);
            }
        }
    }

    /**
     * Requests the token's rate limit admits are paid for there, as over HTTP, however high the operator
     * set it: they give back what they took of their connection's shared allowance, and a client sending
     * many of them is not closed.
     */
    @Test
    void requestsTheRateLimitAdmitsLeaveTheConnectionsSharedAllowanceAlone() {
        try (TestServer small = TestServer.start(Map.of(
                "SWITCHBOARD_WEBSOCKETS_MAX_MESSAGE_SIZE", "4KiB", "SWITCHBOARD_RATE_LIMIT_REQUESTS", "100000"))) {
            small.createTenant("busy");
            String token = small.partnerToken("busy");
            try (WsClient ws = WsClient.connect(small, token, null)) {
                ws.await("live");
                // 600 of 3.5 KB, 60 at a time: 2 MB in a few seconds, where 100 messages of 4 KiB make 400 KB.
                Map<String, Object> params = Map.of("limit", 1, "pad", "x".repeat(3_500));
                for (int burst = 1; burst <= 10; burst++) {
                    for (int i = 0; i < 60; i++) {
                        ws.sendRequest("r" + burst + "-" + i, "events.list", params);
                    }
                    int answered = burst * 60;
                    Awaitility.await()
                            .pollInterval(Duration.ofMillis(5))
                            .atMost(Duration.ofSeconds(20))
                            .until(() -> ws.isClosed() || ws.responses().size() >= answered);
                }
                assertThat(ws.isClosed()).isFalse();
                assertThat(ws.responses())
                        .hasSize(600)
                        .allSatisfy(r -> assertThat(r.get("status").asInt())
                                .as("unknown parameter 'pad'")
                                .isEqualTo(400));
            }
        }
    }

    @Test
    void moreThan64RequestsInFlightAreRefusedAndEachRequestIsAnsweredOnce() throws Exception {
        Partner partner = partner(List.of("*"), List.of("*"));
        CountDownLatch release = new CountDownLatch(1);
        WebSockets sockets = server.switchboard().websockets();
        sockets.wrapOperations(inner -> (access, method, p) -> {
            if (p.has("hold")) {
                await(release);
                return inner.perform(access, method, Json.MAPPER.createObjectNode());
            }
            return inner.perform(access, method, p);
        });
        try (WsClient ws = WsClient.connect(server, partner.accessToken(), null)) {
            ws.await("live");
            for (int i = 0; i < SocketRequests.MAX_IN_FLIGHT + 3; i++) {
                ws.sendRequest("r" + i, "events.list", params("hold", true));
            }
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> ws.responses().size() == 3);
            assertThat(ws.responses())
                    .allSatisfy(r -> assertThat(r.at("/error/code").asText()).isEqualTo("too_many_requests"));
            release.countDown();
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> ws.responses().size() == SocketRequests.MAX_IN_FLIGHT + 3);
            assertThat(ws.responses().stream().map(r -> r.get("id").asText()).distinct())
                    .hasSize(SocketRequests.MAX_IN_FLIGHT + 3);
            assertThat(ws.responses().stream().filter(r -> r.get("status").asInt() == 200))
                    .hasSize(SocketRequests.MAX_IN_FLIGHT);
        } finally {
            release.countDown();
            sockets.wrapOperations(inner -> original);
        }
    }

    /** Publishes 20 events of 60 KB: more than websockets.queueSize (1 MiB) of them. */
    private static void postMoreThanTheQueue(Api app) {
        String data = "x".repeat(60_000);
        for (int i = 0; i < 20; i++) {
            app.post("/api/v1/events", Map.of("type", "bulk.loaded", "data", Map.of("blob", data)))
                    .expect(201);
        }
    }

    /**
     * Makes every records.create on a socket, once committed, count {@code done} down and wait for {@code
     * release} before its response is sent; the test puts the operations back as they were.
     */
    private static WebSockets holdCreatesAfterTheirCommit(CountDownLatch done, CountDownLatch release) {
        WebSockets sockets = server.switchboard().websockets();
        sockets.wrapOperations(inner -> (access, method, p) -> {
            Operations.Outcome outcome = inner.perform(access, method, p);
            if (method == RequestMethod.RECORDS_CREATE) {
                done.countDown();
                await(release);
            }
            return outcome;
        });
        return sockets;
    }

    @Test
    void eventsHeldBehindAWriteCountOnlyAsWhatTheSocketsSubscriptionTakes() throws Exception {
        Partner partner = partner(List.of("*"), List.of("*"));
        Api app = server.adminFor(partner.tenant());
        CountDownLatch writeDone = new CountDownLatch(1);
        CountDownLatch releaseWrite = new CountDownLatch(1);
        WebSockets sockets = holdCreatesAfterTheirCommit(writeDone, releaseWrite);
        try (WsClient ws = WsClient.connect(server, partner.accessToken(), null)) {
            ws.await("live");
            ws.send(Json.write(Map.of("type", "subscribe", "eventTypes", List.of("device.*"))));
            ws.await("subscribed");
            ws.sendRequest("w", "records.create", params("collection", "reservations", "data", Map.of("state", "s")));
            assertThat(writeDone.await(10, TimeUnit.SECONDS)).isTrue();
            // More than websockets.queueSize (1 MiB) of events this socket's subscription drops, held while its
            // write is in progress.
            postMoreThanTheQueue(app);
            app.post("/api/v1/events", Map.of("type", "device.command", "subject", "d1"))
                    .expect(201);
            releaseWrite.countDown();
            assertThat(ws.awaitResponse("w").get("status").asInt()).isEqualTo(201);
            assertThat(ws.awaitEvents(1))
                    .extracting(e -> e.get("type").asText())
                    .containsExactly("device.command");
            assertThat(ws.isClosed()).as("closed: " + ws.closeReason()).isFalse();
        } finally {
            releaseWrite.countDown();
            sockets.wrapOperations(inner -> original);
        }
    }

    @Test
    void moreEventsThanTheQueueHeldBehindASlowWriteAreReadAgainNotAClosedSocket() throws Exception {
        Partner partner = partner(List.of("*"), List.of("*"));
        Api app = server.adminFor(partner.tenant());
        CountDownLatch writeDone = new CountDownLatch(1);
        CountDownLatch releaseWrite = new CountDownLatch(1);
        WebSockets sockets = holdCreatesAfterTheirCommit(writeDone, releaseWrite);
        try (WsClient ws = WsClient.connect(server, partner.accessToken(), null)) {
            ws.await("live");
            ws.sendRequest("w", "records.create", params("collection", "reservations", "data", Map.of("state", "s")));
            assertThat(writeDone.await(10, TimeUnit.SECONDS)).isTrue();
            // More than websockets.queueSize (1 MiB) of events the socket takes, all held while its write is in
            // progress: a client reading promptly, which a slow write must not get closed as a slow consumer.
            postMoreThanTheQueue(app);
            releaseWrite.countDown();
            JsonNode response = ws.awaitResponse("w");
            assertThat(response.get("status").asInt()).isEqualTo(201);
            long created = response.get("seq").asLong();
            List<JsonNode> events = ws.awaitEvents(21);
            assertThat(ws.isClosed()).as("closed: " + ws.closeReason()).isFalse();
            // Every event once, in order, the write's own after its response.
            assertThat(ws.seqs())
                    .isEqualTo(LongStream.rangeClosed(created, created + 20)
                            .boxed()
                            .toList());
            assertThat(events.getFirst().get("type").asText()).isEqualTo("reservations.created");
            List<String> order = ws.messages().stream()
                    .filter(m -> m.get("type").asText().equals("response")
                            || m.get("type").asText().equals("events"))
                    .map(m -> m.get("type").asText())
                    .toList();
            assertThat(order.getFirst()).isEqualTo("response");
            assertThat(ws.messages().stream().filter(m -> m.get("type").asText().equals("live")))
                    .as("the client was told it is live once, as it connected")
                    .hasSize(1);
            // And live again afterwards.
            app.post("/api/v1/events", Map.of("type", "device.command", "subject", "after"))
                    .expect(201);
            assertThat(ws.awaitEvents(22).getLast().get("subject").asText()).isEqualTo("after");
        } finally {
            releaseWrite.countDown();
            sockets.wrapOperations(inner -> original);
        }
    }

    @Test
    void aWritesResponseComesBeforeItsEventAndASlowReadHoldsNoEvents() throws Exception {
        Partner partner = partner(List.of("*"), List.of("*"));
        Api app = server.adminFor(partner.tenant());
        CountDownLatch writeDone = new CountDownLatch(1);
        CountDownLatch releaseWrite = new CountDownLatch(1);
        CountDownLatch releaseRead = new CountDownLatch(1);
        WebSockets sockets = server.switchboard().websockets();
        sockets.wrapOperations(inner -> (access, method, p) -> {
            if (method == RequestMethod.RECORDS_LIST) {
                await(releaseRead);
            }
            Operations.Outcome outcome = inner.perform(access, method, p);
            if (method == RequestMethod.RECORDS_CREATE) {
                // Committed, and its event fanned out, before the response is sent.
                writeDone.countDown();
                await(releaseWrite);
            }
            return outcome;
        });
        try (WsClient ws = WsClient.connect(server, partner.accessToken(), null);
                WsClient other = WsClient.connect(server, partner.accessToken(), null)) {
            ws.await("live");
            other.await("live");
            // A slow read holds no events: published while it is in progress, they arrive.
            ws.sendRequest("slow-list", "records.list", params("collection", "reservations"));
            app.post("/api/v1/events", Map.of("type", "device.command", "subject", "d1"))
                    .expect(201);
            assertThat(ws.awaitEvents(1)).hasSize(1);
            releaseRead.countDown();
            ws.awaitResponse("slow-list");

            ws.sendRequest("w", "records.create", params("collection", "reservations", "data", Map.of("state", "s")));
            assertThat(writeDone.await(10, TimeUnit.SECONDS)).isTrue();
            app.post("/api/v1/events", Map.of("type", "device.command", "subject", "d2"))
                    .expect(201);
            // The other socket has both events; this one holds them until the write's response is sent.
            other.awaitEvents(3);
            assertThat(ws.events()).hasSize(1);
            // A read is not held behind the write.
            assertThat(ws.request("read", "events.list", params()).get("status").asInt())
                    .isEqualTo(200);
            assertThat(ws.events()).hasSize(1);
            releaseWrite.countDown();
            JsonNode response = ws.awaitResponse("w");
            ws.awaitEvents(3);
            List<JsonNode> messages = ws.messages();
            int responseAt = messages.indexOf(response);
            int eventAt = indexOfEvent(messages, response.get("seq").asLong());
            assertThat(responseAt).isLessThan(eventAt);
            assertThat(ws.seqs()).containsExactly(1L, 2L, 3L);
        } finally {
            releaseRead.countDown();
            releaseWrite.countDown();
            sockets.wrapOperations(inner -> original);
        }
    }

    @Test
    void aClientThatSendsRequestsButNeverReadsIsClosedAsASlowConsumer() throws Exception {
        try (TestServer small = TestServer.start(
                Map.of("SWITCHBOARD_RATE_LIMIT_REQUESTS", "100000", "SWITCHBOARD_WEBSOCKETS_QUEUE_SIZE", "64KiB"))) {
            small.createCollection("reservations");
            small.createTenant("reads-nothing");
            String token = small.partnerToken("reads-nothing");
            Api http = small.api(token);
            String padding = "x".repeat(8 * 1024);
            for (int i = 0; i < 8; i++) {
                http.post("/api/v1/collections/reservations/records", Map.of("data", Map.of("pad", padding)))
                        .expect(201);
            }
            String list = Json.write(Map.of(
                    "type",
                    "request",
                    "id",
                    "l",
                    "method",
                    "records.list",
                    "params",
                    Map.of("collection", "reservations")));
            String slowConsumer = "switchboard_websockets_closes_total\\{reason=\"slow_consumer\"}";
            String answered = "switchboard_websockets_requests_seconds_count\\{method=\"records.list\",status=\"200\"}";
            try (WsClient healthy = WsClient.connect(small, token, null);
                    dev.switchboard.testing.RawWebSocket deaf =
                            dev.switchboard.testing.RawWebSocket.open(small, "/api/v1/ws", token, 4096)) {
                healthy.await("live");
                int sent = 0;
                // Bounded: the kernel's loopback buffers hold a few MiB of responses, then the 64 KiB queue fills.
                while (small.metric(slowConsumer) < 1 && sent < 3000) {
                    try {
                        for (int i = 0; i < 20; i++) {
                            deaf.sendText(list);
                            sent++;
                        }
                    } catch (java.io.IOException closed) {
                        break;
                    }
                    // Paced, 20 in flight at most: requests refused for more than 64 in flight count against
                    // the socket's message limit, which on a slow machine closed it as a flood (4102) first.
                    int expected = sent;
                    Awaitility.await()
                            .atMost(Duration.ofSeconds(10))
                            .until(() -> small.metric(answered) >= expected || small.metric(slowConsumer) >= 1);
                }
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> small.metric(slowConsumer) >= 1);
                assertThat(small.metric("switchboard_websockets_closes_total\\{reason=\"too_many_messages\"}"))
                        .isZero();
                // The other socket of the same token is unaffected.
                http.post("/api/v1/collections/reservations/records", Map.of("data", Map.of("pad", "y")))
                        .expect(201);
                assertThat(healthy.awaitEvents(1)).hasSize(1);
            }
        }
    }

    @Test
    void aRequestOverTheHttpBodyLimitIsRefusedWith413WhereSocketsTakeLargerMessages() {
        try (TestServer small = TestServer.start(
                Map.of("SWITCHBOARD_MAX_BODY_SIZE", "2KiB", "SWITCHBOARD_WEBSOCKETS_MAX_MESSAGE_SIZE", "16KiB"))) {
            small.createCollection("reservations");
            small.createTenant("small-bodies");
            String token = small.partnerToken("small-bodies");
            try (WsClient ws = WsClient.connect(small, token, null)) {
                ws.await("live");
                JsonNode tooLarge = ws.request(
                        "big",
                        "records.create",
                        params("collection", "reservations", "data", Map.of("pad", "x".repeat(4000))));
                assertThat(tooLarge.get("status").asInt()).isEqualTo(413);
                assertThat(tooLarge.at("/error/code").asText()).isEqualTo("body_too_large");
                assertThat(ws.request("small", "records.create", params("collection", "reservations", "data", Map.of()))
                                .get("status")
                                .asInt())
                        .isEqualTo(201);
                assertThat(small.api(token).get("/api/v1/events").json().get("events"))
                        .hasSize(1);
            }
        }
    }

    static int indexOfEvent(List<JsonNode> messages, long seq) {
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            if (m.path("type").asText().equals("events")) {
                for (JsonNode e : m.get("events")) {
                    if (e.get("seq").asLong() == seq) {
                        return i;
                    }
                }
            }
        }
        return -1;
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(20, TimeUnit.SECONDS)) {
                throw new IllegalStateException("not released");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
