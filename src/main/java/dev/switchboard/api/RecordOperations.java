package dev.switchboard.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.auth.TenantAccess;
import dev.switchboard.store.CollectionStore;
import dev.switchboard.store.IdempotencyKey;
import dev.switchboard.store.RecordCollection;
import dev.switchboard.store.RecordQuery;
import dev.switchboard.store.RecordStore;
import dev.switchboard.store.StoredRecord;
import dev.switchboard.support.Ids;
import dev.switchboard.support.Json;
import dev.switchboard.support.JsonMergePatch;
import dev.switchboard.support.Refusal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The records operations, whichever edge a request came through: HTTP ({@link RecordRoutes}) or a
 * WebSocket request ({@link SocketOperations}). Each edge reads its own input (path, query and
 * headers; or a request's params) and calls these, so both check the same permissions, validate
 * against the same schema, share idempotency keys and refuse with the same codes and messages.
 */
final class RecordOperations {
    static final int MAX_IDS = 1000;

    private final CollectionStore collections;
    private final RecordStore records;

    RecordOperations(CollectionStore collections, RecordStore records) {
        this.collections = collections;
        this.records = records;
    }

    /**
     * The collection, if the caller may read it. Permission is checked before existence: a caller that may
     * not read a name gets 403 whether or not a collection has it, so it cannot list the operator's
     * collections by probing (404 would tell it which exist).
     */
    RecordCollection readable(TenantAccess access, String name) {
        access.requireRead(name);
        return collections.get(name);
    }

    /** The collection, if the caller may write it (checked first, as in {@link #readable}). */
    RecordCollection writable(TenantAccess access, String name) {
        access.requireWrite(name);
        return collections.get(name);
    }

    /**
     * Creates a record once its data is {@link #validated}. A retry of a create that was made is answered
     * as it was, before the data is checked: the collection's schema or a limit may have changed since,
     * and a refusal would tell the client that the record it made does not exist.
     */
    RecordStore.Created create(
            TenantAccess access, RecordCollection collection, JsonNode data, Optional<IdempotencyKey> key) {
        Optional<RecordStore.Created> replay = key.flatMap(records::replay);
        if (replay.isPresent()) {
            return replay.get();
        }
        return records.create(access.tenant(), collection, validated(collection, data), key);
    }

    StoredRecord get(TenantAccess access, RecordCollection collection, String id) {
        return records.get(access.tenant(), collection, id);
    }

    RecordStore.Page list(
            TenantAccess access,
            RecordCollection collection,
            int limit,
            String cursor,
            Instant from,
            Instant to,
            List<String> ids,
            int maxBytes) {
        if (from != null && to != null && from.isAfter(to)) {
            throw new Refusal.InvalidField("updatedTo", "must not be before updatedFrom");
        }
        RecordQuery query = new RecordQuery(
                limit,
                cursor == null || cursor.isEmpty() ? null : RecordQuery.Cursor.decode(cursor),
                from,
                to,
                recordIds(ids),
                maxBytes);
        return records.list(access.tenant(), collection, query);
    }

    /**
     * Merges {@code patch} into the record's data (RFC 7396), validates the result, and writes it (when it
     * changed anything, for a caller that may read the record: see {@link RecordStore#update}). A caller
     * that may write the collection but not read it gets the record without its {@code data}: the merged
     * data holds what others wrote, which its reads are refused.
     */
    RecordStore.Updated update(
            TenantAccess access, RecordCollection collection, String id, Integer ifMatch, JsonNode patch) {
        boolean reads = access.canRead(collection.name());
        RecordStore.Updated updated;
        try {
            updated = records.update(
                    access.tenant(),
                    collection,
                    id,
                    ifMatch,
                    current -> JsonMergePatch.apply(current, patch),
                    merged -> reads ? validated(collection, merged) : validatedForWriter(collection, merged, patch),
                    !reads);
        } catch (Refusal.RecordTooLarge e) {
            // The size, less what the update added, is the stored record's: not for a caller that may not read it.
            throw reads ? e : e.unread();
        } catch (Refusal.EventTooLarge e) {
            throw reads ? e : e.unread();
        }
        if (reads) {
            return updated;
        }
        StoredRecord r = updated.record();
        return new RecordStore.Updated(
                new StoredRecord(r.id(), r.version(), r.createdAt(), r.updatedAt(), null), updated.seq());
    }

    /** Deletes the record; the seq of its event. */
    long delete(TenantAccess access, RecordCollection collection, String id, Integer ifMatch) {
        return records.delete(access.tenant(), collection, id, ifMatch);
    }

    /** The data, when the collection's schema accepts it; else 400 {@code schema_violation} naming the first. */
    static JsonNode validated(RecordCollection collection, JsonNode data) {
        RecordCollection.Violations violations = collection.violations(data);
        if (violations.found() > 0) {
            throw schemaViolation(violations.listed(), violations.found(), "");
        }
        return data;
    }

    /** 400 {@code schema_violation} naming the first of {@code listed} and how many more were found. */
    private static Refusal schemaViolation(List<RecordCollection.Violation> listed, int found, String more) {
        RecordCollection.Violation first = listed.getFirst();
        return new Refusal.Invalid(
                "schema_violation",
                first.path() + ": " + first.message() + (found > 1 ? " (and " + (found - 1) + " more)" : "") + more,
                Map.of("violations", listed));
    }

    /**
     * As {@link #validated}, for a caller that may not read the record: only violations inside values its
     * patch wrote whole are named (and a schema that cannot be checked); the others depend on data it may
     * not read (a field missing beside one it merged into, say), so the refusal says only that they exist.
     */
    static JsonNode validatedForWriter(RecordCollection collection, JsonNode data, JsonNode patch) {
        RecordCollection.Violations violations = collection.violations(data);
        if (violations.found() == 0) {
            return data;
        }
        List<RecordCollection.Violation> own = violations.listed().stream()
                .filter(v -> v.message().startsWith("cannot be checked") || writtenWhole(v.at(), patch))
                .toList();
        String unread = "the update would leave the record invalid against the schema of collection '"
                + collection.name() + "'" + (own.isEmpty() ? "" : " also") + " in data this integration may not read";
        if (own.isEmpty()) {
            throw new Refusal.Invalid("schema_violation", "data: " + unread, Map.of("violations", List.of()));
        }
        throw schemaViolation(own, own.size(), violations.found() > own.size() ? "; " + unread : "");
    }

    /**
     * Whether a violation at {@code at} (the names and indexes below {@code data}) lies in a value the patch
     * wrote whole: walking down the patch along it reaches a value that is not an object (a merged object
     * holds stored data beside what the patch wrote). Walked by the names themselves, not by the path's
     * text: a stored key {@code card.pin} read as {@code card}, then {@code pin}, had a patch writing
     * {@code "card": 1} told what was wrong with a value it may not read.
     */
    private static boolean writtenWhole(List<Object> at, JsonNode patch) {
        JsonNode node = patch;
        for (Object element : at) {
            if (!(element instanceof String name)) {
                return false; // an index inside an object: not a path the data has
            }
            JsonNode next = node.get(name);
            if (next == null) {
                return false;
            }
            if (!next.isObject()) {
                return true;
            }
            node = next;
        }
        return false;
    }

    /**
     * Whether an If-Match (a header, or a socket's {@code ifMatch}) names a version a record can be at: one
     * it cannot (below 1) is refused as a mistake rather than answered as a conflict.
     */
    static boolean isVersion(Long version) {
        return version != null && version >= 1 && version <= Integer.MAX_VALUE;
    }

    /**
     * An idempotency key of the caller's (the admin key's, or the connection's, in this tenant), with
     * the request it came with: a retry with the same key and another request is refused (422). The
     * request is its collection and its data as parsed, its objects' keys sorted, so the same data is the
     * same request whatever its white space or key order, over HTTP or a WebSocket. Keys stored by earlier
     * releases still match their retries: they fingerprinted the data in the order it came, and before that
     * an HTTP create's body as sent ({@code httpBody}, null on a socket).
     */
    static IdempotencyKey idempotencyKey(
            TenantAccess access, RecordCollection collection, String key, JsonNode data, String httpBody) {
        String request = collection.name() + "\n";
        List<String> earlier = new ArrayList<>();
        earlier.add(request + "{\"data\":" + Json.write(data) + "}");
        if (httpBody != null) {
            earlier.add(request + httpBody);
        }
        return IdempotencyKeys.of(access, key, request + "{\"data\":" + Json.writeSorted(data) + "}", earlier);
    }

    private static List<UUID> recordIds(List<String> ids) {
        if (ids == null) {
            return null;
        }
        if (ids.size() > MAX_IDS) {
            throw new Refusal.InvalidField("ids", "at most " + MAX_IDS + " ids");
        }
        List<UUID> parsed = new ArrayList<>();
        for (String id : ids) {
            String trimmed = id.trim();
            parsed.add(Ids.parse(RecordStore.ID_PREFIX, trimmed)
                    .orElseThrow(() -> new Refusal.InvalidField(
                            "ids",
                            trimmed.isEmpty()
                                    ? "one of the ids is empty (a comma at an end, or two in a row)"
                                    : "'" + trimmed + "' is not a record id")));
        }
        return parsed;
    }
}
