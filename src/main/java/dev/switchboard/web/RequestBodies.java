package dev.switchboard.web;

import dev.switchboard.support.Refusal;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads each request's body whole before its route runs, within a budget of bytes held at once across
 * all bodies being received. Bodies are read before the request is authenticated (a body over the
 * limit must be refused before the route changes anything), so without the budget anyone could open a
 * few hundred connections, each sending a body of nearly the limit and then a byte now and then, and
 * fill the heap. Room is taken as bytes arrive, not for a body's declared length: a connection that
 * declares a megabyte and sends nothing holds nothing. A body the budget has no room for is answered
 * 503 {@code server_busy}, and its connection closed.
 */
public final class RequestBodies {
    private static final Logger log = LoggerFactory.getLogger(RequestBodies.class);
    private static final String BODY = "switchboard.body";
    private static final byte[] NONE = new byte[0];
    private static final int CHUNK = 16 * 1024;

    private final long maxBodyBytes;
    private final long budget;
    private final AtomicLong held = new AtomicLong();

    /** {@code budget}: the bytes of bodies held at once while they are received, at least one body of the largest size. */
    public RequestBodies(long maxBodyBytes, long budget) {
        this.maxBodyBytes = maxBodyBytes;
        this.budget = Math.max(budget, maxBodyBytes);
    }

    /** The budget for a server whose heap is {@code maxHeap}: an eighth of it. */
    public static long budgetFor(long maxHeap) {
        return maxHeap / 8;
    }

    public long maxBodyBytes() {
        return maxBodyBytes;
    }

    /** The request's body as {@link #read} received it; empty for a request whose body is not read (a GET). */
    public static byte[] of(Context ctx) {
        byte[] body = ctx.attribute(BODY);
        return body == null ? NONE : body;
    }

    /** Receives the body, for {@link #of}; refuses one over the limit or one the budget has no room for. */
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
        try {
            InputStream in = ctx.req().getInputStream();
            byte[] chunk = new byte[size];
            for (int n; (n = in.read(chunk)) != -1; ) {
                if (body.size() + n > maxBodyBytes) {
                    throw new HttpResponseException(413, "body too large");
                }
                if (held.addAndGet(n) > budget) {
                    held.addAndGet(-n);
                    ctx.header("Connection", "close");
                    throw new Refusal.Busy(
                            "server_busy",
                            "the server is receiving as many request bodies as it has room for; retry shortly",
                            1);
                }
                taken += n;
                body.write(chunk, 0, n);
            }
        } catch (IOException e) {
            // The client went away or stopped sending mid-body: its failure, not the server's. Nobody may be
            // left to read the answer; it keeps the metrics and the access log from counting a 500.
            log.debug("The request body could not be read: {}", e.toString());
            ctx.header("Connection", "close");
            throw new Refusal.Invalid(
                    "body_incomplete", "the request body ended before its end, or stopped arriving: " + e.getMessage());
        } finally {
            held.addAndGet(-taken);
        }
        ctx.attribute(BODY, body.toByteArray());
    }
}
