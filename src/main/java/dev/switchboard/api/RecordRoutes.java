package dev.switchboard.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.auth.Authenticator;
import dev.switchboard.auth.TenantAccess;
import dev.switchboard.db.PageBytes;
import dev.switchboard.store.CollectionStore;
import dev.switchboard.store.IdempotencyKey;
import dev.switchboard.store.RecordCollection;
import dev.switchboard.store.RecordStore;
import dev.switchboard.store.StoredRecord;
import dev.switchboard.support.Json;
import dev.switchboard.support.Refusal;
import dev.switchboard.support.WholeNumbers;
import dev.switchboard.web.RequestBodies;
import dev.switchboard.web.RouteGroup;
import io.javalin.http.Context;
import io.javalin.router.JavalinDefaultRoutingApi;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * The records API over HTTP: create, read, list, merge-patch and delete records of a collection, in one
 * tenant. Reads the request (path, query, headers, body) and runs {@link RecordOperations}, which a
 * WebSocket request runs too.
 */
public final class RecordRoutes implements RouteGroup {
    private final Authenticator auth;
    private final RecordOperations operations;

    public RecordRoutes(Authenticator auth, CollectionStore collections, RecordStore records) {
        this.auth = auth;
        this.operations = new RecordOperations(collections, records);
    }

    @Override
    public void register(JavalinDefaultRoutingApi routes) {
        routes.post("/api/v1/collections/{collection}/records", this::create);
        routes.get("/api/v1/collections/{collection}/records", this::list);
        routes.get("/api/v1/collections/{collection}/records/{id}", this::get);
        routes.patch("/api/v1/collections/{collection}/records/{id}", this::patch);
        routes.delete("/api/v1/collections/{collection}/records/{id}", this::delete);
    }

    private void create(Context ctx) {
        TenantAccess access = auth.tenantAccess(ctx);
        RecordCollection collection = operations.writable(access, ctx.pathParam("collection"));
        JsonBody body = JsonBody.of(ctx, "data");
        JsonNode data = body.requiredObject("data");
        Optional<IdempotencyKey> key = idempotencyKey(ctx, access, collection, data);
        RecordStore.Created created = operations.create(access, collection, data, key);
        if (created.replayedBody() != null) {
            // The version the first answer's ETag gave, so a client that retried can still send If-Match.
            JsonNode version = Json.read(created.replayedBody()).path("version");
            if (version.canConvertToLong()) {
                ctx.header("ETag", etag(version.asLong()));
            }
            IdempotencyKeys.replay(ctx, created.replayedBody());
            return;
        }
        respond(ctx.status(201), created.record());
    }

    private void get(Context ctx) {
        TenantAccess access = auth.tenantAccess(ctx);
        RecordCollection collection = operations.readable(access, ctx.pathParam("collection"));
        StoredRecord record = operations.get(access, collection, ctx.pathParam("id"));
        // Every line of it: a list may come as one line or several (RFC 9110, 5.3).
        List<String> ifNoneMatch = Collections.list(ctx.req().getHeaders("If-None-Match"));
        if (!ifNoneMatch.isEmpty() && unchanged(String.join(",", ifNoneMatch), record.version())) {
            ctx.header("ETag", etag(record.version())).status(304);
            return;
        }
        respond(ctx, record);
    }

    /**
     * Whether If-None-Match names the record's version, compared as RFC 9110 says for it: weakly (W/"3" is
     * "3"), any of a list, and {@code *} any version.
     */
    private static boolean unchanged(String ifNoneMatch, long version) {
        if (ifNoneMatch.trim().equals("*")) {
            return true;
        }
        for (String tag : ifNoneMatch.split(",")) {
            String t = tag.trim();
            if ((t.startsWith("W/") ? t.substring(2) : t).equals(etag(version))) {
                return true;
            }
        }
        return false;
    }

    private static String etag(long version) {
        return "\"" + version + "\"";
    }

    private void list(Context ctx) {
        TenantAccess access = auth.tenantAccess(ctx);
        RecordCollection collection = operations.readable(access, ctx.pathParam("collection"));
        QueryParams.only(ctx, "limit", "cursor", "updatedFrom", "updatedTo", "ids");
        String ids = ctx.queryParam("ids");
        RecordStore.Page page = operations.list(
                access,
                collection,
                QueryParams.limit(ctx),
                QueryParams.cursor(ctx),
                QueryParams.instant(ctx, "updatedFrom"),
                QueryParams.instant(ctx, "updatedTo"),
                // Present but empty, it names no record, as an empty array does on a socket: none match.
                ids == null ? null : ids.isEmpty() ? List.of() : List.of(ids.split(",", -1)),
                PageBytes.MAX);
        ctx.json(QueryParams.page("records", page.records(), page.cursor()));
    }

    private void patch(Context ctx) {
        TenantAccess access = auth.tenantAccess(ctx);
        RecordCollection collection = operations.writable(access, ctx.pathParam("collection"));
        JsonBody body = JsonBody.of(ctx, "data");
        JsonNode patch = body.requiredObject("data");
        RecordStore.Updated updated = operations.update(access, collection, ctx.pathParam("id"), ifMatch(ctx), patch);
        if (updated.seq() == 0) {
            AuditRoutes.unchanged(ctx);
        }
        respond(ctx, updated.record());
    }

    private void delete(Context ctx) {
        TenantAccess access = auth.tenantAccess(ctx);
        RecordCollection collection = operations.writable(access, ctx.pathParam("collection"));
        JsonBody.none(ctx);
        operations.delete(access, collection, ctx.pathParam("id"), ifMatch(ctx));
        ctx.status(204);
    }

    private static void respond(Context ctx, StoredRecord record) {
        ctx.header("ETag", etag(record.version()));
        ctx.json(record);
    }

    /** If-Match carries the version the client last saw: 3, "3" or W/"3". */
    private static Integer ifMatch(Context ctx) {
        String header = ctx.header("If-Match");
        if (header == null) {
            return null;
        }
        if (header.isBlank()) {
            // Sent but empty: treated as absent, a conditional write would go through unconditionally.
            throw new Refusal.Invalid("invalid_header", "If-Match is empty: send the record's version, or no If-Match");
        }
        String v = header.trim();
        if (v.startsWith("W/")) {
            v = v.substring(2);
        }
        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
            v = v.substring(1, v.length() - 1);
        }
        Long version = WholeNumbers.parse(v);
        if (!RecordOperations.isVersion(version)) {
            throw new Refusal.Invalid("invalid_header", "If-Match: '" + header + "' is not a record version");
        }
        return version.intValue();
    }

    private static Optional<IdempotencyKey> idempotencyKey(
            Context ctx, TenantAccess access, RecordCollection collection, JsonNode data) {
        return IdempotencyKeys.header(ctx)
                .map(key -> RecordOperations.idempotencyKey(
                        access, collection, key, data, new String(RequestBodies.of(ctx), StandardCharsets.UTF_8)));
    }
}
