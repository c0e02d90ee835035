package dev.switchboard.client;

import java.util.OptionalLong;

/** A cursor kept in memory: resumes across reconnects, not across restarts of the process. */
public final class InMemoryCursorStore implements CursorStore {
    private volatile long seq;
    private volatile boolean set;

    /** Starts empty: the first connection begins with live events. */
    public InMemoryCursorStore() {}

    /** Starts at {@code seq}: the first connection replays everything after it. */
    public InMemoryCursorStore(long seq) {
        save(seq);
    }

    @Override
    public OptionalLong load() {
        return set ? OptionalLong.of(seq) : OptionalLong.empty();
    }

    @Override
    public synchronized void save(long seq) {
        this.seq = seq;
        this.set = true;
    }
}
