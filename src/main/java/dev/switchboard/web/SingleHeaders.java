package dev.switchboard.web;

import dev.switchboard.support.Refusal;
import jakarta.servlet.http.HttpServletRequest;
import java.util.Enumeration;
import java.util.List;

/**
 * Headers a request may carry once. Sent twice, the server read the first copy: a proxy that checks or
 * sets one of them (the caller's token, the tenant an admin request acts for) and the server could each
 * read another copy, and disagree on who is asking and for what.
 */
public final class SingleHeaders {
    private static final List<String> ONCE = List.of(
            "Authorization",
            "Switchboard-Tenant",
            "Idempotency-Key",
            "If-Match",
            "Content-Type",
            "Origin",
            "Sec-WebSocket-Key",
            "Sec-WebSocket-Version");

    private SingleHeaders() {}

    /** Refuses (400 {@code invalid_header}) a request that carries one of these headers more than once. */
    public static void check(HttpServletRequest request) {
        for (String name : ONCE) {
            Enumeration<String> values = request.getHeaders(name);
            if (values.hasMoreElements()) {
                values.nextElement();
                if (values.hasMoreElements()) {
                    throw new Refusal.Invalid("invalid_header", name + " is given more than once: send it once");
                }
            }
        }
    }
}
