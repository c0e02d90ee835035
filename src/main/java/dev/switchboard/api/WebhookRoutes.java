package dev.switchboard.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.switchboard.auth.Authenticator;
import dev.switchboard.config.Durations;
import dev.switchboard.config.WebhookSettings;
import dev.switchboard.events.EventTypes;
import dev.switchboard.store.Capability;
import dev.switchboard.store.Integration;
import dev.switchboard.store.IntegrationStore;
import dev.switchboard.store.Tenant;
import dev.switchboard.store.TenantStore;
import dev.switchboard.support.Instants;
import dev.switchboard.support.Json;
import dev.switchboard.support.Refusal;
import dev.switchboard.web.RouteGroup;
import dev.switchboard.webhooks.AddressPolicy;
import dev.switchboard.webhooks.BulkRetry;
import dev.switchboard.webhooks.DeliveryOverview;
import dev.switchboard.webhooks.EndpointStore;
import dev.switchboard.webhooks.MessageFilter;
import dev.switchboard.webhooks.MessagePage;
import dev.switchboard.webhooks.WebhookEndpoint;
import dev.switchboard.webhooks.WebhookMessage;
import dev.switchboard.webhooks.WebhookMessages;
import dev.switchboard.webhooks.WebhookUrl;
import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRoutingApi;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Webhook endpoints and their messages. An integration's client key manages its own endpoints (other
 * integrations' are 404 to it); the admin key manages any, and {@code GET /api/v1/webhooks} shows the
 * operator every configured endpoint.
 */
public final class WebhookRoutes implements RouteGroup {
    private static final Duration MAX_RETRY_DELAY = Duration.ofDays(7);
    /**
     * An endpoint's own delays are a partner's choice: without a floor, twenty delays of 0s had the
     * server send each failed message 21 times within seconds, to a URL of the partner's choosing.
     */
    private static final Duration MIN_RETRY_DELAY = Duration.ofSeconds(1);

    private static final int MAX_RETRY_DELAYS = 20;
    /** Failed messages one retry-all request sends again at most; the caller repeats it for more. */
    static final int MAX_RETRY_ALL = 10_000;

    private final Authenticator auth;
    private final IntegrationStore integrations;
    private final TenantStore tenants;
    private final EndpointStore endpoints;
    private final WebhookMessages messages;
    private final WebhookSettings settings;
    private final AddressPolicy addresses;
    private final DeliveryOverview overview;
    private final InstantSource clock;

    /** {@code addresses} decides which URLs an endpoint may be registered with. */
    public WebhookRoutes(
            Authenticator auth,
            IntegrationStore integrations,
            TenantStore tenants,
            EndpointStore endpoints,
            WebhookMessages messages,
            WebhookSettings settings,
            AddressPolicy addresses,
            DeliveryOverview overview,
            InstantSource clock) {
        this.overview = overview;
        this.auth = auth;
        this.integrations = integrations;
        this.tenants = tenants;
        this.endpoints = endpoints;
        this.messages = messages;
        this.settings = settings;
        this.addresses = addresses;
        this.clock = clock;
    }

    @Override
    public void register(JavalinDefaultRoutingApi routes) {
        routes.post("/api/v1/webhooks", this::create);
        routes.get("/api/v1/webhooks", this::list);
        routes.get("/api/v1/webhooks/{webhookId}", ctx -> ctx.json(shown(ctx, endpoint(ctx))));
        routes.patch("/api/v1/webhooks/{webhookId}", this::update);
        routes.delete("/api/v1/webhooks/{webhookId}", ctx -> {
            WebhookEndpoint endpoint = endpoint(ctx, Capability.manage_endpoints);
            JsonBody.none(ctx);
            endpoints.delete(endpoint, credential(ctx));
            ctx.status(204);
        });
        routes.post("/api/v1/webhooks/{webhookId}/rotate-secret", ctx -> {
            WebhookEndpoint endpoint = endpoint(ctx, Capability.secrets);
            JsonBody.none(ctx);
            String secret = endpoints.rotateSecret(endpoint, settings.secretGracePeriod());
            ObjectNode json = Json.MAPPER.valueToTree(endpoint);
            json.put("secret", secret);
            json.put("previousSecretsValidFor", Durations.format(settings.secretGracePeriod()));
            ctx.json(json);
        });
        routes.get("/api/v1/webhooks/{webhookId}/messages", this::listMessages);
        routes.post("/api/v1/webhooks/{webhookId}/messages/retry", this::retryAll);
        routes.get("/api/v1/webhooks/{webhookId}/messages/{messageId}", ctx -> {
            WebhookEndpoint endpoint = endpoint(ctx);
            ctx.json(visibleMessage(ctx, endpoint, ctx.pathParam("messageId")));
        });
        routes.post("/api/v1/webhooks/{webhookId}/messages/{messageId}/retry", ctx -> {
            WebhookEndpoint endpoint = endpoint(ctx, Capability.retry);
            JsonBody.none(ctx);
            String id = ctx.pathParam("messageId");
            visibleMessage(ctx, endpoint, id);
            ctx.status(202).json(messages.retry(endpoint, id));
        });
        routes.post("/api/v1/webhooks/{webhookId}/replay", this::replay);
        routes.get("/api/v1/webhooks/{webhookId}/streams", ctx -> {
            WebhookEndpoint endpoint = endpoint(ctx);
            Long tenantPk = Authenticator.portalTenant(ctx).orElse(null);
            QueryParams.only(ctx, "limit", "cursor");
            int limit = QueryParams.limit(ctx);
            List<DeliveryOverview.Stream> page = overview.streams(endpoint, tenantPk, QueryParams.cursor(ctx), limit);
            ctx.json(QueryParams.page("streams", page, limit, DeliveryOverview.Stream::tenantId));
        });
        routes.post("/api/v1/webhooks/{webhookId}/test", ctx -> {
            WebhookEndpoint endpoint = endpoint(ctx, Capability.retry);
            JsonBody.none(ctx);
            ctx.status(202).json(Map.of("messageId", messages.test(endpoint, clock)));
        });
    }

    private void create(Context ctx) {
        Authenticator.Principal principal = auth.authenticate(ctx);
        Authenticator.requireCapability(ctx, Capability.manage_endpoints);
        JsonBody body = JsonBody.of(ctx, "url", "kind", "eventTypes", "maxBatchSize", "retryDelays", "integrationId");
        Integration integration =
                ActingIntegration.of(principal, body, integrations, "webhooks", WebhookRoutes::notForAccessTokens);
        WebhookUrl url = WebhookUrl.parse(refuseHiddenQuery(body.requiredString("url", 2048)), "url", addresses);
        WebhookEndpoint.Kind kind = kind(body.string("kind", 20));
        requireSecretsForLifecycle(ctx, kind);
        requireHttpsForLifecycle(url, kind);
        List<String> eventTypes = eventTypes(body, kind, integration);
        int batch = batchSize(body.node().get("maxBatchSize"));
        List<Duration> delays = retryDelays(body.node().get("retryDelays")).orElse(null);
        EndpointStore.Created created = endpoints.create(
                integration,
                url,
                kind,
                eventTypes == null ? List.of("*") : eventTypes,
                batch,
                delays,
                Authenticator.credential(principal));
        ObjectNode json = shown(ctx, created.endpoint());
        // A portal session sees a signing secret only with the secrets capability.
        if (maySeeSecrets(ctx)) {
            json.put("secret", created.secret());
        }
        ctx.status(201).json(json);
    }

    private void list(Context ctx) {
        Authenticator.Principal principal = auth.authenticate(ctx);
        QueryParams.only(ctx, "integrationId", "limit", "cursor");
        Long integrationPk = switch (principal) {
            case Authenticator.Admin admin -> {
                String id = ctx.queryParam("integrationId");
                yield id == null || id.isBlank()
                        ? null
                        : integrations
                                .find(id)
                                .orElseThrow(
                                        () -> new Refusal.InvalidField("integrationId", "no integration '" + id + "'"))
                                .pk();
            }
            case Authenticator.Client client -> {
                // A client key lists its own integration's endpoints; naming another must not look like a
                // filter that found them.
                String id = ctx.queryParam("integrationId");
                if (id != null && !id.equals(client.integration().id())) {
                    throw new Refusal.InvalidField(
                            "integrationId", "a client key lists its own integration's endpoints; leave it out");
                }
                yield client.integration().pk();
            }
            case Authenticator.Access access -> throw notForAccessTokens();
        };
        int limit = QueryParams.limit(ctx);
        List<WebhookEndpoint> page = endpoints.list(integrationPk, QueryParams.cursor(ctx), limit);
        ctx.json(QueryParams.page(
                "webhooks",
                page.stream().map(e -> shown(ctx, e)).toList(),
                page.size() == limit ? page.getLast().id() : null));
    }

    private void update(Context ctx) {
        WebhookEndpoint endpoint = endpoint(ctx, Capability.manage_endpoints);
        requireSecretsForLifecycle(ctx, endpoint.kind());
        JsonBody body = JsonBody.of(ctx, "url", "kind", "eventTypes", "maxBatchSize", "retryDelays", "state");
        String kind = body.string("kind", 20);
        if (kind != null && !kind.equals(endpoint.kind().name())) {
            throw new Refusal.InvalidField("kind", "cannot be changed; create another endpoint");
        }
        String urlText = body.string("url", 2048);
        if (urlText != null && (urlText.equals(endpoint.url()) || urlText.equals(WebhookUrl.redact(endpoint.url())))) {
            urlText = null; // unchanged: as it is, or as shown to a session without secrets
        }
        String url = null;
        if (urlText != null) {
            WebhookUrl parsed = WebhookUrl.parse(refuseHiddenQuery(urlText), "url", addresses);
            requireHttpsForLifecycle(parsed, endpoint.kind());
            url = parsed.toString();
        }
        Integration integration = integrations.get(endpoint.integrationId());
        List<String> eventTypes = eventTypes(body, endpoint.kind(), integration);
        // null is the default, as when an endpoint is made (and as retryDelays' null is the server's schedule).
        Integer batch = body.node().has("maxBatchSize") ? batchSize(body.node().get("maxBatchSize")) : null;
        boolean setDelays = body.node().has("retryDelays");
        List<Duration> delays = retryDelays(body.node().get("retryDelays")).orElse(null);
        WebhookEndpoint.State state = switch (body.string("state", 20)) {
            case null -> null;
            case "enabled" -> WebhookEndpoint.State.enabled;
            case "disabled" -> WebhookEndpoint.State.disabled;
            default -> throw new Refusal.InvalidField("state", "must be enabled or disabled");
        };
        ctx.json(shown(
                ctx,
                endpoints.update(
                        endpoint,
                        new EndpointStore.Patch(url, eventTypes, batch, setDelays, delays, state),
                        credential(ctx))));
    }

    /** What the integration that asked authenticated with; null for the admin key (or an operator session). */
    private static IntegrationStore.ClientCredential credential(Context ctx) {
        return Authenticator.authenticated(ctx).map(Authenticator::credential).orElse(null);
    }

    private void listMessages(Context ctx) {
        WebhookEndpoint endpoint = endpoint(ctx);
        QueryParams.only(ctx, "status", "tenantId", "eventType", "from", "to", "limit", "cursor");
        WebhookMessage.Status status = switch (ctx.queryParam("status")) {
            case null -> null;
            case "" -> null;
            case "pending" -> WebhookMessage.Status.pending;
            case "delivered" -> WebhookMessage.Status.delivered;
            case "failed" -> WebhookMessage.Status.failed;
            default -> throw new Refusal.InvalidField("status", "must be pending, delivered or failed");
        };
        MessageFilter filter = filter(
                        ctx,
                        ctx.queryParam("tenantId"),
                        ctx.queryParam("eventType"),
                        ctx.queryParam("from"),
                        ctx.queryParam("to"))
                .withStatus(status);
        int limit = QueryParams.limit(ctx, 50, 500);
        MessagePage page = messages.list(endpoint, filter, QueryParams.cursor(ctx), limit);
        ctx.json(QueryParams.page("messages", page.messages(), page.cursor()));
    }

    /**
     * Retries the failed messages the filter picks after the cursor (up to {@link #MAX_RETRY_ALL} a request,
     * among as many messages as one request looks through); the answer's cursor says where to go on.
     */
    private void retryAll(Context ctx) {
        WebhookEndpoint endpoint = endpoint(ctx, Capability.retry);
        // The list takes these filters in its query; here they are the body's (a query is refused before).
        JsonBody body = JsonBody.absent(ctx) ? null : JsonBody.of(ctx, "tenantId", "eventType", "from", "to", "cursor");
        MessageFilter filter = body == null
                ? filter(ctx, null, null, null, null)
                : filter(
                        ctx,
                        body.string("tenantId", 64),
                        body.string("eventType", 200),
                        body.string("from", 64),
                        body.string("to", 64));
        if (filter.tenantId() != null) {
            // As a replay: a tenant the endpoint does not follow (a typo, say) is refused, not answered
            // "0 retried" as if its messages had all been sent.
            followedTenant(endpoint, filter.tenantId());
        }
        BulkRetry retried =
                messages.retryAll(endpoint, filter, body == null ? null : body.string("cursor", 64), MAX_RETRY_ALL);
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("retried", retried.retried());
        answer.put("limit", MAX_RETRY_ALL);
        answer.put("cursor", retried.cursor());
        ctx.status(202).json(answer);
    }

    /**
     * A message filter from its fields as given (query or body), each checked: a portal session narrowed
     * to a tenant always filters by it (another tenant named is refused).
     */
    private MessageFilter filter(Context ctx, String tenantId, String eventType, String fromText, String toText) {
        String tenant = given(tenantId);
        Optional<String> narrowed = Authenticator.session(ctx).map(s -> s.tenantId());
        if (narrowed.isPresent()) {
            if (tenant != null && !tenant.equals(narrowed.get())) {
                throw new Refusal.InvalidField("tenantId", "this portal session is for another tenant");
            }
            tenant = narrowed.get();
        }
        String type = given(eventType);
        if (type != null && !EventTypes.isPattern(type)) {
            throw new Refusal.InvalidField(
                    "eventType",
                    "'" + type + "' is not an event type or pattern (reservations.created, reservations.*)");
        }
        Instant from = given(fromText) == null ? null : Instants.parse(fromText, "from");
        Instant to = given(toText) == null ? null : Instants.parse(toText, "to");
        if (from != null && to != null && !from.isBefore(to)) {
            throw new Refusal.InvalidField("to", "must be after from");
        }
        return new MessageFilter(null, tenant, type, from, to);
    }

    /** A filter field as given, or null when it is missing or blank (no filter). */
    private static String given(String text) {
        return text == null || text.isBlank() ? null : text;
    }

    private void replay(Context ctx) {
        WebhookEndpoint endpoint = endpoint(ctx, Capability.retry);
        if (endpoint.kind() == WebhookEndpoint.Kind.lifecycle) {
            // Its messages carry each connection's access token: replayed to an endpoint registered with a
            // leaked client key, they would hand over every token still within the events retention.
            throw new Refusal.Invalid(
                    "invalid_request",
                    "a lifecycle endpoint is not replayed: its messages carry access tokens, which are sent"
                            + " when they are issued and not again (a failed one can be retried)");
        }
        JsonBody body = JsonBody.of(ctx, "fromSeq", "since", "tenantId");
        JsonNode from = body.node().get("fromSeq");
        String sinceText = body.string("since", 64);
        if ((from == null || from.isNull()) == (sinceText == null)) {
            throw new Refusal.Invalid("invalid_field", "give exactly one of fromSeq (a position) or since (a time)");
        }
        Long fromSeq = null;
        if (from != null && !from.isNull()) {
            if (!from.canConvertToLong() || !from.isIntegralNumber() || from.asLong() < 1) {
                throw new Refusal.InvalidField("fromSeq", "must be a whole number of 1 or more");
            }
            fromSeq = from.asLong();
        }
        Instant since = sinceText == null ? null : Instants.parse(sinceText, "since");
        if (since != null && since.isAfter(clock.instant())) {
            // No event is there to replay; and finding none reads every event of every stream it follows.
            throw new Refusal.InvalidField("since", "is in the future: replay from a time that has passed");
        }
        String tenantId = body.string("tenantId", 64);
        Long tenantPk = tenantId == null ? null : followedTenant(endpoint, tenantId);
        Optional<Long> narrowed = Authenticator.portalTenant(ctx);
        if (narrowed.isPresent()) {
            if (tenantPk != null && !tenantPk.equals(narrowed.get())) {
                throw new Refusal.InvalidField("tenantId", "this portal session is for another tenant");
            }
            tenantPk = narrowed.get();
        }
        int streams = messages.replay(endpoint, tenantPk, fromSeq, since);
        ctx.status(202).json(Map.of("streams", streams));
    }

    /**
     * The key of a tenant the endpoint follows (its integration is connected to it, enabled or not). One
     * answer for a tenant it does not follow, whether it exists or not: a client key must not learn which
     * tenants of other integrations exist.
     */
    private long followedTenant(WebhookEndpoint endpoint, String tenantId) {
        return tenants.find(tenantId)
                .map(Tenant::pk)
                .filter(pk -> endpoints.follows(endpoint.pk(), pk))
                .orElseThrow(() -> new Refusal.InvalidField(
                        "tenantId", "the endpoint's integration has no connection to a tenant '" + tenantId + "'"));
    }

    /**
     * A message of the endpoint the caller may see: a portal session narrowed to a tenant sees only that
     * tenant's messages (others are 404, as if absent).
     */
    private WebhookMessage visibleMessage(Context ctx, WebhookEndpoint endpoint, String id) {
        Optional<String> tenant = Authenticator.session(ctx).map(s -> s.tenantId());
        return messages.get(endpoint, id)
                .filter(m -> tenant.isEmpty() || tenant.get().equals(m.tenantId()))
                .orElseThrow(() -> new Refusal.NotFound("message '" + id + "'"));
    }

    /** The endpoint named in the path, if the caller may manage it and (a portal session) has {@code capability}. */
    private WebhookEndpoint endpoint(Context ctx, Capability capability) {
        WebhookEndpoint endpoint = endpoint(ctx);
        Authenticator.requireCapability(ctx, capability);
        return endpoint;
    }

    /** The endpoint named in the path, if the caller may manage it: another integration's is 404, as if absent. */
    private WebhookEndpoint endpoint(Context ctx) {
        Authenticator.Principal principal = auth.authenticate(ctx);
        if (principal instanceof Authenticator.Access) {
            throw notForAccessTokens();
        }
        String id = ctx.pathParam("webhookId");
        return endpoints
                .find(id)
                .filter(e -> !(principal instanceof Authenticator.Client client)
                        || client.integration().pk() == e.integrationPk())
                .orElseThrow(() -> new Refusal.NotFound("webhook '" + id + "'"));
    }

    /**
     * The endpoint as the caller may see it. Partners keep shared secrets in a webhook URL's query too
     * ({@code ?token=…}), so a portal session without the secrets capability gets the URL without its
     * query, as the audit log shows it; sent back unchanged in a PATCH, it leaves the URL as it is.
     */
    private static ObjectNode shown(Context ctx, WebhookEndpoint endpoint) {
        ObjectNode json = Json.MAPPER.valueToTree(endpoint);
        if (!maySeeSecrets(ctx)) {
            json.put("url", WebhookUrl.redact(endpoint.url()));
        }
        return json;
    }

    /**
     * A URL whose query is the "?…" a session without the secrets capability is shown in place of the
     * real one, changed elsewhere (a new path, say): taken as written, the receiver's query (often a shared
     * secret) would be replaced by the ellipsis and its requests refused, with the change answered as made.
     */
    private static String refuseHiddenQuery(String url) {
        if (WebhookUrl.queryHidden(url)) {
            throw new Refusal.InvalidField(
                    "url",
                    "has '?…' for its query, which stands for a query that is not shown: send the URL as it"
                            + " was shown to keep it unchanged, or the whole URL with its query");
        }
        return url;
    }

    /** Every caller but a portal session without the secrets capability. */
    private static boolean maySeeSecrets(Context ctx) {
        return Authenticator.session(ctx).map(s -> s.may(Capability.secrets)).orElse(true);
    }

    /**
     * A lifecycle endpoint's messages carry the access tokens of the integration's connections, so a
     * portal session creates or changes one (its URL, or enabling it) only with the {@code secrets}
     * capability: else a session that may not see a signing secret could have every
     * tenant's token sent to a URL of its choosing.
     */
    private static void requireSecretsForLifecycle(Context ctx, WebhookEndpoint.Kind kind) {
        if (kind == WebhookEndpoint.Kind.lifecycle) {
            Authenticator.requireCapability(ctx, Capability.secrets);
        }
    }

    /**
     * A lifecycle message carries a connection's new access token: over plain http anyone on the path
     * reads it. Only a server that allows private addresses (development, tests, a receiver on the same
     * private network) may send it so.
     */
    private void requireHttpsForLifecycle(WebhookUrl url, WebhookEndpoint.Kind kind) {
        if (kind == WebhookEndpoint.Kind.lifecycle && !addresses.mayCarrySecretsTo(url.uri())) {
            throw new Refusal.InvalidField(
                    "url",
                    "must be an https URL for a lifecycle endpoint: its messages carry"
                            + " access tokens, which http would send in clear text");
        }
    }

    private static Refusal notForAccessTokens() {
        return new Refusal.Forbidden("webhooks are managed with the integration's client key or the admin key,"
                + " not a connection's access token");
    }

    private static WebhookEndpoint.Kind kind(String text) {
        if (text == null) {
            return WebhookEndpoint.Kind.events;
        }
        try {
            return WebhookEndpoint.Kind.valueOf(text);
        } catch (IllegalArgumentException e) {
            throw new Refusal.InvalidField("kind", "must be events or lifecycle");
        }
    }

    /**
     * The endpoint's patterns, or null when not given. They can only narrow what the integration may
     * receive, so a pattern that shares no type with the integration's is refused, and so is one of
     * Switchboard's own types on an events endpoint; lifecycle endpoints take {@code connection.*} patterns.
     */
    private static List<String> eventTypes(JsonBody body, WebhookEndpoint.Kind kind, Integration integration) {
        List<String> types = body.stringList("eventTypes", 100);
        if (types == null) {
            return null;
        }
        if (types.isEmpty()) {
            throw new Refusal.InvalidField("eventTypes", "must name at least one pattern (* for everything)");
        }
        EventTypes.requirePatterns(types, "eventTypes");
        List<String> allowed =
                kind == WebhookEndpoint.Kind.lifecycle ? List.of("connection.*") : integration.eventTypes();
        for (int i = 0; i < types.size(); i++) {
            String pattern = types.get(i);
            if (kind == WebhookEndpoint.Kind.events && EventTypes.isOwn(pattern)) {
                // A tenant's log never holds them, whatever the integration may receive: such an endpoint
                // would wait for events that never come.
                throw new Refusal.InvalidField(
                        "eventTypes[" + i + "]",
                        "'" + pattern + "' names Switchboard's own events, which an events endpoint never"
                                + " receives; connection.* events go to a lifecycle endpoint (kind: lifecycle)");
            }
            if (allowed.stream().noneMatch(a -> EventTypes.overlap(a, pattern))) {
                throw new Refusal.InvalidField(
                        "eventTypes[" + i + "]",
                        kind == WebhookEndpoint.Kind.lifecycle
                                ? "'" + pattern
                                        + "' is not a lifecycle event pattern (connection.*, connection.created, …)"
                                : integration.eventTypes().isEmpty()
                                        ? "integration '" + integration.id()
                                                + "' may receive no event types (its eventTypes"
                                                + " are empty); the operator grants them on the integration"
                                        : "'" + pattern + "' matches none of the event types integration '"
                                                + integration.id() + "' may receive " + integration.eventTypes());
            }
        }
        return List.copyOf(new LinkedHashSet<>(types));
    }

    private static int batchSize(JsonNode node) {
        if (node == null || node.isNull()) {
            return WebhookEndpoint.DEFAULT_BATCH_SIZE;
        }
        if (!node.isIntegralNumber()
                || !node.canConvertToInt()
                || node.asInt() < 1
                || node.asInt() > WebhookEndpoint.MAX_BATCH_SIZE) {
            throw new Refusal.InvalidField(
                    "maxBatchSize", "must be a whole number from 1 to " + WebhookEndpoint.MAX_BATCH_SIZE);
        }
        return node.asInt();
    }

    /** A retry schedule given as durations (["10s", "5m"]); empty when absent or null (the server's schedule). */
    private static Optional<List<Duration>> retryDelays(JsonNode node) {
        if (node == null || node.isNull()) {
            return Optional.empty();
        }
        List<String> texts = JsonBody.stringList(node, "retryDelays", MAX_RETRY_DELAYS);
        List<Duration> delays = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            Duration d;
            Refusal outOfRange = new Refusal.InvalidField("retryDelays[" + i + "]", "must be from 1s to 7d");
            try {
                d = Durations.parse(texts.get(i));
            } catch (Durations.TooLong e) {
                throw outOfRange; // not the limit of every setting, which the parser names
            } catch (IllegalArgumentException e) {
                throw new Refusal.InvalidField("retryDelays[" + i + "]", e.getMessage());
            }
            if (d.compareTo(MAX_RETRY_DELAY) > 0 || d.compareTo(MIN_RETRY_DELAY) < 0) {
                throw outOfRange;
            }
            delays.add(d);
        }
        return Optional.of(delays);
    }
}
