package dev.switchboard.websockets;

import dev.switchboard.events.EventFilter;
import dev.switchboard.events.EventLog;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Consecutive events of one stream read together by the hub, to be offered to every socket on the
 * stream. Each event is serialized once; the frame of a set of events is built once and shared by every
 * socket whose filter takes that set (almost always all of them take all), so fan-out cost per socket is
 * a filter check and a write. Frames are shared by what they carry, not by filter: filters that differ
 * only in words (a client may subscribe to {@code ["reservations.*", "reservations.x1"]}, the next to
 * {@code ["reservations.*", "reservations.x2"]}) must not have a batch built and held once per socket.
 */
final class Batch {
    private static final ByteBuffer NOTHING = ByteBuffer.allocate(0);

    private final List<EventLog.Entry> entries;
    private final List<byte[]> json;
    private final Map<EventFilter, ByteBuffer> byFilter = new ConcurrentHashMap<>();
    private final Map<BitSet, ByteBuffer> byEvents = new ConcurrentHashMap<>();

    Batch(List<EventLog.Entry> entries) {
        this.entries = List.copyOf(entries);
        this.json = new ArrayList<>(entries.size());
        for (EventLog.Entry e : entries) {
            json.add(Frames.json(e.event()));
        }
    }

    private Batch(List<EventLog.Entry> entries, List<byte[]> json) {
        this.entries = entries;
        this.json = json;
    }

    /**
     * The events {@code filter} takes, as a batch of their own sharing their serialized form (null when
     * it takes none): what a socket keeps while it may not send yet. Keeping this batch instead would
     * keep every event's data, and the frames built for other sockets, for a client charged only with
     * its own events: a narrow subscriber resuming slowly could pin gigabytes within its queue's bound.
     */
    Batch narrowedTo(EventFilter filter) {
        BitSet accepted = accepted(filter, Long.MIN_VALUE);
        if (accepted.isEmpty()) {
            return null;
        }
        if (accepted.cardinality() == entries.size()) {
            return this; // all of it: its frame stays the one shared with the other sockets that take it all
        }
        List<EventLog.Entry> taken = new ArrayList<>(accepted.cardinality());
        List<byte[]> takenJson = new ArrayList<>(accepted.cardinality());
        accepted.stream().forEach(i -> {
            taken.add(entries.get(i));
            takenJson.add(json.get(i));
        });
        return new Batch(List.copyOf(taken), takenJson);
    }

    /** The bytes of its events as a frame carries them. */
    long bytes() {
        long bytes = 0;
        for (byte[] event : json) {
            bytes += event.length;
        }
        return bytes;
    }

    long firstSeq() {
        return entries.getFirst().event().seq();
    }

    long lastSeq() {
        return entries.getLast().event().seq();
    }

    /**
     * The frame of the events after {@code after} that {@code filter} accepts, or null when there are
     * none. Shared and read-only: send a duplicate.
     */
    ByteBuffer frame(EventFilter filter, long after) {
        if (after >= lastSeq()) {
            return null;
        }
        ByteBuffer frame = after >= firstSeq()
                ? build(accepted(filter, after)) // the seam of a resume: rare, not shared
                : byFilter.computeIfAbsent(
                        filter, f -> byEvents.computeIfAbsent(accepted(f, Long.MIN_VALUE), this::build));
        return frame == NOTHING ? null : frame;
    }

    /** The events after {@code after} that {@code filter} takes, by their place in the batch. */
    private BitSet accepted(EventFilter filter, long after) {
        BitSet accepted = new BitSet(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            EventLog.Entry e = entries.get(i);
            if (e.event().seq() > after && filter.accepts(e.event(), e.collection())) {
                accepted.set(i);
            }
        }
        return accepted;
    }

    private ByteBuffer build(BitSet accepted) {
        if (accepted.isEmpty()) {
            return NOTHING;
        }
        List<byte[]> carried = new ArrayList<>(accepted.cardinality());
        accepted.stream().forEach(i -> carried.add(json.get(i)));
        return Frames.events(carried);
    }
}
