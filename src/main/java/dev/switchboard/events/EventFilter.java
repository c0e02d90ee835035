package dev.switchboard.events;

import java.util.List;

/**
 * Which events of a stream a reader may see and asked for: the event-type patterns its integration may
 * receive (empty: none, so an integration created without event types, or revoked to {@code []},
 * receives nothing), the collections it may read ({@code null}: all), and the patterns the reader asked
 * for (empty: everything allowed). An event passes when it matches both pattern lists and, if a record
 * produced it, its collection is readable. {@link #accepts} (WebSocket fan-out) and {@link EventLog}'s
 * SQL (feed, webhooks, WebSocket replay) must agree on every case.
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

    public boolean accepts(Event event, String collection) {
        return EventTypes.matchesAny(allowed, event.type())
                && (requested.isEmpty() || EventTypes.matchesAny(requested, event.type()))
                && (collection == null || readableCollections == null || readableCollections.contains(collection));
    }
}
