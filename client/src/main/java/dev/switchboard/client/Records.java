package dev.switchboard.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * The records of one collection ({@code /api/v1/collections/{collection}/records}). Get one from
 * {@link SwitchboardClient#records(String)}. Record data is anything Jackson writes as a JSON object
 * (a {@code Map}, a {@code JsonNode}, a POJO).
 */
public final class Records {
    private final SwitchboardClient client;
    private final String collection;
    private final String path;

    Records(SwitchboardClient client, String collection) {
        this.client = client;
        this.collection = collection;
        this.path = "/api/v1/collections/" + SwitchboardClient.encode(collection) + "/records";
    }

    /** The collection's name. */
    public String collection() {
        return collection;
    }

    /** Creates a record (with an {@code Idempotency-Key} made for this call: see {@link #create(Object, String)}). */
    public DataRecord create(Object data) {
        return create(data, null);
    }

    /**
     * Creates a record with an {@code Idempotency-Key}: a retry with the same key (for 24 h) returns the
     * first result instead of creating a second record. With a null key one is made for this call, so that the
     * client's own retry after a 503 (the first attempt's write may have committed) cannot make a second record;
     * give your own to retry safely across calls or restarts. A key is printable ASCII, as an HTTP header's
     * value is: any other character is refused here, since the header could not carry it as written.
     */
    public DataRecord create(Object data, String idempotencyKey) {
        if (idempotencyKey != null && !idempotencyKey.chars().allMatch(c -> c >= 0x20 && c <= 0x7e)) {
            throw new IllegalArgumentException(
                    "idempotencyKey must be printable ASCII (an HTTP header carries nothing else), got '"
                            + idempotencyKey + "'");
        }
        Map<String, String> headers = Map.of(
                SwitchboardClient.IDEMPOTENCY_KEY,
                idempotencyKey == null ? "sb-client-" + java.util.UUID.randomUUID() : idempotencyKey);
        return DataRecord.from(
                client.send("POST", path, Map.of("data", data), headers).body());
    }

    /** The record with this id; {@link ApiException.NotFound} when there is none. */
    public DataRecord get(String id) {
        return DataRecord.from(client.send("GET", path + "/" + SwitchboardClient.encode(id), null, Map.of())
                .body());
    }

    /**
     * Applies a JSON Merge Patch to the record's data ({@code null} clears a field). With {@code ifMatch}
     * the update happens only if the record is still at that version, else {@link ApiException.Conflict};
     * null updates whatever the version.
     */
    public DataRecord update(String id, Object patch, Long ifMatch) {
        return DataRecord.from(client.send(
                        "PATCH",
                        path + "/" + SwitchboardClient.encode(id),
                        Map.of("data", patch),
                        ifMatchHeader(ifMatch))
                .body());
    }

    /** Deletes the record; {@link ApiException.NotFound} when there is none. */
    public void delete(String id) {
        delete(id, null);
    }

    /**
     * Deletes the record if it is still at version {@code ifMatch}, else {@link ApiException.Conflict} (with
     * {@code details.currentVersion}) and nothing is deleted; null deletes whatever the version.
     */
    public void delete(String id, Long ifMatch) {
        client.send("DELETE", path + "/" + SwitchboardClient.encode(id), null, ifMatchHeader(ifMatch));
    }

    private static Map<String, String> ifMatchHeader(Long version) {
        return version == null ? Map.of() : Map.of("If-Match", "\"" + version + "\"");
    }

    /** Every record of the collection, fetched a page of 100 at a time as the iteration goes. */
    public Iterable<DataRecord> list() {
        return list(ListOptions.pageSize(100));
    }

    /** The records {@code options} select, fetched a page at a time as the iteration goes. */
    public Iterable<DataRecord> list(ListOptions options) {
        return () -> new Pages(options);
    }

    /**
     * What {@link #list(ListOptions)} selects.
     *
     * @param pageSize records per request, 1..1000
     * @param updatedFrom only records updated at or after this instant (null: no bound); pages go in update order
     * @param updatedTo only records updated at or before this instant (null: no bound)
     * @param ids only these ids (null: every record; empty: none, as the server reads an empty {@code ids=});
     *     they travel in the URL, where about 250 fit in the server's 8 KiB of request headers (more are
     *     answered 414): list more in several calls
     */
    public record ListOptions(int pageSize, Instant updatedFrom, Instant updatedTo, List<String> ids) {
        /** Checks the page size. */
        public ListOptions {
            if (pageSize < 1 || pageSize > 1000) {
                throw new IllegalArgumentException("pageSize must be between 1 and 1000, got " + pageSize);
            }
            if (ids != null) {
                ids = List.copyOf(ids);
                for (String id : ids) {
                    // the ids travel comma-separated: one with a comma, or an empty one, would select others
                    if (id.isEmpty() || id.indexOf(',') >= 0) {
                        throw new IllegalArgumentException("ids must be non-empty and hold no comma, got '" + id + "'");
                    }
                }
            }
        }

        /** Every record, {@code pageSize} at a time. */
        public static ListOptions pageSize(int pageSize) {
            return new ListOptions(pageSize, null, null, null);
        }
    }

    private final class Pages implements Iterator<DataRecord> {
        private final ListOptions options;
        private List<DataRecord> page = List.of();
        private int index;
        private String cursor;
        private boolean last;

        Pages(ListOptions options) {
            this.options = options;
        }

        @Override
        public boolean hasNext() {
            while (index == page.size()) {
                if (last) {
                    return false;
                }
                fetch();
            }
            return true;
        }

        @Override
        public DataRecord next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return page.get(index++);
        }

        private void fetch() {
            StringBuilder query = new StringBuilder("?limit=").append(options.pageSize());
            if (cursor != null) {
                query.append("&cursor=").append(SwitchboardClient.encode(cursor));
            }
            if (options.updatedFrom() != null) {
                query.append("&updatedFrom=")
                        .append(SwitchboardClient.encode(options.updatedFrom().toString()));
            }
            if (options.updatedTo() != null) {
                query.append("&updatedTo=")
                        .append(SwitchboardClient.encode(options.updatedTo().toString()));
            }
            if (options.ids() != null) {
                query.append("&ids=").append(SwitchboardClient.encode(String.join(",", options.ids())));
            }
            JsonNode body = client.send("GET", path + query, null, Map.of()).body();
            List<DataRecord> records = new ArrayList<>();
            body.path("records").forEach(r -> records.add(DataRecord.from(r)));
            page = records;
            index = 0;
            JsonNode next = body.get("cursor");
            cursor = next == null || next.isNull() ? null : next.asText();
            last = cursor == null;
        }
    }
}
