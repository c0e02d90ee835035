package dev.switchboard.api;

import dev.switchboard.auth.Authenticator;
import dev.switchboard.config.Durations;
import dev.switchboard.store.Capability;
import dev.switchboard.store.ConsoleSessionStore;
import dev.switchboard.store.Integration;
import dev.switchboard.store.IntegrationStore;
import dev.switchboard.store.Tenant;
import dev.switchboard.store.TenantStore;
import dev.switchboard.support.Refusal;
import dev.switchboard.web.RouteGroup;
import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRoutingApi;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code POST /api/v1/portal-sessions}: a single-use link to the partner portal for one integration
 * (optionally one of its tenants) with the capabilities it grants. An integration's client key makes
 * links for its own integration; the admin key (or an operator session) for any, named by
 * {@code integrationId}. A portal session cannot make links: it could otherwise grant itself more.
 */
public final class PortalLinkRoutes implements RouteGroup {
    static final Duration MIN_TTL = Duration.ofMinutes(1);
    static final Duration MAX_TTL = Duration.ofHours(24);
    static final Duration DEFAULT_TTL = Duration.ofHours(1);

    private final Authenticator auth;
    private final IntegrationStore integrations;
    private final TenantStore tenants;
    private final ConsoleSessionStore sessions;
    private final Optional<String> publicUrl;

    /**
     * {@code publicUrl}: server.publicUrl, where partners reach this server; when empty, links are made from the
     * request's scheme and Host (a backend that calls the server by an internal name would hand that name out).
     */
    public PortalLinkRoutes(
            Authenticator auth,
            IntegrationStore integrations,
            TenantStore tenants,
            ConsoleSessionStore sessions,
            Optional<String> publicUrl) {
        this.publicUrl = publicUrl;
        this.auth = auth;
        this.integrations = integrations;
        this.tenants = tenants;
        this.sessions = sessions;
    }

    @Override
    public void register(JavalinDefaultRoutingApi routes) {
        routes.post("/api/v1/portal-sessions", this::create);
    }

    private void create(Context ctx) {
        Authenticator.Principal principal = auth.authenticate(ctx);
        if (Authenticator.session(ctx).filter(s -> s.isPortal()).isPresent()) {
            throw new Refusal.Forbidden("a portal session cannot create portal links");
        }
        JsonBody body = JsonBody.of(ctx, "integrationId", "tenantId", "capabilities", "ttl");
        Integration integration = ActingIntegration.of(
                principal,
                body,
                integrations,
                "portal links",
                () -> new Refusal.Forbidden("portal links are made with the integration's client key or the admin key,"
                        + " not a connection's access token"));
        Tenant tenant = null;
        String tenantId = body.string("tenantId", 64);
        if (tenantId != null) {
            // One answer whether the tenant exists or not: a client key must not learn which tenants of
            // other integrations exist. The connection is checked where the link is written.
            tenant = tenants.find(tenantId)
                    .orElseThrow(() -> ConsoleSessionStore.notConnected(integration.id(), tenantId));
        }
        Set<Capability> capabilities = capabilities(body.stringList("capabilities", 10));
        if (tenant != null) {
            for (Capability wide : capabilities) {
                if (wide.reachesEveryTenant()) {
                    throw new Refusal.InvalidField(
                            "capabilities",
                            "'" + wide.name() + "' reaches every tenant of the integration (an endpoint serves"
                                    + " them all), so a link for tenant '" + tenantId + "' cannot grant it");
                }
            }
        }
        Duration ttl = ttl(body.string("ttl", 20));
        ConsoleSessionStore.Link link =
                sessions.createLink(integration, tenant, capabilities, ttl, Authenticator.credential(principal));
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("id", link.id());
        json.put("url", publicUrl.orElseGet(() -> BaseUrl.of(ctx)) + "/portal#token=" + link.token());
        json.put("expiresAt", link.expiresAt());
        json.put("integrationId", integration.id());
        json.put("tenantId", tenantId);
        json.put(
                "capabilities",
                capabilities.stream().map(Capability::name).sorted().toList());
        ctx.status(201).json(json);
    }

    private static Set<Capability> capabilities(List<String> names) {
        Set<Capability> granted = EnumSet.of(Capability.read);
        if (names == null) {
            return granted;
        }
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            String field = "capabilities[" + i + "]";
            granted.add(Capability.parse(name)
                    .orElseThrow(() -> new Refusal.InvalidField(
                            field, "'" + name + "' is not a capability (read, manage_endpoints, retry, secrets)")));
        }
        return granted;
    }

    private static Duration ttl(String text) {
        if (text == null) {
            return DEFAULT_TTL;
        }
        Duration ttl;
        Refusal outOfRange = new Refusal.InvalidField("ttl", "must be between 1m and 24h");
        try {
            ttl = Durations.parse(text);
        } catch (Durations.TooLong e) {
            throw outOfRange; // not the limit of every setting, which the parser names
        } catch (IllegalArgumentException e) {
            throw new Refusal.InvalidField("ttl", e.getMessage());
        }
        if (ttl.compareTo(MIN_TTL) < 0 || ttl.compareTo(MAX_TTL) > 0) {
            throw outOfRange;
        }
        return ttl;
    }
}
