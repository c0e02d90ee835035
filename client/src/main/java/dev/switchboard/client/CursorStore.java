package dev.switchboard.client;

import java.util.OptionalLong;

/**
 * Where an {@link EventStream} keeps the {@code seq} of the last event its listener handled, so it can
 * resume after it (on reconnect and after a restart). {@link InMemoryCursorStore} and
 * {@link FileCursorStore} are provided; keep the cursor in your own database, in the transaction that
 * applies the events, for exactly-once effects.
 */
public interface CursorStore {
    /** The saved position, or empty to start with live events only. */
    OptionalLong load();

    /** Saves {@code seq}: everything up to it has been handled. Called from the stream's delivery thread. */
    void save(long seq);
}
