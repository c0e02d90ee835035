package dev.switchboard.events;

import java.util.List;

/**
 * Which events of a stream a reader may see and asked for: the event-type patterns its integration may
 * receive (empty: none, so an integration created without event types, or revoked to {@code []},
 * receives nothing), the collections it may read ({@code null}: all), and the patterns the reader asked
 * for (empty: everything allowed). An event passes when it matches both pattern lists and, if a record
 * produced it, its collection is readable. {@link #accepts} (WebSocket fan-out, webhooks' shared reads)
 * and {@link #sql} (the feed, webhooks, WebSocket replay, the messages API) must agree on every case.
 */
public record EventFilter(List<String> allowed, List<String> readableCollections, List<String> requested) {
    public static final EventFilter ALL = new EventFilter(List.of("*"), null, List.of());

    public EventFilter {
        allowed = List.copyOf(allowed);
        readableCollections = readableCollections == null ? null : List.copyOf(readableCollections);
        requested = List.copyOf(requested);
    }

    public EventFilter narrowedTo(List<String> patterns) {
        return new EventFilter(allowed, readableCollections, patterns);
    }

    /**
     * The same conditions in SQL, on the events table's {@code type} and {@code collection} (each name
     * prefixed by {@code prefix}, e.g. {@code "ev."}): " AND …" to append to a WHERE clause, with the
     * parameters appended to {@code params}.
     */
    public String sql(String prefix, List<Object> params) {
        StringBuilder where = new StringBuilder();
        if (allowed.isEmpty()) {
            where.append(" AND false");
        } else {
            likeAny(where, prefix, params, allowed);
        }
        likeAny(where, prefix, params, requested); // empty: the reader did not narrow what it may receive
        if (readableCollections != null) {
            where.append(" AND (")
                    .append(prefix)
                    .append("collection IS NULL OR ")
                    .append(prefix)
                    .append("collection = ANY(?))");
            params.add(readableCollections);
        }
        return where.toString();
    }

    private static void likeAny(StringBuilder where, String prefix, List<Object> params, List<String> patterns) {
        if (patterns.isEmpty() || patterns.contains("*")) {
            return;
        }
        where.append(" AND ").append(prefix).append("type LIKE ANY(?)");
        params.add(patterns.stream().map(EventTypes::toLike).toList());
    }

    public boolean accepts(Event event, String collection) {
        return EventTypes.matchesAny(allowed, event.type())
                && (requested.isEmpty() || EventTypes.matchesAny(requested, event.type()))
                && (collection == null || readableCollections == null || readableCollections.contains(collection));
    }
}
