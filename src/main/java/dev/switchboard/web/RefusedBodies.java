package dev.switchboard.web;

import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;

/**
 * What is left of a refused body (413, or 503 when the node has no room to hold it), read and thrown away so its
 * sender reads the answer. A server that closes a connection while the client is still writing to it makes the
 * kernel reset it, and a reset can discard the answer already on its way: the client sees "connection reset" or
 * "no response" instead of {@code body_too_large} or {@code server_busy} with its {@code Retry-After}. Reading
 * the rest first (16 KiB at a time, nothing kept) lets the answer arrive whole, and the connection stay open.
 */
public final class RefusedBodies {
    /** How much of a refused body is read past the point reached; a longer one is answered at once and its connection closed. */
    static final long DISCARD_LIMIT = 8L * 1024 * 1024;
    /** How long the rest is read for: a sender trickling it would otherwise hold the connection for hours. */
    static final long DISCARD_NANOS = java.time.Duration.ofSeconds(10).toNanos();

    private RefusedBodies() {}

    /**
     * Reads and drops the rest of the request's body, up to {@link #DISCARD_LIMIT} and for at most {@link
     * #DISCARD_NANOS}; closes the connection past either.
     */
    public static void discardRest(Context ctx) {
        long declared = ctx.req().getContentLengthLong();
        // The client waits for "100 Continue" before it sends the body: it has sent nothing to discard, and reading
        // would invite the body this answer refuses.
        boolean awaitingContinue = "100-continue".equalsIgnoreCase(ctx.header("Expect"));
        if (awaitingContinue || declared > DISCARD_LIMIT) {
            ctx.header("Connection", "close");
            return;
        }
        byte[] buffer = new byte[16 * 1024];
        long read = 0;
        long started = System.nanoTime();
        try {
            InputStream in = ctx.req().getInputStream();
            for (int n; (n = in.read(buffer)) != -1; ) {
                read += n;
                if (read > DISCARD_LIMIT || System.nanoTime() - started > DISCARD_NANOS) {
                    ctx.header("Connection", "close");
                    return;
                }
            }
        } catch (IOException e) {
            // The client stopped sending (or closed): there is nothing left to wait for.
            ctx.header("Connection", "close");
        }
    }
}
