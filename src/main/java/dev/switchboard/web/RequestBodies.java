package dev.switchboard.web;

import dev.switchboard.support.ClientAddress;
import dev.switchboard.support.JsonWeight;
import dev.switchboard.support.Refusal;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletRequestEvent;
import jakarta.servlet.ServletRequestListener;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads each request's body whole before its route runs, within a budget of heap held at once across all
 * requests. Bodies are read before the request is authenticated (a body over the limit must be refused
 * before the route changes anything), so without the budget anyone could open a few hundred connections,
 * each sending a body of nearly the limit and then a byte now and then, and fill the heap. Room is taken
 * as bytes arrive, not for a body's declared length: a connection that declares a megabyte and sends
 * nothing holds nothing. Once the body is whole its room grows to what it weighs as a JSON tree ({@link
 * JsonWeight}: up to forty times its bytes), and it is held until the request ends, since the route holds
 * the body and its tree until then: 150 requests of a megabyte of empty objects each, sent at once with one
 * token, used to take a node with a 1 GiB heap down. A WebSocket request takes its room from the same
 * budget ({@link #take}). A request the budget has no room for is answered 503 {@code server_busy} (the rest
 * of its body read and dropped first, so that its sender reads the answer), and one that would weigh more
 * than the whole budget 413.
 */
public final class RequestBodies {
    private static final Logger log = LoggerFactory.getLogger(RequestBodies.class);
    private static final String BODY = "switchboard.body";
    private static final String HELD = "switchboard.bodyRoom";
    private static final byte[] NONE = new byte[0];
    private static final int CHUNK = 16 * 1024;

    /**
     * How long a body may take to arrive whole. Room is held while it arrives: without a deadline, 150
     * connections without a token, each sending 900 KB and then 500 bytes a second, held a 1 GiB node's
     * whole budget and every write was answered 503. A megabyte in a minute is 17 KB/s.
     */
    static final Duration BODY_DEADLINE = Duration.ofSeconds(60);

    private final long maxBodyBytes;
    private final long budget;
    private final long deadlineNanos;
    private final AtomicLong held = new AtomicLong();
    /**
     * The room of bodies still arriving, by client address ({@link ClientAddress}): at most a quarter of the
     * budget each. Without it, 150 connections from one client sending 900 KB and then trickling, each
     * reconnecting once refused at its deadline, kept the budget full: a 100 KB write of anyone else's was
     * refused 146 times out of 150. Behind a proxy every client has its address; a proxy that buffers a
     * body before it forwards it (nginx's default) sends it at once, and holds this share only a moment.
     */
    private final Map<String, Long> arriving = new ConcurrentHashMap<>();

    /** {@code budget}: the heap requests' bodies and their trees may hold at once; at least one body of the largest size read as a string. */
    public RequestBodies(long maxBodyBytes, long budget) {
        this(maxBodyBytes, budget, BODY_DEADLINE);
    }

    RequestBodies(long maxBodyBytes, long budget, Duration deadline) {
        this.maxBodyBytes = maxBodyBytes;
        this.budget = Math.max(budget, 3 * maxBodyBytes);
        this.deadlineNanos = deadline.toNanos();
    }

    /** The budget for a server whose heap is {@code maxHeap}: an eighth of it. */
    public static long budgetFor(long maxHeap) {
        return maxHeap / 8;
    }

    public long maxBodyBytes() {
        return maxBodyBytes;
    }

    /** The room held now: bodies arriving and read, requests on sockets, socket messages arriving in fragments. */
    public long held() {
        return held.get();
    }

    /** The request's body as {@link #read} received it; empty for a request whose body is not read (a GET). */
    public static byte[] of(Context ctx) {
        byte[] body = ctx.attribute(BODY);
        return body == null ? NONE : body;
    }

    /**
     * Receives the body, for {@link #of}, and takes its room until the request ends ({@link #releaser});
     * refuses one over the limit or one the budget has no room for.
     */
    public void read(Context ctx) {
        long declared = ctx.req().getContentLengthLong();
        // A length declared past the limit is refused before a byte is read: no "100 Continue" for it.
        if (declared > maxBodyBytes) {
            throw new HttpResponseException(413, "body too large");
        }
        if (declared == 0) {
            return;
        }
        // Buffers as large as the declared body up to a chunk: most bodies are a few hundred bytes.
        int size = declared > 0 ? (int) Math.min(declared, CHUNK) : CHUNK;
        ByteArrayOutputStream body = new ByteArrayOutputStream(size);
        long taken = 0;
        boolean kept = false;
        long started = System.nanoTime();
        String address = ClientAddress.of(ctx.ip());
        long arrived = 0;
        try {
            InputStream in = ctx.req().getInputStream();
            byte[] chunk = new byte[size];
            for (int n; (n = in.read(chunk)) != -1; ) {
                if (body.size() + n > maxBodyBytes) {
                    throw new HttpResponseException(413, "body too large");
                }
                if (System.nanoTime() - started > deadlineNanos) {
                    ctx.header("Connection", "close");
                    throw new Refusal.Invalid(
                            "body_incomplete",
                            "the request body was not received whole: it was still arriving after "
                                    + deadlineNanos / 1_000_000_000 + " s");
                }
                Refusal noRoom = take(n) ? null : busy();
                if (noRoom == null && !arrive(address, n)) {
                    held.addAndGet(-n);
                    noRoom = new Refusal.Busy(
                            "server_busy",
                            "this client's request bodies still arriving take as much room as one client may hold;"
                                    + " retry shortly",
                            1);
                }
                if (noRoom != null) {
                    // Its room is given back before the rest is read and dropped, which may take long.
                    held.addAndGet(-taken);
                    taken = 0;
                    leave(address, arrived);
                    arrived = 0;
                    body = null;
                    RefusedBodies.discardRest(ctx);
                    throw noRoom;
                }
                taken += n;
                arrived += n;
                body.write(chunk, 0, n);
            }
            leave(address, arrived);
            arrived = 0;
            byte[] bytes = body.toByteArray();
            long weight = JsonWeight.of(bytes); // at least twice the bytes taken so far
            refuseHeavierThanBudget("the request body", weight);
            if (!take(weight - taken)) {
                throw busy();
            }
            taken = weight;
            ctx.attribute(BODY, bytes);
            ctx.attribute(HELD, taken);
            kept = true;
        } catch (IOException e) {
            // The client went away or stopped sending mid-body: its failure, not the server's. Nobody may be
            // left to read the answer; it keeps the metrics and the access log from counting a 500.
            log.debug("The request body could not be read: {}", e.toString());
            ctx.header("Connection", "close");
            throw new Refusal.Invalid("body_incomplete", "the request body was not received whole: " + why(e));
        } finally {
            leave(address, arrived);
            if (!kept) {
                held.addAndGet(-taken);
            }
        }
    }

    /** Counts {@code bytes} more of {@code address}'s bodies still arriving; false past its share. */
    private boolean arrive(String address, long bytes) {
        boolean[] within = {true};
        arriving.compute(address, (key, now) -> {
            long after = (now == null ? 0 : now) + bytes;
            if (after > budget / 4) {
                within[0] = false;
                return now;
            }
            return after;
        });
        return within[0];
    }

    private void leave(String address, long bytes) {
        if (bytes > 0) {
            arriving.computeIfPresent(address, (key, now) -> now - bytes <= 0 ? null : now - bytes);
        }
    }

    /** Why a body was cut short, in words: the exception's own message names the server's internals. */
    private static String why(IOException e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof java.util.concurrent.TimeoutException) {
                return "nothing more of it arrived within the connection's idle timeout";
            }
        }
        return "the connection ended before it did, or its chunked encoding was malformed";
    }

    /** Gives each request's room back when it ends, however it ended; registered on the servlet context. */
    public ServletRequestListener releaser() {
        return new ServletRequestListener() {
            @Override
            public void requestDestroyed(ServletRequestEvent event) {
                ServletRequest request = event.getServletRequest();
                if (request.getAttribute(HELD) instanceof Long room) {
                    request.removeAttribute(HELD);
                    held.addAndGet(-room);
                }
            }
        };
    }

    /**
     * Room for a WebSocket request's message while it is handled, weighed as its JSON tree; given back by
     * closing it. Refused as HTTP's bodies are: 503 {@code server_busy}, or 413 past the whole budget.
     */
    public Room take(String message) {
        long weight = JsonWeight.of(message);
        refuseHeavierThanBudget("the request", weight);
        if (!take(weight)) {
            throw busy();
        }
        return new Room(weight);
    }

    /**
     * Room for a WebSocket message arriving in fragments, none yet: each fragment takes its own as it comes
     * ({@link Room#grow}), since a message never finished is held for as long as its socket stays open.
     */
    public Room room() {
        return new Room(0);
    }

    /** Room held for a WebSocket message; what it holds is given back at the latest when it is closed. */
    public final class Room implements AutoCloseable {
        private long weight;
        private boolean closed;

        private Room(long weight) {
            this.weight = weight;
        }

        /** Takes {@code bytes} more; false, taking nothing, when the budget has no room or the room is closed. */
        public synchronized boolean grow(long bytes) {
            if (closed || !take(bytes)) {
                return false;
            }
            weight += bytes;
            return true;
        }

        /** Gives back what it holds; it may grow again. */
        public synchronized void giveBack() {
            held.addAndGet(-weight);
            weight = 0;
        }

        @Override
        public synchronized void close() {
            giveBack();
            closed = true;
        }
    }

    /** 413 for what would not fit even in the whole budget: asked again, it would never find room. */
    private void refuseHeavierThanBudget(String what, long weight) {
        if (weight > budget) {
            throw new Refusal.BodyTooLarge(what + " would take about " + weight / (1024 * 1024)
                    + " MB of memory once read as JSON, more than this node holds for all requests at once ("
                    + budget / (1024 * 1024) + " MB)");
        }
    }

    private boolean take(long bytes) {
        if (held.addAndGet(bytes) > budget) {
            held.addAndGet(-bytes);
            return false;
        }
        return true;
    }

    private static Refusal busy() {
        return new Refusal.Busy(
                "server_busy", "the server is handling as many request bodies as it has room for; retry shortly", 1);
    }
}
