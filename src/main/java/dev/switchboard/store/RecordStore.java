package dev.switchboard.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.switchboard.db.Jdbc;
import dev.switchboard.db.PageBytes;
import dev.switchboard.events.EventLog;
import dev.switchboard.events.NewEvent;
import dev.switchboard.support.Ids;
import dev.switchboard.support.Instants;
import dev.switchboard.support.Json;
import dev.switchboard.support.Refusal;
import dev.switchboard.tracing.Tracing;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.ToLongFunction;
import java.util.function.UnaryOperator;
import javax.sql.DataSource;

/**
 * Records and the events their changes append. Every write is a single statement (or, with an
 * idempotency key, a short transaction) that changes the record and appends its event together, so
 * an accepted write always has its event and a failed one has neither. Updates and deletes are
 * optimistic: read, compute, then write only if the version is still the one read; no transaction is
 * open while the merge and schema validation run, except on the last of {@value #MAX_OPTIMISTIC_RETRIES}
 * tries, which holds the record's row so that a write losing every race still lands.
 */
public final class RecordStore {
    /** What a record's id starts with ({@code rec_…}). */
    public static final String ID_PREFIX = "rec";

    private static final int MAX_OPTIMISTIC_RETRIES = 8;

    /**
     * A create: the record and its event in one statement. Parameters: tenant pk, collection pk, id,
     * created and updated time, data, then {@link NewEvent#params}, then the event's data again (which
     * comes back as the log stores it, for the WebSocket readers on this node). (The spine benchmark
     * sends this same statement straight over JDBC to measure the database's ceiling.)
     */
    public static final String CREATE_SQL = "WITH r AS (INSERT INTO records (tenant_pk, collection_pk, id, version,"
            + " created_at, updated_at, data) VALUES (?, ?, ?, 1, ?, ?, ?::jsonb) RETURNING data::text AS data)"
            + " SELECT r.data, " + NewEvent.APPEND_CALL + " AS seq, " + NewEvent.COMMITTED_DATA
            + " AS event_data FROM r";

    private final DataSource dataSource;
    private final EventLog eventLog;
    private final InstantSource clock;
    private final long maxDataBytes;

    /**
     * {@code maxDataBytes} bounds a record's data as JSON (server.maxBodySize), as stored: a create's
     * body is within it, but its numbers may grow when written out in full (1e99), so a create is
     * measured too, as an update is.
     */
    public RecordStore(DataSource dataSource, EventLog eventLog, InstantSource clock, long maxDataBytes) {
        this.dataSource = dataSource;
        this.eventLog = eventLog;
        this.clock = clock;
        this.maxDataBytes = maxDataBytes;
    }

    /**
     * A create's outcome: the record, or the first answer to a request with the same key
     * ({@code replayedBody}), and the seq of the event the create appended (for a replay, the first
     * request's; 0 for a key stored before the log position was kept with it).
     */
    public record Created(StoredRecord record, String replayedBody, long seq) {}

    /** An update's outcome: the record as written, and the seq of the event it appended. */
    public record Updated(StoredRecord record, long seq) {}

    public Created create(
            Tenant tenant, RecordCollection collection, JsonNode data, Optional<IdempotencyKey> idempotency) {
        String json = Json.write(data);
        long bytes = NewEvent.utf8Bytes(json);
        if (bytes > maxDataBytes) {
            throw Refusal.RecordTooLarge.created(bytes, maxDataBytes);
        }
        UUID id = Ids.newUuid();
        Instant now = now();
        NewEvent event = recordEvent(collection, Action.created, id, 1, data, now);
        Object[] params = concat(
                new Object[] {tenant.pk(), collection.pk(), id, now, now, json},
                concat(event.params(tenant.streamPk()), new Object[] {event.dataJson()}));
        if (idempotency.isEmpty()) {
            Written w = Tracing.statement(
                    "INSERT",
                    "records",
                    () -> Jdbc.withConnection(
                            dataSource,
                            c -> Jdbc.one(c, CREATE_SQL, RecordStore::written, params)
                                    .orElseThrow()));
            eventLog.published(tenant.streamPk(), EventLog.committed(event, w.seq(), w.eventData()));
            return new Created(new StoredRecord(Ids.format(ID_PREFIX, id), 1, now, now, w.data()), null, w.seq());
        }
        IdempotencyKey key = idempotency.get();
        EventLog.Entry[] committed = {null};
        Created created = Jdbc.inTransaction(dataSource, c -> {
            Optional<IdempotencyKey.Answer> first = key.claimOrFirstAnswer(c);
            if (first.isPresent()) {
                return new Created(null, first.get().body(), first.get().seq());
            }
            Written w = Tracing.statement(
                    "INSERT",
                    "records",
                    () -> Jdbc.one(c, CREATE_SQL, RecordStore::written, params).orElseThrow());
            StoredRecord record = new StoredRecord(Ids.format(ID_PREFIX, id), 1, now, now, w.data());
            key.answered(c, 201, Json.write(record), w.seq());
            committed[0] = EventLog.committed(event, w.seq(), w.eventData());
            return new Created(record, null, w.seq());
        });
        if (committed[0] != null) {
            eventLog.published(tenant.streamPk(), committed[0]);
        }
        return created;
    }

    /**
     * The answer to the request that used {@code key} first, as a create answers a retry, if that request
     * was made (422 when it was another request).
     */
    public Optional<Created> replay(IdempotencyKey key) {
        return Jdbc.withConnection(dataSource, key::answer).map(first -> new Created(null, first.body(), first.seq()));
    }

    public Optional<StoredRecord> find(Tenant tenant, RecordCollection collection, String id) {
        Optional<UUID> uuid = Ids.parse(ID_PREFIX, id);
        if (uuid.isEmpty()) {
            return Optional.empty();
        }
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.one(
                        c,
                        "SELECT id, version, created_at, updated_at, data::text AS data"
                                + " FROM records WHERE tenant_pk = ? AND collection_pk = ? AND id = ?",
                        RecordStore::map,
                        tenant.pk(),
                        collection.pk(),
                        uuid.get()));
    }

    public StoredRecord get(Tenant tenant, RecordCollection collection, String id) {
        return find(tenant, collection, id).orElseThrow(() -> notFound(collection, id));
    }

    /** A page of records and the cursor of the next page (null when this is the last). */
    public record Page(List<StoredRecord> records, String cursor) {}

    public Page list(Tenant tenant, RecordCollection collection, RecordQuery q) {
        List<Object> params = new ArrayList<>(List.of(tenant.pk(), collection.pk()));
        StringBuilder sql =
                new StringBuilder("SELECT id, version, created_at, updated_at, data, data_bytes FROM records"
                        + " WHERE tenant_pk = ? AND collection_pk = ?");
        if (q.updatedFrom() != null) {
            sql.append(" AND updated_at >= ?");
            params.add(Instants.microsUp(q.updatedFrom()));
        }
        if (q.updatedTo() != null) {
            sql.append(" AND updated_at <= ?");
            params.add(Instants.microsDown(q.updatedTo()));
        }
        if (q.ids() != null) {
            sql.append(" AND id = ANY(?::uuid[])");
            params.add(q.ids().stream().map(UUID::toString).toList());
        }
        if (q.after() != null) {
            if (q.after().byUpdate() != q.byUpdate()) {
                throw new Refusal.InvalidField(
                        "cursor",
                        "belongs to a query with " + (q.after().byUpdate() ? "an" : "no")
                                + " updatedFrom/updatedTo interval");
            }
            if (q.byUpdate()) {
                sql.append(" AND (updated_at, id) > (?, ?)");
                params.add(q.after().updatedAt());
            } else {
                sql.append(" AND id > ?");
            }
            params.add(q.after().id());
        }
        String order = q.byUpdate() ? "updated_at, id" : "id";
        sql.append(" ORDER BY ").append(order).append(" LIMIT ?");
        params.add(q.limit() + 1);
        String bounded = PageBytes.bounded("id, version, created_at, updated_at", sql.toString(), order, q.maxBytes());
        List<Row> rows = Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(c, bounded, rs -> new Row(rs.getObject("id", UUID.class), map(rs)), params.toArray()));
        // The row after the page (past the limit, or past the byte bound with its data left out) only
        // says that more follow.
        int size = Math.min(q.limit(), rows.size());
        if (size > 0 && rows.get(size - 1).record().data() == null) {
            size--;
        }
        if (size == rows.size()) {
            return new Page(rows.stream().map(Row::record).toList(), null);
        }
        Row last = rows.get(size - 1);
        RecordQuery.Cursor next =
                new RecordQuery.Cursor(q.byUpdate(), last.record().updatedAt(), last.uuid());
        return new Page(rows.subList(0, size).stream().map(Row::record).toList(), next.encode());
    }

    private record Row(UUID uuid, StoredRecord record) {}

    /**
     * Writes the record's data as {@code edit} makes it from the current data, once {@code check} has
     * passed it (it throws the refusal, or gives the data to write), at the next version, with its event.
     * Data the edit leaves as it was is neither checked nor written (no version, no event: the answer is
     * the record as it is, with seq 0; a record written before its collection's schema changed does not
     * refuse a patch that leaves it as it is) unless {@code writeUnchanged}: for a caller that may not read
     * the record, whose version moving or not would tell it what the record holds.
     */
    public Updated update(
            Tenant tenant,
            RecordCollection collection,
            String id,
            Integer ifMatch,
            UnaryOperator<JsonNode> edit,
            UnaryOperator<JsonNode> check,
            boolean writeUnchanged) {
        UUID uuid = Ids.parse(ID_PREFIX, id).orElseThrow(() -> notFound(collection, id));
        return readThenWrite(tenant, collection, uuid, id, ifMatch, Updated::seq, (c, current) -> {
            JsonNode edited = edit.apply(current.data());
            if (!writeUnchanged && Json.sameValue(edited, current.data())) {
                return Optional.of(new Updated(current.stored(), 0));
            }
            JsonNode data = check.apply(edited);
            String json = Json.write(data);
            long bytes = NewEvent.utf8Bytes(json);
            if (bytes > maxDataBytes) {
                throw new Refusal.RecordTooLarge(id, bytes, maxDataBytes);
            }
            int version = current.version() + 1;
            Instant now = now();
            NewEvent event = recordEvent(collection, Action.updated, uuid, version, data, now);
            Object[] params = concat(
                    new Object[] {version, now, json, tenant.pk(), collection.pk(), uuid, current.version()},
                    event.params(tenant.streamPk()));
            return Tracing.statement(
                    "UPDATE",
                    "records",
                    () -> Jdbc.one(
                            c,
                            "WITH r AS (UPDATE records SET version = ?, updated_at = ?, data = ?::jsonb"
                                    + " WHERE tenant_pk = ? AND collection_pk = ? AND id = ? AND version = ?"
                                    + " RETURNING id, version, created_at, updated_at, data::text AS data)"
                                    + " SELECT r.*, " + NewEvent.APPEND_CALL + " AS seq FROM r",
                            rs -> new Updated(map(rs), rs.getLong("seq")),
                            params));
        });
    }

    /** Deletes the record; returns the seq of the event the delete appended. */
    public long delete(Tenant tenant, RecordCollection collection, String id, Integer ifMatch) {
        UUID uuid = Ids.parse(ID_PREFIX, id).orElseThrow(() -> notFound(collection, id));
        return readThenWrite(tenant, collection, uuid, id, ifMatch, Long::longValue, (c, current) -> {
            NewEvent event =
                    recordEvent(collection, Action.deleted, uuid, current.version() + 1, current.data(), now());
            Object[] params = concat(
                    new Object[] {tenant.pk(), collection.pk(), uuid, current.version()},
                    event.params(tenant.streamPk()));
            return Tracing.statement(
                    "DELETE",
                    "records",
                    () -> Jdbc.one(
                            c,
                            "WITH r AS (DELETE FROM records WHERE tenant_pk = ? AND collection_pk = ? AND id = ? AND version = ?"
                                    + " RETURNING id) SELECT " + NewEvent.APPEND_CALL + " AS seq FROM r",
                            rs -> rs.getLong("seq"),
                            params));
        });
    }

    /** One try's write of a record as the try read it; empty when the record's version moved meanwhile. */
    @FunctionalInterface
    private interface Write<T> {
        Optional<T> write(Connection c, Current current) throws SQLException;
    }

    /**
     * Reads the record, then writes it only if its version is still the one read (nothing is locked
     * while the edit is computed), trying again when others wrote it in between; announces the write's
     * event once it is committed. The last of {@value #MAX_OPTIMISTIC_RETRIES} tries holds the record's
     * row from its read to its write, in one transaction: a write without If-Match that keeps losing
     * the race still lands, after the writes ahead of it, instead of failing.
     */
    private <T> T readThenWrite(
            Tenant tenant,
            RecordCollection collection,
            UUID uuid,
            String id,
            Integer ifMatch,
            ToLongFunction<T> seqOf,
            Write<T> write) {
        for (int attempt = 0; attempt < MAX_OPTIMISTIC_RETRIES; attempt++) {
            boolean last = attempt == MAX_OPTIMISTIC_RETRIES - 1;
            Jdbc.Work<Optional<T>> work = c -> write.write(c, current(c, tenant, collection, uuid, id, ifMatch, last));
            Optional<T> written = last ? Jdbc.inTransaction(dataSource, work) : Jdbc.withConnection(dataSource, work);
            if (written.isPresent()) {
                long seq = seqOf.applyAsLong(written.get());
                if (seq > 0) { // 0: nothing was written
                    eventLog.published(tenant.streamPk(), seq);
                }
                return written.get();
            }
            // Someone else wrote in between: try again (with If-Match, current() refuses it as a conflict).
        }
        // Not reached: the last try holds the row from its read to its write.
        throw new Refusal.Conflict("concurrent_update", "record '" + id + "' kept changing; try again");
    }

    /** A record as a write read it: as stored, and its data parsed. */
    private record Current(StoredRecord stored, JsonNode data) {
        int version() {
            return stored.version();
        }
    }

    /** What happened to a record, spelled as in its event's type ({@code <collection>.<action>}). */
    private enum Action {
        created,
        updated,
        deleted
    }

    /** The record as it is, checked against If-Match; on the last try its row is held until the write. */
    private static Current current(
            Connection c,
            Tenant tenant,
            RecordCollection collection,
            UUID uuid,
            String id,
            Integer ifMatch,
            boolean last)
            throws SQLException {
        Current current = Jdbc.one(
                        c,
                        "SELECT id, version, created_at, updated_at, data::text AS data FROM records"
                                + " WHERE tenant_pk = ? AND collection_pk = ? AND id = ?"
                                + (last ? " FOR UPDATE" : ""),
                        rs -> {
                            StoredRecord stored = map(rs);
                            return new Current(stored, Json.read(stored.data()));
                        },
                        tenant.pk(),
                        collection.pk(),
                        uuid)
                .orElseThrow(() -> notFound(collection, id));
        if (ifMatch != null && ifMatch != current.version()) {
            throw new Refusal.Conflict(
                    "version_conflict",
                    "record '" + id + "' is at version " + current.version() + ", not " + ifMatch + " (If-Match)",
                    Map.of("currentVersion", current.version()));
        }
        return current;
    }

    /**
     * The thin event of a record change: id, version and the collection's eventFields. A created or
     * updated record whose eventFields would take its event past {@link NewEvent#MAX_DATA_BYTES} is
     * refused (422, naming the largest of those fields), before anything is written. A delete is never
     * refused for it: its event then carries only id and version (eventFields can grow after a record
     * was written, when an operator changes the collection).
     */
    private static NewEvent recordEvent(
            RecordCollection collection, Action action, UUID id, int version, JsonNode data, Instant time) {
        String publicId = Ids.format(ID_PREFIX, id);
        String json = Json.write(thinEvent(collection, publicId, version, data, true));
        long bytes = NewEvent.utf8Bytes(json);
        if (bytes > NewEvent.MAX_DATA_BYTES) {
            if (action != Action.deleted) {
                throw eventTooLarge(collection, action, data, bytes);
            }
            json = Json.write(thinEvent(collection, publicId, version, data, false));
        }
        return new NewEvent(
                Ids.newUuid(), collection.name() + "." + action, publicId, collection.name(), time, json, null);
    }

    private static ObjectNode thinEvent(
            RecordCollection collection, String publicId, int version, JsonNode data, boolean withEventFields) {
        ObjectNode thin = Json.MAPPER.createObjectNode();
        thin.put("id", publicId);
        thin.put("version", version);
        if (withEventFields) {
            for (String field : collection.eventFields()) {
                JsonNode value = data.get(field);
                if (value != null) {
                    thin.set(field, value);
                }
            }
        }
        return thin;
    }

    private static Refusal eventTooLarge(RecordCollection collection, Action action, JsonNode data, long bytes) {
        String largest = null;
        long largestBytes = -1;
        for (String field : collection.eventFields()) {
            JsonNode value = data.get(field);
            long size = value == null ? -1 : NewEvent.utf8Bytes(Json.write(value));
            if (size > largestBytes) {
                largest = field;
                largestBytes = size;
            }
        }
        String path = "data." + largest;
        return new Refusal.EventTooLarge(
                path,
                bytes,
                NewEvent.MAX_DATA_BYTES,
                path + ": is " + largestBytes + " bytes as JSON; collection '"
                        + collection.name()
                        + "' copies it into every event of its records (eventFields), and this record's "
                        + collection.name() + "." + action + " event would carry " + bytes
                        + " bytes of data, over the limit of "
                        + NewEvent.MAX_DATA_BYTES + " bytes for an event's data");
    }

    private record Written(String data, long seq, String eventData) {}

    private static Written written(ResultSet rs) throws SQLException {
        return new Written(rs.getString("data"), rs.getLong("seq"), rs.getString("event_data"));
    }

    private static StoredRecord map(ResultSet rs) throws SQLException {
        return new StoredRecord(
                Ids.format(ID_PREFIX, rs.getObject("id", UUID.class)),
                rs.getInt("version"),
                Jdbc.instant(rs, "created_at"),
                Jdbc.instant(rs, "updated_at"),
                rs.getString("data"));
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

    private static Refusal notFound(RecordCollection collection, String id) {
        return new Refusal.NotFound("record '" + id + "' in collection '" + collection.name() + "'");
    }

    private static Object[] concat(Object[] a, Object[] b) {
        Object[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
