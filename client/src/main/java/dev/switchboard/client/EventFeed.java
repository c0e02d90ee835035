package dev.switchboard.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * The tenant's event feed ({@code GET /api/v1/events}) read with long polls: {@link #poll()} returns the
 * next page (waiting up to the options' wait when nothing is new), {@link #iterator()} the events one by
 * one, blocking until each arrives. Not thread-safe: one reader per feed.
 *
 * <p>The feed keeps its own position ({@link #position()}): past the events it has handed out, a whole
 * page from {@link #poll()}, one event at a time from the iterator. Save it where the events' effects
 * are kept, after handling what it was handed, and pass it back as {@link Options#after()} to carry on
 * after a restart.
 */
public final class EventFeed implements Iterable<Event> {
    private final SwitchboardClient client;
    private final Options options;
    /** Past the events handed out. */
    private long position;
    /** Where the last page read ended, which the iterator may not have handed out whole. */
    private long readUpTo;
    /** The options' wait, or the server's maximum when that is lower. */
    private Duration wait;

    EventFeed(SwitchboardClient client, Options options) {
        this.client = client;
        this.options = options;
        this.position = options.after();
        this.readUpTo = options.after();
        this.wait = options.longPollWait();
    }

    /**
     * What to read.
     *
     * @param after read events after this position (0: from the start of the log)
     * @param types event-type patterns ({@code reservations.*}); empty: every type the token may receive
     * @param pageSize events per request, 1..1000
     * @param longPollWait how long a poll waits for a new event when there is none, in whole seconds; a
     *     server whose maximum (events.maxWait, 30 s by default) is lower is asked for its maximum instead.
     *     With 0 the iterator pauses a second between reads that find nothing
     */
    public record Options(long after, List<String> types, int pageSize, Duration longPollWait) {
        /** Checks the values. */
        public Options {
            if (after < 0) {
                throw new IllegalArgumentException("after must be 0 or more");
            }
            if (pageSize < 1 || pageSize > 1000) {
                throw new IllegalArgumentException("pageSize must be between 1 and 1000, got " + pageSize);
            }
            types = types == null ? List.of() : List.copyOf(types);
            // The server takes whole seconds: 500 ms was sent as 0, and the iterator read again at once, without end.
            if (longPollWait == null || longPollWait.isNegative() || longPollWait.toNanos() % 1_000_000_000L != 0) {
                throw new IllegalArgumentException(
                        "longPollWait must be a whole number of seconds, 0 or more, got " + longPollWait);
            }
        }

        /** After {@code after}, every type, 100 a page, 30 s long polls. */
        public static Options after(long after) {
            return new Options(after, List.of(), 100, Duration.ofSeconds(30));
        }
    }

    /**
     * The position past the events handed out: the last one, or further when the feed passed over events
     * it may not see. Read the iterator's after each event it returns: the next event of its page is
     * not handed out yet, so the position does not include it.
     */
    public long position() {
        return position;
    }

    /**
     * One long poll: the next events after {@link #position()}; empty when the wait ended with nothing new,
     * or when the server looked at as many positions as one read does without finding one this token may
     * see (the position then moved on: poll again).
     */
    public List<Event> poll() {
        List<Event> events = read();
        position = readUpTo;
        return events;
    }

    private List<Event> read() {
        try {
            return readOnce();
        } catch (ApiException.InvalidRequest refused) {
            long maxWait = serversMaxWait(refused);
            if (maxWait < 0 || maxWait >= wait.toSeconds()) {
                throw refused;
            }
            // A server (or an operator lowering events.maxWait behind a proxy) that waits less than asked.
            wait = Duration.ofSeconds(maxWait);
            return readOnce();
        }
    }

    /** The server's events.maxWait when it refused the wait for being above it, else -1. */
    private static long serversMaxWait(ApiException.InvalidRequest refused) {
        JsonNode details = refused.details();
        if (details == null
                || !"wait".equals(details.path("field").asText())
                || !details.path("maxWait").canConvertToLong()) {
            return -1;
        }
        return details.path("maxWait").asLong();
    }

    private List<Event> readOnce() {
        // From the position: a loop left mid-page (or a poll after it) reads the rest of the page again.
        StringBuilder query = new StringBuilder("/api/v1/events?after=")
                .append(position)
                .append("&limit=")
                .append(options.pageSize())
                .append("&wait=")
                .append(wait.toSeconds());
        if (!options.types().isEmpty()) {
            query.append("&types=").append(SwitchboardClient.encode(String.join(",", options.types())));
        }
        JsonNode body = client.send(
                        "GET",
                        query.toString(),
                        null,
                        Map.of(),
                        client.requestTimeout().plus(wait))
                .body();
        List<Event> events = new ArrayList<>();
        body.path("events").forEach(e -> events.add(Event.from(e)));
        readUpTo = body.path("next").asLong(position);
        return events;
    }

    private static void pause() {
        try {
            Thread.sleep(1_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SwitchboardException("interrupted while waiting for events");
        }
    }

    /**
     * The events from {@link #position()} on, one at a time: {@code hasNext()} long-polls until an event
     * arrives (it never returns false; stop iterating to stop reading). Errors are thrown as
     * {@link SwitchboardException}s.
     */
    @Override
    public Iterator<Event> iterator() {
        return new Iterator<>() {
            private List<Event> page = List.of();
            private int index;

            @Override
            public boolean hasNext() {
                while (index == page.size()) {
                    if (Thread.currentThread().isInterrupted()) {
                        throw new SwitchboardException("interrupted while waiting for events");
                    }
                    long before = position;
                    page = read();
                    index = 0;
                    if (page.isEmpty()) {
                        position = readUpTo; // past events it may not see, none handed out
                        if (position == before && wait.isZero()) {
                            pause(); // nothing new, and no wait on the server's side: not a busy loop
                        }
                    }
                }
                return true;
            }

            @Override
            public Event next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Event event = page.get(index++);
                // The page's end may lie past its last event (events it may not see): only once it is all out.
                position = index == page.size() ? readUpTo : event.seq();
                return event;
            }
        };
    }
}
