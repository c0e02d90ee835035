package dev.switchboard.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.switchboard.auth.Authenticator;
import dev.switchboard.store.AuditLog;
import dev.switchboard.store.ConsoleSession;
import dev.switchboard.support.Json;
import dev.switchboard.support.JsonInput;
import dev.switchboard.web.RequestBodies;
import dev.switchboard.web.RequestIds;
import dev.switchboard.web.RouteGroup;
import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRoutingApi;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit log: every change made through the API (a POST, PATCH or DELETE answered 2xx) by the admin
 * key, a client key, or a console or portal session gets one entry, written right after the change,
 * before the answer is sent: who (the kind of actor, its session, its integration), what (the action
 * and its target), when, and the request's details (its body, with secrets and URL queries left out).
 * A route may write the entry in the change's own transaction instead ({@link #writtenByRoute}), so the
 * entry commits with the change or not at all: publishing a custom event does.
 * A connection's access token changes records and publishes events: those are in the event log itself
 * and are not audited. {@code GET /api/v1/audit-log} lists the entries for the operator.
 */
public final class AuditRoutes implements RouteGroup {
    private static final Logger log = LoggerFactory.getLogger(AuditRoutes.class);
    private static final int MAX_DETAILS_CHARS = 4096;
    private static final Set<String> CHANGES = Set.of("POST", "PUT", "PATCH", "DELETE");
    /** Set on a request whose route wrote its entry itself. */
    private static final String WRITTEN_BY_ROUTE = "switchboard.audit.writtenByRoute";
    /**
     * The routes whose request body is copied into the entry: those that read one, as their change is
     * what it says. Not the sign-ins (their bodies are secrets), nor record data and events (in the event
     * log already), nor a route that reads no body: whatever a caller sent with a test or a DELETE would
     * otherwise be kept, up to 4 KiB of its own choosing an entry.
     */
    private static final Set<String> WITH_BODY = Set.of(
            "POST /api/v1/tenants",
            "POST /api/v1/integrations",
            "PATCH /api/v1/integrations/{integrationId}",
            "POST /api/v1/integrations/{integrationId}/connections",
            "POST /api/v1/collections",
            "POST /api/v1/webhooks",
            "PATCH /api/v1/webhooks/{webhookId}",
            "POST /api/v1/webhooks/{webhookId}/messages/retry",
            "POST /api/v1/webhooks/{webhookId}/replay",
            "POST /api/v1/portal-sessions");

    /** Each change's action name and the type of its target. */
    private record Action(String name, String targetType) {}

    private static final Map<String, Action> ACTIONS = Map.ofEntries(
            Map.entry("POST /api/v1/tenants", new Action("tenant.create", "tenant")),
            Map.entry("POST /api/v1/integrations", new Action("integration.create", "integration")),
            Map.entry("PATCH /api/v1/integrations/{integrationId}", new Action("integration.update", "integration")),
            Map.entry(
                    "POST /api/v1/integrations/{integrationId}/rotate-client-key",
                    new Action("integration.rotate_client_key", "integration")),
            Map.entry(
                    "POST /api/v1/integrations/{integrationId}/connections",
                    new Action("connection.create", "connection")),
            Map.entry(
                    "POST /api/v1/connections/{connectionId}/disable", new Action("connection.disable", "connection")),
            Map.entry("POST /api/v1/connections/{connectionId}/enable", new Action("connection.enable", "connection")),
            Map.entry(
                    "POST /api/v1/connections/{connectionId}/rotate-token",
                    new Action("connection.rotate_token", "connection")),
            Map.entry("DELETE /api/v1/connections/{connectionId}", new Action("connection.delete", "connection")),
            Map.entry("POST /api/v1/collections", new Action("collection.create", "collection")),
            Map.entry("POST /api/v1/collections/{collection}/records", new Action("record.create", "record")),
            Map.entry("PATCH /api/v1/collections/{collection}/records/{id}", new Action("record.update", "record")),
            Map.entry("DELETE /api/v1/collections/{collection}/records/{id}", new Action("record.delete", "record")),
            Map.entry("POST /api/v1/events", new Action("event.publish", "event")),
            Map.entry("POST /api/v1/webhooks", new Action("webhook.create", "webhook")),
            Map.entry("PATCH /api/v1/webhooks/{webhookId}", new Action("webhook.update", "webhook")),
            Map.entry("DELETE /api/v1/webhooks/{webhookId}", new Action("webhook.delete", "webhook")),
            Map.entry(
                    "POST /api/v1/webhooks/{webhookId}/rotate-secret", new Action("webhook.rotate_secret", "webhook")),
            Map.entry(
                    "POST /api/v1/webhooks/{webhookId}/messages/retry", new Action("webhook.retry_failed", "webhook")),
            Map.entry(
                    "POST /api/v1/webhooks/{webhookId}/messages/{messageId}/retry",
                    new Action("message.retry", "message")),
            Map.entry("POST /api/v1/webhooks/{webhookId}/replay", new Action("webhook.replay", "webhook")),
            Map.entry("POST /api/v1/webhooks/{webhookId}/test", new Action("webhook.test", "webhook")),
            Map.entry("POST /api/v1/portal-sessions", new Action("portal_link.create", "portal_link")),
            Map.entry("POST /console/api/session", new Action("session.sign_in", "session")),
            Map.entry("DELETE /console/api/session", new Action("session.sign_out", "session")),
            Map.entry("POST /portal/api/session", new Action("portal_session.open", "session")));

    /**
     * Path parameters naming an object, and its type: a change's target when the types match. Where they do
     * not, the parameter names the parent of what is created (a connection of an integration, a record of a
     * collection), and the target is the id the answer returned.
     */
    private static final Map<String, String> TARGET_PARAMS = Map.of(
            "messageId", "message",
            "id", "record",
            "webhookId", "webhook",
            "connectionId", "connection",
            "integrationId", "integration",
            "collection", "collection");

    private final Authenticator auth;
    private final AuditLog audit;

    public AuditRoutes(Authenticator auth, AuditLog audit) {
        this.auth = auth;
        this.audit = audit;
    }

    @Override
    public void register(JavalinDefaultRoutingApi routes) {
        routes.afterMatched(this::recordChange);
        routes.get("/api/v1/audit-log", ctx -> {
            auth.requireAdmin(ctx);
            QueryParams.only(ctx, "limit", "cursor");
            int limit = QueryParams.limit(ctx);
            List<AuditLog.Entry> page = audit.list(QueryParams.cursor(ctx), limit);
            ctx.json(QueryParams.page("entries", page, limit, AuditLog.Entry::id));
        });
    }

    /** The request changed nothing (an update that left the data as it was): it gets no entry. */
    static void unchanged(Context ctx) {
        ctx.attribute(WRITTEN_BY_ROUTE, true);
    }

    /**
     * The change {@code ctx} makes on the route it matched, to {@code targetId}, for the route to record in
     * the change's own transaction; it is then not recorded again once the route has answered. Empty when
     * the change is not audited (a connection's access token: its changes are in the event log).
     */
    static Optional<AuditLog.Change> writtenByRoute(Context ctx, String targetId) {
        Optional<AuditLog.Change> change = change(ctx, action -> new AuditLog.Target(action.targetType(), targetId));
        change.ifPresent(c -> ctx.attribute(WRITTEN_BY_ROUTE, true));
        return change;
    }

    private void recordChange(Context ctx) {
        if (!CHANGES.contains(ctx.method().name())
                || ctx.statusCode() < 200
                || ctx.statusCode() >= 300
                || ctx.attribute(WRITTEN_BY_ROUTE) != null
                // A create replayed for its Idempotency-Key changed nothing: the first one has its entry.
                || "true".equals(ctx.res().getHeader("Idempotent-Replayed"))) {
            return;
        }
        change(ctx, action -> target(ctx, action)).ifPresent(change -> {
            try {
                audit.record(change);
            } catch (RuntimeException e) {
                // The change is made: answering 5xx would have the client make it again. The entry is lost,
                // so the log keeps what it would have said.
                log.error(
                        "Could not write the audit entry of {} on {} {} by {} (request {}): {}",
                        change.action(),
                        change.target() == null ? "-" : change.target().type(),
                        change.target() == null ? "-" : change.target().id(),
                        change.actor().kind(),
                        change.requestId(),
                        e.getMessage());
            }
        });
    }

    /** The change {@code ctx} makes, with the target {@code target} names for its action; empty when not audited. */
    private static Optional<AuditLog.Change> change(Context ctx, Function<Action, AuditLog.Target> target) {
        Optional<AuditLog.Actor> actor = actor(ctx);
        io.javalin.router.Endpoint endpoint = ctx.endpoints().lastHttpEndpoint();
        if (actor.isEmpty() || endpoint == null) {
            return Optional.empty();
        }
        String route = ctx.method().name() + " " + endpoint.path;
        Action action = ACTIONS.getOrDefault(route, new Action(route, null));
        return Optional.of(new AuditLog.Change(
                actor.get(), action.name(), target.apply(action), details(ctx, route), RequestIds.of(ctx)));
    }

    /** Who made the change; empty for a connection's access token (its changes are in the event log). */
    private static Optional<AuditLog.Actor> actor(Context ctx) {
        Optional<ConsoleSession> session = Authenticator.session(ctx);
        if (session.isPresent()) {
            ConsoleSession s = session.get();
            return Optional.of(new AuditLog.Actor(s.kind().name(), s.id(), s.integrationId()));
        }
        return Authenticator.authenticated(ctx).flatMap(p -> switch (p) {
            case Authenticator.Admin admin -> Optional.of(new AuditLog.Actor("admin_key", null, null));
            case Authenticator.Client client ->
                Optional.of(new AuditLog.Actor(
                        "client_key", null, client.integration().id()));
            case Authenticator.Access access -> Optional.<AuditLog.Actor>empty();
        });
    }

    private static AuditLog.Target target(Context ctx, Action action) {
        for (Map.Entry<String, String> param : ctx.pathParamMap().entrySet()) {
            if (param.getValue() != null
                    && TARGET_PARAMS.get(param.getKey()) instanceof String type
                    && type.equals(action.targetType())) {
                return new AuditLog.Target(type, param.getValue());
            }
        }
        JsonNode answer = answer(ctx);
        for (String field : List.of("id", "sessionId", "name")) {
            if (answer != null && answer.path(field).isTextual()) {
                return new AuditLog.Target(
                        action.targetType(), answer.get(field).asText());
            }
        }
        Optional<ConsoleSession> session = Authenticator.session(ctx);
        if (session.isPresent() && "session".equals(action.targetType())) {
            return new AuditLog.Target("session", session.get().id());
        }
        return null;
    }

    /** The JSON the route answered, when it is an object. */
    private static JsonNode answer(Context ctx) {
        try {
            String result = ctx.result();
            if (result == null || result.isEmpty() || result.charAt(0) != '{') {
                return null;
            }
            return Json.read(result);
        } catch (RuntimeException e) {
            log.debug("Answer of {} is not JSON: {}", ctx.path(), e.getMessage());
            return null;
        }
    }

    /**
     * The request body (a JSON object of at most 4 KiB that jsonb can store), with the queries of URLs (shared
     * secrets) left out.
     */
    private static Object details(Context ctx, String route) {
        Map<String, Object> details = new LinkedHashMap<>();
        if (ctx.pathParamMap().containsKey("collection")) {
            details.put("collection", ctx.pathParam("collection"));
        }
        if (WITH_BODY.contains(route)) {
            byte[] bytes = RequestBodies.of(ctx);
            if (bytes.length > 0 && bytes.length <= MAX_DETAILS_CHARS) {
                try {
                    JsonNode body = Json.MAPPER.readTree(new String(bytes, StandardCharsets.UTF_8));
                    if (body != null && body.isObject()) {
                        // A route that reads no body never refused one jsonb cannot store (a NUL, a number of
                        // 200,000 digits): such a body is left out, so the entry itself is not lost with it.
                        JsonInput.check(body, "");
                        ObjectNode copy = body.deepCopy();
                        JsonNode url = copy.get("url");
                        if (url != null && url.isTextual() && url.asText().contains("?")) {
                            copy.put(
                                    "url",
                                    url.asText().substring(0, url.asText().indexOf('?')) + "?…");
                        }
                        details.put("request", copy);
                    }
                } catch (java.io.IOException | RuntimeException e) {
                    log.debug("Body of {} is not JSON: {}", ctx.path(), e.getMessage());
                }
            }
        }
        return details.isEmpty() ? null : details;
    }
}
