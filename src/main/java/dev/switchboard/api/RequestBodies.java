package dev.switchboard.api;

import dev.switchboard.support.Refusal;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads each request's body whole before its route runs, within a budget of bytes being received at
 * once across all requests. Bodies are read before the request is authenticated (a body over the limit
 * must be refused before the route changes anything), so without the budget anyone could open a few
 * hundred connections, each sending a body of nearly the limit and then a byte now and then, and hold
 * a megabyte of heap per connection until the heap ran out. A request that would take the budget past
 * its limit is answered 503 {@code server_busy} at once, before a byte of its body is read.
 */
final class RequestBodies {
    private static final Logger log = LoggerFactory.getLogger(RequestBodies.class);

    private final long maxBodyBytes;
    private final long budget;
    private final AtomicLong receiving = new AtomicLong();

    /** {@code budget}: the bytes of bodies received at once, at least one body of the largest size. */
    RequestBodies(long maxBodyBytes, long budget) {
        this.maxBodyBytes = maxBodyBytes;
        this.budget = Math.max(budget, maxBodyBytes);
    }

    long maxBodyBytes() {
        return maxBodyBytes;
    }

    /** The budget for a server whose heap is {@code maxHeap}: an eighth of it. */
    static long budgetFor(long maxHeap) {
        return maxHeap / 8;
    }

    /** Reads the body, so the route finds it read; refuses one over the limit or one the budget has no room for. */
    void read(Context ctx) {
        long declared = ctx.req().getContentLengthLong();
        // A length declared past the limit is refused before a byte is read: no "100 Continue" for it.
        if (declared > maxBodyBytes) {
            throw new HttpResponseException(413, "body too large");
        }
        if (declared == 0) {
            return;
        }
        // A body without a declared length (chunked) may be as long as the limit.
        long reserved = declared > 0 ? declared : maxBodyBytes;
        if (receiving.addAndGet(reserved) > budget) {
            receiving.addAndGet(-reserved);
            ctx.header("Connection", "close");
            throw new Refusal.Busy(
                    "server_busy",
                    "the server is receiving as many request bodies as it has room for; retry shortly",
                    1);
        }
        try {
            ctx.bodyAsBytes();
        } catch (Exception e) {
            if (!(e instanceof IOException)) {
                throw e;
            }
            // The client went away or stopped sending mid-body: its failure, not the server's. Nobody may be
            // left to read the answer; it keeps the metrics and the access log from counting a 500.
            log.debug("The request body could not be read: {}", e.toString());
            ctx.header("Connection", "close");
            throw new Refusal.Invalid(
                    "body_incomplete", "the request body ended before its end, or stopped arriving: " + e.getMessage());
        } finally {
            receiving.addAndGet(-reserved);
        }
    }
}
