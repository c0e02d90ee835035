package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.CapturedLogs;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestServer;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AdminApiTest {
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        server.createCollection("reservations");
        server.createTenant("hotel-1");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /**
     * A collection another node created a moment ago, its notice not yet here (the row written directly
     * stands for it): an integration may be granted it, and a custom event may not take its record types.
     */
    @Test
    void aCollectionCreatedOnAnotherNodeIsKnownBeforeItsNoticeArrives() throws Exception {
        String name = "rooms" + System.nanoTime() % 100_000;
        try (var c = DriverManager.getConnection(server.database().jdbcUrl());
                var s = c.createStatement()) {
            s.execute("INSERT INTO collections (name, source) VALUES ('" + name + "', 'api')");
        }
        Api.Response granted = server.admin.post(
                "/api/v1/integrations",
                Map.of("name", "granted " + name, "permissions", Map.of("read", List.of(name), "write", List.of())));
        assertThat(granted.status()).isEqualTo(201);
        Api.Response published = server.admin
                .withHeader("Switchboard-Tenant", "hotel-1")
                .post("/api/v1/events", Map.of("type", name + ".created"));
        assertThat(published.status()).isEqualTo(400);
        assertThat(published.json().get("error").get("message").asText()).contains("reserved");
    }

    @Test
    void integrationGetsAClientKeyShownOnlyOnCreate() {
        JsonNode created =
                server.createIntegration("Door keys", List.of("reservations"), List.of(), List.of("reservations.*"));
        assertThat(created.get("id").asText()).startsWith("int_");
        assertThat(created.get("clientKey").asText()).startsWith("sb_client_");
        JsonNode read = server.admin
                .get("/api/v1/integrations/" + created.get("id").asText())
                .expect(200)
                .json();
        assertThat(read.has("clientKey")).isFalse();
        assertThat(read.get("permissions").get("read")).hasSize(1);
        assertThat(server.admin
                        .get("/api/v1/integrations")
                        .expect(200)
                        .json()
                        .get("integrations")
                        .toString())
                .doesNotContain("sb_client_");
        Api client = server.api(created.get("clientKey").asText());
        assertThat(client.get("/api/v1/integrations/" + created.get("id").asText())
                        .status())
                .isEqualTo(200);
        assertThat(client.get("/api/v1/tenants").status()).isEqualTo(403);
    }

    @Test
    void invalidIntegrationsAreRefusedNamingTheField() {
        Api.Response unknownCollection = server.admin.post(
                "/api/v1/integrations",
                Map.of(
                        "name",
                        "x",
                        "permissions",
                        Map.of("read", List.of("reservation"), "write", List.of()),
                        "eventTypes",
                        List.of()));
        assertThat(unknownCollection.status()).isEqualTo(400);
        assertThat(unknownCollection.json().get("error").get("message").asText())
                .startsWith("permissions.read[0]");
        Api.Response badPattern = server.admin.post(
                "/api/v1/integrations",
                Map.of(
                        "name",
                        "x",
                        "permissions",
                        Map.of("read", List.of("*")),
                        "eventTypes",
                        List.of("reservations.**")));
        assertThat(badPattern.json().get("error").get("message").asText()).startsWith("eventTypes[0]");
        Api.Response noName = server.admin.post("/api/v1/integrations", Map.of("permissions", Map.of()));
        assertThat(noName.json().get("error").get("message").asText()).startsWith("name");
        Api.Response wrongType = server.admin.post("/api/v1/integrations", "{\"name\":5,\"permissions\":{}}");
        assertThat(wrongType.json().get("error").get("message").asText()).isEqualTo("name: must be a string");
    }

    @Test
    void connectionLifecycleIsRecordedAsEventsOfTheIntegrationOnly() throws Exception {
        JsonNode integration = server.createIntegration("Lifecycle", List.of("*"), List.of("*"), List.of("*"));
        JsonNode other = server.createIntegration("Bystander", List.of("*"), List.of("*"), List.of("*"));
        String integrationId = integration.get("id").asText();
        JsonNode connection = server.connect(integrationId, "hotel-1");
        String connectionId = connection.get("id").asText();
        assertThat(connection.get("accessToken").asText()).startsWith("sb_access_");
        assertThat(connection.get("state").asText()).isEqualTo("enabled");

        server.admin
                .post("/api/v1/connections/" + connectionId + "/disable", "")
                .expect(200);
        server.admin.post("/api/v1/connections/" + connectionId + "/enable", "").expect(200);
        JsonNode rotated = server.admin
                .post("/api/v1/connections/" + connectionId + "/rotate-token", "")
                .expect(200)
                .json();
        assertThat(rotated.get("accessToken").asText())
                .isNotEqualTo(connection.get("accessToken").asText());
        server.admin.delete("/api/v1/connections/" + connectionId).expect(204);

        assertThat(lifecycleTypes(integrationId))
                .containsExactly(
                        "connection.created",
                        "connection.disabled",
                        "connection.enabled",
                        "connection.token_rotated",
                        "connection.deleted");
        assertThat(lifecycleTypes(other.get("id").asText())).isEmpty();
        // The new tokens travel sealed: never in plain text in the log.
        try (var c = DriverManager.getConnection(server.database().jdbcUrl());
                var rs = c.createStatement()
                        .executeQuery("SELECT count(*) FROM events WHERE data::text LIKE '%sb_access_%'"
                                + " OR encode(sealed, 'escape') LIKE '%sb_access_%'")) {
            rs.next();
            assertThat(rs.getInt(1)).isZero();
        }
    }

    private static List<String> lifecycleTypes(String integrationId) throws Exception {
        List<String> types = new ArrayList<>();
        try (var c = DriverManager.getConnection(server.database().jdbcUrl());
                var ps = c.prepareStatement("SELECT e.type, e.sealed IS NOT NULL AS sealed FROM events e"
                        + " JOIN streams s ON s.pk = e.stream_pk JOIN integrations i ON i.pk = s.integration_pk"
                        + " WHERE i.id = ? ORDER BY e.seq")) {
            ps.setString(1, integrationId);
            try (var rs = ps.executeQuery()) {
                while (rs.next()) {
                    String type = rs.getString(1);
                    // No lifecycle endpoint would send a new token: none is kept (WebhookDeliveryTest has one).
                    assertThat(rs.getBoolean(2)).as(type + " keeps no token").isFalse();
                    types.add(type);
                }
            }
        }
        return types;
    }

    @Test
    void aDisabledOrDeletedConnectionsTokenIsRefusedAtOnce() {
        JsonNode integration = server.createIntegration("Short-lived", List.of("*"), List.of("*"), List.of("*"));
        JsonNode connection = server.connect(integration.get("id").asText(), "hotel-1");
        Api partner = server.api(connection.get("accessToken").asText());
        String id = connection.get("id").asText();
        assertThat(partner.get("/api/v1/events").status()).isEqualTo(200);

        server.admin.post("/api/v1/connections/" + id + "/disable", "").expect(200);
        Api.Response refused = partner.get("/api/v1/events");
        assertThat(refused.status()).isEqualTo(401);
        assertThat(refused.json().get("error").get("message").asText()).contains("disabled");

        server.admin.post("/api/v1/connections/" + id + "/enable", "").expect(200);
        assertThat(partner.get("/api/v1/events").status()).isEqualTo(200);

        JsonNode rotated = server.admin
                .post("/api/v1/connections/" + id + "/rotate-token", "")
                .expect(200)
                .json();
        assertThat(partner.get("/api/v1/events").status()).isEqualTo(401);
        Api renewed = server.api(rotated.get("accessToken").asText());
        assertThat(renewed.get("/api/v1/events").status()).isEqualTo(200);

        server.admin.delete("/api/v1/connections/" + id).expect(204);
        assertThat(renewed.get("/api/v1/events").status()).isEqualTo(401);
        assertThat(server.admin.get("/api/v1/connections/" + id).status()).isEqualTo(404);
    }

    @Test
    void connectingTwiceOrToAnUnknownTenantIsRefused() {
        JsonNode integration = server.createIntegration("Once", List.of("*"), List.of("*"), List.of("*"));
        String path = "/api/v1/integrations/" + integration.get("id").asText() + "/connections";
        server.admin.post(path, Map.of("tenantId", "hotel-1")).expect(201);
        assertThat(server.admin.post(path, Map.of("tenantId", "hotel-1")).errorCode())
                .isEqualTo("already_connected");
        assertThat(server.admin.post(path, Map.of("tenantId", "nowhere")).status())
                .isEqualTo(400);
        assertThat(server.admin
                        .post("/api/v1/integrations/int_nope/connections", Map.of("tenantId", "hotel-1"))
                        .status())
                .isEqualTo(404);
    }

    @Test
    void tenantsAndIntegrationsPageInCreationOrderAndRefuseACursorTheyDidNotReturn() {
        for (String id : List.of("paged-1", "paged-2", "paged-3")) {
            server.admin.post("/api/v1/tenants", Map.of("id", id)).expect(201);
        }
        List<String> seen = new java.util.ArrayList<>();
        String cursor = "";
        do {
            JsonNode page = server.admin
                    .get("/api/v1/tenants?limit=2&cursor=" + cursor)
                    .expect(200)
                    .json();
            page.get("tenants").forEach(t -> seen.add(t.get("id").asText()));
            cursor = page.get("cursor").isNull() ? null : page.get("cursor").asText();
        } while (cursor != null);
        assertThat(seen).containsSubsequence("paged-1", "paged-2", "paged-3").doesNotHaveDuplicates();

        // Taken as no cursor, each of these started the paging over at the first tenant or integration.
        Api.Response tenant = server.admin.get("/api/v1/tenants?cursor=no-such-tenant");
        assertThat(tenant.status()).isEqualTo(400);
        assertThat(tenant.json().get("error").get("message").asText())
                .isEqualTo("cursor: is not a tenant id this server returned");
        Api.Response integration = server.admin.get("/api/v1/integrations?cursor=hotel-1");
        assertThat(integration.status()).isEqualTo(400);
        assertThat(integration.json().get("error").get("message").asText())
                .isEqualTo("cursor: is not an integration id this server returned");
    }

    /** A partner connected to every tenant is the usual case: its connections come in pages like every list. */
    @Test
    void anIntegrationsConnectionsPageInCreationOrderEvenWhenTheCursorsConnectionIsDeleted() {
        JsonNode integration = server.createIntegration("Paged", List.of("*"), List.of("*"), List.of("*"));
        String path = "/api/v1/integrations/" + integration.get("id").asText() + "/connections";
        List<String> connected = new java.util.ArrayList<>();
        for (String tenant : List.of("conn-page-1", "conn-page-2", "conn-page-3")) {
            server.admin.post("/api/v1/tenants", Map.of("id", tenant)).expect(201);
            connected.add(server.admin
                    .post(path, Map.of("tenantId", tenant))
                    .expect(201)
                    .json()
                    .get("id")
                    .asText());
        }
        List<String> seen = new java.util.ArrayList<>();
        String cursor = "";
        int pages = 0;
        do {
            JsonNode page = server.admin
                    .get(path + "?limit=2&cursor=" + cursor)
                    .expect(200)
                    .json();
            assertThat(page.get("connections").size()).isLessThanOrEqualTo(2);
            page.get("connections").forEach(c -> seen.add(c.get("id").asText()));
            cursor = page.get("cursor").isNull() ? null : page.get("cursor").asText();
            pages++;
        } while (cursor != null);
        assertThat(seen).containsExactlyElementsOf(connected);
        assertThat(pages).isEqualTo(2);

        JsonNode other = server.createIntegration("Other", List.of("*"), List.of("*"), List.of("*"));
        String othersConnection = server.admin
                .post(
                        "/api/v1/integrations/" + other.get("id").asText() + "/connections",
                        Map.of("tenantId", "conn-page-1"))
                .expect(201)
                .json()
                .get("id")
                .asText();
        assertThat(server.admin
                        .get(path + "?cursor=" + othersConnection)
                        .expect(200)
                        .json()
                        .get("connections"))
                .as("another integration's connection, made after these: a place past them")
                .isEmpty();
        Api.Response refused = server.admin.get(path + "?cursor=conn-page-1");
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.json().get("error").get("message").asText())
                .isEqualTo("cursor: is not a connection id this server returned");

        // Deleted while a client pages: the cursor still names its place, and the paging goes on after it.
        server.admin.delete("/api/v1/connections/" + connected.get(1)).expect(204);
        assertThat(server.admin
                        .get(path + "?limit=2&cursor=" + connected.get(1))
                        .expect(200)
                        .json()
                        .get("connections"))
                .extracting(c -> c.get("id").asText())
                .containsExactly(connected.get(2));
    }

    /** Lists that take no filter said so only by answering unfiltered: {@code ?integrationId=} listed every entry. */
    @Test
    void theOperatorsListsRefuseAParameterTheyDoNotTake() {
        JsonNode integration = server.createIntegration("Listed", List.of("*"), List.of("*"), List.of("*"));
        for (String list : List.of(
                "/api/v1/tenants",
                "/api/v1/integrations",
                "/api/v1/integrations/" + integration.get("id").asText() + "/connections",
                "/api/v1/audit-log")) {
            Api.Response filtered = server.admin.get(list + "?tenantId=hotel-1");
            assertThat(filtered.status()).as(list).isEqualTo(400);
            assertThat(filtered.json().at("/error/message").asText())
                    .as(list)
                    .isEqualTo("tenantId: is not a query parameter of this list (it takes limit, cursor)");
            Api.Response twice = server.admin.get(list + "?limit=1&limit=2");
            assertThat(twice.status()).as(list).isEqualTo(400);
            assertThat(twice.json().at("/error/message").asText())
                    .as(list)
                    .isEqualTo("limit: is given more than once; give it once (lists are comma-separated)");
            server.admin.get(list + "?limit=1&cursor=").expect(200);
        }
        // The lists that take none: ?limit=0 answered the whole list.
        for (String list : List.of("/api/v1/collections", "/api/v1/event-catalog", "/api/v1/overview")) {
            Api.Response limited = server.admin.get(list + "?limit=0");
            assertThat(limited.status()).as(list).isEqualTo(400);
            assertThat(limited.json().at("/error/message").asText())
                    .as(list)
                    .isEqualTo("limit: is not a query parameter of this list (it takes none)");
            server.admin.get(list).expect(200);
        }
    }

    /**
     * A name shows something and is one line: invisible text alone (a no-break or zero-width space) is as
     * blank as spaces, and a line break or terminal escape is refused; a subject must not be blank either.
     */
    @Test
    void aNameOrSubjectThatShowsNothingOrBreaksItsLineIsRefused() {
        for (String bad : List.of(
                " ",
                "\u00a0",
                "\u200b",
                "\u2007 \u00a0",
                "\u3164",
                "a\nb",
                "red\u001b[31m",
                "tab\there",
                "a\u2028b",
                "gnp\u202eexe")) {
            Api.Response tenant = server.admin.post("/api/v1/tenants", Map.of("id", "named-badly", "name", bad));
            assertThat(tenant.status()).as(bad).isEqualTo(400);
            assertThat(tenant.json().at("/error/details/field").asText())
                    .as(bad)
                    .isEqualTo("name");
            Api.Response integration =
                    server.admin.post("/api/v1/integrations", Map.of("name", bad, "permissions", Map.of()));
            assertThat(integration.status()).as(bad).isEqualTo(400);
        }
        assertThat(server.admin.get("/api/v1/tenants/named-badly").status()).isEqualTo(404);
        for (String blank : List.of("\u00a0", "\u200b")) {
            Api.Response event = server.admin
                    .withHeader("Switchboard-Tenant", "hotel-1")
                    .post("/api/v1/events", Map.of("type", "device.noted", "subject", blank));
            assertThat(event.status()).as(blank).isEqualTo(400);
            assertThat(event.json().at("/error/details/field").asText()).isEqualTo("subject");
        }
        assertThat(server.admin
                        .post("/api/v1/tenants", Map.of("id", "named-well", "name", "\u00a0Caf\u00e9\u00a0Noir"))
                        .expect(201)
                        .json()
                        .get("name")
                        .asText())
                .isEqualTo("\u00a0Caf\u00e9\u00a0Noir");
    }

    /** A name's length is counted in characters, as the API's schema (and PostgreSQL) count them: an emoji is one. */
    @Test
    void aNamesLengthCountsCharactersNotUtf16Units() {
        String emoji = "\uD83D\uDE00";
        server.admin
                .post("/api/v1/tenants", Map.of("id", "emoji-200", "name", emoji.repeat(200)))
                .expect(201);
        Api.Response over = server.admin.post("/api/v1/tenants", Map.of("id", "emoji-201", "name", emoji.repeat(201)));
        assertThat(over.status()).isEqualTo(400);
        assertThat(over.json().at("/error/message").asText()).isEqualTo("name: must be at most 200 characters");
    }

    @Test
    void tenantsHaveTheirOwnOrGeneratedIdsAndAreUnique() {
        JsonNode generated = server.admin
                .post("/api/v1/tenants", Map.of("name", "Generated"))
                .expect(201)
                .json();
        assertThat(generated.get("id").asText()).startsWith("ten_");
        // Without a name, a tenant is named by its id, generated or given (it was an empty name when generated).
        JsonNode unnamed =
                server.admin.post("/api/v1/tenants", Map.of()).expect(201).json();
        assertThat(unnamed.get("name").asText())
                .isEqualTo(unnamed.get("id").asText())
                .startsWith("ten_");
        assertThat(server.admin
                        .post("/api/v1/tenants", Map.of("id", "chain-8"))
                        .expect(201)
                        .json()
                        .get("name")
                        .asText())
                .isEqualTo("chain-8");
        server.admin
                .post("/api/v1/tenants", Map.of("id", "chain-7", "name", "Chain 7"))
                .expect(201);
        assertThat(server.admin.post("/api/v1/tenants", Map.of("id", "chain-7")).status())
                .isEqualTo(409);
        assertThat(server.admin.post("/api/v1/tenants", Map.of("id", "bad id!")).status())
                .isEqualTo(400);
        assertThat(server.admin
                        .get("/api/v1/tenants/chain-7")
                        .expect(200)
                        .json()
                        .get("name")
                        .asText())
                .isEqualTo("Chain 7");
    }

    /** Checked against 2020-12's meta-schema whatever they named, valid schemas of earlier drafts were refused. */
    @Test
    void aSchemaIsCheckedAgainstTheDraftItNamesAndRecordsWithThatDraftsMeaning() {
        server.admin
                .post(
                        "/api/v1/collections",
                        Map.of(
                                "name",
                                "draft4_prices",
                                "schema",
                                Map.of(
                                        "$schema", "http://json-schema.org/draft-04/schema#",
                                        "type", "object",
                                        "properties",
                                                Map.of(
                                                        "v",
                                                        Map.of(
                                                                "type",
                                                                "number",
                                                                "maximum",
                                                                5,
                                                                "exclusiveMaximum",
                                                                true)))))
                .expect(201);
        server.admin
                .post(
                        "/api/v1/collections",
                        Map.of(
                                "name",
                                "draft7_pairs",
                                "schema",
                                Map.of(
                                        "$schema",
                                        "http://json-schema.org/draft-07/schema#",
                                        "properties",
                                        Map.of("pair", Map.of("items", List.of(Map.of("type", "string")))))))
                .expect(201);
        Api hotel = server.adminFor("hotel-1");
        assertThat(hotel.post("/api/v1/collections/draft4_prices/records", Map.of("data", Map.of("v", 5)))
                        .errorCode())
                .as("draft-04's exclusiveMaximum: true leaves 5 out")
                .isEqualTo("schema_violation");
        hotel.post("/api/v1/collections/draft4_prices/records", Map.of("data", Map.of("v", 4.5)))
                .expect(201);
        Api.Response wrongInDraft2020 = server.admin.post(
                "/api/v1/collections", Map.of("name", "draft2020_prices", "schema", Map.of("exclusiveMaximum", true)));
        assertThat(wrongInDraft2020.status()).isEqualTo(400);
        assertThat(wrongInDraft2020.json().at("/error/message").asText())
                .contains("(https://json-schema.org/draft/2020-12/schema)");
    }

    @Test
    void collectionsValidateTheirDefinition() {
        assertThat(server.admin
                        .post("/api/v1/collections", Map.of("name", "Bad Name"))
                        .status())
                .isEqualTo(400);
        assertThat(server.admin
                        .post("/api/v1/collections", Map.of("name", "reservations"))
                        .status())
                .isEqualTo(409);
        // Its events would be connection.created, webhook.deleted: Switchboard's own types.
        for (String reserved : List.of("connection", "webhook")) {
            Api.Response refused = server.admin.post("/api/v1/collections", Map.of("name", reserved));
            assertThat(refused.status()).as(reserved).isEqualTo(400);
            assertThat(refused.json().at("/error/message").asText())
                    .as(reserved)
                    .contains("is reserved");
        }
        Api.Response badSchema =
                server.admin.post("/api/v1/collections", Map.of("name", "things", "schema", Map.of("type", 12)));
        assertThat(badSchema.status()).isEqualTo(400);
        assertThat(badSchema.json().get("error").get("message").asText()).startsWith("schema");
        try (CapturedLogs logs = new CapturedLogs()) {
            Api.Response badPattern = server.admin.post(
                    "/api/v1/collections",
                    Map.of("name", "things", "schema", Map.of("properties", Map.of("code", Map.of("pattern", "(ab")))));
            assertThat(badPattern.status()).isEqualTo(400);
            assertThat(badPattern.json().at("/error/message").asText())
                    .contains("'(ab' is not a regular expression")
                    .doesNotContain("java.");
            assertThat(logs.lines())
                    .as("a client's mistake, answered 400: not among the server's errors")
                    .noneMatch(line -> line.startsWith("ERROR") || line.startsWith("WARN"));
        }
        Api.Response badEscape = server.admin.post(
                "/api/v1/collections", Map.of("name", "things", "schema", Map.of("$ref", "#/$defs/%zz")));
        assertThat(badEscape.status()).isEqualTo(400);
        assertThat(badEscape.json().at("/error/message").asText()).doesNotContain("java.", "Exception");
        Api.Response remote = server.admin.post(
                "/api/v1/collections",
                Map.of("name", "things", "schema", Map.of("$ref", "http://169.254.169.254/latest")));
        assertThat(remote.status()).isEqualTo(400);
        assertThat(server.admin
                        .post("/api/v1/collections", Map.of("name", "things", "eventFields", List.of("id")))
                        .status())
                .isEqualTo(400);
        assertThat(server.admin.get("/api/v1/collections/things").status()).isEqualTo(404);

        // Lengths and counts past 32 bits were checked cut to them ("minLength": 4294967297 as 1).
        for (String keyword : List.of("minLength", "maxItems", "minProperties")) {
            Api.Response huge = server.admin.post(
                    "/api/v1/collections",
                    Map.of(
                            "name",
                            "things",
                            "schema",
                            Map.of(
                                    "properties",
                                    Map.of("x", Map.of(keyword, new java.math.BigInteger("4294967297"))))));
            assertThat(huge.status()).isEqualTo(400);
            assertThat(huge.json().at("/error/details/field").asText()).isEqualTo("schema.properties.x." + keyword);
        }
        // A property (or a definition) named after a data keyword is a schema all the same.
        for (Map<String, Object> named : List.<Map<String, Object>>of(
                Map.of("properties", Map.of("enum", Map.of("minLength", new java.math.BigInteger("4294967297")))),
                Map.of("$defs", Map.of("const", Map.of("maxItems", new java.math.BigInteger("4294967296")))))) {
            Api.Response huge = server.admin.post("/api/v1/collections", Map.of("name", "things", "schema", named));
            assertThat(huge.status()).as(named.toString()).isEqualTo(400);
        }
        // As a value (an enum's), the same number is data, not a count; and so is a "$ref" in a const.
        server.admin
                .post(
                        "/api/v1/collections",
                        Map.of("name", "constant_ref", "schema", Map.of("const", Map.of("$ref", "http://x/"))))
                .expect(201);
        server.admin
                .post(
                        "/api/v1/collections",
                        Map.of(
                                "name",
                                "counted",
                                "schema",
                                Map.of(
                                        "properties",
                                        Map.of(
                                                "x",
                                                Map.of(
                                                        "maxLength",
                                                        Integer.MAX_VALUE,
                                                        "enum",
                                                        List.of(Map.of(
                                                                "maxItems",
                                                                new java.math.BigInteger("4294967297"))))))))
                .expect(201);
        assertThat(server.admin.get("/api/v1/collections/things").status()).isEqualTo(404);

        // References that lead back to themselves before reaching any data: no record could be checked.
        for (Object looping : List.of(
                Map.of("$ref", "#"),
                Map.of(
                        "$defs",
                        Map.of("a", Map.of("$ref", "#/$defs/b"), "b", Map.of("$ref", "#/$defs/a")),
                        "$ref",
                        "#/$defs/a"))) {
            Api.Response loop = server.admin.post("/api/v1/collections", Map.of("name", "things", "schema", looping));
            assertThat(loop.status()).isEqualTo(400);
            assertThat(loop.json().at("/error/message").asText()).contains("$ref loop");
        }
        assertThat(server.admin.get("/api/v1/collections/things").status()).isEqualTo(404);

        // A loop only some data reaches (under a property) is accepted; such data is refused, not a 500.
        Map<String, Object> underProperty = Map.of(
                "properties",
                Map.of("x", Map.of("$ref", "#/$defs/a")),
                "$defs",
                Map.of("a", Map.of("$ref", "#/$defs/b"), "b", Map.of("$ref", "#/$defs/a")));
        server.admin
                .post("/api/v1/collections", Map.of("name", "looping", "schema", underProperty))
                .expect(201);
        String tenant = server.createTenant("loops-" + System.nanoTime());
        Api.Response write =
                server.adminFor(tenant).post("/api/v1/collections/looping/records", Map.of("data", Map.of("x", 1)));
        assertThat(write.status()).isBetween(400, 499);
        assertThat(write.json().at("/error/message").asText()).contains("a $ref that refers to itself");
        server.adminFor(tenant)
                .post("/api/v1/collections/looping/records", Map.of("data", Map.of("y", 1)))
                .expect(201);
    }

    /**
     * A schema the operator wrote may take a partner's data exponentially long to check: a pattern that
     * backtracks (seconds for 20,000 characters, minutes for more), alternatives that recurse and all fail
     * (a 138-byte value exhausted the heap). The check stops after a second, or once it has made 50,000
     * validators, and the data is refused.
     */
    @Test
    void dataTheSchemaTakesTooLongToCheckIsRefusedAfterASecond() {
        server.admin
                .post(
                        "/api/v1/collections",
                        Map.of(
                                "name",
                                "slowchecks",
                                "schema",
                                Map.of(
                                        "$defs",
                                        Map.of(
                                                "n",
                                                Map.of(
                                                        "anyOf",
                                                        List.of(
                                                                Map.of(
                                                                        "type",
                                                                        "array",
                                                                        "items",
                                                                        Map.of("$ref", "#/$defs/n")),
                                                                Map.of(
                                                                        "type",
                                                                        "array",
                                                                        "items",
                                                                        Map.of("$ref", "#/$defs/n")),
                                                                Map.of("type", "string")))),
                                        "properties",
                                        Map.of(
                                                "name", Map.of("type", "string", "pattern", "^(a+)+$"),
                                                "nested", Map.of("$ref", "#/$defs/n")))))
                .expect(201);
        Api api = server.adminFor(server.createTenant("slow-" + System.nanoTime()));
        Object nested = 5;
        for (int i = 0; i < 60; i++) {
            nested = List.of(nested);
        }
        for (Map<String, Object> data :
                List.of(Map.<String, Object>of("name", "a".repeat(30_000) + "!"), Map.of("nested", nested))) {
            Api.Response refused = api.post("/api/v1/collections/slowchecks/records", Map.of("data", data));
            assertThat(refused.status()).isEqualTo(400);
            assertThat(refused.errorCode()).isEqualTo("schema_violation");
            assertThat(refused.json().at("/error/message").asText())
                    .containsAnyOf("took longer than 1000 ms", "made more than 50000 validators");
        }
        api.post(
                        "/api/v1/collections/slowchecks/records",
                        Map.of("data", Map.of("name", "aaa", "nested", List.of("x"))))
                .expect(201);
    }

    /**
     * A 1.4 KB schema whose references branch at every level (19 levels of {@code anyOf} of two references to
     * the next) made 2.5 million validators as it compiled, a gigabyte of heap, and stopped a node with 1 GB
     * from starting again; every later collection's creation took as long, all schemas being compiled again.
     */
    @Test
    void aSchemaThatWouldMakeMillionsOfValidatorsIsRefusedAndTheNextCreationIsNotSlowed() {
        Map<String, Object> defs = new java.util.LinkedHashMap<>();
        for (int level = 0; level < 19; level++) {
            Map<String, Object> next = Map.of("$ref", "#/$defs/l" + (level + 1));
            defs.put("l" + level, Map.of("anyOf", List.of(next, next)));
        }
        defs.put("l19", Map.of("type", "string"));
        Api.Response branching = server.admin.post(
                "/api/v1/collections",
                Map.of("name", "branching", "schema", Map.of("$ref", "#/$defs/l0", "$defs", defs)));
        assertThat(branching.status()).as(branching.body()).isEqualTo(400);
        assertThat(branching.json().at("/error/message").asText())
                .contains("is too complex")
                .contains("more than 50000 validators");
        assertThat(server.admin.get("/api/v1/collections/branching").status()).isEqualTo(404);

        // Eight levels (256 paths) are a schema like any other.
        Map<String, Object> shallow = new java.util.LinkedHashMap<>();
        for (int level = 0; level < 8; level++) {
            Map<String, Object> next = Map.of("$ref", "#/$defs/l" + (level + 1));
            shallow.put("l" + level, Map.of("anyOf", List.of(next, next)));
        }
        shallow.put("l8", Map.of("type", "string"));
        server.admin
                .post(
                        "/api/v1/collections",
                        Map.of("name", "branching_a_little", "schema", Map.of("$ref", "#/$defs/l0", "$defs", shallow)))
                .expect(201);
        Api api = server.adminFor(server.createTenant("branching-" + System.nanoTime()));
        api.post("/api/v1/collections/branching_a_little/records", Map.of("data", "x"))
                .expect(400);
    }

    /**
     * The limits of a record's check hold for valid data too: a thousand {@code patternProperties} over an
     * object of 60,000 short keys took 15 s and was accepted (the budget was checked only every few thousand
     * characters a pattern read). A message quotes long values cut short: an {@code enum} of 20,000 values
     * made a 20-byte write's answer hundreds of kilobytes.
     */
    @Test
    void aCheckOfManyShortMatchesStopsAtItsLimitAndMessagesQuoteLongValuesCutShort() {
        Map<String, Object> patterns = new java.util.LinkedHashMap<>();
        for (int i = 0; i < 1000; i++) {
            patterns.put("^k" + i, true);
        }
        List<Integer> codes = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            codes.add(i);
        }
        server.admin
                .post(
                        "/api/v1/collections",
                        Map.of(
                                "name",
                                "many_patterns",
                                "schema",
                                Map.of(
                                        "type",
                                        "object",
                                        "patternProperties",
                                        patterns,
                                        "properties",
                                        Map.of("code", Map.of("enum", codes)))))
                .expect(201);
        Api api = server.adminFor(server.createTenant("patterns-" + System.nanoTime()));
        Map<String, Object> keys = new java.util.LinkedHashMap<>();
        for (int i = 0; i < 60_000; i++) {
            keys.put("k" + i, 0);
        }
        long started = System.nanoTime();
        Api.Response refused = api.post("/api/v1/collections/many_patterns/records", Map.of("data", keys));
        long tookMillis = (System.nanoTime() - started) / 1_000_000;
        assertThat(refused.status())
                .as(refused.json().at("/error/message").asText())
                .isEqualTo(400);
        assertThat(refused.json().at("/error/message").asText()).contains("took longer than 1000 ms");
        assertThat(tookMillis)
                .as("stopped near its limit, not after every match")
                .isLessThan(8_000);

        Api.Response notListed =
                api.post("/api/v1/collections/many_patterns/records", Map.of("data", Map.of("code", -1)));
        assertThat(notListed.status()).isEqualTo(400);
        assertThat(notListed.body().length()).as(notListed.body()).isLessThan(2_000);
        assertThat(notListed.json().at("/error/details/violations/0/message").asText())
                .contains("…");
    }

    /**
     * Under draft-07, {@code "format": "regex"} compiles a partner's value as a regular expression, which no
     * check could stop: a 200,000-character value took 16 s, and two of a million characters held a 2-core
     * node for minutes. A value longer than 10,000 characters is not compiled: it is not one.
     */
    @Test
    void aValueCheckedAsARegularExpressionIsNotCompiledPastItsLimit() {
        server.admin
                .post(
                        "/api/v1/collections",
                        Map.of(
                                "name",
                                "regexes",
                                "schema",
                                Map.of(
                                        "$schema",
                                        "http://json-schema.org/draft-07/schema#",
                                        "properties",
                                        Map.of("rule", Map.of("type", "string", "format", "regex")))))
                .expect(201);
        Api api = server.adminFor(server.createTenant("regexes-" + System.nanoTime()));
        api.post("/api/v1/collections/regexes/records", Map.of("data", Map.of("rule", "^[a-z]+$")))
                .expect(201);
        long started = System.nanoTime();
        Api.Response refused =
                api.post("/api/v1/collections/regexes/records", Map.of("data", Map.of("rule", "a".repeat(200_000))));
        assertThat((System.nanoTime() - started) / 1_000_000).isLessThan(5_000);
        assertThat(refused.status())
                .as(refused.json().at("/error/message").asText())
                .isEqualTo(400);
        assertThat(refused.errorCode()).isEqualTo("schema_violation");
        assertThat(refused.json().at("/error/details/violations/0/path").asText())
                .isEqualTo("data.rule");
    }

    /**
     * Requests run on virtual threads, which are never taken off their cores while they compute: two writes
     * matching a slow pattern at once held both of a 2-core machine's for a second each, and a health check
     * waited up to 2 s. The checks run on threads of their own, which the operating system shares the cores
     * with; the bound here is loose, a stall of the old kind is seconds long.
     */
    @Test
    void slowChecksDoNotHoldUpOtherRequests() throws Exception {
        server.admin
                .post(
                        "/api/v1/collections",
                        Map.of(
                                "name",
                                "redos",
                                "schema",
                                Map.of(
                                        "properties",
                                        Map.of("v", Map.of("type", "string", "pattern", "^(\\w+\\s?)*$")))))
                .expect(201);
        Api api = server.adminFor(server.createTenant("redos-" + System.nanoTime()));
        var attackers = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
        java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
        try {
            for (int i = 0; i < 4; i++) {
                attackers.submit(() -> {
                    while (running.get()) {
                        api.post(
                                "/api/v1/collections/redos/records",
                                Map.of("data", Map.of("v", "a".repeat(5000) + "!")));
                    }
                    return null;
                });
            }
            Thread.sleep(1500);
            long slowest = 0;
            for (int i = 0; i < 10; i++) {
                long started = System.nanoTime();
                server.api(null).get("/health/live").expect(200);
                slowest = Math.max(slowest, (System.nanoTime() - started) / 1_000_000);
                Thread.sleep(100);
            }
            assertThat(slowest)
                    .as("the slowest of 10 health checks beside 4 slow writes, ms")
                    .isLessThan(500);
        } finally {
            running.set(false);
            attackers.shutdown();
            attackers.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /**
     * A record written before its collection's schema changed (the config file's, say) was refused even a
     * patch that left it as it was, which README says writes nothing. A reload compiles only the schemas
     * that changed, and this one is applied at once.
     */
    @Test
    void aRecordThatNoLongerFitsItsSchemaCanBeReadAndPatchedWithNothingButNotChangedInvalid() throws Exception {
        server.admin.post("/api/v1/collections", Map.of("name", "reshaped")).expect(201);
        Api api = server.adminFor(server.createTenant("reshaped-" + System.nanoTime()));
        String path = "/api/v1/collections/reshaped/records/"
                + api.post("/api/v1/collections/reshaped/records", Map.of("data", Map.of("state", "a")))
                        .expect(201)
                        .json()
                        .get("id")
                        .asText();
        try (var c = DriverManager.getConnection(server.database().jdbcUrl());
                var s = c.createStatement()) {
            s.execute("UPDATE collections SET schema = '{\"required\": [\"owner\"]}' WHERE name = 'reshaped'");
        }
        server.admin
                .post("/api/v1/collections", Map.of("name", "reshaped_after"))
                .expect(201); // a reload

        Api.Response unchanged = api.patch(path, Map.of("data", Map.of("state", "a")));
        assertThat(unchanged.status()).as(unchanged.body()).isEqualTo(200);
        assertThat(unchanged.json().get("version").asInt()).isEqualTo(1);
        Api.Response invalid = api.patch(path, Map.of("data", Map.of("state", "b")));
        assertThat(invalid.status()).isEqualTo(400);
        assertThat(invalid.json().at("/error/message").asText()).contains("owner");
        api.patch(path, Map.of("data", Map.of("state", "b", "owner", "x"))).expect(200);
        assertThat(api.get(path).expect(200).json().get("version").asInt()).isEqualTo(2);

        try (var c = DriverManager.getConnection(server.database().jdbcUrl());
                var s = c.createStatement()) {
            s.execute("UPDATE collections SET schema = 'false' WHERE name = 'reshaped'");
        }
        server.admin
                .post("/api/v1/collections", Map.of("name", "reshaped_false"))
                .expect(201);
        Api.Response none = api.post("/api/v1/collections/reshaped/records", Map.of("data", Map.of()));
        assertThat(none.status()).isEqualTo(400);
        assertThat(none.json().at("/error/message").asText())
                .isEqualTo("data: the schema of collection 'reshaped' is false: it accepts no record");
    }

    /**
     * A retry of a create that was made gets its answer even when the collection's schema changed since:
     * it was checked against the new schema first, and refused, which told the client the record it had
     * made did not exist.
     */
    @Test
    void aRetriedCreateIsAnsweredAsTheFirstWasAfterTheSchemaTightened() throws Exception {
        server.admin.post("/api/v1/collections", Map.of("name", "tightened")).expect(201);
        Api api = server.adminFor(server.createTenant("tightened-" + System.nanoTime()));
        String path = "/api/v1/collections/tightened/records";
        Api keyed = api.withHeader("Idempotency-Key", "create-1");
        Api.Response first = keyed.post(path, Map.of("data", Map.of("n", 5))).expect(201);
        try (var c = DriverManager.getConnection(server.database().jdbcUrl());
                var s = c.createStatement()) {
            s.execute("UPDATE collections SET schema = '{\"properties\": {\"n\": {\"maximum\": 3}}}'"
                    + " WHERE name = 'tightened'");
        }
        server.admin
                .post("/api/v1/collections", Map.of("name", "tightened_after"))
                .expect(201); // a reload

        Api.Response retry = keyed.post(path, Map.of("data", Map.of("n", 5)));
        assertThat(retry.status()).as(retry.body()).isEqualTo(201);
        assertThat(retry.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(retry.json()).isEqualTo(first.json());
        Api.Response another = keyed.post(path, Map.of("data", Map.of("n", 2)));
        assertThat(another.status()).as("the key with another request").isEqualTo(422);
        Api.Response fresh = api.withHeader("Idempotency-Key", "create-2").post(path, Map.of("data", Map.of("n", 5)));
        assertThat(fresh.status()).as("a new create meets the new schema").isEqualTo(400);
        assertThat(fresh.errorCode()).isEqualTo("schema_violation");
    }

    /**
     * A keyword the schema's draft does not have was accepted and ignored (the library only logged it), so
     * a misspelt "requried" checked nothing, and a collection made through the API cannot be changed
     * through it. Names that are not keywords (properties, data, annotations named x-…) are not looked at.
     */
    @Test
    void aSchemaKeywordItsDraftDoesNotHaveIsRefusedNamingIt() {
        Api.Response typo = server.admin.post(
                "/api/v1/collections",
                Map.of(
                        "name",
                        "misspelt",
                        "schema",
                        Map.of("properties", Map.of("state", Map.of("type", "string")), "requried", List.of("state"))));
        assertThat(typo.status()).isEqualTo(400);
        assertThat(typo.json().at("/error/details/field").asText()).isEqualTo("schema.requried");
        assertThat(typo.json().at("/error/message").asText()).contains("(did you mean required?)");
        Api.Response nested = server.admin.post(
                "/api/v1/collections",
                Map.of("name", "misspelt", "schema", Map.of("properties", Map.of("state", Map.of("maxLenght", 3)))));
        assertThat(nested.json().at("/error/details/field").asText()).isEqualTo("schema.properties.state.maxLenght");
        Api.Response laterDraft = server.admin.post(
                "/api/v1/collections",
                Map.of(
                        "name",
                        "misspelt",
                        "schema",
                        Map.of("$schema", "http://json-schema.org/draft-04/schema#", "const", 1)));
        assertThat(laterDraft.status()).as("const came with draft-06").isEqualTo(400);
        Api.Response twice = server.admin.post(
                "/api/v1/collections", Map.of("name", "misspelt", "eventFields", List.of("state", "state")));
        assertThat(twice.status()).isEqualTo(400);
        assertThat(twice.json().at("/error/details/field").asText()).isEqualTo("eventFields[1]");
        // Names the library's tables hold that no draft has: "false" there refused every record.
        for (String internal : List.of("false", "notAllowed")) {
            Api.Response refused = server.admin.post(
                    "/api/v1/collections", Map.of("name", "misspelt", "schema", Map.of(internal, Map.of())));
            assertThat(refused.status()).as(internal).isEqualTo(400);
        }
        Api.Response longName = server.admin.post(
                "/api/v1/collections", Map.of("name", "misspelt", "schema", Map.of("k".repeat(5000), 1)));
        assertThat(longName.status()).isEqualTo(400);
        assertThat(server.admin.get("/api/v1/collections/misspelt").status()).isEqualTo(404);

        // A container that references point into is not a keyword but is no mistake: $defs under draft-07,
        // an OpenAPI document's components.
        server.admin
                .post(
                        "/api/v1/collections",
                        Map.of(
                                "name",
                                "referenced",
                                "schema",
                                Map.of(
                                        "$schema",
                                        "http://json-schema.org/draft-07/schema#",
                                        "$defs",
                                        Map.of("state", Map.of("type", "string")),
                                        "components",
                                        Map.of("schemas", Map.of("n", Map.of("type", "integer"))),
                                        "X-Vendor",
                                        true,
                                        "properties",
                                        Map.of(
                                                "state",
                                                Map.of("$ref", "#/$defs/state"),
                                                "n",
                                                Map.of("$ref", "#/components/schemas/n")))))
                .expect(201);
        Api referenced = server.adminFor(server.createTenant("referenced-" + System.nanoTime()));
        assertThat(referenced
                        .post("/api/v1/collections/referenced/records", Map.of("data", Map.of("n", "x")))
                        .errorCode())
                .isEqualTo("schema_violation");

        server.admin
                .post(
                        "/api/v1/collections",
                        Map.of(
                                "name",
                                "annotated",
                                "schema",
                                Map.of(
                                        "x-ui",
                                        Map.of("requried", true),
                                        "properties",
                                        Map.of("requried", Map.of("enum", List.of(Map.of("maxLenght", 1)))),
                                        "dependentRequired",
                                        Map.of("requried", List.of("other")))))
                .expect(201);
    }

    @Test
    void identifiersAreTakenAsWrittenNotTrimmed() {
        for (String name : List.of("a\n", " spaced", "spaced ")) {
            Api.Response refused = server.admin.post("/api/v1/collections", Map.of("name", name));
            assertThat(refused.status()).as(name).isEqualTo(400);
            assertThat(refused.json().at("/error/details/field").asText()).isEqualTo("name");
        }
        Api.Response tenant = server.admin.post("/api/v1/tenants", Map.of("id", " t9 "));
        assertThat(tenant.status()).isEqualTo(400);
        assertThat(tenant.json().at("/error/details/field").asText()).isEqualTo("id");
        assertThat(server.admin.get("/api/v1/tenants/t9").status()).isEqualTo(404);
    }

    /**
     * A pattern is an ECMA-262 expression: {@code $} is the end of the value, not also before a last line
     * break, and {@code \s} is Unicode white space. Read as Java's, {@code "abc\n"} passed {@code ^[a-z]+$}.
     */
    @Test
    void patternsMatchAsJsonSchemaSaysNotAsJavaWould() {
        server.admin
                .post(
                        "/api/v1/collections",
                        Map.of(
                                "name",
                                "patterned",
                                "schema",
                                Map.of(
                                        "properties",
                                        Map.of(
                                                "code", Map.of("type", "string", "pattern", "^[a-z]+$"),
                                                "word", Map.of("type", "string", "pattern", "^\\S+$")))))
                .expect(201);
        Api api = server.adminFor(server.createTenant("patterned-" + System.nanoTime()));
        for (Map<String, Object> data : List.<Map<String, Object>>of(
                Map.of("code", "abc\n"),
                Map.of("code", "abc\r\n"),
                Map.of("code", "abc\u2028"),
                Map.of("word", "a\u00a0b"))) {
            Api.Response refused = api.post("/api/v1/collections/patterned/records", Map.of("data", data));
            assertThat(refused.status()).as(data.toString()).isEqualTo(400);
            assertThat(refused.errorCode()).isEqualTo("schema_violation");
        }
        api.post("/api/v1/collections/patterned/records", Map.of("data", Map.of("code", "abc", "word", "a-b")))
                .expect(201);
    }

    @Test
    void aSchemaNamingAnUnknownMetaSchemaIsRefusedWithoutTheServerFetchingAnything() {
        try (Receiver meta = new Receiver()) {
            meta.answer(r -> Receiver.Reply.status(200)
                    .withHeader("Content-Type", "application/json")
                    .withBody("{\"type\": \"object\"}"));
            Api.Response named = server.admin.post(
                    "/api/v1/collections",
                    Map.of("name", "fetched", "schema", Map.of("$schema", meta.url("/meta"), "type", "object")));
            assertThat(named.status()).isEqualTo(400);
            assertThat(named.json().get("error").get("details").get("field").asText())
                    .isEqualTo("schema.$schema");
            // An embedded resource may name its own dialect: refused the same way.
            Api.Response nested = server.admin.post(
                    "/api/v1/collections",
                    Map.of(
                            "name",
                            "fetched",
                            "schema",
                            Map.of(
                                    "$defs",
                                    Map.of("inner", Map.of("$id", meta.url("/inner"), "$schema", meta.url("/meta"))))));
            assertThat(nested.status()).isEqualTo(400);
            assertThat(nested.json().get("error").get("details").get("field").asText())
                    .isEqualTo("schema.$defs.inner.$schema");
            // A base URI on the attacker's server, and a reference that resolves against it and finds nothing here.
            Api.Response based = server.admin.post(
                    "/api/v1/collections",
                    Map.of(
                            "name",
                            "based",
                            "schema",
                            Map.of(
                                    "$id",
                                    meta.url("/base"),
                                    "properties",
                                    Map.of("room", Map.of("$id", meta.url("/room"), "$ref", "#/$defs/missing")))));
            // The library would resolve it on the first record; it is resolved, and refused, at creation instead.
            assertThat(based.status()).isEqualTo(400);
            assertThat(based.json().get("error").get("details").get("field").asText())
                    .isEqualTo("schema");
            // One stored before this check existed neither stops the node nor lets records through unchecked.
            try (var c = DriverManager.getConnection(server.database().jdbcUrl())) {
                c.createStatement()
                        .executeUpdate("INSERT INTO collections (name, schema, source) VALUES ('legacy',"
                                + " '{\"$schema\": \"" + meta.url("/meta") + "\"}', 'api')");
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException(e);
            }
            server.createTenant("legacy-hotel");
            Api.Response refused = server.adminFor("legacy-hotel")
                    .post("/api/v1/collections/legacy/records", Map.of("data", Map.of()));
            assertThat(refused.status()).isBetween(400, 499);
            assertThat(meta.received()).as("requests the server made").isEmpty();
        }
        assertThat(server.admin.get("/api/v1/collections/fetched").status()).isEqualTo(404);
        for (String builtIn : List.of(
                "https://json-schema.org/draft/2020-12/schema",
                "https://json-schema.org/draft/2019-09/schema",
                "http://json-schema.org/draft-07/schema#")) {
            server.admin
                    .post(
                            "/api/v1/collections",
                            Map.of(
                                    "name",
                                    "dialect_" + builtIn.replaceAll("\\D", ""),
                                    "schema",
                                    Map.of("$schema", builtIn, "type", "object")))
                    .expect(201);
        }
    }

    @Test
    void missingOrWrongTokensGet401AndPartnersCannotUseAdminRoutes() {
        Api anonymous = server.api(null);
        Api.Response missing = anonymous.get("/api/v1/tenants");
        assertThat(missing.status()).isEqualTo(401);
        assertThat(missing.json().get("error").get("requestId").asText()).isEqualTo(missing.header("Request-Id"));
        assertThat(server.api("sb_access_forged").get("/api/v1/events").status())
                .isEqualTo(401);
        assertThat(server.api("sb_admin_forged").get("/api/v1/tenants").status())
                .isEqualTo(401);
        String partner = server.partnerToken("hotel-1");
        assertThat(server.api(partner)
                        .post("/api/v1/tenants", Map.of("id", "x"))
                        .status())
                .isEqualTo(403);
        assertThat(server.api(null).get("/api/v1/nowhere").errorCode()).isEqualTo("route_not_found");
    }
}
