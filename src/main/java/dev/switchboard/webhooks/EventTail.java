package dev.switchboard.webhooks;

import dev.switchboard.db.PageBytes;
import dev.switchboard.events.Event;
import dev.switchboard.events.EventFilter;
import dev.switchboard.events.EventLog;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The newest events of the event streams this node's webhook streams follow, read once for all of
 * them. Without it, fan-out (fifty endpoints following one tenant) reads every new event fifty times:
 * each woken stream reads the log for itself. Here a stream that caught up with its log opens a window
 * at the head; a commit past the window's end makes the first stream to read extend it (unfiltered,
 * one read for everyone), and every stream inside the window takes its events from memory, filtered
 * by {@link EventFilter#accepts} (which agrees with the log's SQL).
 *
 * <p>The window only ever answers with events it holds: a stream behind it, ahead of it, or at its end
 * with no newer commit known here reads the log itself, so a lost wake-up or a missed commit costs a
 * read, never an event. Windows are bounded ({@value #MAX_ENTRIES} events, {@value #MAX_CHARS} chars
 * of data, {@value #MAX_WINDOWS} event streams) and dropped when the node may have missed commits.
 */
final class EventTail {
    static final int MAX_ENTRIES = 512;
    static final int MAX_CHARS = 512 * 1024;
    static final int MAX_WINDOWS = 128;
    private static final int READ = 256;

    /** Events with seq in (after, next], in order, the chars of data they hold, and whether the last read stopped at its bound (more may follow). */
    private record Window(long after, long next, List<EventLog.Entry> entries, long chars, boolean more) {}

    private final EventLog log;
    private final Map<Long, Window> windows = new ConcurrentHashMap<>();
    private final Map<Long, Long> heads = new ConcurrentHashMap<>();
    private final Set<Long> used = ConcurrentHashMap.newKeySet();
    private final ReentrantLock[] extending = new ReentrantLock[64];

    EventTail(EventLog log) {
        this.log = log;
        for (int i = 0; i < extending.length; i++) {
            extending[i] = new ReentrantLock();
        }
    }

    /** An event committed; called before the streams that follow it are woken. */
    void appended(long streamPk, long seq) {
        if (windows.containsKey(streamPk)) {
            heads.merge(streamPk, seq, Math::max);
        }
    }

    /** Commits may have been missed: every window is dropped, and streams read the log until they catch up again. */
    void clear() {
        windows.clear();
        heads.clear();
    }

    /** Drops the windows no stream read since the last call. */
    void dropUnused() {
        windows.keySet().retainAll(used);
        heads.keySet().retainAll(windows.keySet());
        used.clear();
    }

    /** A stream read the log up to its head at {@code position}: a window opens there if its event stream has none (or one behind it). */
    void caughtUp(long streamPk, long position) {
        Window w = windows.get(streamPk);
        if ((w == null && windows.size() < MAX_WINDOWS) || (w != null && w.next() < position)) {
            windows.put(streamPk, new Window(position, position, List.of(), 0, false));
        }
    }

    /**
     * Up to {@code limit} events after {@code after} that pass {@code filter}, from the window; empty
     * when the window cannot answer and the stream must read the log itself.
     */
    Optional<EventLog.Page> read(long streamPk, long after, int limit, EventFilter filter) {
        Window w = windows.get(streamPk);
        if (w == null || after < w.after() || after > w.next()) {
            return Optional.empty();
        }
        used.add(streamPk);
        if (heads.getOrDefault(streamPk, 0L) > w.next()) {
            w = extend(streamPk, w); // it may have moved on (or been replaced) meanwhile: check again
        }
        if (after < w.after() || after >= w.next()) {
            return Optional.empty(); // outside it, or nothing newer known here: the log says for sure
        }
        List<Event> events = new ArrayList<>();
        List<EventLog.Entry> entries = w.entries();
        long next = w.next();
        int bytes = 0;
        for (int i = firstAfter(entries, after); i < entries.size(); i++) {
            EventLog.Entry entry = entries.get(i);
            if (!filter.accepts(entry.event(), entry.collection())) {
                continue;
            }
            int size = entry.event().data().length();
            if (events.size() == limit || (!events.isEmpty() && bytes + size > PageBytes.MAX)) {
                next = events.getLast().seq();
                break;
            }
            events.add(entry.event());
            bytes += size;
        }
        return Optional.of(new EventLog.Page(events, next, next != w.next() || w.more()));
    }

    /** Reads on from the window's end, once for every stream waiting on it. */
    private Window extend(long streamPk, Window seen) {
        ReentrantLock lock = extending[Math.floorMod(Long.hashCode(streamPk), extending.length)];
        lock.lock();
        try {
            Window w = windows.get(streamPk);
            if (w == null || w.next() != seen.next()) {
                return w == null ? seen : w; // extended (or dropped) while this stream waited for the lock
            }
            EventLog.Entries read = log.readEntries(streamPk, w.next(), READ, PageBytes.MAX);
            if (read.entries().isEmpty()) {
                return w;
            }
            List<EventLog.Entry> entries = new ArrayList<>(w.entries());
            long chars = w.chars();
            for (EventLog.Entry entry : read.entries()) {
                entries.add(entry);
                chars += entry.event().data().length();
            }
            long after = w.after();
            int drop = 0;
            while (entries.size() - drop > 1 && (entries.size() - drop > MAX_ENTRIES || chars > MAX_CHARS)) {
                chars -= entries.get(drop).event().data().length();
                after = entries.get(drop).event().seq();
                drop++;
            }
            Window extended = new Window(
                    after,
                    read.entries().getLast().event().seq(),
                    List.copyOf(entries.subList(drop, entries.size())),
                    chars,
                    read.full());
            windows.put(streamPk, extended);
            return extended;
        } finally {
            lock.unlock();
        }
    }

    /** The index of the first entry after {@code seq}. */
    private static int firstAfter(List<EventLog.Entry> entries, long seq) {
        int low = 0;
        int high = entries.size();
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (entries.get(mid).event().seq() <= seq) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return low;
    }
}
