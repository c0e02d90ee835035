package dev.switchboard.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Optional;

/**
 * An error answer from the server: its HTTP status, the error {@link #code()} from the body (for example
 * {@code invalid_field}, {@code version_conflict}), the {@link #requestId()} to quote to the operator, and
 * the body's {@code details}. Each status a caller may want to handle has its own subclass.
 */
public class ApiException extends SwitchboardException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String code;
    private final String requestId;
    private final transient JsonNode details;
    private final Duration retryAfter;

    ApiException(int status, String code, String message, String requestId, JsonNode details, Duration retryAfter) {
        super(status + " " + code + ": " + message + (requestId == null ? "" : " (request " + requestId + ")"));
        this.status = status;
        this.code = code;
        this.requestId = requestId;
        this.details = details;
        this.retryAfter = retryAfter;
    }

    /** The HTTP status. */
    public int status() {
        return status;
    }

    /** The server's error code ({@code error.code}), or {@code http_<status>} when the body had none. */
    public String code() {
        return code;
    }

    /** The request's id ({@code Request-Id} header), or null when the answer had none. */
    public String requestId() {
        return requestId;
    }

    /** The error's {@code details}, or null. */
    public JsonNode details() {
        return details;
    }

    /** The answer's {@code Retry-After}, when it had one. */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    /** 400, 413 or 422: the request was malformed or invalid; {@link #details()} often names the field. */
    public static final class InvalidRequest extends ApiException {
        private static final long serialVersionUID = 1L;

        InvalidRequest(int status, String code, String message, String requestId, JsonNode details) {
            super(status, code, message, requestId, details, null);
        }
    }

    /** 401: the token is missing, wrong, disabled, deleted or rotated. */
    public static final class Unauthorized extends ApiException {
        private static final long serialVersionUID = 1L;

        Unauthorized(String code, String message, String requestId, JsonNode details) {
            super(401, code, message, requestId, details, null);
        }
    }

    /** 403: the token may not do this. */
    public static final class Forbidden extends ApiException {
        private static final long serialVersionUID = 1L;

        Forbidden(String code, String message, String requestId, JsonNode details) {
            super(403, code, message, requestId, details, null);
        }
    }

    /** 404: no such record, collection or route (also for another tenant's ids). */
    public static final class NotFound extends ApiException {
        private static final long serialVersionUID = 1L;

        NotFound(String code, String message, String requestId, JsonNode details) {
            super(404, code, message, requestId, details, null);
        }
    }

    /** 409: the record's version is not the one {@code ifMatch} named (or another conflict). */
    public static final class Conflict extends ApiException {
        private static final long serialVersionUID = 1L;

        Conflict(String code, String message, String requestId, JsonNode details) {
            super(409, code, message, requestId, details, null);
        }
    }

    /** 410: an event position older than the retention ({@code position_expired}). */
    public static final class Gone extends ApiException {
        private static final long serialVersionUID = 1L;

        Gone(String code, String message, String requestId, JsonNode details) {
            super(410, code, message, requestId, details, null);
        }
    }

    /** 429 after the client's own retries ran out. */
    public static final class RateLimited extends ApiException {
        private static final long serialVersionUID = 1L;

        RateLimited(String code, String message, String requestId, JsonNode details, Duration retryAfter) {
            super(429, code, message, requestId, details, retryAfter);
        }
    }

    /** 5xx (503 only after the client's own retries ran out). */
    public static final class ServerError extends ApiException {
        private static final long serialVersionUID = 1L;

        ServerError(int status, String code, String message, String requestId, JsonNode details, Duration retryAfter) {
            super(status, code, message, requestId, details, retryAfter);
        }
    }

    static ApiException of(int status, JsonNode body, String requestId, Duration retryAfter) {
        JsonNode error = body == null ? null : body.path("error");
        String code =
                error != null && error.hasNonNull("code") ? error.get("code").asText() : "http_" + status;
        String message = error != null && error.hasNonNull("message")
                ? error.get("message").asText()
                : "no message";
        if (requestId == null && error != null && error.hasNonNull("requestId")) {
            requestId = error.get("requestId").asText();
        }
        // "details": null is no details, as the accessor says (not a NullNode).
        JsonNode details = error != null && error.hasNonNull("details") ? error.get("details") : null;
        return switch (status) {
            case 400, 413, 422 -> new InvalidRequest(status, code, message, requestId, details);
            case 401 -> new Unauthorized(code, message, requestId, details);
            case 403 -> new Forbidden(code, message, requestId, details);
            case 404 -> new NotFound(code, message, requestId, details);
            case 409 -> new Conflict(code, message, requestId, details);
            case 410 -> new Gone(code, message, requestId, details);
            case 429 -> new RateLimited(code, message, requestId, details, retryAfter);
            default ->
                status >= 500
                        ? new ServerError(status, code, message, requestId, details, retryAfter)
                        : new ApiException(status, code, message, requestId, details, retryAfter);
        };
    }
}
