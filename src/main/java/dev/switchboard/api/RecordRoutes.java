package dev.switchboard.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.auth.Authenticator;
import dev.switchboard.auth.TenantAccess;
import dev.switchboard.store.CollectionStore;
import dev.switchboard.store.RecordCollection;
import dev.switchboard.store.RecordQuery;
import dev.switchboard.store.RecordStore;
import dev.switchboard.store.StoredRecord;
import dev.switchboard.support.Ids;
import dev.switchboard.support.JsonMergePatch;
import dev.switchboard.support.Refusal;
import dev.switchboard.support.Tokens;
import dev.switchboard.web.RouteGroup;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** The records API: create, read, list, merge-patch and delete records of a collection, in one tenant. */
public final class RecordRoutes implements RouteGroup {
    private static final int MAX_IDS = 1000;
    private static final int MAX_IDEMPOTENCY_KEY = 255;

    private final Authenticator auth;
    private final CollectionStore collections;
    private final RecordStore records;

    public RecordRoutes(Authenticator auth, CollectionStore collections, RecordStore records) {
        this.auth = auth;
        this.collections = collections;
        this.records = records;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.post("/api/v1/collections/{collection}/records", this::create);
        routes.get("/api/v1/collections/{collection}/records", this::list);
        routes.get("/api/v1/collections/{collection}/records/{id}", this::get);
        routes.patch("/api/v1/collections/{collection}/records/{id}", this::patch);
        routes.delete("/api/v1/collections/{collection}/records/{id}", this::delete);
    }

    private void create(Context ctx) {
        TenantAccess access = auth.tenantAccess(ctx);
        RecordCollection collection = collections.get(ctx.pathParam("collection"));
        access.requireWrite(collection.name());
        JsonBody body = JsonBody.of(ctx, "data");
        JsonNode data = validated(collection, body.requiredObject("data"));
        Optional<RecordStore.IdempotencyKey> key = idempotencyKey(ctx, access, collection);
        RecordStore.Created created = records.create(access.tenant(), collection, data, key);
        if (created.replayedBody() != null) {
            ctx.header("Idempotent-Replayed", "true");
            ctx.status(201).contentType("application/json").result(created.replayedBody());
            return;
        }
        respond(ctx.status(201), created.record());
    }

    private void get(Context ctx) {
        TenantAccess access = auth.tenantAccess(ctx);
        RecordCollection collection = collections.get(ctx.pathParam("collection"));
        access.requireRead(collection.name());
        respond(ctx, records.get(access.tenant(), collection, ctx.pathParam("id")));
    }

    private void list(Context ctx) {
        TenantAccess access = auth.tenantAccess(ctx);
        RecordCollection collection = collections.get(ctx.pathParam("collection"));
        access.requireRead(collection.name());
        var from = QueryParams.instant(ctx, "updatedFrom");
        var to = QueryParams.instant(ctx, "updatedTo");
        if (from != null && to != null && from.isAfter(to)) {
            throw new Refusal.InvalidField("updatedTo", "must not be before updatedFrom");
        }
        String cursor = ctx.queryParam("cursor");
        RecordQuery query = new RecordQuery(
                QueryParams.limit(ctx, 100, 1000),
                cursor == null || cursor.isEmpty() ? null : RecordQuery.Cursor.decode(cursor),
                from,
                to,
                ids(ctx));
        RecordStore.Page page = records.list(access.tenant(), collection, query);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("records", page.records());
        json.put("cursor", page.cursor());
        ctx.json(json);
    }

    private void patch(Context ctx) {
        TenantAccess access = auth.tenantAccess(ctx);
        RecordCollection collection = collections.get(ctx.pathParam("collection"));
        access.requireWrite(collection.name());
        JsonBody body = JsonBody.of(ctx, "data");
        JsonNode patch = body.requiredObject("data");
        StoredRecord updated = records.update(
                access.tenant(),
                collection,
                ctx.pathParam("id"),
                ifMatch(ctx),
                current -> validated(collection, JsonMergePatch.apply(current, patch)));
        respond(ctx, updated);
    }

    private void delete(Context ctx) {
        TenantAccess access = auth.tenantAccess(ctx);
        RecordCollection collection = collections.get(ctx.pathParam("collection"));
        access.requireWrite(collection.name());
        records.delete(access.tenant(), collection, ctx.pathParam("id"), ifMatch(ctx));
        ctx.status(204);
    }

    private static void respond(Context ctx, StoredRecord record) {
        ctx.header("ETag", "\"" + record.version() + "\"");
        ctx.json(record);
    }

    private static JsonNode validated(RecordCollection collection, JsonNode data) {
        List<RecordCollection.Violation> violations = collection.violations(data);
        if (!violations.isEmpty()) {
            RecordCollection.Violation first = violations.getFirst();
            throw new Refusal.Invalid(
                    "schema_violation",
                    first.path() + ": " + first.message()
                            + (violations.size() > 1 ? " (and " + (violations.size() - 1) + " more)" : ""),
                    Map.of("violations", violations));
        }
        return data;
    }

    /** If-Match carries the version the client last saw: 3, "3" or W/"3". */
    private static Integer ifMatch(Context ctx) {
        String header = ctx.header("If-Match");
        if (header == null || header.isBlank()) {
            return null;
        }
        String v = header.trim();
        if (v.startsWith("W/")) {
            v = v.substring(2);
        }
        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
            v = v.substring(1, v.length() - 1);
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new Refusal.Invalid("invalid_header", "If-Match: '" + header + "' is not a record version");
        }
    }

    private static Optional<RecordStore.IdempotencyKey> idempotencyKey(
            Context ctx, TenantAccess access, RecordCollection collection) {
        String key = ctx.header("Idempotency-Key");
        if (key == null) {
            return Optional.empty();
        }
        if (key.isBlank() || key.length() > MAX_IDEMPOTENCY_KEY) {
            throw new Refusal.Invalid(
                    "invalid_header", "Idempotency-Key must be 1-" + MAX_IDEMPOTENCY_KEY + " characters");
        }
        String scope = access.tenant().pk() + "/" + access.idempotencyScope();
        byte[] fingerprint =
                Tokens.hash(collection.name() + "\n" + new String(ctx.bodyAsBytes(), StandardCharsets.UTF_8));
        return Optional.of(new RecordStore.IdempotencyKey(scope, key, fingerprint));
    }

    private static List<UUID> ids(Context ctx) {
        String text = ctx.queryParam("ids");
        if (text == null || text.isEmpty()) {
            return null;
        }
        String[] parts = text.split(",");
        if (parts.length > MAX_IDS) {
            throw new Refusal.InvalidField("ids", "at most " + MAX_IDS + " ids");
        }
        List<UUID> ids = new ArrayList<>();
        for (String part : parts) {
            ids.add(Ids.parse("rec", part.trim())
                    .orElseThrow(() -> new Refusal.InvalidField("ids", "'" + part.trim() + "' is not a record id")));
        }
        return ids;
    }
}
