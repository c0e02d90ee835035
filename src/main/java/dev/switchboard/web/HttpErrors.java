package dev.switchboard.web;

import dev.switchboard.db.DatabaseException;
import dev.switchboard.support.Json;
import dev.switchboard.support.Refusal;
import io.javalin.http.Context;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Where a {@link Refusal} becomes an HTTP answer: the one mapping from each kind of refusal to its
 * status (and {@code Retry-After}), and the one error body, {@code {"error": {"code", "message",
 * "requestId", "details"}}}. Shared by both edges that answer HTTP: the API ({@code HttpApi}) and the
 * WebSocket upgrade, whose refusals are HTTP answers too.
 *
 * <p>Not RFC 9457 problem details: that shape ({@code type}, {@code title}, {@code status} at the top
 * level, {@code application/problem+json}) would change the documented body every client parses.
 */
public final class HttpErrors {
    private HttpErrors() {}

    /** An error answer as it goes on the wire. */
    public record HttpError(int status, String code, String message, Object details, Long retryAfterSeconds) {}

    /** The HTTP answer to a refusal. */
    public static HttpError of(Refusal refusal) {
        int status = switch (refusal) {
            case Refusal.Invalid invalid -> 400;
            case Refusal.InvalidField invalid -> 400;
            case Refusal.Unauthenticated unauthenticated -> 401;
            case Refusal.Forbidden forbidden -> 403;
            case Refusal.NotFound notFound -> 404;
            case Refusal.Conflict conflict -> 409;
            case Refusal.PositionExpired expired -> 410;
            case Refusal.Gone gone -> 410;
            case Refusal.BodyTooLarge tooLarge -> 413;
            case Refusal.IdempotencyKeyReused reused -> 422;
            case Refusal.EventTooLarge tooLarge -> 422;
            case Refusal.RecordTooLarge tooLarge -> 422;
            case Refusal.Throttled throttled -> 429;
            case Refusal.Busy busy -> 503;
        };
        Long retryAfter = switch (refusal) {
            case Refusal.Throttled t -> t.retryAfterSeconds();
            case Refusal.Busy b -> b.retryAfterSeconds();
            default -> null;
        };
        return new HttpError(status, refusal.code(), refusal.getMessage(), refusal.details(), retryAfter);
    }

    /**
     * The answer to a failed database call of a request that reads ({@code change} false) or may write: 503
     * {@code database_unavailable} with {@code Retry-After} when the failure passes (the database unreachable,
     * read-only, out of disk, a lock or statement timeout), saying why and what became of a change; else
     * 500. The caller logs it: the message names no detail of the database.
     */
    public static HttpError of(DatabaseException e, boolean change) {
        if (e.isTransient()) {
            // "Nothing was written" only where it is so: a connection lost at a commit (a commit waiting
            // for a standby that never answers, until the read timeout) may have made the change.
            String outcome = !change
                    ? "retry later"
                    : e.outcomeUnknown()
                            ? "the change may have been made (the connection was lost after it was sent): read it"
                                    + " back before making it again (a create sent again with its Idempotency-Key"
                                    + " answers the first)"
                            : "nothing was written, retry later";
            return new HttpError(503, "database_unavailable", e.reason() + "; " + outcome, null, 5L);
        }
        return new HttpError(
                500,
                "internal_error",
                "an unexpected database error occurred; the request id identifies it in the logs",
                null,
                null);
    }

    /** An unexpected failure: 500, with nothing of its cause (the caller logs it). */
    public static HttpError internalError() {
        return new HttpError(
                500,
                "internal_error",
                "an unexpected error occurred; the request id identifies it in the logs",
                null,
                null);
    }

    /** Answers the request with the refusal's error. */
    public static void render(Refusal refusal, Context ctx) {
        render(ctx, of(refusal));
    }

    /** Answers the request with an error of the edge's own (an unknown route, a body over the limit, …). */
    public static void render(Context ctx, int status, String code, String message, Object details) {
        render(ctx, new HttpError(status, code, message, details, null));
    }

    public static void render(Context ctx, HttpError error) {
        headers(error, ctx::header);
        ctx.status(error.status())
                .contentType("application/json")
                .result(json(error.code(), error.message(), RequestIds.of(ctx), error.details()));
    }

    /**
     * The headers an error carries besides its body: when to try again, and on a 401 the scheme that
     * authenticates (RFC 9110 requires the challenge).
     */
    public static void headers(HttpError error, BiConsumer<String, String> header) {
        if (error.retryAfterSeconds() != null) {
            header.accept("Retry-After", Long.toString(error.retryAfterSeconds()));
        }
        if (error.status() == 401) {
            header.accept("WWW-Authenticate", "Bearer");
        }
    }

    /** The body of every error. */
    public static String json(String code, String message, String requestId, Object details) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("code", code);
        error.put("message", message);
        error.put("requestId", requestId);
        error.put("details", details);
        return Json.write(Map.of("error", error));
    }
}
