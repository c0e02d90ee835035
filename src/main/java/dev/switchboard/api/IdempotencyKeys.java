package dev.switchboard.api;

import dev.switchboard.auth.TenantAccess;
import dev.switchboard.store.IdempotencyKey;
import dev.switchboard.support.Refusal;
import dev.switchboard.support.Tokens;
import io.javalin.http.Context;
import java.util.List;
import java.util.Optional;

/** Idempotency keys as the API takes them (an HTTP header, a socket's param) for the writes that append one event. */
final class IdempotencyKeys {
    static final int MAX_LENGTH = 255;
    static final String RULE = "1-" + MAX_LENGTH + " printable ASCII characters";

    private IdempotencyKeys() {}

    /**
     * Printable ASCII only, as HTTP header values are (RFC 9110): a header's other bytes reach the route
     * decoded as ISO-8859-1, so "clé" sent as UTF-8 was another key over HTTP than over a WebSocket.
     */
    static boolean valid(String key) {
        return !key.isBlank() && key.length() <= MAX_LENGTH && key.chars().allMatch(c -> c >= 0x20 && c <= 0x7e);
    }

    /** The request's {@code Idempotency-Key}, if it sent one; 400 when it is not one. */
    static Optional<String> header(Context ctx) {
        String key = ctx.header("Idempotency-Key");
        if (key == null) {
            return Optional.empty();
        }
        if (!valid(key)) {
            throw new Refusal.Invalid("invalid_header", "Idempotency-Key must be " + RULE);
        }
        return Optional.of(key);
    }

    /** Answers a retry with the first request's answer, marked as such. */
    static void replay(Context ctx, String firstAnswer) {
        ctx.header("Idempotent-Replayed", "true");
        ctx.status(201).contentType("application/json").result(firstAnswer);
    }

    /**
     * A key of the caller's (the admin key's, or the connection's, in this tenant) with the request it came
     * with, written out so that the same request is the same text; {@code earlierRequests} as earlier
     * releases wrote the same request out, accepted too. Requests of different writes never read alike (a
     * record create's begins with its collection's name, which has no space).
     */
    static IdempotencyKey of(TenantAccess access, String key, String request, List<String> earlierRequests) {
        return new IdempotencyKey(
                access.tenant().pk() + "/" + access.idempotencyScope(),
                key,
                Tokens.hash(request),
                earlierRequests.stream().map(Tokens::hash).toList());
    }
}
