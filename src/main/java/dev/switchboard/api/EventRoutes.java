package dev.switchboard.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.switchboard.auth.Authenticator;
import dev.switchboard.auth.TenantAccess;
import dev.switchboard.db.PageBytes;
import dev.switchboard.events.ControlMessage.ConnectionChanged;
import dev.switchboard.events.Event;
import dev.switchboard.events.EventFilter;
import dev.switchboard.events.EventLog;
import dev.switchboard.events.EventTypes;
import dev.switchboard.events.NewEvent;
import dev.switchboard.events.StreamWaiters;
import dev.switchboard.store.AuditLog;
import dev.switchboard.store.CollectionStore;
import dev.switchboard.store.IdempotencyKey;
import dev.switchboard.support.Ids;
import dev.switchboard.support.Json;
import dev.switchboard.support.Refusal;
import dev.switchboard.web.ClientGone;
import dev.switchboard.web.RouteGroup;
import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRoutingApi;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The event feed ({@code GET /api/v1/events}, with long poll) and custom events
 * ({@code POST /api/v1/events}). A long poll holds a virtual thread, not a database connection.
 */
public final class EventRoutes implements RouteGroup {
    private static final int MAX_SUBJECT = 200;
    /**
     * Long polls one connection may have waiting on a node at once. Each commit on the tenant has every
     * waiting poll read the log again, and the rate limit counts a poll once however long it waits: a
     * token with hundreds of polls open, on types that never come, turned each commit into hundreds of
     * reads on the pool the writers use.
     */
    static final int LONG_POLLS_PER_CONNECTION = 8;
    /** How often a long poll with nothing to answer yet looks whether its client has hung up. */
    private static final Duration HANG_UP_CHECK = Duration.ofSeconds(2);

    private final Authenticator auth;
    private final EventLog log;
    private final StreamWaiters waiters;
    private final AuditLog audit;
    private final Duration maxWait;
    private final InstantSource clock;
    private final Counter reads;
    /** The waits of the long polls on this node, by connection: counted against the limit, woken by a change. */
    private final Map<Long, Set<StreamWaiters.Waiter>> longPolls = new ConcurrentHashMap<>();

    public EventRoutes(
            Authenticator auth,
            EventLog log,
            StreamWaiters waiters,
            AuditLog audit,
            Duration maxWait,
            InstantSource clock,
            MeterRegistry meters) {
        this.auth = auth;
        this.log = log;
        this.waiters = waiters;
        this.audit = audit;
        this.maxWait = maxWait;
        this.clock = clock;
        // Each feed request reads once, a long poll once more after registering and once per wake-up: far more
        // reads than requests means waiters re-read without new events.
        this.reads = Counter.builder("switchboard.events.feed.reads")
                .description("Reads of the log for GET /api/v1/events, including a long poll's re-reads")
                .register(meters);
    }

    @Override
    public void register(JavalinDefaultRoutingApi routes) {
        routes.get("/api/v1/events", this::feed);
        routes.post("/api/v1/events", this::publish);
        routes.get("/api/v1/connection", this::connection);
    }

    /**
     * The connection an access token belongs to (its id, tenant and integration): what a partner's tools
     * ask first, e.g. {@code switchboard listen} to shape its messages like the server's.
     */
    private void connection(Context ctx) {
        if (!(auth.authenticate(ctx) instanceof Authenticator.Access access)) {
            throw new Refusal.Forbidden("GET /api/v1/connection describes a connection's access token");
        }
        auth.limit(access.tokenHash());
        Authenticator.refuseOtherTenant(ctx, access);
        ctx.json(access.grant().connection());
    }

    private void feed(Context ctx) throws InterruptedException {
        TenantAccess access = auth.tenantAccess(ctx);
        QueryParams.only(ctx, "after", "limit", "types", "wait");
        Long after = QueryParams.longValue(ctx, "after");
        int limit = QueryParams.limit(ctx);
        List<String> types = types(ctx);
        Duration wait = waitParam(ctx);
        EventFilter filter = access.eventFilter().narrowedTo(types);
        long stream = access.tenant().streamPk();

        EventLog.Page page = page(access, after, limit, types, PageBytes.MAX);
        // An empty page that is full stopped short of the head (it looked at as many positions as a read
        // does): the reader reads on from its next at once rather than wait.
        if (page.events().isEmpty() && !page.full() && !wait.isZero()) {
            // On the monotonic clock: a wall clock stepped back mid-wait would otherwise stretch the wait past
            // what was asked (and events.maxWait), holding one of the connection's long polls.
            long deadline = System.nanoTime() + wait.toNanos();
            boolean hungUp = false;
            try (StreamWaiters.Waiter waiter = waiters.register(stream, filter);
                    LongPoll ignored = longPoll(access, waiter)) {
                // Read again after registering: an append between the first read and now still wakes us.
                page = read(stream, page.next(), limit, PageBytes.MAX, filter);
                // An empty page's next is the head that read saw: every event up to it is one this reader may
                // not see, so it sleeps until a commit after it (or the deadline), never re-reading the same head.
                long nextLook = System.nanoTime() + HANG_UP_CHECK.toNanos();
                while (page.events().isEmpty() && !page.full()) {
                    // Whether woken or not: in a busy tenant every commit wakes the poll.
                    if (System.nanoTime() - nextLook >= 0) {
                        if (ClientGone.hungUp(ctx)) {
                            hungUp = true;
                            break;
                        }
                        nextLook = System.nanoTime() + HANG_UP_CHECK.toNanos();
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        break;
                    }
                    long untilLook = nextLook - System.nanoTime();
                    if (!waiter.await(page.next(), Duration.ofNanos(Math.max(1, Math.min(left, untilLook))))) {
                        if (waiter.draining() || left <= untilLook) {
                            break;
                        }
                        continue;
                    }
                    // The wait may have outlived the token's access: look it up again (a control message
                    // has already cleared what changed), so a revoked token gets 401, a narrowed grant applies.
                    filter = auth.currentAccess(ctx).eventFilter().narrowedTo(types);
                    waiter.filter(filter);
                    page = read(stream, page.next(), limit, PageBytes.MAX, filter);
                }
            }
            if (hungUp) {
                return; // its place among the connection's long polls is free again; no one is left to answer
            }
            if (page.events().isEmpty()) {
                // Waited out with nothing to show, or woken by a change to its connection: a token disabled,
                // deleted or rotated meanwhile gets its 401 now, not an empty 200. Events committed here that it
                // may not see woke it not: one more read moves its next past them (and answers one it may now see).
                filter = auth.currentAccess(ctx).eventFilter().narrowedTo(types);
                page = read(stream, page.next(), limit, PageBytes.MAX, filter);
            }
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("events", page.events());
        json.put("next", page.next());
        ctx.json(json);
    }

    /**
     * A connection changed (disabled, deleted, its token rotated): its long polls on this node look their access
     * up again now, so a revoked token gets its 401 at once rather than when its wait is over. Subscribed after
     * the authenticator, which has forgotten the connection's cached access by then.
     */
    public void connectionChanged(ConnectionChanged message) {
        Set<StreamWaiters.Waiter> waits = longPolls.get(message.connectionPk());
        if (waits != null) {
            waits.forEach(StreamWaiters.Waiter::recheck);
        }
    }

    /** A long poll of a connection's, counted while it waits. */
    private interface LongPoll extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Counts a long poll of the caller's connection (the operator's are not counted); 429 past the limit. While it
     * waits, a change to its connection wakes it ({@link #connectionChanged}).
     */
    private LongPoll longPoll(TenantAccess access, StreamWaiters.Waiter waiter) {
        if (access.byAdmin()) {
            return () -> {};
        }
        long connection = access.connectionPk();
        int[] waiting = new int[1];
        // Added and counted in the map's atomic step: two polls arriving together cannot both see room for one.
        longPolls.compute(connection, (k, waits) -> {
            Set<StreamWaiters.Waiter> joined = waits == null ? ConcurrentHashMap.newKeySet() : waits;
            joined.add(waiter);
            waiting[0] = joined.size();
            return joined;
        });
        LongPoll done = () -> longPolls.computeIfPresent(connection, (k, waits) -> {
            waits.remove(waiter);
            return waits.isEmpty() ? null : waits;
        });
        if (waiting[0] > LONG_POLLS_PER_CONNECTION) {
            done.close();
            throw new Refusal.Throttled(
                    "too_many_long_polls",
                    "connection '" + access.connectionId() + "' already has " + LONG_POLLS_PER_CONNECTION
                            + " long polls waiting on this server; wait for one to end (or read without wait)",
                    1);
        }
        return done;
    }

    /**
     * One page of the feed for the caller (no long poll), with at most {@code maxBytes} of data: what
     * {@code GET /api/v1/events} reads first, and what a WebSocket's {@code events.list} answers.
     */
    EventLog.Page page(TenantAccess access, Long after, int limit, List<String> types, int maxBytes) {
        if (after != null && after < 0) {
            throw new Refusal.InvalidField("after", "must be 0 or more");
        }
        return read(
                access.tenant().streamPk(),
                after,
                limit,
                maxBytes,
                access.eventFilter().narrowedTo(types));
    }

    private EventLog.Page read(long stream, Long after, int limit, int maxBytes, EventFilter filter) {
        reads.increment();
        return log.read(stream, after, limit, maxBytes, filter).orRefuse();
    }

    private void publish(Context ctx) {
        TenantAccess access = auth.tenantAccess(ctx);
        if (!access.byAdmin()) {
            throw new Refusal.Forbidden(
                    "custom events are published by the operator's application, with the admin key");
        }
        JsonBody body = JsonBody.of(ctx, "type", "subject", "data");
        String type = body.requiredString("type", 200);
        if (!EventTypes.isType(type)) {
            throw new Refusal.InvalidField(
                    "type",
                    "'" + type + "' is not an event type: dot-separated lower-case segments"
                            + " such as device.command");
        }
        if (EventTypes.isOwn(type)) {
            throw new Refusal.InvalidField("type", "'" + type + "' is reserved for events Switchboard produces itself");
        }
        String[] segments = type.split("\\.");
        // Whether or not the collection exists yet: published before it, such an event would later pass for
        // one of its records' events, reaching integrations that may not read that collection.
        if (segments.length == 2
                && EventTypes.RECORD_ACTIONS.contains(segments[1])
                && CollectionStore.isName(segments[0])) {
            throw new Refusal.InvalidField(
                    "type",
                    "'" + type + "' is the type of a record event of collection '" + segments[0]
                            + "' (whether or not it exists yet), reserved for events Switchboard produces itself:"
                            + " name the event otherwise, such as " + segments[0] + ".registered or app."
                            + type);
        }
        String subject = body.string("subject", MAX_SUBJECT);
        var data = body.has("data") ? body.requiredObject("data") : Json.MAPPER.createObjectNode();
        String dataJson = Json.write(data);
        long dataBytes = NewEvent.utf8Bytes(dataJson);
        if (dataBytes > NewEvent.MAX_DATA_BYTES) {
            throw new Refusal.EventTooLarge(
                    "data",
                    dataBytes,
                    NewEvent.MAX_DATA_BYTES,
                    "data: is " + dataBytes + " bytes as JSON, over the limit of " + NewEvent.MAX_DATA_BYTES
                            + " bytes for an event's data");
        }
        // A retry with the key answers the first publish: the same request is the same text, whatever the
        // white space or the order of its keys.
        ObjectNode request = Json.MAPPER.createObjectNode();
        request.put("type", type).put("subject", subject).set("data", data);
        Optional<IdempotencyKey> key = IdempotencyKeys.header(ctx)
                .map(k ->
                        IdempotencyKeys.of(access, k, "POST /api/v1/events\n" + Json.writeSorted(request), List.of()));
        NewEvent event = new NewEvent(
                Ids.newUuid(), type, subject, null, clock.instant().truncatedTo(ChronoUnit.MICROS), dataJson, null);
        // The audit entry commits with the event, before the event's fan-out begins: written after it, the
        // entry's round trip waited for CPU behind the writes to every socket following the tenant.
        String eventId = Ids.format("evt", event.id());
        Optional<AuditLog.Change> change = AuditRoutes.writtenByRoute(ctx, eventId);
        IdempotencyKey.Answer[] first = {null};
        long seq = log.appendAlone(
                access.tenant().streamPk(),
                event,
                c -> {
                    if (key.isPresent()) {
                        first[0] = key.get().claimOrFirstAnswer(c).orElse(null);
                        if (first[0] != null) {
                            return false;
                        }
                    }
                    if (change.isPresent()) {
                        audit.record(c, change.get());
                    }
                    return true;
                },
                (c, appended) -> {
                    if (key.isPresent()) {
                        key.get().answered(c, 201, Json.write(published(event, eventId, appended)), appended);
                    }
                });
        if (first[0] != null) {
            IdempotencyKeys.replay(ctx, first[0].body());
            return;
        }
        ctx.status(201).json(published(event, eventId, seq));
    }

    /** A custom event as its publish answers it. */
    private static Event published(NewEvent event, String eventId, long seq) {
        return new Event(eventId, seq, event.type(), event.subject(), event.time(), event.dataJson(), null);
    }

    private Duration waitParam(Context ctx) {
        Long seconds = QueryParams.longValue(ctx, "wait");
        if (seconds == null) {
            return Duration.ZERO;
        }
        if (seconds < 0 || seconds > maxWait.toSeconds()) {
            // The limit in the details lets a client (the Java client does) ask again within it.
            throw new Refusal.InvalidField(
                    "wait",
                    "must be between 0 and " + maxWait.toSeconds() + " seconds (events.maxWait)",
                    Map.of("maxWait", maxWait.toSeconds()));
        }
        return Duration.ofSeconds(seconds);
    }

    private static List<String> types(Context ctx) {
        String text = ctx.queryParam("types");
        if (text == null || text.isBlank()) {
            return List.of();
        }
        // -1: ",," is three empty patterns, refused, not (trailing ones dropped) none, which narrows nothing.
        // strip, not trim: as a socket's events.list, white space of any kind, and no control character.
        return types(Arrays.stream(text.split(",", -1)).map(String::strip).toList());
    }

    /** Event-type patterns narrowing a read (at most 100); empty narrows nothing. */
    static List<String> types(List<String> patterns) {
        if (patterns.size() > 100) {
            throw new Refusal.InvalidField("types", "at most 100 patterns");
        }
        EventTypes.requirePatterns(patterns, "types");
        return patterns;
    }
}
