package dev.switchboard.web;

import dev.switchboard.support.Ids;
import io.javalin.http.Context;

/**
 * The id every HTTP answer carries in its {@code Request-Id} header and its error JSON, shared by the
 * edges that answer HTTP requests (the API and the WebSocket upgrade) so their logs and errors agree.
 */
public final class RequestIds {
    public static final String HEADER = "Request-Id";

    private RequestIds() {}

    /** The request's id, given one now (as an attribute and a response header) if it has none yet. */
    public static String ensure(Context ctx) {
        String requestId = ctx.attribute(HEADER);
        if (requestId == null) {
            requestId = Ids.newId("req");
            ctx.attribute(HEADER, requestId);
            ctx.header(HEADER, requestId);
        }
        return requestId;
    }

    /** The request's id, or null before {@link #ensure} gave it one. */
    public static String of(Context ctx) {
        return ctx.attribute(HEADER);
    }
}
