package dev.switchboard.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.switchboard.auth.Authenticator;
import dev.switchboard.config.CollectionDefinition;
import dev.switchboard.events.EventTypes;
import dev.switchboard.store.CollectionStore;
import dev.switchboard.store.ConnectionStore;
import dev.switchboard.store.Integration;
import dev.switchboard.store.IntegrationConnection;
import dev.switchboard.store.IntegrationStore;
import dev.switchboard.store.Permissions;
import dev.switchboard.store.Tenant;
import dev.switchboard.store.TenantStore;
import dev.switchboard.support.Json;
import dev.switchboard.support.Refusal;
import dev.switchboard.web.RouteGroup;
import dev.switchboard.webhooks.EndpointStore;
import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRoutingApi;
import java.util.List;
import java.util.Map;

/** The operator's API (admin key): tenants, integrations, their connections, and collections. */
public final class AdminRoutes implements RouteGroup {
    private final Authenticator auth;
    private final TenantStore tenants;
    private final IntegrationStore integrations;
    private final ConnectionStore connections;
    private final CollectionStore collections;
    private final EndpointStore endpoints;

    public AdminRoutes(
            Authenticator auth,
            TenantStore tenants,
            IntegrationStore integrations,
            ConnectionStore connections,
            CollectionStore collections,
            EndpointStore endpoints) {
        this.auth = auth;
        this.endpoints = endpoints;
        this.tenants = tenants;
        this.integrations = integrations;
        this.connections = connections;
        this.collections = collections;
    }

    @Override
    public void register(JavalinDefaultRoutingApi routes) {
        routes.post("/api/v1/tenants", this::createTenant);
        routes.get("/api/v1/tenants", this::listTenants);
        routes.get("/api/v1/tenants/{tenantId}", ctx -> {
            auth.requireAdmin(ctx);
            ctx.json(tenants.get(ctx.pathParam("tenantId")));
        });
        routes.post("/api/v1/integrations", this::createIntegration);
        routes.get("/api/v1/integrations", this::listIntegrations);
        routes.get("/api/v1/integrations/{integrationId}", this::getIntegration);
        routes.patch("/api/v1/integrations/{integrationId}", this::updateIntegration);
        routes.post("/api/v1/integrations/{integrationId}/rotate-client-key", this::rotateClientKey);
        routes.post("/api/v1/integrations/{integrationId}/connections", this::connect);
        routes.get("/api/v1/integrations/{integrationId}/connections", ctx -> {
            auth.requireAdmin(ctx);
            Integration integration = integrations.get(ctx.pathParam("integrationId"));
            QueryParams.only(ctx, "limit", "cursor");
            int limit = QueryParams.limit(ctx);
            List<IntegrationConnection> page =
                    connections.listForIntegration(integration.id(), QueryParams.cursor(ctx), limit);
            ctx.json(QueryParams.page("connections", page, limit, IntegrationConnection::id));
        });
        routes.get("/api/v1/connections/{connectionId}", ctx -> {
            auth.requireAdmin(ctx);
            ctx.json(connections.get(ctx.pathParam("connectionId")));
        });
        routes.post("/api/v1/connections/{connectionId}/disable", ctx -> setEnabled(ctx, false));
        routes.post("/api/v1/connections/{connectionId}/enable", ctx -> setEnabled(ctx, true));
        routes.post("/api/v1/connections/{connectionId}/rotate-token", this::rotateToken);
        routes.delete("/api/v1/connections/{connectionId}", this::deleteConnection);
        routes.post("/api/v1/collections", this::createCollection);
        routes.get("/api/v1/collections", ctx -> {
            auth.requireAdmin(ctx);
            QueryParams.only(ctx);
            ctx.json(Map.of("collections", collections.list()));
        });
        routes.get("/api/v1/collections/{collection}", ctx -> {
            auth.requireAdmin(ctx);
            ctx.json(collections.get(ctx.pathParam("collection")));
        });
    }

    private void createTenant(Context ctx) {
        auth.requireAdmin(ctx);
        JsonBody body = JsonBody.of(ctx, "id", "name");
        // As written, as every later request names it: " t9 " is refused, not created as "t9".
        String id = body.asWritten("id");
        Tenant tenant = tenants.create(id, body.has("name") ? body.displayName("name", 200) : null);
        ctx.status(201).json(tenant);
    }

    private void listTenants(Context ctx) {
        auth.requireAdmin(ctx);
        QueryParams.only(ctx, "limit", "cursor");
        int limit = QueryParams.limit(ctx);
        List<Tenant> page = tenants.list(QueryParams.cursor(ctx), limit);
        ctx.json(QueryParams.page("tenants", page, limit, Tenant::id));
    }

    private void createIntegration(Context ctx) {
        auth.requireAdmin(ctx);
        JsonBody body = JsonBody.of(ctx, "name", "permissions", "eventTypes");
        String name = body.requiredDisplayName("name", 200);
        Permissions permissions = permissions(body, true);
        List<String> eventTypes = eventTypes(body, true);
        IntegrationStore.Created created = integrations.create(name, permissions, eventTypes);
        ctx.status(201).json(withSecret(created.integration(), "clientKey", created.clientKey()));
    }

    private void listIntegrations(Context ctx) {
        auth.requireAdmin(ctx);
        QueryParams.only(ctx, "limit", "cursor");
        int limit = QueryParams.limit(ctx);
        List<Integration> page = integrations.list(QueryParams.cursor(ctx), limit);
        ctx.json(QueryParams.page("integrations", page, limit, Integration::id));
    }

    private void getIntegration(Context ctx) {
        String id = ctx.pathParam("integrationId");
        switch (auth.authenticate(ctx)) {
            case Authenticator.Admin admin -> ctx.json(integrations.get(id));
            case Authenticator.Client client
            when client.integration().id().equals(id) -> ctx.json(client.integration());
            default -> throw new Refusal.Forbidden("only the admin key or this integration's client key may read it");
        }
    }

    private void updateIntegration(Context ctx) {
        auth.requireAdmin(ctx);
        JsonBody body = JsonBody.of(ctx, "name", "permissions", "eventTypes");
        Integration updated = integrations.update(
                ctx.pathParam("integrationId"),
                body.displayName("name", 200),
                permissions(body, false),
                eventTypes(body, false),
                endpoints::forgetKeptBodies);
        ctx.json(updated);
    }

    private void rotateClientKey(Context ctx) {
        auth.requireAdmin(ctx);
        JsonBody.none(ctx);
        IntegrationStore.Rotated rotated =
                integrations.rotateClientKey(ctx.pathParam("integrationId"), endpoints::disableLifecycle);
        ObjectNode json = withSecret(rotated.integration(), "clientKey", rotated.clientKey());
        json.set("disabledEndpoints", Json.MAPPER.valueToTree(rotated.revoked()));
        ctx.json(json);
    }

    private void connect(Context ctx) {
        auth.requireAdmin(ctx);
        Integration integration = integrations.get(ctx.pathParam("integrationId"));
        JsonBody body = JsonBody.of(ctx, "tenantId");
        String tenantId = body.requiredString("tenantId", 64);
        Tenant tenant = tenants.find(tenantId)
                .orElseThrow(() -> new Refusal.InvalidField("tenantId", "no tenant '" + tenantId + "'"));
        ConnectionStore.WithToken created = connections.create(integration, tenant);
        ctx.status(201).json(withSecret(created.connection(), "accessToken", created.accessToken()));
    }

    private void setEnabled(Context ctx, boolean enabled) {
        auth.requireAdmin(ctx);
        JsonBody.none(ctx);
        var connection = connections.setEnabled(ctx.pathParam("connectionId"), enabled);
        ctx.json(connection);
    }

    private void rotateToken(Context ctx) {
        auth.requireAdmin(ctx);
        JsonBody.none(ctx);
        ConnectionStore.WithToken rotated = connections.rotateToken(ctx.pathParam("connectionId"));
        ctx.json(withSecret(rotated.connection(), "accessToken", rotated.accessToken()));
    }

    private void deleteConnection(Context ctx) {
        auth.requireAdmin(ctx);
        JsonBody.none(ctx);
        var connection = connections.get(ctx.pathParam("connectionId"));
        connections.delete(connection.id());
        ctx.status(204);
    }

    private void createCollection(Context ctx) {
        auth.requireAdmin(ctx);
        JsonBody body = JsonBody.of(ctx, "name", "schema", "eventFields");
        String name = body.requiredAsWritten("name");
        List<String> fields = body.stringList("eventFields", 32);
        var schema = body.node().get("schema");
        if (schema != null && !schema.isNull() && !schema.isObject()) {
            throw new Refusal.InvalidField("schema", "must be a JSON Schema object");
        }
        var created = collections.create(new CollectionDefinition(
                name, schema == null || schema.isNull() ? null : schema, fields == null ? List.of() : fields));
        ctx.status(201).json(created);
    }

    private Permissions permissions(JsonBody body, boolean required) {
        if (!body.has("permissions")) {
            if (required) {
                throw new Refusal.InvalidField(
                        "permissions", "is required: {\"read\": [collections], \"write\": [collections]}");
            }
            return null;
        }
        var node = body.object("permissions");
        node.fieldNames().forEachRemaining(f -> {
            if (!f.equals("read") && !f.equals("write")) {
                throw new Refusal.InvalidField("permissions." + f, "is not a permission (read, write)");
            }
        });
        List<String> read = JsonBody.stringList(node.get("read"), "permissions.read", 1000);
        List<String> write = JsonBody.stringList(node.get("write"), "permissions.write", 1000);
        return new Permissions(
                checkCollections(read, "permissions.read"), checkCollections(write, "permissions.write"));
    }

    private List<String> checkCollections(List<String> names, String field) {
        if (names == null) {
            return List.of();
        }
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            if (!name.equals("*") && !collections.exists(name)) {
                throw new Refusal.InvalidField(field + "[" + i + "]", "no collection named '" + name + "' (or use *)");
            }
        }
        return List.copyOf(new java.util.LinkedHashSet<>(names));
    }

    private static List<String> eventTypes(JsonBody body, boolean required) {
        List<String> types = body.stringList("eventTypes", 1000);
        if (types == null) {
            return required ? List.of() : null;
        }
        EventTypes.requirePatterns(types, "eventTypes");
        return List.copyOf(new java.util.LinkedHashSet<>(types));
    }

    /** A created object's JSON with the secret that is shown this once. */
    private static ObjectNode withSecret(Object created, String field, String secret) {
        ObjectNode json = Json.MAPPER.valueToTree(created);
        json.put(field, secret);
        return json;
    }
}
