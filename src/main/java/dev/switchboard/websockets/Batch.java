package dev.switchboard.websockets;

import dev.switchboard.config.WebSocketSettings;
import dev.switchboard.db.PageBytes;
import dev.switchboard.events.EventFilter;
import dev.switchboard.events.EventLog;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Consecutive events of one stream read together by the hub, to be offered to every socket on the
 * stream. Each event is serialized once; the frame for a filter is built once and shared by every
 * socket with an equal filter (almost always all of them), so fan-out cost per socket is a filter
 * check and a write.
 */
final class Batch {
    private static final ByteBuffer NOTHING = ByteBuffer.allocate(0);

    private final List<EventLog.Entry> entries;
    private final List<byte[]> json;
    private final long bytes;
    private final Map<EventFilter, ByteBuffer> frames = new ConcurrentHashMap<>();

    /**
     * The event data one batch (a live read, or a replay page) carries at most: a quarter of what may
     * wait for one client ({@code websockets.queueSize}, 1 MiB by default, so 256 KiB). Frames follow
     * each other without waiting, and several of them must fit the queue of a client that keeps up; a
     * single event larger than this still goes out in a batch of its own.
     */
    static int maxBytes(WebSocketSettings settings) {
        return (int) Math.max(1, Math.min(PageBytes.MAX, settings.queueBytes() / 4));
    }

    Batch(List<EventLog.Entry> entries) {
        this.entries = List.copyOf(entries);
        this.json = new ArrayList<>(entries.size());
        long total = 0;
        for (EventLog.Entry e : entries) {
            byte[] serialized = Frames.json(e.event());
            json.add(serialized);
            total += serialized.length + 1;
        }
        this.bytes = total;
    }

    long firstSeq() {
        return entries.getFirst().event().seq();
    }

    long lastSeq() {
        return entries.getLast().event().seq();
    }

    /** Bytes this batch holds (what buffering it for one socket costs at most). */
    long bytes() {
        return bytes;
    }

    /**
     * The frame of the events after {@code after} that {@code filter} accepts, or null when there are
     * none. Shared and read-only: send a duplicate.
     */
    ByteBuffer frame(EventFilter filter, long after) {
        if (after >= lastSeq()) {
            return null;
        }
        if (after >= firstSeq()) {
            return build(filter, after); // the seam of a resume: rare, not shared
        }
        ByteBuffer frame = frames.computeIfAbsent(filter, f -> {
            ByteBuffer built = build(f, Long.MIN_VALUE);
            return built == null ? NOTHING : built;
        });
        return frame == NOTHING ? null : frame;
    }

    private ByteBuffer build(EventFilter filter, long after) {
        List<byte[]> accepted = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            EventLog.Entry e = entries.get(i);
            if (e.event().seq() > after && filter.accepts(e.event(), e.collection())) {
                accepted.add(json.get(i));
            }
        }
        return accepted.isEmpty() ? null : Frames.events(accepted);
    }
}
