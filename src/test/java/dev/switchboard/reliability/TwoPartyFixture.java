package dev.switchboard.reliability;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Two partners, A and B, each an integration connected to its own tenant, with a record, a webhook
 * endpoint and a delivered message, plus tokens that must be refused (disabled, deleted, rotated
 * away) or are narrowly permitted. Requests name them by symbol ({@code {{A.record}}},
 * {@code {{B.accessToken}}}); {@link #repair()} puts back whatever an accepted request changed, and
 * every value a symbol ever had is remembered, so an old id of B's is still recognised as B's.
 */
final class TwoPartyFixture {
    static final List<String> PARTIES = List.of("A", "B");
    /** Values only their party (or the admin) may see. */
    private static final List<String> PARTY_VALUES =
            List.of("tenant", "integration", "connection", "record", "webhook", "message", "marker", "urlToken");
    /** Values nobody may see after they were created. */
    private static final List<String> SECRETS = List.of("clientKey", "accessToken", "webhookSecret");

    private static final Pattern SYMBOL = Pattern.compile("\\{\\{([A-Za-z]+\\.[A-Za-z]+)}}");

    private final TestServer server;
    private final Receiver receiver;
    private final Map<String, String> symbols = new HashMap<>();
    private final Map<String, Set<String>> history = new HashMap<>();

    TwoPartyFixture(TestServer server, Receiver receiver) {
        this.server = server;
        this.receiver = receiver;
        server.createCollection(
                "reservations",
                "eventFields",
                List.of("state"),
                "schema",
                Map.of("type", "object", "properties", Map.of("state", Map.of("type", "string"))));
        server.createCollection("customers");
        set("admin.key", TestServer.ADMIN_KEY);
        set("receiver.url", receiver.url("/hooks/created?token=fuzzed"));
        for (String party : PARTIES) {
            String tenant = "tenant-" + party.toLowerCase();
            set(party + ".tenant", server.createTenant(tenant));
            set(party + ".marker", party + "-only-" + UUID.randomUUID());
            set(
                    party + ".urlToken",
                    "urltok" + party + UUID.randomUUID().toString().replace("-", ""));
            JsonNode integration =
                    server.createIntegration("Partner " + party, List.of("*"), List.of("*"), List.of("*"));
            set(party + ".integration", integration.get("id").asText());
            set(party + ".clientKey", integration.get("clientKey").asText());
            connect(party);
            createRecord(party);
            createWebhook(party);
        }
        set(
                "token.disabled",
                spareToken(
                        "disabled",
                        c -> server.admin
                                .post("/api/v1/connections/" + c + "/disable", "")
                                .expect(200)));
        set(
                "token.deleted",
                spareToken(
                        "deleted",
                        c -> server.admin.delete("/api/v1/connections/" + c).expect(204)));
        set(
                "token.rotated",
                spareToken(
                        "rotated",
                        c -> server.admin
                                .post("/api/v1/connections/" + c + "/rotate-token", "")
                                .expect(200)));
        JsonNode readOnly =
                server.createIntegration("Read-only", List.of("customers"), List.of(), List.of("customers.*"));
        set(
                "token.readOnly",
                server.connect(readOnly.get("id").asText(), get("A.tenant"))
                        .get("accessToken")
                        .asText());
    }

    private String spareToken(String name, java.util.function.Consumer<String> then) {
        JsonNode integration = server.createIntegration("Spare " + name, List.of("*"), List.of("*"), List.of("*"));
        JsonNode connection = server.connect(integration.get("id").asText(), get("A.tenant"));
        then.accept(connection.get("id").asText());
        return connection.get("accessToken").asText();
    }

    String get(String symbol) {
        String value = symbols.get(symbol);
        if (value == null) {
            throw new IllegalArgumentException("no fixture value " + symbol);
        }
        return value;
    }

    private void set(String symbol, String value) {
        symbols.put(symbol, value);
        history.computeIfAbsent(symbol, k -> new HashSet<>()).add(value);
    }

    /** Replaces every {{symbol}} in the text by its current value. */
    String resolve(String text) {
        if (text == null || !text.contains("{{")) {
            return text;
        }
        Matcher m = SYMBOL.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(get(m.group(1))));
        }
        return m.appendTail(out).toString();
    }

    /** The party whose token this is, "admin", {@link #READ_ONLY}, or null for a token that stands for nobody. */
    String ownerOf(String token) {
        if (token == null) {
            return null;
        }
        if (token.equals(TestServer.ADMIN_KEY)) {
            return "admin";
        }
        for (String party : PARTIES) {
            if (token.equals(get(party + ".accessToken")) || token.equals(get(party + ".clientKey"))) {
                return party;
            }
        }
        return token.equals(get("token.readOnly")) ? READ_ONLY : null;
    }

    /** The party whose tenant id this is, or null. */
    String partyOfTenant(String tenantId) {
        return PARTIES.stream()
                .filter(p -> get(p + ".tenant").equals(tenantId))
                .findFirst()
                .orElse(null);
    }

    /**
     * A's read-only token: it acts for A's tenant through another integration, so of A's values it may see
     * only the tenant's id (its own connection names it); everything else of A's stays forbidden to it.
     */
    static final String READ_ONLY = "A's read-only integration";

    /** Every value a caller acting as {@code viewer} (a party, "admin", {@link #READ_ONLY}, or null for nobody) must never see. */
    Map<String, String> forbiddenFor(String viewer) {
        Map<String, String> forbidden = new LinkedHashMap<>();
        history.forEach((symbol, values) -> {
            if (READ_ONLY.equals(viewer) && symbol.equals("A.tenant")) {
                return;
            }
            String party = symbol.substring(0, symbol.indexOf('.'));
            String name = symbol.substring(symbol.indexOf('.') + 1);
            boolean secret = SECRETS.contains(name) || party.equals("token") || party.equals("admin");
            boolean othersData = PARTIES.contains(party)
                    && PARTY_VALUES.contains(name)
                    && !"admin".equals(viewer)
                    && !party.equals(viewer);
            if (secret || othersData) {
                values.forEach(v -> forbidden.put(v, symbol));
            }
        });
        return forbidden;
    }

    private void connect(String party) {
        JsonNode connection = server.connect(get(party + ".integration"), get(party + ".tenant"));
        set(party + ".connection", connection.get("id").asText());
        set(party + ".accessToken", connection.get("accessToken").asText());
    }

    private void createRecord(String party) {
        JsonNode record = server.api(get(party + ".accessToken"))
                .post(
                        "/api/v1/collections/reservations/records",
                        Map.of("data", Map.of("state", "confirmed", "marker", get(party + ".marker"))))
                .expect(201)
                .json();
        set(party + ".record", record.get("id").asText());
    }

    private Map<String, Object> webhookSettings(String party) {
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("url", receiver.url("/hooks/" + party + "?token=" + get(party + ".urlToken")));
        settings.put("eventTypes", List.of("*"));
        settings.put("maxBatchSize", 100);
        settings.put("retryDelays", null);
        settings.put("state", "enabled");
        return settings;
    }

    private void createWebhook(String party) {
        Map<String, Object> body = new LinkedHashMap<>(webhookSettings(party));
        body.remove("state");
        JsonNode webhook = server.api(get(party + ".clientKey"))
                .post("/api/v1/webhooks", body)
                .expect(201)
                .json();
        set(party + ".webhook", webhook.get("id").asText());
        set(party + ".webhookSecret", webhook.get("secret").asText());
        String message = server.admin
                .post("/api/v1/webhooks/" + get(party + ".webhook") + "/test", "")
                .expect(202)
                .json()
                .get("messageId")
                .asText();
        set(party + ".message", message);
        await().atMost(Duration.ofSeconds(30))
                .until(() -> server.admin
                        .get("/api/v1/webhooks/" + get(party + ".webhook") + "/messages/" + message)
                        .json()
                        .get("status")
                        .asText()
                        .equals("delivered"));
    }

    /**
     * Puts back what an accepted request may have changed: the parties' integrations, connections,
     * tokens, records and webhooks. Returns what it had to repair (empty when nothing).
     */
    List<String> repair() {
        List<String> repaired = new java.util.ArrayList<>();
        for (String party : PARTIES) {
            Api admin = server.admin;
            JsonNode integration = admin.get("/api/v1/integrations/" + get(party + ".integration"))
                    .expect(200)
                    .json();
            if (!integration.get("permissions").get("read").toString().equals("[\"*\"]")
                    || !integration.get("permissions").get("write").toString().equals("[\"*\"]")
                    || !integration.get("eventTypes").toString().equals("[\"*\"]")) {
                admin.patch(
                                "/api/v1/integrations/" + get(party + ".integration"),
                                Map.of(
                                        "permissions",
                                        Map.of("read", List.of("*"), "write", List.of("*")),
                                        "eventTypes",
                                        List.of("*")))
                        .expect(200);
                repaired.add(party + ".integration");
            }
            // An accepted rotate-client-key leaves the party with a key nobody kept: issue one it knows.
            if (server.api(get(party + ".clientKey"))
                            .get("/api/v1/integrations/" + get(party + ".integration"))
                            .status()
                    == 401) {
                set(
                        party + ".clientKey",
                        admin.post("/api/v1/integrations/" + get(party + ".integration") + "/rotate-client-key", "")
                                .expect(200)
                                .json()
                                .get("clientKey")
                                .asText());
                repaired.add(party + ".clientKey");
            }
            Api.Response connection = admin.get("/api/v1/connections/" + get(party + ".connection"));
            if (connection.status() == 404) {
                connect(party);
                repaired.add(party + ".connection");
            } else if (connection.json().get("state").asText().equals("disabled")) {
                admin.post("/api/v1/connections/" + get(party + ".connection") + "/enable", "")
                        .expect(200);
                repaired.add(party + ".connection (enabled)");
            }
            if (server.api(get(party + ".accessToken"))
                            .get("/api/v1/events?limit=1")
                            .status()
                    == 401) {
                set(
                        party + ".accessToken",
                        admin.post("/api/v1/connections/" + get(party + ".connection") + "/rotate-token", "")
                                .expect(200)
                                .json()
                                .get("accessToken")
                                .asText());
                repaired.add(party + ".accessToken");
            }
            Api tenantAdmin = server.adminFor(get(party + ".tenant"));
            if (tenantAdmin
                            .get("/api/v1/collections/reservations/records/" + get(party + ".record"))
                            .status()
                    == 404) {
                createRecord(party);
                repaired.add(party + ".record");
            }
            Api.Response webhook = admin.get("/api/v1/webhooks/" + get(party + ".webhook"));
            if (webhook.status() == 404) {
                // Hostile requests make endpoints of their own, and may have filled the integration's quota.
                Api client = server.api(get(party + ".clientKey"));
                for (JsonNode other :
                        client.get("/api/v1/webhooks?limit=1000").json().get("webhooks")) {
                    client.delete("/api/v1/webhooks/" + other.get("id").asText())
                            .expect(204);
                }
                createWebhook(party);
                repaired.add(party + ".webhook");
            } else {
                Map<String, Object> expected = webhookSettings(party);
                JsonNode actual = webhook.json();
                boolean same = expected.entrySet().stream()
                        .allMatch(e -> Json.MAPPER.valueToTree(e.getValue()).equals(actual.get(e.getKey())));
                if (!same) {
                    admin.patch("/api/v1/webhooks/" + get(party + ".webhook"), expected)
                            .expect(200);
                    repaired.add(party + ".webhook (settings)");
                }
            }
        }
        return repaired;
    }
}
