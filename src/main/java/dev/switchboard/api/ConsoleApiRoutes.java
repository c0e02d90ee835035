package dev.switchboard.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.switchboard.auth.Authenticator;
import dev.switchboard.events.EventTypes;
import dev.switchboard.store.CollectionStore;
import dev.switchboard.store.Integration;
import dev.switchboard.store.IntegrationStore;
import dev.switchboard.store.RecordCollection;
import dev.switchboard.support.Json;
import dev.switchboard.support.Refusal;
import dev.switchboard.web.RouteGroup;
import dev.switchboard.webhooks.DeliveryOverview;
import dev.switchboard.webhooks.DeliveryStats;
import dev.switchboard.webhooks.EndpointStore;
import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRoutingApi;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the console reads besides the management API: the overview (admin) and the event catalog (the
 * admin sees every collection; an integration, with its client key or a portal session, the ones it may
 * read and the event types it may receive).
 */
public final class ConsoleApiRoutes implements RouteGroup {
    private final Authenticator auth;
    private final CollectionStore collections;
    private final IntegrationStore integrations;
    private final EndpointStore endpoints;
    private final DeliveryOverview overview;
    private final DeliveryStats stats;

    public ConsoleApiRoutes(
            Authenticator auth,
            CollectionStore collections,
            IntegrationStore integrations,
            EndpointStore endpoints,
            DeliveryOverview overview,
            DeliveryStats stats) {
        this.auth = auth;
        this.collections = collections;
        this.integrations = integrations;
        this.endpoints = endpoints;
        this.overview = overview;
        this.stats = stats;
    }

    @Override
    public void register(JavalinDefaultRoutingApi routes) {
        routes.get("/api/v1/overview", this::overview);
        routes.get("/api/v1/event-catalog", this::eventCatalog);
        routes.get("/api/v1/delivery-stats", this::deliveryStats);
    }

    /**
     * Delivery by minute (window 1h) or quarter hour (24h): messages delivered and failed (abandoned),
     * attempts retried, attempt duration p50/p99 and delivery lag p99. The admin key sees any endpoint
     * or integration (or all); an integration its own endpoints. A portal session narrowed to one tenant
     * is refused: the counts are per endpoint, across its tenants.
     */
    private void deliveryStats(Context ctx) {
        Authenticator.Principal principal = auth.authenticate(ctx);
        if (principal instanceof Authenticator.Access) {
            throw new Refusal.Forbidden("delivery stats are read with the admin key or an integration's client key");
        }
        if (Authenticator.portalTenant(ctx).isPresent()) {
            throw new Refusal.Forbidden(
                    "delivery stats count an endpoint's messages across tenants; this portal session sees one tenant");
        }
        Duration window;
        Duration bucket;
        QueryParams.only(ctx, "window", "webhookId", "integrationId");
        String windowText = ctx.queryParam("window") == null ? "1h" : ctx.queryParam("window");
        switch (windowText) {
            case "1h" -> {
                window = Duration.ofHours(1);
                bucket = Duration.ofMinutes(1);
            }
            case "24h" -> {
                window = Duration.ofHours(24);
                bucket = Duration.ofMinutes(15);
            }
            default -> throw new Refusal.InvalidField("window", "must be 1h or 24h");
        }
        String webhookId = blankToNull(ctx.queryParam("webhookId"));
        String integrationId = blankToNull(ctx.queryParam("integrationId"));
        if (principal instanceof Authenticator.Client client) {
            if (integrationId != null
                    && !integrationId.equals(client.integration().id())) {
                throw new Refusal.InvalidField("integrationId", "an integration reads its own delivery stats only");
            }
            integrationId = client.integration().id();
        } else if (integrationId != null && integrations.find(integrationId).isEmpty()) {
            throw new Refusal.InvalidField("integrationId", "no integration '" + integrationId + "'");
        }
        if (webhookId != null) {
            String id = webhookId;
            String owner = integrationId;
            endpoints
                    .find(id)
                    .filter(e -> owner == null || e.integrationId().equals(owner))
                    .orElseThrow(() -> new Refusal.InvalidField("webhookId", "no webhook '" + id + "'"));
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("window", windowText);
        json.put("bucketSeconds", bucket.toSeconds());
        json.put("buckets", stats.buckets(window, bucket, webhookId, integrationId));
        ctx.json(json);
    }

    private static String blankToNull(String text) {
        return text == null || text.isBlank() ? null : text;
    }

    private void overview(Context ctx) {
        auth.requireAdmin(ctx);
        QueryParams.only(ctx);
        DeliveryOverview.Overview o = overview.overview();
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("tenants", o.tenants());
        json.put("integrations", o.integrations());
        json.put("connections", o.connections());
        json.put("endpoints", o.endpoints());
        json.put("endpointList", o.endpointList());
        ctx.json(json);
    }

    private void eventCatalog(Context ctx) {
        Integration integration = switch (auth.authenticate(ctx)) {
            case Authenticator.Admin admin -> null;
            case Authenticator.Client client -> client.integration();
            case Authenticator.Access access ->
                throw new Refusal.Forbidden(
                        "the event catalog is read with the admin key or an integration's client key");
        };
        QueryParams.only(ctx);
        ArrayNode list = Json.MAPPER.createArrayNode();
        for (RecordCollection collection : collections.list()) {
            if (integration != null && !integration.permissions().canRead(collection.name())) {
                continue;
            }
            List<String> types = new ArrayList<>();
            for (String action : EventTypes.RECORD_ACTIONS) {
                String type = collection.name() + "." + action;
                if (integration == null || EventTypes.matchesAny(integration.eventTypes(), type)) {
                    types.add(type);
                }
            }
            if (integration != null && types.isEmpty()) {
                continue;
            }
            ObjectNode entry = list.addObject();
            entry.put("name", collection.name());
            entry.set("schema", collection.schema());
            entry.set("eventFields", Json.MAPPER.valueToTree(collection.eventFields()));
            ArrayNode eventTypes = entry.putArray("eventTypes");
            for (String type : types) {
                ObjectNode t = eventTypes.addObject();
                t.put("type", type);
                t.set("example", example(collection, type));
            }
        }
        ObjectNode json = Json.MAPPER.createObjectNode();
        json.set("collections", list);
        ctx.json(json);
    }

    /**
     * An example event of the type, as webhooks, sockets and the feed carry it: thin data ({@code id},
     * {@code version}, and the collection's {@code eventFields} with values made from its schema). Built
     * from the schema, never from stored events, so it shows no tenant's data.
     */
    static ObjectNode example(RecordCollection collection, String type) {
        ObjectNode event = Json.MAPPER.createObjectNode();
        event.put("id", "evt_01jq0000000000000000000000");
        event.put("seq", 42);
        event.put("type", type);
        event.put("subject", "rec_01jq0000000000000000000000");
        event.put("time", Instant.parse("2026-01-01T12:00:00Z").toString());
        ObjectNode data = event.putObject("data");
        data.put("id", "rec_01jq0000000000000000000000");
        data.put("version", type.endsWith(".created") ? 1 : 2);
        if (!type.endsWith(".deleted")) {
            JsonNode properties =
                    collection.schema() == null ? null : collection.schema().get("properties");
            for (String field : collection.eventFields()) {
                JsonNode property = properties == null ? null : properties.get(field);
                data.set(field, sample(property, 0));
            }
        }
        return event;
    }

    /**
     * The schema's lower bound when it has one, else {@code preferred} kept under its upper bound: exactly, as
     * the schema wrote them (a minimum of 12345678901234567890 read as a long wrapped around to a negative
     * example, and an exclusive bound was not read at all).
     */
    private static BigDecimal within(JsonNode schema, BigDecimal preferred) {
        JsonNode minimum = schema.get("minimum");
        JsonNode exclusiveMinimum = schema.get("exclusiveMinimum"); // a number from draft 6 on
        if (minimum != null && minimum.isNumber()) {
            return minimum.decimalValue();
        }
        if (exclusiveMinimum != null && exclusiveMinimum.isNumber()) {
            return exclusiveMinimum.decimalValue().add(BigDecimal.ONE);
        }
        BigDecimal value = preferred;
        JsonNode maximum = schema.get("maximum");
        JsonNode exclusiveMaximum = schema.get("exclusiveMaximum");
        if (maximum != null && maximum.isNumber() && value.compareTo(maximum.decimalValue()) > 0) {
            value = maximum.decimalValue();
        }
        if (exclusiveMaximum != null
                && exclusiveMaximum.isNumber()
                && value.compareTo(exclusiveMaximum.decimalValue()) >= 0) {
            value = exclusiveMaximum.decimalValue().subtract(BigDecimal.ONE);
        }
        return value;
    }

    /** A value a JSON Schema accepts, as well as a simple reading of it can tell (examples, const, enum, type). */
    static JsonNode sample(JsonNode schema, int depth) {
        if (schema == null || !schema.isObject() || depth > 4) {
            return Json.MAPPER.getNodeFactory().textNode("…");
        }
        if (schema.has("examples")
                && schema.get("examples").isArray()
                && !schema.get("examples").isEmpty()) {
            return schema.get("examples").get(0);
        }
        if (schema.has("const")) {
            return schema.get("const");
        }
        if (schema.has("enum")
                && schema.get("enum").isArray()
                && !schema.get("enum").isEmpty()) {
            return schema.get("enum").get(0);
        }
        JsonNode typeNode = schema.get("type");
        String type = typeNode == null
                ? "string"
                : typeNode.isArray() ? typeNode.get(0).asText() : typeNode.asText();
        var nodes = Json.MAPPER.getNodeFactory();
        return switch (type) {
            case "integer" ->
                nodes.numberNode(within(schema, BigDecimal.ONE)
                        .setScale(0, RoundingMode.CEILING)
                        .toBigIntegerExact());
            case "number" -> nodes.numberNode(within(schema, new BigDecimal("1.5")));
            case "boolean" -> nodes.booleanNode(true);
            case "null" -> nodes.nullNode();
            case "array" -> {
                ArrayNode array = nodes.arrayNode();
                array.add(sample(schema.get("items"), depth + 1));
                yield array;
            }
            case "object" -> {
                ObjectNode object = nodes.objectNode();
                JsonNode properties = schema.get("properties");
                if (properties != null && properties.isObject()) {
                    properties.fields().forEachRemaining(p -> object.set(p.getKey(), sample(p.getValue(), depth + 1)));
                }
                yield object;
            }
            default -> {
                String format = schema.path("format").asText("");
                yield nodes.textNode(
                        switch (format) {
                            case "date-time" -> "2026-01-01T12:00:00Z";
                            case "date" -> "2026-01-01";
                            case "email" -> "guest@example.com";
                            case "uri" -> "https://example.com/";
                            default -> "string";
                        });
            }
        };
    }
}
