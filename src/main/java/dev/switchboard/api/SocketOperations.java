package dev.switchboard.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.util.RawValue;
import dev.switchboard.auth.TenantAccess;
import dev.switchboard.events.EventLog;
import dev.switchboard.store.CollectionStore;
import dev.switchboard.store.IdempotencyKey;
import dev.switchboard.store.RecordCollection;
import dev.switchboard.store.RecordStore;
import dev.switchboard.support.Instants;
import dev.switchboard.support.Refusal;
import dev.switchboard.websockets.Operations;
import dev.switchboard.websockets.RequestMethod;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * WebSocket requests, performed by the code the HTTP routes run ({@link RecordOperations}, the event
 * feed's first page): each method reads its params the way its route reads path, query, headers and
 * body, with the same names (a header's value is a param: {@code idempotencyKey}, {@code ifMatch}),
 * and answers what the route would, with the route's status.
 */
public final class SocketOperations implements Operations {
    private final RecordOperations records;
    private final EventRoutes events;
    private final int pageBytes;

    /**
     * {@code pageBytes}: the data a list answers with at most (its page ends early, with a cursor, as at
     * its limit), so that an answer fits the socket's queue beside the frames around it.
     */
    public SocketOperations(CollectionStore collections, RecordStore records, EventRoutes events, int pageBytes) {
        this.records = new RecordOperations(collections, records);
        this.events = events;
        this.pageBytes = pageBytes;
    }

    @Override
    public Outcome perform(TenantAccess access, RequestMethod method, JsonNode params) {
        return switch (method) {
            case RECORDS_CREATE -> create(access, params);
            case RECORDS_GET -> get(access, params);
            case RECORDS_LIST -> list(access, params);
            case RECORDS_UPDATE -> update(access, params);
            case RECORDS_DELETE -> delete(access, params);
            case EVENTS_LIST -> eventsList(access, params);
        };
    }

    private Outcome create(TenantAccess access, JsonNode params) {
        RecordCollection collection = records.writable(access, collection(params));
        JsonBody body = JsonBody.of(params, "collection", "data", "idempotencyKey");
        JsonNode data = body.requiredObject("data");
        Optional<IdempotencyKey> key = Optional.empty();
        JsonNode keyNode = params.get("idempotencyKey");
        if (keyNode != null) { // null too is refused: a retry sent with it would make a second record
            // Stripped of spaces and tabs as an HTTP header's value is, so " k1 " here is the key an
            // Idempotency-Key: k1 named (and a non-ASCII space is refused, as there).
            String text = keyNode.isTextual() ? keyNode.textValue().replaceAll("^[ \t]+|[ \t]+$", "") : null;
            if (text == null || !IdempotencyKeys.valid(text)) {
                throw new Refusal.InvalidField("idempotencyKey", "must be a string of " + IdempotencyKeys.RULE);
            }
            key = Optional.of(RecordOperations.idempotencyKey(access, collection, text, data, null));
        }
        RecordStore.Created created = records.create(access, collection, data, key);
        if (created.replayedBody() != null) {
            return new Outcome(201, new RawValue(created.replayedBody()), created.seq(), true);
        }
        return new Outcome(201, created.record(), created.seq(), false);
    }

    private Outcome get(TenantAccess access, JsonNode params) {
        RecordCollection collection = records.readable(access, collection(params));
        JsonBody body = JsonBody.of(params, "collection", "id");
        return Outcome.read(records.get(access, collection, body.requiredAsWritten("id")));
    }

    private Outcome list(TenantAccess access, JsonNode params) {
        RecordCollection collection = records.readable(access, collection(params));
        JsonBody body = JsonBody.of(params, "collection", "limit", "cursor", "updatedFrom", "updatedTo", "ids");
        RecordStore.Page page = records.list(
                access,
                collection,
                QueryParams.limit(body.longValue("limit")),
                body.asWritten("cursor"),
                instant(body, "updatedFrom"),
                instant(body, "updatedTo"),
                body.stringList("ids", Integer.MAX_VALUE), // counted as HTTP counts them, with its message
                pageBytes);
        return Outcome.read(QueryParams.page("records", page.records(), page.cursor()));
    }

    private Outcome update(TenantAccess access, JsonNode params) {
        RecordCollection collection = records.writable(access, collection(params));
        JsonBody body = JsonBody.of(params, "collection", "id", "data", "ifMatch");
        String id = body.requiredAsWritten("id");
        JsonNode patch = body.requiredObject("data");
        RecordStore.Updated updated = records.update(access, collection, id, ifMatch(body), patch);
        return new Outcome(200, updated.record(), updated.seq(), false);
    }

    private Outcome delete(TenantAccess access, JsonNode params) {
        RecordCollection collection = records.writable(access, collection(params));
        JsonBody body = JsonBody.of(params, "collection", "id", "ifMatch");
        long seq = records.delete(access, collection, body.requiredAsWritten("id"), ifMatch(body));
        return new Outcome(204, null, seq, false);
    }

    private Outcome eventsList(TenantAccess access, JsonNode params) {
        JsonBody body = JsonBody.of(params, "after", "limit", "types");
        List<String> types = body.stringList("types", Integer.MAX_VALUE);
        EventLog.Page page = events.page(
                access,
                body.longValue("after"),
                QueryParams.limit(body.longValue("limit")),
                // Each pattern trimmed, as in ?types=a.*, b.*
                EventRoutes.types(
                        types == null
                                ? List.of()
                                : types.stream().map(String::strip).toList()),
                pageBytes);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("events", page.events());
        json.put("next", page.next());
        return Outcome.read(json);
    }

    /**
     * As the If-Match header: any version the record is not at is a conflict; one no record can have, or
     * null (which would make the write unconditional), is refused.
     */
    private static Integer ifMatch(JsonBody body) {
        JsonNode node = body.node().get("ifMatch");
        if (node == null) {
            return null;
        }
        Long version = body.longValue("ifMatch"); // null for a JSON null
        if (!RecordOperations.isVersion(version)) {
            throw new Refusal.InvalidField(
                    "ifMatch",
                    "must be a record version (a whole number, 1 or more); leave it out for an unconditional write");
        }
        return version.intValue();
    }

    /** As the query parameter: empty is absent, anything else one ISO-8601 time exactly as written. */
    private static Instant instant(JsonBody body, String field) {
        String text = body.asWritten(field);
        return text == null || text.isEmpty() ? null : Instants.parse(text, field);
    }

    /**
     * The collection, read before any other param and checked against the token's permissions, as the
     * route's path segment is: a request for a collection the token may not use is 404 or 403 whatever else
     * is wrong with it, over HTTP and here alike.
     */
    private static String collection(JsonNode params) {
        return JsonBody.requiredAsWritten(params, "collection");
    }
}
