package dev.switchboard.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.switchboard.config.FailedAuthLimit;
import dev.switchboard.events.ControlMessage.ConnectionChanged;
import dev.switchboard.events.ControlMessage.IntegrationChanged;
import dev.switchboard.events.ControlMessage.Resync;
import dev.switchboard.store.Capability;
import dev.switchboard.store.ConnectionStore;
import dev.switchboard.store.ConsoleSession;
import dev.switchboard.store.ConsoleSessionStore;
import dev.switchboard.store.Integration;
import dev.switchboard.store.IntegrationStore;
import dev.switchboard.store.TenantStore;
import dev.switchboard.support.ClientAddress;
import dev.switchboard.support.Refusal;
import dev.switchboard.support.Tokens;
import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Turns the bearer token of a request into who is calling. Lookups are by the token's SHA-256, and
 * cached briefly; every node drops a cached connection or integration the moment it changes (the
 * control channel), so a disabled, deleted or rotated token is refused at once.
 *
 * <p>A request without {@code Authorization} may instead carry a session cookie ({@link #sessionCookie}):
 * {@code sb_session} of a console session or {@code sb_portal_session} of a portal session
 * (docs/console.md): an operator session acts as the admin key, a portal
 * session as its integration's client key, narrowed to its tenant and capabilities. Sessions are
 * looked up on every request (never cached, so a signed-out session is refused on every node at once),
 * and a request that changes something must carry the session's CSRF token in {@code X-CSRF-Token}.
 */
public final class Authenticator {
    private static final Duration CACHE_TTL = Duration.ofSeconds(60);
    private static final String UNKNOWN_TOKEN = "unknown or revoked token";
    public static final String TENANT_HEADER = "Switchboard-Tenant";
    /** An operator console session's cookie. */
    public static final String SESSION_COOKIE = "sb_session";
    /** A partner portal session's cookie: a name of its own, so one browser can hold both kinds at once. */
    public static final String PORTAL_COOKIE = "sb_portal_session";
    /** Which of the two cookies a page's request is made with: {@code console} or {@code portal}. */
    public static final String SESSION_KIND_HEADER = "X-Switchboard-Session";

    public static final String CSRF_HEADER = "X-CSRF-Token";
    private static final String SESSION_ATTRIBUTE = "switchboard.session";
    private static final String PRINCIPAL_ATTRIBUTE = "switchboard.principal";
    private static final Set<String> SAFE_METHODS = Set.of("GET", "HEAD", "OPTIONS");
    /** Session cookies naming no session that one address may send per window before they are not looked up. */
    static final int UNKNOWN_COOKIES = 60;

    /** Who is calling. */
    public sealed interface Principal permits Admin, Client, Access {}

    /** The operator, with the admin key. */
    public record Admin() implements Principal {}

    /**
     * An integration, with what it authenticated with: the client key the request carried, or a portal
     * session, which stands for the key that made its link.
     */
    public record Client(Integration integration, IntegrationStore.ClientCredential credential) implements Principal {}

    /**
     * What {@code principal} authenticated with, which a change it makes must still find current
     * ({@code IntegrationStore.requireCredential}); null for any other principal than an integration.
     */
    public static IntegrationStore.ClientCredential credential(Principal principal) {
        return principal instanceof Client client ? client.credential() : null;
    }

    /** A connection, with its access token. */
    public record Access(ConnectionStore.Grant grant, String tokenHash) implements Principal {}

    private final byte[] adminKeyHash;
    private final IntegrationStore integrations;
    private final ConnectionStore connections;
    private final TenantStore tenants;
    private final SlidingWindowRateLimiter rateLimiter;
    private final FailedAuthLimiter failedAuth;
    /** Session cookies that name no live session, per address: kept apart, so signing in is never held up by them. */
    private final FailedAuthLimiter unknownCookies;

    private final ConsoleSessionStore sessions;
    private final Duration sessionIdleTimeout;
    private final Cache<String, Principal> cache = Caffeine.newBuilder()
            .maximumSize(100_000)
            .expireAfterWrite(CACHE_TTL)
            .build();
    /**
     * Counts control messages that drop cached principals; a lookup that read the database before one
     * and would cache after it (when the drop already ran) does not cache what it read, which may be
     * the access of a connection disabled meanwhile. Written under the write lock; lookups cache under
     * the read lock, so each caches either before a drop (and is dropped) or sees the new count.
     */
    private volatile long invalidations;

    private final ReadWriteLock caching = new ReentrantReadWriteLock();

    public Authenticator(
            byte[] adminKeyHash,
            IntegrationStore integrations,
            ConnectionStore connections,
            TenantStore tenants,
            SlidingWindowRateLimiter rateLimiter,
            FailedAuthLimit failedAuthLimit,
            ConsoleSessionStore sessions,
            Duration sessionIdleTimeout,
            InstantSource clock) {
        this.sessions = sessions;
        this.sessionIdleTimeout = sessionIdleTimeout;
        this.adminKeyHash = adminKeyHash.clone();
        this.integrations = integrations;
        this.connections = connections;
        this.tenants = tenants;
        this.rateLimiter = rateLimiter;
        this.failedAuth = new FailedAuthLimiter(failedAuthLimit.failures(), failedAuthLimit.window(), clock);
        this.unknownCookies = new FailedAuthLimiter(
                failedAuthLimit.failures() == 0 ? 0 : Math.max(UNKNOWN_COOKIES, 3 * failedAuthLimit.failures()),
                failedAuthLimit.window(),
                clock);
    }

    public Principal authenticate(Context ctx) {
        return authenticate(ctx, true);
    }

    /** {@code countRequest}: false for a re-check of a request already counted (a long poll's wake-up). */
    private Principal authenticate(Context ctx, boolean countRequest) {
        String header = ctx.header("Authorization");
        if (header == null || header.isBlank()) {
            Optional<SessionCookie> cookie = sessionCookie(ctx);
            if (cookie.isPresent()) {
                return sessionPrincipal(ctx, cookie.get(), countRequest, true);
            }
            throw new Refusal.Unauthenticated("missing Authorization header: send 'Authorization: Bearer <token>'");
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7) || header.length() == 7) {
            throw new Refusal.Unauthenticated("the Authorization header must be 'Bearer <token>'");
        }
        Principal principal = principal(header.substring(7).trim(), ctx);
        if (principal instanceof Client client && countRequest) {
            // Per integration, so a rotated key does not start a fresh window.
            limit("client:" + client.integration().pk(), "client key");
        }
        ctx.attribute(PRINCIPAL_ATTRIBUTE, principal);
        return principal;
    }

    /**
     * The principal of {@code cookie}, the request's session cookie, whatever Authorization header the
     * request also carries: signing out must end the session the cookie names.
     */
    public Principal authenticateSession(Context ctx, SessionCookie cookie) {
        // Not counted, nor held back with unknown cookies: a session must always be able to end.
        return sessionPrincipal(ctx, cookie, false, false);
    }

    /**
     * The principal a session cookie stands for: an operator session is the admin key (rate limited per
     * session), a portal session its integration's client key (counted with that key's requests). A
     * change without the session's CSRF token is refused (403 {@code csrf_token_invalid}).
     */
    private Principal sessionPrincipal(Context ctx, SessionCookie cookie, boolean countRequest, boolean mayHoldBack) {
        ConsoleSession session = liveSession(ctx, cookie.value(), mayHoldBack)
                .filter(cookie::holds)
                .orElseThrow(() -> new Refusal.Unauthenticated(cookie.ended()));
        if (!SAFE_METHODS.contains(ctx.method().name())) {
            String sent = ctx.header(CSRF_HEADER);
            if (sent == null
                    || !MessageDigest.isEqual(
                            sent.getBytes(StandardCharsets.UTF_8),
                            csrfToken(cookie.value()).getBytes(StandardCharsets.UTF_8))) {
                throw new Refusal.Forbidden(
                        "csrf_token_invalid",
                        "a change made with the session cookie needs the session's CSRF token in the " + CSRF_HEADER
                                + " header (GET /console/api/session returns it)");
            }
        }
        Principal principal;
        if (session.isPortal()) {
            Integration integration = integrations
                    .find(session.integrationId())
                    .orElseThrow(() -> new Refusal.Unauthenticated("the portal session's integration is gone"));
            if (countRequest) {
                limit("client:" + integration.pk(), "client key");
            }
            principal = new Client(integration, new IntegrationStore.ClientCredential.PortalSession(session.id()));
        } else {
            if (countRequest) {
                limit("session:" + session.id(), "console session");
            }
            principal = new Admin();
        }
        ctx.attribute(SESSION_ATTRIBUTE, session);
        ctx.attribute(PRINCIPAL_ATTRIBUTE, principal);
        return principal;
    }

    /**
     * The live session of the cookie, its idle expiry extended; empty when the cookie names none (unknown,
     * signed out, expired). Not counted against the address as a refused token: a cookie is 256 random
     * bits nobody guesses, and a page left open past its session's expiry would otherwise lock its
     * operator out of signing in again. Each lookup is a database write, though, so an address that sent
     * more than {@value #UNKNOWN_COOKIES} (or three times {@code rateLimit.authFailures}) cookies naming
     * no session in the window gets 429 for its cookies without a lookup, except those that named a live
     * session from that address within the window, or were set there by signing in.
     */
    public Optional<ConsoleSession> liveSession(Context ctx, String cookie) {
        return liveSession(ctx, cookie, true);
    }

    /** {@link #liveSession(Context, String)}, of the kind the cookie's name says (see {@link SessionCookie#holds}). */
    public Optional<ConsoleSession> liveSession(Context ctx, SessionCookie cookie) {
        return liveSession(ctx, cookie.value(), true).filter(cookie::holds);
    }

    /** {@code mayHoldBack} false: looked up whatever the address sent before (signing out). */
    private Optional<ConsoleSession> liveSession(Context ctx, String cookie, boolean mayHoldBack) {
        String address = ClientAddress.of(ctx.ip());
        byte[] hash = Tokens.hash(cookie);
        String key = HexFormat.of().formatHex(hash);
        FailedAuthLimiter.Check check = unknownCookies.begin(address, key);
        try {
            if (mayHoldBack) {
                refuseWhileOver(
                        check.waitTime(),
                        unknownCookies.limit() + " session cookies naming no session",
                        " (signing in again works at once)");
            }
            Optional<ConsoleSession> session = sessions.touch(hash, sessionIdleTimeout);
            if (session.isPresent()) {
                check.succeeded();
            } else {
                check.failed();
            }
            return session;
        } finally {
            check.end();
        }
    }

    /**
     * Marks the request as the one that opened {@code session} (sign-in, a portal link exchanged), which
     * the audit log names; its cookie is looked up from this address even while unknown ones are held back.
     */
    public void opened(Context ctx, ConsoleSession session, String cookie) {
        ctx.attribute(SESSION_ATTRIBUTE, session);
        unknownCookies.trust(ClientAddress.of(ctx.ip()), HexFormat.of().formatHex(Tokens.hash(cookie)));
    }

    /**
     * Runs {@code attempt}, which checks a secret the client of {@code ctx} presented (a token, an admin
     * key given to sign in, a portal link): when it is refused as unknown (401, or a link
     * that does not exist) the refusal counts against the client's address, and an address with too many
     * is refused (429) before its secret is looked at. A used or expired link was not a guess: it does not
     * count.
     */
    public <T> T attempt(String secret, Context ctx, Supplier<T> attempt) {
        String address = ClientAddress.of(ctx.ip());
        String hash = HexFormat.of().formatHex(Tokens.hash(secret));
        FailedAuthLimiter.Check check = failedAuth.begin(address, hash);
        refuseWhileOver(check.waitTime(), failedAuth.limit() + " refused tokens", "");
        try {
            T result = attempt.get();
            check.succeeded();
            return result;
        } catch (Refusal.Unauthenticated | Refusal.NotFound refused) {
            check.failed();
            throw refused;
        } finally {
            check.end();
        }
    }

    /** 429 while an address is over a limit of {@code what} ({@code wait}: how long until it is not). */
    private static void refuseWhileOver(OptionalLong wait, String what, String advice) {
        if (wait.isPresent()) {
            throw rateLimited("more than " + what + " from this address in the window", wait.getAsLong(), advice);
        }
    }

    /** Checks a key given to sign in to the console: 401 unless it is the admin key (counted like a bad token). */
    public void verifyAdminKey(String key, Context ctx) {
        attempt(key, ctx, () -> {
            if (!MessageDigest.isEqual(Tokens.hash(key), adminKeyHash)) {
                throw new Refusal.Unauthenticated("that is not the admin key");
            }
            return Boolean.TRUE;
        });
    }

    /** A tenant's socket opened by an operator's console session: every event, no requests. */
    public record OperatorSocket(String sessionId, TenantAccess access) {}

    /**
     * The access of a WebSocket an operator's console session opens on {@code tenantId} (the cookie
     * stands for the admin key acting for that tenant); 401 without a live session, 403 for a portal
     * session, 400 for an unknown tenant. Counted against the session's rate limit.
     */
    public OperatorSocket operatorSocket(Context ctx, String cookie, String tenantId) {
        ConsoleSession session = liveSession(ctx, cookie)
                .orElseThrow(() -> new Refusal.Unauthenticated(
                        "the console session has expired or was signed out; sign in again"));
        if (session.isPortal()) {
            throw new Refusal.Forbidden("a portal session cannot open a tenant's WebSocket");
        }
        limit("session:" + session.id(), "console session");
        if (tenantId == null || tenantId.isBlank()) {
            throw new Refusal.InvalidField("tenantId", "is required: the tenant whose events the socket receives");
        }
        if (tenantId.length() > TenantStore.MAX_ID_LENGTH) {
            // Not echoed: as with the Switchboard-Tenant header, a refusal does not repeat kilobytes it was sent.
            throw new Refusal.InvalidField(
                    "tenantId", "a tenant id is at most " + TenantStore.MAX_ID_LENGTH + " characters");
        }
        var tenant = tenants.find(tenantId)
                .orElseThrow(() -> new Refusal.InvalidField("tenantId", "no tenant '" + tenantId + "'"));
        return new OperatorSocket(session.id(), TenantAccess.admin(tenant));
    }

    /** The CSRF token of a session: derived from its cookie, so it is never stored and cannot reveal the cookie. */
    public static String csrfToken(String cookie) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(Tokens.hash("csrf|" + cookie));
    }

    /** A session cookie a request carries: its name ({@link #SESSION_COOKIE} or {@link #PORTAL_COOKIE}) and value. */
    public record SessionCookie(String name, String value) {
        /**
         * Whether {@code session} is of the kind this cookie's name is for: an operator session's value sent
         * as the portal's cookie (or the reverse) is no session, so each page acts only as its own kind.
         */
        public boolean holds(ConsoleSession session) {
            return session.isPortal() == name.equals(PORTAL_COOKIE);
        }

        /** Why this cookie is refused once its session is gone, told to the one who can act on it. */
        public String ended() {
            return name.equals(PORTAL_COOKIE)
                    ? "the portal session has ended (it expired or was signed out, its integration's client key was"
                            + " rotated, or its connection was removed); ask your platform for a new portal link"
                    : "the console session has expired or was signed out; sign in again";
        }
    }

    /**
     * The session cookie a request is made with: the one its page names in {@value #SESSION_KIND_HEADER}
     * (the console's pages send {@code console}, the portal's {@code portal}); without the header, the
     * console's cookie, else the portal's. Empty when that cookie is missing or blank.
     */
    public static Optional<SessionCookie> sessionCookie(Context ctx) {
        String kind = ctx.header(SESSION_KIND_HEADER);
        if (kind == null || kind.isBlank()) {
            return cookie(ctx, SESSION_COOKIE).or(() -> cookie(ctx, PORTAL_COOKIE));
        }
        return switch (kind.trim()) {
            case "console" -> cookie(ctx, SESSION_COOKIE);
            case "portal" -> cookie(ctx, PORTAL_COOKIE);
            default ->
                throw new Refusal.Invalid("invalid_header", SESSION_KIND_HEADER + " must be 'console' or 'portal'");
        };
    }

    /** The portal's session cookie, whichever page sent the request (empty when missing or blank). */
    public static Optional<SessionCookie> portalCookie(Context ctx) {
        return cookie(ctx, PORTAL_COOKIE);
    }

    private static Optional<SessionCookie> cookie(Context ctx, String name) {
        String value = ctx.cookie(name);
        return value == null || value.isBlank() ? Optional.empty() : Optional.of(new SessionCookie(name, value));
    }

    /** The console or portal session a request was authenticated by, if it was. */
    public static Optional<ConsoleSession> session(Context ctx) {
        return Optional.ofNullable(ctx.attribute(SESSION_ATTRIBUTE));
    }

    /** Who the request was authenticated as, once it was. */
    public static Optional<Principal> authenticated(Context ctx) {
        return Optional.ofNullable(ctx.attribute(PRINCIPAL_ATTRIBUTE));
    }

    /**
     * Refuses (403 {@code capability_missing}) a portal session without {@code capability}; every other
     * principal passes. Call after the request was authenticated.
     */
    public static void requireCapability(Context ctx, Capability capability) {
        session(ctx).filter(s -> !s.may(capability)).ifPresent(s -> {
            throw new Refusal.Forbidden(
                    "capability_missing",
                    s.tenantId() != null && capability.reachesEveryTenant()
                            ? "this portal session is for tenant '" + s.tenantId() + "' only, and a webhook"
                                    + " endpoint serves every tenant of the integration: it cannot create,"
                                    + " change or delete one"
                            : "this portal session does not have the '" + capability.name() + "' capability");
        });
    }

    /** The tenant a portal session is narrowed to (by its pk), if it is. */
    public static Optional<Long> portalTenant(Context ctx) {
        return session(ctx).map(ConsoleSession::tenantPk);
    }

    /**
     * The principal of a token presented by the client of {@code ctx}: refused tokens count against the
     * client's address, and an address with too many is refused (429) before its token is looked at.
     */
    public Principal principal(String token, Context ctx) {
        return attempt(token, ctx, () -> principal(token));
    }

    /** The lookup itself; callers go through {@link #principal(String, Context)} so the guessing limit applies. */
    private Principal principal(String token) {
        byte[] hash = Tokens.hash(token);
        if (MessageDigest.isEqual(hash, adminKeyHash)) {
            return new Admin();
        }
        String key = HexFormat.of().formatHex(hash);
        Principal cached = cache.getIfPresent(key);
        Principal principal = cached != null ? cached : load(token, hash, key);
        if (principal instanceof Access access) {
            refuseDisabled(access);
        }
        return principal;
    }

    private static void refuseDisabled(Access access) {
        if (!access.grant().connection().enabled()) {
            throw new Refusal.Unauthenticated(
                    "connection '" + access.grant().connection().id() + "' is disabled");
        }
    }

    private Principal load(String token, byte[] hash, String key) {
        long invalidationsSeen = invalidations;
        Optional<? extends Principal> found = Optional.empty();
        if (token.startsWith(Tokens.ACCESS_TOKEN_PREFIX)) {
            found = connections.findGrant(hash).map(g -> new Access(g, key));
        } else if (token.startsWith(Tokens.CLIENT_KEY_PREFIX)) {
            found = integrations
                    .findByClientKeyHash(hash)
                    .map(i -> new Client(i, new IntegrationStore.ClientCredential.Key(hash)));
        }
        Principal principal = found.orElseThrow(() -> new Refusal.Unauthenticated(UNKNOWN_TOKEN));
        cacheUnlessChanged(key, principal, invalidationsSeen);
        return principal;
    }

    /**
     * The access of a request made on a WebSocket, whose upgrade authenticated its access token (kept
     * only as {@code tokenHash}): looked up again like every HTTP request's token (cached, and dropped
     * the moment its connection or integration changes), so a request sees the permissions of now, and
     * counted against the token's rate limit as one HTTP request.
     */
    public TenantAccess socketRequestAccess(String tokenHash) {
        Principal principal = cache.getIfPresent(tokenHash);
        if (principal == null) {
            long invalidationsSeen = invalidations;
            principal = connections
                    .findGrant(HexFormat.of().parseHex(tokenHash))
                    .map(g -> new Access(g, tokenHash))
                    .orElseThrow(() -> new Refusal.Unauthenticated(UNKNOWN_TOKEN));
            cacheUnlessChanged(tokenHash, principal, invalidationsSeen);
        }
        if (!(principal instanceof Access access)) {
            throw new Refusal.Unauthenticated(UNKNOWN_TOKEN);
        }
        refuseDisabled(access);
        limit(access.tokenHash(), "access token");
        return tenantAccess(access);
    }

    private void cacheUnlessChanged(String key, Principal principal, long invalidationsSeen) {
        caching.readLock().lock();
        try {
            if (invalidations == invalidationsSeen) {
                cache.put(key, principal);
            }
        } finally {
            caching.readLock().unlock();
        }
    }

    public void requireAdmin(Context ctx) {
        if (!(authenticate(ctx) instanceof Admin)) {
            throw new Refusal.Forbidden("this operation needs the admin key");
        }
    }

    /**
     * The tenant a records or events request acts in: the access token's, or the one the admin key
     * names in {@code Switchboard-Tenant}. Access tokens are rate limited here.
     */
    public TenantAccess tenantAccess(Context ctx) {
        return tenantAccess(ctx, true);
    }

    /**
     * The request's access as it is now, without counting another request against its token: a long
     * poll checks it again after each wake-up, so a token disabled, deleted or rotated, or an integration
     * narrowed, while it waited is refused (401) or applied before anything more is served.
     */
    public TenantAccess currentAccess(Context ctx) {
        return tenantAccess(ctx, false);
    }

    private TenantAccess tenantAccess(Context ctx, boolean countRequest) {
        return switch (authenticate(ctx, countRequest)) {
            case Admin admin -> {
                String tenantId = ctx.header(TENANT_HEADER);
                if (tenantId == null || tenantId.isBlank()) {
                    throw new Refusal.Invalid(
                            "missing_tenant",
                            "the admin key acts for a tenant named in the " + TENANT_HEADER + " header");
                }
                if (tenantId.trim().length() > TenantStore.MAX_ID_LENGTH) {
                    // Named in the 404 otherwise: up to a header's size of whatever was sent, echoed back.
                    throw new Refusal.Invalid(
                            "invalid_header",
                            TENANT_HEADER + ": a tenant id is at most " + TenantStore.MAX_ID_LENGTH + " characters");
                }
                yield TenantAccess.admin(tenants.get(tenantId.trim()));
            }
            case Client client ->
                throw new Refusal.Forbidden("a client key manages its integration's webhooks;"
                        + " records and events need a connection's access token");
            case Access access -> {
                if (countRequest) {
                    limit(access.tokenHash(), "access token");
                }
                refuseOtherTenant(ctx, access);
                yield tenantAccess(access);
            }
        };
    }

    /**
     * An access token acts for its connection's tenant only. A request naming another in {@code
     * Switchboard-Tenant} was meant for that tenant: served for the token's instead, a write would land
     * in the wrong place, and a read would show another tenant's data as the one asked for.
     */
    public static void refuseOtherTenant(Context ctx, Access access) {
        String named = ctx.header(TENANT_HEADER);
        String own = access.grant().tenant().id();
        if (named != null && !named.isBlank() && !named.trim().equals(own)) {
            throw new Refusal.Invalid(
                    "invalid_header",
                    TENANT_HEADER + " names another tenant than this access token's ('" + own
                            + "'): a token acts only for its connection's tenant; send that tenant's"
                            + " token, or leave the header out");
        }
    }

    private static TenantAccess tenantAccess(Access access) {
        var grant = access.grant();
        return new TenantAccess(
                grant.tenant(),
                grant.integration().permissions(),
                grant.integration().eventTypes(),
                grant.connection().id(),
                grant.connection().pk());
    }

    /** Counts a request against the token's rate limit; refused ({@code Throttled}) when over it. */
    public void limit(String key) {
        limit(key, "access token");
    }

    private void limit(String key, String what) {
        OptionalLong wait = rateLimiter.acquire(key);
        if (wait.isPresent()) {
            throw rateLimited(
                    "more than " + rateLimiter.limit() + " requests in the window for this " + what,
                    wait.getAsLong(),
                    "");
        }
    }

    /** 429 {@code rate_limited}: what was exceeded, when to retry (whole seconds, rounded up), then {@code advice}. */
    private static Refusal.Throttled rateLimited(String exceeded, long waitNanos, String advice) {
        long seconds = retryAfter(waitNanos);
        return new Refusal.Throttled("rate_limited", exceeded + "; retry after " + seconds + "s" + advice, seconds);
    }

    /** The wait in whole seconds, rounded up (the edge sends it as Retry-After). */
    private static long retryAfter(long waitNanos) {
        return Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L);
    }

    /** A connection changed (disabled, deleted, its token rotated): forget its cached tokens. */
    public void connectionChanged(ConnectionChanged message) {
        forget(p -> p instanceof Access a && a.grant().connection().pk() == message.connectionPk());
    }

    /** An integration changed (permissions, client key): forget its key and its connections' tokens. */
    public void integrationChanged(IntegrationChanged message) {
        long pk = message.integrationPk();
        forget(p -> (p instanceof Access a && a.grant().integration().pk() == pk)
                || (p instanceof Client c && c.integration().pk() == pk));
    }

    /** Changes may have been missed while the control channel was not listening: forget everything. */
    public void resync(Resync message) {
        forget(p -> true);
    }

    private void forget(Predicate<Principal> which) {
        caching.writeLock().lock();
        try {
            invalidations++;
        } finally {
            caching.writeLock().unlock();
        }
        cache.asMap().values().removeIf(which);
    }
}
