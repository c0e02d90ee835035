package dev.switchboard.websockets;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.auth.TenantAccess;

/**
 * What a socket's requests do: the records and events operations of the HTTP API, reached from here
 * without this package knowing the API. The API edge (a layer above) implements it over the very code
 * its HTTP routes run, and the composition root hands that implementation to {@link WebSockets}; so
 * the two edges share permissions, validation, idempotency, limits and error codes, and the package
 * layers keep pointing one way.
 *
 * <p>Called on a virtual thread of its own per request, after the socket's token was looked up again
 * and counted against its rate limit. A request the caller got wrong throws a {@code Refusal}, which
 * the socket maps to a status the way HTTP does ({@code web.HttpErrors}).
 */
public interface Operations {
    Outcome perform(TenantAccess access, RequestMethod method, JsonNode params);

    /**
     * A request's successful answer: the HTTP status the route would give, the result as JSON (absent for
     * 204), the seq of the event a write appended (0 for none), and whether it replays an earlier create
     * with the same idempotency key.
     */
    record Outcome(int status, Object result, long seq, boolean replayed) {
        public static Outcome read(Object result) {
            return new Outcome(200, result, 0, false);
        }
    }
}
