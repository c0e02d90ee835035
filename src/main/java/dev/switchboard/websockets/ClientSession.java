package dev.switchboard.websockets;

import dev.switchboard.db.DatabaseException;
import dev.switchboard.events.EventFilter;
import dev.switchboard.events.EventTypes;
import dev.switchboard.web.RequestBodies;
import dev.switchboard.websockets.ClientMessages.ClientMessage;
import jakarta.servlet.http.HttpServletRequest;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.eclipse.jetty.ee10.websocket.server.JettyServerUpgradeRequest;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.exceptions.CloseException;
import org.eclipse.jetty.websocket.common.WebSocketSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client's socket: what it may receive, where it is in its tenant's stream, and its bounded
 * outbox. Live batches arrive from the stream's feed; while a resume is catching up from the log they
 * are held, then merged by {@code seq} at the seam so nothing is missed or sent twice.
 *
 * <p>Requests run on virtual threads of their own ({@link SocketRequests}). A write's response must
 * reach the client before the frame with the event it appended, which the feed may deliver before
 * the writing thread has its answer: so while writes are in progress, a live batch that may hold one
 * of their events waits here. Each write notes the feed's position when it begins (its event's
 * {@code seq} is above it: the stream's counter orders commits); a batch whose last event is above
 * the lowest such position waits until the writes below it have sent their responses; so does a page
 * a resume read from the log, which may have been read after such a write committed. Reads hold
 * nothing, and a write holds events only until its own response is sent; more of them than the
 * socket's queue size (and more than that arriving while a catch-up reads the log) are dropped and read
 * again from the log after the response and the catch-up ({@link #reread}).
 *
 * <p>Jetty calls the listener methods one at a time per socket. Deliveries (feed thread), the
 * catch-up (its own virtual thread), responses and client messages meet under {@link #lock}, which is
 * never held across anything that blocks: sends only hand frames to Jetty. (Public only because Jetty
 * calls the listener methods through method handles.)
 */
public final class ClientSession implements Session.Listener.AutoDemanding {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);
    private static final ByteBuffer PING = ByteBuffer.allocate(0).asReadOnlyBuffer();

    private final WebSockets owner;
    private final SocketAccess access;
    private final Long after;
    private final long accessChangesSeen;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when a write's response is sent: a replayed page may be waiting for it. */
    private final Condition writeAnswered = lock.newCondition();

    private final AtomicBoolean closing = new AtomicBoolean();
    private volatile EventFilter filter;
    private Session socket;
    private Outbox outbox;

    // Guarded by lock.
    private boolean live;
    private final List<Held> held = new ArrayList<>();
    private long heldBytes;
    /**
     * More than the queue's bytes were held back, for this socket's own writes or while a catch-up read the
     * log (not for a slow client): they were dropped, and are read again from the log once the writes are
     * answered and the catch-up is over.
     */
    private boolean rereadDue;
    /** A catch-up (the socket's first, or a re-read) is reading the log for this socket; it goes live at its end. */
    private boolean catchingUp = true;

    /** A batch waiting for this socket, and what it costs it: the bytes of the frame its filter takes. */
    private record Held(Batch batch, long bytes) {}

    private long delivered;
    private final List<Write> writes = new ArrayList<>();
    private final SocketRequests requests;

    // Heartbeat state, read by the sweeper.
    private volatile long pingSentAt;
    private volatile boolean awaitingPong;
    private volatile long closingSince;

    /** What its connection's sockets on this node may still send together (null: no such limit). */
    private volatile MessageBudget budget;

    /** The socket's message limit. */
    private final MessageWindow messages =
            new MessageWindow(ClientMessages.MAX_PER_WINDOW, Duration.ofSeconds(ClientMessages.WINDOW_SECONDS));

    /**
     * Frames other than a message's last (its other fragments, pings, pongs) in the current window of {@value
     * ClientMessages#WINDOW_SECONDS} s, and when it began: two fields, not a {@link MessageWindow} of
     * {@value ClientMessages#MAX_FRAMES_PER_WINDOW} times per socket. A flood is caught at most twice the
     * limit late (a window's end and the next's start), which is all this guard needs. Reading thread only.
     */
    private static final long FRAME_WINDOW_NANOS =
            Duration.ofSeconds(ClientMessages.WINDOW_SECONDS).toNanos();

    private long frameWindowStart = System.nanoTime();

    private int framesInWindow;
    /** A text message arriving in fragments, until its last (null between messages). Reading thread only. */
    private StringBuilder fragments;

    private long fragmentBytes;
    /**
     * The heap the fragments hold, taken from the budget request bodies share ({@link RequestBodies}): a
     * message never finished is held for as long as its socket stays open, and thousands of sockets each
     * holding nearly {@code websockets.maxMessageSize} could fill the heap.
     */
    private final RequestBodies.Room fragmentRoom;
    /** When the message arriving in fragments began ({@link System#nanoTime}), 0 between messages. */
    private volatile long fragmentsSince;

    ClientSession(WebSockets owner, SocketAccess access, Long after, long accessChangesSeen) {
        this.owner = owner;
        this.access = access;
        this.after = after;
        this.accessChangesSeen = accessChangesSeen;
        this.filter = access.filter();
        this.requests = new SocketRequests(this, owner);
        this.fragmentRoom = owner.bodies().room();
        this.pingSentAt = System.nanoTime()
                - firstPingOffset(owner.settings().pingInterval().toNanos());
    }

    /**
     * The first ping comes between half an interval and a whole one after opening, at random. Sockets
     * open in bursts (a deploy, a reconnect storm), and pinging them all at the same moment every
     * interval would add a fan-out's worth of writes (and of pongs to read) on top of whatever events
     * are going out then; spread out, they cost a little all the time instead.
     */
    private static long firstPingOffset(long intervalNanos) {
        return ThreadLocalRandom.current().nextLong(intervalNanos / 2 + 1);
    }

    /** A write in progress on this socket; its event's seq will be above {@code floor}. */
    static final class Write {
        private final long floor;

        private Write(long floor) {
            this.floor = floor;
        }
    }

    SocketAccess access() {
        return access;
    }

    EventFilter filter() {
        return filter;
    }

    Outbox outbox() {
        return outbox;
    }

    @Override
    public void onWebSocketOpen(Session session) {
        this.socket = session;
        forgetUpgradeAttributes(session);
        this.outbox = new Outbox(
                ((WebSocketSession) session).getCoreSession(), owner.settings().queueBytes());
        owner.beforeRegistering();
        Sockets.Added added = owner.sockets().add(this, accessChangesSeen);
        switch (added) {
            case SERVER_CLOSING -> {
                close(CloseCode.SERVER_RESTARTING);
                return;
            }
            case CONNECTION_FULL -> {
                close(CloseCode.TOO_MANY_SOCKETS);
                return;
            }
            case YES, RECHECK -> budget = owner.sockets().budget(this);
        }
        boolean recheck = added == Sockets.Added.RECHECK;
        Thread.ofVirtual().name("ws-start").start(() -> start(recheck));
    }

    /**
     * Jetty keeps the upgrade request for the socket's whole life, and with it every request attribute
     * (Javalin's upgrade contexts, with copies of headers, cookies and parameters). Nothing needs them
     * once the socket is open, and every idle socket would carry them.
     */
    private static void forgetUpgradeAttributes(Session session) {
        if (session.getUpgradeRequest() instanceof JettyServerUpgradeRequest upgrade) {
            HttpServletRequest request = upgrade.getHttpServletRequest();
            for (String name : Collections.list(request.getAttributeNames())) {
                request.removeAttribute(name);
            }
        }
    }

    /**
     * Joins the stream's feed, replays from {@code after} when asked, then goes live. First, when
     * access changed between the upgrade's token lookup and the registration, the token is checked
     * again: the change's own re-check may have listed the sockets before this one was among them.
     */
    private void start(boolean recheck) {
        try {
            if (recheck) {
                owner.accessWatch().recheck(this);
                if (closing.get()) {
                    return;
                }
            }
            long start = owner.hub().subscribe(this);
            if (closing.get()) {
                owner.hub().unsubscribe(this); // it ended while joining: ended() may have run before subscribe
                return;
            }
            long position = after == null ? start : owner.resume().catchUp(this, after, start);
            if (position >= 0) {
                goLive(position, true);
            }
        } catch (DatabaseException e) {
            if (!e.isTransient()) {
                // A statement that is wrong (not an outage, a full disk, a timeout) fails the same way on
                // every reconnect: the operator needs its cause.
                log.error("Could not start WebSocket {} of connection {}; closing it", id(), access.connectionId(), e);
                close(CloseCode.SERVER_ERROR);
                return;
            }
            log.warn(
                    "Could not start WebSocket {} of connection {}: the database could not answer now ({}); closing it"
                            + " with {} so the client reconnects later",
                    id(),
                    access.connectionId(),
                    e.getMessage(),
                    CloseCode.TRY_AGAIN_LATER.code());
            close(CloseCode.TRY_AGAIN_LATER);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close(CloseCode.SERVER_RESTARTING);
        } catch (RuntimeException e) {
            log.error("Could not start WebSocket {} of connection {}; closing it", id(), access.connectionId(), e);
            close(CloseCode.SERVER_ERROR);
        }
    }

    /**
     * Everything up to {@code position} was sent: send what the feed delivered meanwhile, then live. The
     * client is told so once, after its first catch-up; a re-read ({@link #reread}) changes nothing it sees.
     */
    private void goLive(long position, boolean announce) {
        lock.lock();
        try {
            if (closing.get()) {
                return;
            }
            delivered = position;
            if (announce) {
                send(Frames.live(position));
            }
            catchingUp = false;
            if (rereadDue) {
                // Events were dropped while this catch-up read: read them from the log, once no write holds them.
                if (writes.isEmpty()) {
                    startReread();
                }
                return;
            }
            live = true;
            flushHeld();
        } finally {
            lock.unlock();
        }
    }

    /** Starts reading the events after what was sent from the log ({@link #reread}). Under the lock. */
    private void startReread() {
        if (closing.get()) {
            return;
        }
        rereadDue = false;
        catchingUp = true;
        long from = delivered;
        Thread.ofVirtual().name("ws-reread-" + id()).start(() -> reread(from));
    }

    /**
     * Sends the events after {@code from} from the log, as a resume does, then goes live again: the
     * events dropped while they were held back ({@link #deliver}). Runs on a virtual thread of its own,
     * started when the last write holding them is answered, or a catch-up during which they were dropped ends.
     */
    private void reread(long from) {
        try {
            long position = owner.resume().catchUp(this, from, owner.hub().position(access.streamPk()));
            if (position >= 0) {
                goLive(position, false);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close(CloseCode.SERVER_RESTARTING);
        } catch (RuntimeException e) {
            // The client resumes from the last event it got: nothing is lost, it reconnects.
            log.warn(
                    "Could not read WebSocket {}'s events after {} again ({}); closing it with {} so the client"
                            + " resumes",
                    id(),
                    from,
                    e.getMessage(),
                    CloseCode.TRY_AGAIN_LATER.code());
            close(CloseCode.TRY_AGAIN_LATER);
        }
    }

    /**
     * A request of this socket of {@code chars} characters passed the token's rate limit: paid for there,
     * it is given back to what its connection's sockets may send ({@link MessageBudget}).
     */
    void paidByRateLimit(long chars) {
        MessageBudget shared = budget;
        if (shared != null) {
            shared.giveBack(chars);
        }
    }

    /**
     * A request of this socket was refused for the token's rate limit: it counts against the message limit
     * now, on the request's thread. Counted at the socket's next message instead, a client that sent its
     * refused requests in bursts was closed only after one more.
     */
    void throttled() {
        if (!messages.count(System.nanoTime(), 1)) {
            close(CloseCode.TOO_MANY_MESSAGES);
        }
    }

    /** A batch of the stream's newest events, from the feed. */
    void deliver(Batch batch) {
        lock.lock();
        try {
            if (closing.get()) {
                return;
            }
            if (live && held.isEmpty() && batch.lastSeq() <= releasedUpTo()) {
                sendLocked(batch);
                return;
            }
            // Only what this socket would be sent is kept, and counted: a client subscribed to few of a busy
            // tenant's events, waiting to resume, is neither closed for events it would never get nor keeps
            // them in memory. A batch it takes nothing of is not held at all (as a live socket, it is
            // filtered as it arrives).
            Batch mine = batch.narrowedTo(filter);
            if (mine == null) {
                return;
            }
            held.add(new Held(mine, mine.bytes()));
            heldBytes += mine.bytes();
            if (heldBytes > owner.settings().queueBytes()) {
                // Held back for this socket's own writes in progress, or while a catch-up reads the log (a long
                // resume on a busy tenant), while the client reads what it is sent: closing it as a slow consumer
                // would blame it for a slow write, and a client resuming again would meet the same close. The
                // events stay in the log: they are read from there once the writes are answered and the
                // catch-up is over, and held meanwhile stays within the queue's size. A client that does not
                // read is closed by its outbox.
                held.clear();
                heldBytes = 0;
                live = false;
                rereadDue = true;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The highest seq that may go out now: below every write in progress's floor (or anything, with
     * none), since a batch above a floor may carry that write's event, whose response is not sent yet.
     */
    private long releasedUpTo() {
        long upTo = Long.MAX_VALUE;
        for (Write w : writes) {
            upTo = Math.min(upTo, w.floor);
        }
        return upTo;
    }

    /** Sends the held batches, in order, as far as the writes in progress allow. Under the lock. */
    private void flushHeld() {
        if (!live) {
            return;
        }
        long upTo = releasedUpTo();
        while (!held.isEmpty() && held.getFirst().batch().lastSeq() <= upTo) {
            Held first = held.removeFirst();
            heldBytes -= first.bytes();
            sendLocked(first.batch());
        }
    }

    /**
     * A write begins: from now until {@link #answer} sends its answer, batches that may carry its event
     * wait. The feed's position is the floor: every event at or below it has committed and been read,
     * so the write's own event (appended after this) is above it.
     */
    Write beginWrite() {
        lock.lock();
        try {
            Write write = new Write(owner.hub().position(access.streamPk()));
            writes.add(write);
            return write;
        } finally {
            lock.unlock();
        }
    }

    /** Sends a performed request's response, then, for a write ({@code write} not null), the batches it held back. */
    void answer(ByteBuffer response, Write write) {
        lock.lock();
        try {
            send(response);
            if (write != null && writes.remove(write)) {
                flushHeld();
                writeAnswered.signalAll();
                if (rereadDue && writes.isEmpty() && !catchingUp) {
                    startReread();
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** What became of a page the resume read. */
    enum Replayed {
        SENT,
        /** The socket's filter changed after the page was read with {@code readWith}: read it again. */
        FILTER_CHANGED,
        CLOSED
    }

    /**
     * Sends a page the resume read from the log with the filter {@code readWith}, up to {@code lastSeq}.
     * The page may have been read after one of this socket's writes committed, so it waits, as a live
     * batch does, until no write in progress may have its event in it. A page read with a filter the
     * socket no longer has (a subscribe, or its integration's permissions changed, while it was read or
     * waited) is not sent: the client was told of the new filter and must not get events outside it.
     */
    Replayed sendReplayed(ByteBuffer page, long lastSeq, EventFilter readWith) throws InterruptedException {
        lock.lock();
        try {
            while (releasedUpTo() < lastSeq) {
                if (closing.get()) {
                    return Replayed.CLOSED;
                }
                writeAnswered.await(100, TimeUnit.MILLISECONDS); // a close signals nothing: look again soon
            }
            if (filter != readWith) {
                return Replayed.FILTER_CHANGED;
            }
            return send(page) ? Replayed.SENT : Replayed.CLOSED;
        } finally {
            lock.unlock();
        }
    }

    private void sendLocked(Batch batch) {
        ByteBuffer frame = batch.frame(filter, delivered);
        delivered = Math.max(delivered, batch.lastSeq());
        if (frame != null) {
            send(frame);
        }
    }

    /** Hands a frame to the outbox; a client that cannot take it is closed as a slow consumer. */
    boolean send(ByteBuffer frame) {
        if (closing.get()) {
            return false;
        }
        if (!outbox.sendText(frame)) {
            close(CloseCode.SLOW_CONSUMER);
            return false;
        }
        owner.metrics().frameSent();
        return true;
    }

    /** A whole text message: one of the client's messages ({@link ClientMessages}). */
    private void onMessage(String text) {
        // Charged before it is parsed: parsing is what a flood of large messages costs.
        MessageBudget shared = budget;
        if (shared != null && !shared.take(text.length(), System.nanoTime())) {
            close(CloseCode.TOO_MANY_MESSAGES);
            return;
        }
        ClientMessage message = ClientMessages.parse(text);
        if (message instanceof ClientMessages.Request request && access.readOnly()) {
            send(Frames.errorResponse(
                    request.id(),
                    403,
                    "read_only",
                    "this socket was opened by an operator's console session: it receives the tenant's events"
                            + " and sends no requests",
                    null,
                    null));
        }
        // Requests are counted like HTTP requests, against the token's rate limit; every other message, a
        // request refused for too many in flight, and one the rate limit refused, against the socket's
        // message limit: a client that keeps sending once refused is closed, as one that floods pings.
        boolean admitted = message instanceof ClientMessages.Request request
                && !access.readOnly()
                && requests.submit(request, text);
        if (!admitted && !messages.count(System.nanoTime(), 1)) {
            close(CloseCode.TOO_MANY_MESSAGES);
            return;
        }
        if (admitted) {
            return;
        }
        switch (message) {
            case ClientMessages.Ping ping -> send(Frames.PONG);
            case ClientMessages.Subscribe subscribe -> subscribe(subscribe.eventTypes());
            case ClientMessages.Request request -> {} // refused (by submit, or as read-only) and answered
            case ClientMessages.BadRequest bad -> send(SocketRequests.refused(bad.id(), bad.refusal()));
            case ClientMessages.Invalid invalid -> send(Frames.error(invalid.code(), invalid.message()));
        }
    }

    /** Narrows the filter: the result is what both the current filter and the new patterns accept. */
    private void subscribe(List<String> patterns) {
        lock.lock();
        try {
            EventFilter current = filter;
            // The client's own narrowing, within what the integration may receive now (which may have
            // narrowed since the client subscribed).
            List<String> now = current.requested().isEmpty()
                    ? current.allowed()
                    : EventTypes.intersect(current.requested(), current.allowed());
            List<String> narrowed = EventTypes.intersect(now, patterns);
            if (narrowed.isEmpty()) {
                send(Frames.error(
                        "empty_subscription",
                        "eventTypes: none of " + patterns + " is within what this" + " socket receives now " + now
                                + "; the subscription is unchanged (a subscription only narrows)"));
                return;
            }
            filter = current.narrowedTo(narrowed);
            send(Frames.subscribed(narrowed));
        } finally {
            lock.unlock();
        }
    }

    /** The integration's permissions changed: keep the client's own narrowing within the new ones. */
    void updateAllowed(EventFilter allowed) {
        lock.lock();
        try {
            filter = new EventFilter(allowed.allowed(), allowed.readableCollections(), filter.requested());
        } finally {
            lock.unlock();
        }
    }

    /**
     * Counts a frame against the frame limit; false (and the socket is closing) past it, or when it is
     * closing already.
     */
    private boolean frameCounted() {
        if (closing.get()) {
            return false;
        }
        long now = System.nanoTime();
        if (now - frameWindowStart > FRAME_WINDOW_NANOS) {
            frameWindowStart = now;
            framesInWindow = 0;
        }
        if (++framesInWindow > ClientMessages.MAX_FRAMES_PER_WINDOW) {
            close(CloseCode.TOO_MANY_MESSAGES);
            return false;
        }
        return true;
    }

    /**
     * Each frame of a text message, as it arrives: taken whole here rather than as Jetty's whole messages,
     * so that a message's fragments count against the frame limit (a message never finished counted against
     * nothing), and held against the message size limit.
     */
    @Override
    public void onWebSocketPartialText(String payload, boolean last) {
        // A message's last frame is the message, counted (or, an admitted request, not) as one: a client
        // sending thousands of requests a second in whole frames is not flooding.
        if (closing.get() || (!last && !frameCounted())) {
            return;
        }
        if (fragments == null && last) {
            // Only a text that might be over the limit is measured (a character is at most 3 bytes).
            if (tooBig(payload.length() * 3L <= owner.settings().maxMessageBytes() ? 0 : utf8Bytes(payload))) {
                return;
            }
            onMessage(payload);
            return;
        }
        fragmentBytes += utf8Bytes(payload);
        if (tooBig(fragmentBytes)) {
            return;
        }
        if (fragments == null) {
            fragments = new StringBuilder();
            fragmentsSince = System.nanoTime();
        }
        // Two bytes a character, the most the builder holds (the whole text is then the request's, weighed again).
        if (!fragmentRoom.grow(2L * payload.length())) {
            dropFragments();
            close(CloseCode.TRY_AGAIN_LATER);
            return;
        }
        fragments.append(payload);
        if (last) {
            String text = fragments.toString();
            dropFragments();
            onMessage(text); // a request takes its own room, weighed as JSON
        }
    }

    /** Closes with 1009 a message over the size limit ({@code websockets.maxMessageSize}). */
    private boolean tooBig(long bytes) {
        if (bytes <= owner.settings().maxMessageBytes()) {
            return false;
        }
        dropFragments();
        close(CloseCode.MESSAGE_TOO_BIG);
        return true;
    }

    private void dropFragments() {
        fragments = null;
        fragmentBytes = 0;
        fragmentsSince = 0;
        fragmentRoom.giveBack();
    }

    private static long utf8Bytes(String text) {
        long bytes = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            bytes += c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3; // a surrogate pair is 4
        }
        return bytes;
    }

    /** Implemented, so Jetty no longer answers pings itself: counted, then answered as it would. */
    @Override
    public void onWebSocketPing(ByteBuffer payload) {
        if (frameCounted() && socket != null) {
            ByteBuffer copy = ByteBuffer.allocate(payload.remaining())
                    .put(payload.slice())
                    .flip();
            socket.sendPong(copy, Callback.NOOP);
        }
    }

    @Override
    public void onWebSocketPong(ByteBuffer payload) {
        awaitingPong = false;
        frameCounted();
    }

    @Override
    public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
        callback.succeed();
        close(CloseCode.BINARY_NOT_SUPPORTED);
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason) {
        ended(statusCode, reason);
    }

    @Override
    public void onWebSocketError(Throwable cause) {
        log.debug("WebSocket {} of connection {} failed: {}", id(), access.connectionId(), cause.toString());
        // Jetty closes a socket whose client broke the protocol (1002, 1003, 1007, 1009) itself, with its own
        // description as the reason; counted here, as the closes Switchboard makes are in close().
        if (cause instanceof CloseException refused && closing.compareAndSet(false, true)) {
            CloseCode.of(refused.getStatusCode()).ifPresent(owner.metrics()::closed);
        }
        ended(-1, cause.toString());
    }

    /** The socket is gone. {@code closing} is set first, so a start() still joining the feed leaves it again. */
    private void ended(int statusCode, String reason) {
        boolean byClient = closing.compareAndSet(false, true);
        fragmentRoom.close(); // the reading thread has stopped, or finds the room closed
        lock.lock();
        try {
            held.clear();
            heldBytes = 0;
        } finally {
            lock.unlock();
        }
        if (owner.sockets().remove(this)) {
            owner.hub().unsubscribe(this);
            if (byClient && statusCode != CloseCode.NORMAL.code() && statusCode != 1001) {
                log.debug(
                        "WebSocket {} of connection {} ended by the client: {} {}",
                        id(),
                        access.connectionId(),
                        statusCode,
                        reason);
            }
        }
    }

    /** Starts the closing handshake with a documented code; the sweeper disconnects a client that never answers. */
    void close(CloseCode code) {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        closingSince = System.nanoTime();
        owner.metrics().closed(code);
        switch (code) {
            case SLOW_CONSUMER, PING_TIMEOUT, TOO_MANY_MESSAGES, MESSAGE_INCOMPLETE ->
                log.info(
                        "Closing WebSocket {} of connection {} with {}"
                                + " ({}); the client should reconnect with after=<last seq>",
                        id(),
                        access.connectionId(),
                        code.code(),
                        code.reason());
            default ->
                log.debug(
                        "Closing WebSocket {} of connection {} with {} ({})",
                        id(),
                        access.connectionId(),
                        code.code(),
                        code.reason());
        }
        if (socket != null) {
            // A client closed for flooding is not read any further: waiting for its close frame behind
            // whatever it keeps sending, the server read and dropped 370 MB of a flood in 20 s.
            socket.close(
                    code.code(),
                    code.reason(),
                    code == CloseCode.TOO_MANY_MESSAGES
                            ? Callback.from(this::disconnect, x -> disconnect())
                            : Callback.NOOP);
        }
    }

    /** Called by the sweeper: pings when due, closes when a ping went unanswered, drops a hung close. */
    void heartbeat(long now, long intervalNanos, long timeoutNanos) {
        if (closing.get()) {
            if (now - closingSince > timeoutNanos) {
                disconnect(); // the close frame waits behind data the client does not read, or it never answers
            }
            return;
        }
        // A message begun must end within a heartbeat: its fragments hold heap, and a client holding one
        // open for good held its share of the budget that every request's body needs.
        long since = fragmentsSince;
        if (since != 0 && now - since > intervalNanos + timeoutNanos) {
            close(CloseCode.MESSAGE_INCOMPLETE);
            return;
        }
        if (awaitingPong) {
            if (now - pingSentAt > timeoutNanos) {
                close(CloseCode.PING_TIMEOUT);
            }
            return;
        }
        if (now - pingSentAt >= intervalNanos) {
            pingSentAt = now;
            awaitingPong = true;
            if (!outbox.sendPing(PING)) {
                close(CloseCode.SLOW_CONSUMER);
            }
        }
    }

    void disconnect() {
        if (socket != null) {
            socket.disconnect();
        }
    }

    String id() {
        return Integer.toHexString(System.identityHashCode(this));
    }
}
