package dev.switchboard.events;

import dev.switchboard.db.Jdbc;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rare changes every node must act on (a connection disabled, an integration's permissions changed, a
 * webhook endpoint changed), sent through PostgreSQL NOTIFY on {@value #NAME}.
 *
 * <p>{@link #publish} sends inside the changing transaction, so other nodes hear of the change exactly
 * when it commits, and delivers the message to this node's listeners right after that commit (through
 * {@link Jdbc#afterCommit}), on the caller's thread: the node that made a change has applied it before
 * the store returns, so before its HTTP answer, and a rolled-back change is delivered nowhere. The
 * NOTIFY also comes back to this node a moment later; listeners only forget or re-read, so hearing a
 * change twice is harmless. {@link EventWakeups} owns the listening connection and hands this channel
 * what arrives on it, and a {@link ControlMessage.Resync} whenever it starts listening again.
 */
public final class ControlChannel {
    private static final Logger log = LoggerFactory.getLogger(ControlChannel.class);
    static final String NAME = "switchboard_control";

    private record Subscription<T extends ControlMessage>(Class<T> type, Consumer<? super T> listener) {
        void offer(ControlMessage message) {
            if (type.isInstance(message)) {
                listener.accept(type.cast(message));
            }
        }
    }

    private final List<Subscription<?>> subscriptions = new CopyOnWriteArrayList<>();

    /** Calls {@code listener} with every message of {@code type} (on every node, this one included). */
    public <T extends ControlMessage> void subscribe(Class<T> type, Consumer<? super T> listener) {
        subscriptions.add(new Subscription<>(type, listener));
    }

    /**
     * Sends {@code message} to every node when {@code tx} commits, and delivers it here after that commit.
     * {@code tx} is a transaction run by {@link Jdbc#inTransaction}, or a connection in autocommit (then
     * the message goes out, and is delivered here, at once).
     */
    public void publish(Connection tx, ControlMessage message) throws SQLException {
        try (PreparedStatement ps = tx.prepareStatement("SELECT pg_notify('" + NAME + "', ?)")) {
            ps.setString(1, ControlCodec.encode(message));
            ps.execute();
        }
        Jdbc.afterCommit(tx, () -> deliver(message));
    }

    /** A payload the listening connection received (from any node, this one included). */
    void received(String payload) {
        ControlCodec.decode(payload).ifPresent(this::deliver);
    }

    /** The listening connection is (re-)established: anything may have changed while no one listened. */
    void resync() {
        deliver(new ControlMessage.Resync());
    }

    private void deliver(ControlMessage message) {
        for (Subscription<?> s : subscriptions) {
            try {
                s.offer(message);
            } catch (RuntimeException e) {
                // A committed change must still be answered, and the listener thread must go on listening.
                log.error("A control listener failed on {}; it stays subscribed", message, e);
            }
        }
    }
}
