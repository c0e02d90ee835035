package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.TestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RecordsApiTest {
    static TestServer server;
    static Api partner;
    static Api otherTenant;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        server.createCollection(
                "reservations",
                "eventFields",
                List.of("state", "startUtc"),
                "schema",
                Map.of(
                        "type",
                        "object",
                        "required",
                        List.of("state"),
                        "properties",
                        Map.of("state", Map.of("type", "string"))));
        server.createCollection("customers");
        server.createTenant("hotel-a");
        server.createTenant("hotel-b");
        partner = server.api(server.partnerToken("hotel-a"));
        otherTenant = server.api(server.partnerToken("hotel-b"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static JsonNode create(Object data) {
        return partner.post("/api/v1/collections/reservations/records", Map.of("data", data))
                .expect(201)
                .json();
    }

    private static long headSeq(Api api) {
        return api.get("/api/v1/events").expect(200).json().get("next").asLong();
    }

    @Test
    void createdRecordCanBeReadBackWithItsVersionAndTimes() {
        JsonNode created = create(Map.of("state", "confirmed", "guest", "Ada"));
        assertThat(created.get("id").asText()).startsWith("rec_");
        assertThat(created.get("version").asInt()).isEqualTo(1);
        assertThat(created.get("createdAt").asText())
                .isEqualTo(created.get("updatedAt").asText());

        Api.Response read = partner.get("/api/v1/collections/reservations/records/"
                        + created.get("id").asText())
                .expect(200);
        assertThat(read.json()).isEqualTo(created);
        assertThat(read.header("ETag")).isEqualTo("\"1\"");
        assertThat(read.header("Request-Id")).startsWith("req_");
    }

    @Test
    void everyChangeAppendsItsThinEventWithTheCollectionsEventFields() {
        long before = headSeq(partner);
        JsonNode created = create(Map.of("state", "confirmed", "startUtc", "2026-12-01T14:00:00Z", "secret", "x"));
        String id = created.get("id").asText();
        partner.patch("/api/v1/collections/reservations/records/" + id, Map.of("data", Map.of("state", "checked_in")))
                .expect(200);
        partner.delete("/api/v1/collections/reservations/records/" + id).expect(204);

        JsonNode events =
                partner.get("/api/v1/events?after=" + before).expect(200).json().get("events");
        assertThat(events).hasSize(3);
        assertThat(events.get(0).get("type").asText()).isEqualTo("reservations.created");
        assertThat(events.get(0).get("subject").asText()).isEqualTo(id);
        assertThat(events.get(0).get("data"))
                .isEqualTo(Json.MAPPER
                        .createObjectNode()
                        .put("id", id)
                        .put("version", 1)
                        .put("state", "confirmed")
                        .put("startUtc", "2026-12-01T14:00:00Z"));
        assertThat(events.get(1).get("type").asText()).isEqualTo("reservations.updated");
        assertThat(events.get(1).get("data").get("version").asInt()).isEqualTo(2);
        assertThat(events.get(1).get("data").get("state").asText()).isEqualTo("checked_in");
        assertThat(events.get(2).get("type").asText()).isEqualTo("reservations.deleted");
        assertThat(events.get(2).get("data").get("version").asInt()).isEqualTo(3);
        assertThat(events.get(0).get("seq").asLong() + 1)
                .isEqualTo(events.get(1).get("seq").asLong());
        assertThat(events.get(0).get("data").has("secret")).isFalse();
    }

    @Test
    void patchIsAJsonMergePatchOfData() {
        JsonNode created =
                create(Map.of("state", "confirmed", "guest", Map.of("name", "Ada", "vip", true), "notes", "x"));
        String body = "{\"data\":{\"guest\":{\"vip\":null,\"room\":12},\"notes\":null}}";
        JsonNode patched = partner.patch(
                        "/api/v1/collections/reservations/records/"
                                + created.get("id").asText(),
                        body)
                .expect(200)
                .json();
        assertThat(patched.get("version").asInt()).isEqualTo(2);
        assertThat(patched.get("data"))
                .isEqualTo(Json.read("{\"guest\":{\"name\":\"Ada\",\"room\":12},\"state\":\"confirmed\"}"));
    }

    @Test
    void staleIfMatchIsRefusedWith409AndChangesNothing() {
        String id = create(Map.of("state", "confirmed")).get("id").asText();
        String path = "/api/v1/collections/reservations/records/" + id;
        partner.withHeader("If-Match", "\"1\"")
                .patch(path, Map.of("data", Map.of("state", "a")))
                .expect(200);
        long head = headSeq(partner);

        Api.Response stale = partner.withHeader("If-Match", "1").patch(path, Map.of("data", Map.of("state", "b")));
        assertThat(stale.status()).isEqualTo(409);
        assertThat(stale.errorCode()).isEqualTo("version_conflict");
        assertThat(partner.withHeader("If-Match", "1").delete(path).status()).isEqualTo(409);
        assertThat(partner.get(path).json().get("data").get("state").asText()).isEqualTo("a");
        assertThat(headSeq(partner)).isEqualTo(head);
    }

    @Test
    void writesThatBreakTheSchemaAreRefusedNamingTheFieldAndChangeNothing() {
        long head = headSeq(partner);
        Api.Response missing =
                partner.post("/api/v1/collections/reservations/records", Map.of("data", Map.of("guest", "x")));
        assertThat(missing.status()).isEqualTo(400);
        assertThat(missing.errorCode()).isEqualTo("schema_violation");
        assertThat(missing.json().get("error").get("message").asText()).contains("state");

        String id = create(Map.of("state", "ok")).get("id").asText();
        Api.Response wrongType =
                partner.patch("/api/v1/collections/reservations/records/" + id, Map.of("data", Map.of("state", 5)));
        assertThat(wrongType.status()).isEqualTo(400);
        assertThat(wrongType.json().get("error").get("message").asText()).startsWith("data.state");
        assertThat(headSeq(partner)).isEqualTo(head + 1);
    }

    @Test
    void uniqueItemsIsCheckedInTimeThatGrowsWithTheArrayAlone() {
        server.createCollection(
                "tagged", "schema", Map.of("properties", Map.of("tags", Map.of("type", "array", "uniqueItems", true))));
        // 31,000 distinct strings of one hash code ("Aa" and "BB" hash alike): the schema library's own
        // check compared each with every one before it, 12.7 s of CPU for this 1 MiB body.
        List<String> tags = new ArrayList<>();
        for (int i = 0; i < 31_000; i++) {
            StringBuilder tag = new StringBuilder();
            for (int bit = 0; bit < 15; bit++) {
                tag.append((i >> bit & 1) == 0 ? "Aa" : "BB");
            }
            tags.add(tag.toString());
        }
        String path = "/api/v1/collections/tagged/records";
        long started = System.nanoTime();
        partner.post(path, Map.of("data", Map.of("tags", tags))).expect(201);
        assertThat(Duration.ofNanos(System.nanoTime() - started))
                .as("well short of the 12.7 s the quadratic check took")
                .isLessThan(Duration.ofSeconds(6));

        // Equal as JSON Schema counts equality: 1 and 1.0, objects whatever their key order.
        for (Object repeated :
                List.of(List.of(1, 1.0), List.of(Map.of("a", 1, "b", List.of()), Map.of("b", List.of(), "a", 1)))) {
            assertThat(partner.post(path, Map.of("data", Map.of("tags", repeated)))
                            .errorCode())
                    .as("%s", repeated)
                    .isEqualTo("schema_violation");
        }
        partner.post(path, Map.of("data", Map.of("tags", List.of("a:", "a", List.of("a"), "[a]"))))
                .expect(201);
    }

    @Test
    void updatesWithoutIfMatchAllLandHoweverManyRaceForOneRecord() throws Exception {
        server.createTenant("hotel-race");
        Api racer = server.api(server.partnerToken("hotel-race")); // a token of its own: its own rate limit
        String path = "/api/v1/collections/customers/records/"
                + racer.post("/api/v1/collections/customers/records", Map.of("data", Map.of("n", 0)))
                        .expect(201)
                        .json()
                        .get("id")
                        .asText();
        int writers = 48;
        List<Integer> statuses;
        try (var executor = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            List<java.util.concurrent.Future<Integer>> sent = new java.util.ArrayList<>();
            for (int i = 0; i < writers; i++) {
                int n = i + 1;
                sent.add(executor.submit(() ->
                        racer.patch(path, Map.of("data", Map.of("n", n))).status()));
            }
            statuses = new java.util.ArrayList<>();
            for (var f : sent) {
                statuses.add(f.get());
            }
        }
        assertThat(statuses).containsOnly(200);
        assertThat(racer.get(path).json().get("version").asInt()).isEqualTo(1 + writers);
    }

    @Test
    void aWriteBreakingTheSchemaEverywhereListsTwentyViolations() {
        server.createCollection(
                "numbered",
                "schema",
                Map.of("properties", Map.of("n", Map.of("type", "array", "items", Map.of("type", "string")))));
        String path = "/api/v1/collections/numbered/records";
        Api.Response some = partner.post(path, Map.of("data", Map.of("n", Collections.nCopies(50, 0))));
        assertThat(some.errorCode()).isEqualTo("schema_violation");
        assertThat(some.json().get("error").get("message").asText()).contains("(and 49 more)");
        assertThat(some.json().get("error").get("details").get("violations")).hasSize(20);

        // Half a million: checked up to the first, not collected (300 MB and a 32 MB answer before).
        Api.Response many = partner.post(path, Map.of("data", Map.of("n", Collections.nCopies(500_000, 0))));
        assertThat(many.errorCode()).isEqualTo("schema_violation");
        assertThat(many.json().get("error").get("details").get("violations")).hasSize(1);
        assertThat(many.body().length()).isLessThan(4096);
    }

    @Test
    void malformedOrWronglyShapedBodiesGet400NamingTheProblem() {
        String path = "/api/v1/collections/reservations/records";
        assertThat(partner.post(path, "{\"data\":{\"state\":\"a\"},}").errorCode())
                .isEqualTo("invalid_json");
        assertThat(partner.post(path, "[1,2]").errorCode()).isEqualTo("invalid_json");
        assertThat(partner.post(path, "").errorCode()).isEqualTo("invalid_json");
        assertThat(partner.post(path, "{\"data\":{\"a\":1,\"a\":2}}").errorCode())
                .isEqualTo("invalid_json");
        Api.Response notObject = partner.post(path, "{\"data\":\"text\"}");
        assertThat(notObject.status()).isEqualTo(400);
        assertThat(notObject.json().get("error").get("message").asText()).startsWith("data:");
        Api.Response unknown = partner.post(path, "{\"data\":{\"state\":\"a\"},\"dta\":1}");
        assertThat(unknown.json().get("error").get("message").asText()).startsWith("dta:");
        Api.Response nul = partner.post(path, "{\"data\":{\"state\":\"a\\u0000b\"}}");
        assertThat(nul.status()).isEqualTo(400);
        assertThat(nul.json().get("error").get("message").asText()).startsWith("data.state:");
        Api.Response surrogate = partner.post(path, "{\"data\":{\"state\":\"\\ud800\"}}");
        assertThat(surrogate.status()).isEqualTo(400);
        Api.Response deep =
                partner.post(path, "{\"data\":{\"state\":\"a\",\"x\":" + "[".repeat(200) + "]".repeat(200) + "}}");
        assertThat(deep.status()).isEqualTo(400);
        Api.Response huge = partner.post(path, "{\"data\":{\"state\":\"a\",\"n\":1e999999}}");
        assertThat(huge.status()).isEqualTo(400);
    }

    @Test
    void aNumberTooLongToBeReadBackIsRefusedSoTheRecordStaysChangeable() {
        String path = "/api/v1/collections/reservations/records";
        // jsonb would keep 1e300 as 1 and 300 zeros, which the server could not parse again to merge a patch.
        Api.Response refused = partner.post(path, "{\"data\":{\"state\":\"a\",\"n\":1e300}}");
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.json().get("error").get("message").asText()).startsWith("data.n:");
        String id = partner.post(path, "{\"data\":{\"state\":\"a\",\"n\":1e90}}")
                .expect(201)
                .json()
                .get("id")
                .asText();
        assertThat(partner.patch(path + "/" + id, "{\"data\":{\"n\":1e-300}}").status())
                .isEqualTo(400);
        partner.patch(path + "/" + id, Map.of("data", Map.of("state", "b"))).expect(200);
        partner.delete(path + "/" + id).expect(204);
    }

    @Test
    void timesOutsideWhatTheDatabaseStoresAndNulInQueryParametersAre400NamingTheParameter() {
        String path = "/api/v1/collections/reservations/records";
        for (String time :
                List.of("%2B294277-01-01T00:00:00Z", "-1000000000-01-01T00:00:00Z", "%2B10000-01-01T00:00:00Z")) {
            Api.Response r = partner.get(path + "?updatedFrom=" + time);
            assertThat(r.status()).as(time).isEqualTo(400);
            assertThat(r.json().get("error").get("message").asText()).startsWith("updatedFrom:");
        }
        assertThat(partner.get(path + "?updatedTo=9999-12-31T23:59:59Z").status())
                .isEqualTo(200);
        String forged = java.util.Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(("u:9000000000000.0:" + java.util.UUID.randomUUID())
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        Api.Response cursor = partner.get(path + "?updatedFrom=2026-01-01T00:00:00Z&cursor=" + forged);
        assertThat(cursor.status()).isEqualTo(400);
        assertThat(cursor.json().get("error").get("message").asText()).startsWith("cursor:");
        Api.Response nul = server.admin.get("/api/v1/tenants?cursor=a%00b");
        assertThat(nul.status()).isEqualTo(400);
        assertThat(nul.json().get("error").get("message").asText()).startsWith("cursor:");
    }

    @Test
    void bodiesOverTheLimitGet413() {
        String big = "{\"data\":{\"state\":\"" + "x".repeat(1_100_000) + "\"}}";
        Api.Response r = partner.post("/api/v1/collections/reservations/records", big);
        assertThat(r.status()).isEqualTo(413);
        assertThat(r.errorCode()).isEqualTo("body_too_large");
    }

    @Test
    void anotherTenantsRecordIsNotFoundNotForbidden() {
        String id = create(Map.of("state", "confirmed")).get("id").asText();
        String path = "/api/v1/collections/reservations/records/" + id;
        assertThat(otherTenant.get(path).status()).isEqualTo(404);
        assertThat(otherTenant.patch(path, Map.of("data", Map.of("state", "x"))).status())
                .isEqualTo(404);
        assertThat(otherTenant.delete(path).status()).isEqualTo(404);
        assertThat(otherTenant
                        .get("/api/v1/collections/reservations/records?ids=" + id)
                        .json()
                        .get("records"))
                .isEmpty();
        assertThat(partner.get(path).json().get("data").get("state").asText()).isEqualTo("confirmed");
    }

    @Test
    void listPagesWithACursorUntilItIsNull() {
        server.createTenant("hotel-paging");
        Api api = server.api(server.partnerToken("hotel-paging"));
        Set<String> created = new HashSet<>();
        for (int i = 0; i < 7; i++) {
            created.add(api.post("/api/v1/collections/customers/records", Map.of("data", Map.of("n", i)))
                    .expect(201)
                    .json()
                    .get("id")
                    .asText());
        }
        List<String> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            JsonNode page = api.get("/api/v1/collections/customers/records?limit=3"
                            + (cursor == null ? "" : "&cursor=" + cursor))
                    .expect(200)
                    .json();
            page.get("records").forEach(r -> seen.add(r.get("id").asText()));
            cursor = page.get("cursor").isNull() ? null : page.get("cursor").asText();
            pages++;
        } while (cursor != null);
        assertThat(pages).isEqualTo(3);
        assertThat(seen).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(created);
        assertThat(seen).isSorted();
    }

    @Test
    void listFiltersByIdsAndUpdateInterval() throws Exception {
        server.createTenant("hotel-filter");
        Api api = server.api(server.partnerToken("hotel-filter"));
        String first = api.post("/api/v1/collections/customers/records", Map.of("data", Map.of("n", 1)))
                .expect(201)
                .json()
                .get("id")
                .asText();
        String second = api.post("/api/v1/collections/customers/records", Map.of("data", Map.of("n", 2)))
                .expect(201)
                .json()
                .get("id")
                .asText();
        JsonNode byIds = api.get("/api/v1/collections/customers/records?ids=" + second)
                .expect(200)
                .json();
        assertThat(byIds.get("records")).hasSize(1);
        assertThat(byIds.get("records").get(0).get("id").asText()).isEqualTo(second);

        JsonNode updated = api.patch("/api/v1/collections/customers/records/" + first, Map.of("data", Map.of("n", 3)))
                .expect(200)
                .json();
        String from = updated.get("updatedAt").asText();
        JsonNode since = api.get("/api/v1/collections/customers/records?updatedFrom=" + from)
                .expect(200)
                .json();
        assertThat(since.get("records")).extracting(r -> r.get("id").asText()).containsExactly(first);
        JsonNode until = api.get("/api/v1/collections/customers/records?updatedTo=" + from)
                .expect(200)
                .json();
        assertThat(until.get("records")).extracting(r -> r.get("id").asText()).containsExactly(second, first);
        // Bounds finer than the microseconds PostgreSQL keeps: 600 ns before the update, and 400 ns after it,
        // both exclude it (PostgreSQL alone would round each to the update's own microsecond).
        Instant at = Instant.parse(from);
        JsonNode justBefore = api.get("/api/v1/collections/customers/records?updatedTo=" + at.minusNanos(600))
                .expect(200)
                .json();
        assertThat(justBefore.get("records"))
                .extracting(r -> r.get("id").asText())
                .containsExactly(second);
        JsonNode justAfter = api.get("/api/v1/collections/customers/records?updatedFrom=" + at.plusNanos(400))
                .expect(200)
                .json();
        assertThat(justAfter.get("records")).isEmpty();

        assertThat(api.get("/api/v1/collections/customers/records?updatedFrom=yesterday")
                        .json()
                        .get("error")
                        .get("message")
                        .asText())
                .startsWith("updatedFrom");
        assertThat(api.get("/api/v1/collections/customers/records?ids=nope").status())
                .isEqualTo(400);
        // An empty list names no record (as a socket's "ids": [] does), where it used to list them all.
        assertThat(api.get("/api/v1/collections/customers/records?ids=")
                        .expect(200)
                        .json()
                        .get("records"))
                .isEmpty();
        for (String list : List.of(",", second + ",", "," + second, second + ",," + first)) {
            assertThat(api.get("/api/v1/collections/customers/records?ids=" + list)
                            .expect(400)
                            .json()
                            .get("error")
                            .get("message")
                            .asText())
                    .as("ids=%s", list)
                    .contains("one of the ids is empty");
        }
        assertThat(api.get("/api/v1/collections/customers/records?limit=0").status())
                .isEqualTo(400);
        assertThat(api.get("/api/v1/collections/customers/records?limit=1001").status())
                .isEqualTo(400);
        assertThat(api.get("/api/v1/collections/customers/records?cursor=garbage")
                        .status())
                .isEqualTo(400);
    }

    @Test
    void aMethodOverrideHeaderIsRefusedAndOddMethodsShareOneMetricsLabel() throws Exception {
        String id = create(Map.of("state", "kept")).get("id").asText();
        String path = "/api/v1/collections/reservations/records/" + id;
        Api.Response overridden =
                partner.withHeader("X-HTTP-Method-Override", "DELETE").get(path);
        assertThat(overridden.status()).isEqualTo(400);
        assertThat(overridden.errorCode()).isEqualTo("invalid_header");
        partner.get(path).expect(200);
        // An empty If-Match is not "no condition".
        Api.Response emptyIfMatch =
                partner.withHeader("If-Match", "").patch(path, Map.of("data", Map.of("state", "changed")));
        assertThat(emptyIfMatch.status()).isEqualTo(400);
        assertThat(emptyIfMatch.json().at("/error/message").asText()).startsWith("If-Match is empty");
        // Nor is a version written with a plus sign.
        Api.Response signed =
                partner.withHeader("If-Match", "+1").patch(path, Map.of("data", Map.of("state", "changed")));
        assertThat(signed.status()).isEqualTo(400);
        assertThat(signed.errorCode()).isEqualTo("invalid_header");
        // Nor one no record can be at: a mistake, not a conflict.
        for (String version : List.of("0", "-1", "\"0\"")) {
            Api.Response impossible =
                    partner.withHeader("If-Match", version).patch(path, Map.of("data", Map.of("state", "changed")));
            assertThat(impossible.status()).as(version).isEqualTo(400);
            assertThat(impossible.errorCode()).as(version).isEqualTo("invalid_header");
        }
        assertThat(partner.get(path).json().get("version").asInt()).isEqualTo(1);

        HttpClient http = HttpClient.newHttpClient();
        for (String method : List.of("FOO1", "FOO2")) {
            http.send(
                    HttpRequest.newBuilder(URI.create(server.baseUrl() + "/health/live"))
                            .method(method, HttpRequest.BodyPublishers.noBody())
                            .build(),
                    HttpResponse.BodyHandlers.discarding());
        }
        String metrics = server.api(null).get("/metrics").body();
        assertThat(metrics).doesNotContain("method=\"FOO1\"").contains("method=\"other\"");
    }

    @Test
    void aRetriedCreateWithTheSameIdempotencyKeyReturnsTheFirstResult() {
        Api keyed = partner.withHeader("Idempotency-Key", "order-42");
        long head = headSeq(partner);
        Api.Response first = keyed.post(
                        "/api/v1/collections/reservations/records", Map.of("data", Map.of("state", "new")))
                .expect(201);
        Api.Response retry = keyed.post(
                        "/api/v1/collections/reservations/records", Map.of("data", Map.of("state", "new")))
                .expect(201);
        assertThat(retry.json()).isEqualTo(first.json());
        assertThat(retry.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(retry.header("ETag"))
                .as("for If-Match after a retry")
                .isEqualTo(first.header("ETag"))
                .isEqualTo("\"1\"");
        assertThat(headSeq(partner)).isEqualTo(head + 1);

        Api.Response different =
                keyed.post("/api/v1/collections/reservations/records", Map.of("data", Map.of("state", "other")));
        assertThat(different.status()).isEqualTo(422);
        assertThat(different.errorCode()).isEqualTo("idempotency_key_reused");

        // The same data with its keys in another order (a client's map that orders them differently after a
        // restart) is the same request: it was 422.
        Api reordered = partner.withHeader("Idempotency-Key", "order-43");
        String path = "/api/v1/collections/reservations/records";
        Api.Response original = reordered
                .post(path, "{\"data\":{\"state\":\"new\",\"guest\":{\"a\":1,\"b\":2}}}")
                .expect(201);
        Api.Response again = reordered
                .post(path, "{\"data\":{\"guest\":{\"b\":2,\"a\":1},\"state\":\"new\"}}")
                .expect(201);
        assertThat(again.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(again.json().get("id")).isEqualTo(original.json().get("id"));
    }

    @Test
    void permissionsLimitWhatAnIntegrationMayReadAndWrite() {
        Api reader = Partner.on(server, "hotel-a", List.of("customers"), List.of(), List.of("*"))
                .access();
        assertThat(reader.get("/api/v1/collections/customers/records").status()).isEqualTo(200);
        assertThat(reader.get("/api/v1/collections/reservations/records").status())
                .isEqualTo(403);
        Api.Response write = reader.post("/api/v1/collections/customers/records", Map.of("data", Map.of()));
        assertThat(write.status()).isEqualTo(403);
        assertThat(write.errorCode()).isEqualTo("forbidden");
        // One it may not read answers the same whether or not it exists: probing does not list the collections.
        Api.Response unknown = reader.get("/api/v1/collections/unknown/records");
        assertThat(unknown.status()).isEqualTo(403);
        assertThat(unknown.json().at("/error/message").asText())
                .isEqualTo("this integration may not read collection 'unknown'");
        assertThat(reader.post("/api/v1/collections/unknown/records", Map.of("data", Map.of()))
                        .status())
                .isEqualTo(403);
        assertThat(partner.get("/api/v1/collections/unknown/records").status())
                .as("for one that may read every collection")
                .isEqualTo(404);
    }

    @Test
    void aCallerThatMayWriteButNotReadIsNotShownTheDataOthersWrote() {
        String id = create(Map.of("state", "confirmed", "guest", "Ada Lovelace"))
                .get("id")
                .asText();
        Api writer = Partner.on(server, "hotel-a", List.of(), List.of("reservations"), List.of("*"))
                .access();
        writer.get("/api/v1/collections/reservations/records/" + id).expect(403);
        JsonNode patched = writer.patch("/api/v1/collections/reservations/records/" + id, Map.of("data", Map.of()))
                .expect(200)
                .json();
        assertThat(patched.get("version").asInt()).isEqualTo(2);
        assertThat(patched.get("data").isNull()).as("data in %s", patched).isTrue();

        // A refusal names what is wrong with what it wrote, and nothing of the rest (that a field is missing).
        Api.Response ownMistake =
                writer.patch("/api/v1/collections/reservations/records/" + id, Map.of("data", Map.of("state", 5)));
        assertThat(ownMistake.errorCode()).isEqualTo("schema_violation");
        assertThat(ownMistake.json().at("/error/message").asText()).startsWith("data.state: ");
        Api.Response elsewhere =
                writer.patch("/api/v1/collections/reservations/records/" + id, "{\"data\":{\"state\":null}}");
        assertRefusedForUnreadData(elsewhere, "'state'");
        // Nor what an object it merged into holds beside what it wrote.
        server.createCollection(
                "contacts",
                "schema",
                Map.of(
                        "type",
                        "object",
                        "properties",
                        Map.of(
                                "guest",
                                Map.of(
                                        "anyOf",
                                        List.of(
                                                Map.of("required", List.of("email")),
                                                Map.of("required", List.of("phone")))))));
        String noPhone = partner.post(
                        "/api/v1/collections/contacts/records", Map.of("data", Map.of("guest", Map.of("email", "a@b"))))
                .expect(201)
                .json()
                .get("id")
                .asText();
        Api contactsWriter = Partner.on(server, "hotel-a", List.of(), List.of("contacts"), List.of("*"))
                .access();
        Api.Response merged = contactsWriter.patch(
                "/api/v1/collections/contacts/records/" + noPhone, "{\"data\":{\"guest\":{\"email\":null}}}");
        assertRefusedForUnreadData(merged, "phone");

        // Nor what a stored key with a dot in it holds: its path, data.card.pin, read as card then pin, had a
        // patch writing "card" told the stored PIN's pattern and length. (Checked once "card" is there.)
        Map<String, Object> pin =
                Map.of("properties", Map.of("card.pin", Map.of("pattern", "^[0-9]{4}$", "maxLength", 4)));
        server.createCollection(
                "cards",
                "schema",
                Map.of(
                        "type",
                        "object",
                        "properties",
                        Map.of("card.pin", Map.of("type", "string")),
                        "dependentSchemas",
                        Map.of("card", pin)));
        String card = partner.post(
                        "/api/v1/collections/cards/records", Map.of("data", Map.of("card.pin", "hunter2-secret")))
                .expect(201)
                .json()
                .get("id")
                .asText();
        Api cardsWriter = Partner.on(server, "hotel-a", List.of(), List.of("cards"), List.of("*"))
                .access();
        Api.Response dotted =
                cardsWriter.patch("/api/v1/collections/cards/records/" + card, Map.of("data", Map.of("card", 1)));
        assertRefusedForUnreadData(dotted, "pattern");
        assertThat(dotted.json().at("/error/message").asText()).doesNotContain("characters");

        // An update refused for the size it would give the record does not say the size: less the padding it
        // sent, that is the size of the record the caller may not read.
        partner.patch(
                        "/api/v1/collections/reservations/records/" + id,
                        Map.of("data", Map.of("notes", "y".repeat(600_000))))
                .expect(200);
        Api.Response tooLarge = writer.patch(
                "/api/v1/collections/reservations/records/" + id,
                Map.of("data", Map.of("padding", "x".repeat(600_000))));
        assertThat(tooLarge.status()).isEqualTo(422);
        assertThat(tooLarge.errorCode()).isEqualTo("record_too_large");
        assertThat(tooLarge.json().at("/error/details").has("bytes")).isFalse();
        assertThat(tooLarge.json().at("/error/message").asText())
                .doesNotContain("12000")
                .doesNotContain("would hold");
    }

    /**
     * Two partners that each write back what they receive, or one that sends the same state again, would
     * otherwise make a version and an event each time, and stale every other writer's If-Match.
     */
    @Test
    void anUpdateThatChangesNothingMakesNoVersionAndNoEvent() {
        JsonNode created =
                create(Map.of("state", "confirmed", "guest", Map.of("name", "Ada"), "nights", 1, "price", 1000));
        String path =
                "/api/v1/collections/reservations/records/" + created.get("id").asText();
        long head = headSeq(partner);
        for (String patch : List.of(
                "{\"data\":{}}",
                "{\"data\":{\"state\":\"confirmed\"}}",
                "{\"data\":{\"absent\":null}}",
                "{\"data\":{\"guest\":{\"name\":\"Ada\"}}}",
                // Numbers are their values, not their spellings.
                "{\"data\":{\"nights\":1.0,\"price\":1e3}}")) {
            Api.Response unchanged = partner.withHeader("If-Match", "1").patch(path, patch);
            assertThat(unchanged.status()).as(patch).isEqualTo(200);
            assertThat(unchanged.header("ETag")).as(patch).isEqualTo("\"1\"");
            assertThat(unchanged.json())
                    .as(patch)
                    .isEqualTo(partner.get(path).expect(200).json());
        }
        assertThat(headSeq(partner)).as("no event").isEqualTo(head);
        // Nor an audit entry for the admin key's (an operator's), which changed nothing either.
        Api app = server.adminFor("hotel-a");
        app.patch(path, "{\"data\":{}}").expect(200);
        assertThat(app.get("/api/v1/audit-log?limit=1")
                        .expect(200)
                        .json()
                        .at("/entries/0/action")
                        .asText())
                .isNotEqualTo("record.update");
        assertThat(partner.withHeader("If-Match", "2")
                        .patch(path, "{\"data\":{}}")
                        .status())
                .as("a stale If-Match is still a conflict")
                .isEqualTo(409);

        JsonNode changed = partner.patch(path, Map.of("data", Map.of("state", "cancelled")))
                .expect(200)
                .json();
        assertThat(changed.get("version").asInt()).isEqualTo(2);
        assertThat(headSeq(partner)).isEqualTo(head + 1);
    }

    /** Ignored, the key would have the client believe a retry safe: a second delete, a second webhook endpoint. */
    @Test
    void anIdempotencyKeyOnAChangeThatDoesNotTakeOneIsRefusedAndChangesNothing() {
        JsonNode created = create(Map.of("state", "confirmed"));
        String path =
                "/api/v1/collections/reservations/records/" + created.get("id").asText();
        Api keyed = partner.withHeader("Idempotency-Key", "k-1");
        for (Api.Response refused : List.of(
                keyed.patch(path, Map.of("data", Map.of("state", "x"))),
                keyed.delete(path),
                server.api(TestServer.ADMIN_KEY)
                        .withHeader("Idempotency-Key", "k-2")
                        .post("/api/v1/tenants", Map.of("id", "hotel-keyed", "name", "Keyed")))) {
            assertThat(refused.status()).as(refused.body()).isEqualTo(400);
            assertThat(refused.errorCode()).isEqualTo("invalid_header");
            assertThat(refused.json().at("/error/message").asText()).startsWith("Idempotency-Key is taken by creates");
        }
        assertThat(partner.get(path).expect(200).json()).isEqualTo(created);
        assertThat(server.api(TestServer.ADMIN_KEY)
                        .get("/api/v1/tenants/hotel-keyed")
                        .status())
                .isEqualTo(404);
        // Taken where a create's route matches, a trailing slash included.
        partner.withHeader("Idempotency-Key", "k-3")
                .post("/api/v1/collections/reservations/records/", Map.of("data", Map.of("state", "new")))
                .expect(201);
        // A key names one request: a publish after a create with it is another.
        Api app = server.adminFor("hotel-a").withHeader("Idempotency-Key", "k-4");
        app.post("/api/v1/collections/reservations/records", Map.of("data", Map.of("state", "new")))
                .expect(201);
        assertThat(app.post("/api/v1/events/", Map.of("type", "device.command")).errorCode())
                .isEqualTo("idempotency_key_reused");
        // A read carrying one (a client that sends it everywhere) is answered.
        keyed.get(path).expect(200);
    }

    /** A schema_violation that says only that data the caller may not read is in the way, not what or where. */
    private static void assertRefusedForUnreadData(Api.Response refused, String unnamed) {
        assertThat(refused.errorCode()).isEqualTo("schema_violation");
        assertThat(refused.json().at("/error/message").asText())
                .contains("in data this integration may not read")
                .doesNotContain(unnamed);
        assertThat(refused.json().at("/error/details/violations")).isEmpty();
    }

    /** A misspelt or repeated filter was ignored, and the answer looked filtered: every record, every event type. */
    @Test
    void aQueryParameterTheListOrTheFeedDoesNotTakeOrOneGivenTwiceIsRefused() {
        for (String query : List.of(
                "/api/v1/collections/reservations/records?updatedfrom=2030-01-01T00:00:00Z",
                "/api/v1/collections/reservations/records?id=rec_x",
                "/api/v1/collections/reservations/records?ids=a&ids=b",
                "/api/v1/events?type=reservations.updated",
                "/api/v1/events?types=a.*&types=b.*")) {
            Api.Response refused = partner.get(query);
            assertThat(refused.status()).as(query).isEqualTo(400);
            assertThat(refused.errorCode()).as(query).isEqualTo("invalid_field");
        }
        partner.get("/api/v1/collections/reservations/records?limit=5&updatedFrom=2030-01-01T00:00:00Z")
                .expect(200);
        partner.get("/api/v1/events?after=0&limit=5&types=reservations.*&wait=0")
                .expect(200);
    }

    /** A condition sent as a query parameter was dropped: the delete happened whatever the version. */
    @Test
    void aChangeWithAQueryParameterIsRefusedAndChangesNothing() {
        String id = create(Map.of("state", "confirmed")).get("id").asText();
        String path = "/api/v1/collections/reservations/records/" + id;
        Api.Response delete = partner.delete(path + "?ifMatch=7");
        assertThat(delete.status()).isEqualTo(400);
        assertThat(delete.json().at("/error/message").asText())
                .isEqualTo("ifMatch: is not a query parameter of a DELETE request:"
                        + " a change takes what it needs in its body or headers");
        assertThat(partner.patch(path + "?ifMatch=7", Map.of("data", Map.of("state", "x")))
                        .status())
                .isEqualTo(400);
        assertThat(partner.post(
                                "/api/v1/collections/reservations/records?idempotencyKey=k",
                                Map.of("data", Map.of("state", "y")))
                        .status())
                .isEqualTo(400);
        JsonNode kept = partner.get(path).expect(200).json();
        assertThat(kept.get("version").asInt()).isEqualTo(1);
        assertThat(partner.delete("/api/v1/collections/reservations/nothing-here/x?ifMatch=7")
                        .status())
                .as("an unknown route is still not found")
                .isEqualTo(404);
    }

    @Test
    void theAdminKeyActsForTheTenantNamedInTheHeader() {
        String id = create(Map.of("state", "confirmed")).get("id").asText();
        assertThat(server.adminFor("hotel-a")
                        .get("/api/v1/collections/reservations/records/" + id)
                        .status())
                .isEqualTo(200);
        assertThat(server.adminFor("hotel-b")
                        .get("/api/v1/collections/reservations/records/" + id)
                        .status())
                .isEqualTo(404);
        assertThat(server.admin
                        .get("/api/v1/collections/reservations/records/" + id)
                        .errorCode())
                .isEqualTo("missing_tenant");
        assertThat(server.adminFor("no-such-hotel")
                        .get("/api/v1/collections/reservations/records")
                        .status())
                .isEqualTo(404);
        // Longer than any tenant id: refused without echoing it (a 404 named it, whatever its size).
        Api.Response tooLong = server.adminFor("h".repeat(4000)).get("/api/v1/collections/reservations/records");
        assertThat(tooLong.status()).isEqualTo(400);
        assertThat(tooLong.errorCode()).isEqualTo("invalid_header");
        assertThat(tooLong.body()).doesNotContain("hhhh");
    }

    /**
     * An access token acts for its own tenant; a request naming another in {@code Switchboard-Tenant} was
     * served for the token's, so a partner that mixed up its tenants' tokens wrote to the wrong one unawares.
     */
    @Test
    void anAccessTokenNamingAnotherTenantIsRefusedAndWritesNothing() {
        long head = headSeq(partner);
        String path = "/api/v1/collections/reservations/records";
        Api.Response elsewhere = partner.withHeader("Switchboard-Tenant", "hotel-b")
                .post(path, Map.of("data", Map.of("state", "meant-for-hotel-b")));
        assertThat(elsewhere.status()).as(elsewhere.body()).isEqualTo(400);
        assertThat(elsewhere.errorCode()).isEqualTo("invalid_header");
        assertThat(elsewhere.json().at("/error/message").asText()).contains("Switchboard-Tenant", "'hotel-a'");
        assertThat(partner.withHeader("Switchboard-Tenant", "hotel-b").get(path).status())
                .isEqualTo(400);
        assertThat(partner.withHeader("Switchboard-Tenant", "hotel-b")
                        .get("/api/v1/connection")
                        .errorCode())
                .isEqualTo("invalid_header");
        assertThat(headSeq(partner)).as("nothing written").isEqualTo(head);
        // Its own tenant, named or not, is served as before.
        partner.withHeader("Switchboard-Tenant", "hotel-a")
                .post(path, Map.of("data", Map.of("state", "named")))
                .expect(201);
        assertThat(headSeq(partner)).isEqualTo(head + 1);
    }

    /**
     * A condition is evaluated where a route takes it, and refused where none does: ignored, If-None-Match
     * on a PATCH or DELETE, or If-Match on a create, let the change through whatever it said. On a GET,
     * If-None-Match matches as RFC 9110 compares it (weakly, any of a list, or *), not only as "3".
     */
    @Test
    void conditionsAreEvaluatedWhereTakenAndRefusedElsewhere() {
        String path = "/api/v1/collections/reservations/records/"
                + create(Map.of("state", "new")).get("id").asText();
        for (String matching : List.of("\"1\"", "W/\"1\"", "\"0\", \"1\"", "*")) {
            Api.Response notModified =
                    partner.withHeader("If-None-Match", matching).get(path);
            assertThat(notModified.status()).as(matching).isEqualTo(304);
            assertThat(notModified.header("ETag")).as(matching).isEqualTo("\"1\"");
        }
        assertThat(partner.withHeader("If-None-Match", "\"2\", W/\"3\"")
                        .get(path)
                        .status())
                .isEqualTo(200);

        long head = headSeq(partner);
        Api.Response patch =
                partner.withHeader("If-None-Match", "\"1\"").patch(path, Map.of("data", Map.of("state", "changed")));
        assertThat(patch.status()).isEqualTo(400);
        assertThat(patch.errorCode()).isEqualTo("invalid_header");
        assertThat(patch.json().at("/error/message").asText()).startsWith("If-None-Match is not taken by a change");
        assertThat(partner.withHeader("If-None-Match", "*").delete(path).status())
                .isEqualTo(400);
        assertThat(partner.withHeader("If-Unmodified-Since", "Tue, 01 Dec 2026 00:00:00 GMT")
                        .delete(path)
                        .status())
                .isEqualTo(400);
        Api.Response conditionalCreate = partner.withHeader("If-Match", "\"1\"")
                .post("/api/v1/collections/reservations/records", Map.of("data", Map.of("state", "new")));
        assertThat(conditionalCreate.status()).isEqualTo(400);
        assertThat(conditionalCreate.json().at("/error/message").asText())
                .startsWith("If-Match is taken by a record's PATCH and DELETE only");
        assertThat(headSeq(partner)).as("nothing written").isEqualTo(head);
        assertThat(partner.get(path).expect(200).json().get("version").asInt()).isEqualTo(1);

        partner.withHeader("If-Match", "\"1\"")
                .patch(path, Map.of("data", Map.of("state", "changed")))
                .expect(200);
    }

    @Test
    void malformedRecordIdsAreNotFound() {
        assertThat(partner.get("/api/v1/collections/reservations/records/rec_nope")
                        .status())
                .isEqualTo(404);
        assertThat(partner.get("/api/v1/collections/reservations/records/%27%20OR%201%3D1%20--")
                        .status())
                .isEqualTo(404);
    }
}
