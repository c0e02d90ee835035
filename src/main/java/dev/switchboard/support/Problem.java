package dev.switchboard.support;

/**
 * A failure the client caused or can act on: an HTTP status, a stable machine-readable code, a
 * message that names what is wrong, and optional details. Thrown anywhere below the HTTP edge and
 * rendered in one place as {@code {"error": {"code", "message", "requestId", "details"}}}.
 */
public final class Problem extends RuntimeException {
    private final int status;
    private final String code;
    private final transient Object details;

    public Problem(int status, String code, String message, Object details) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.details = details;
    }

    public static Problem badRequest(String code, String message) {
        return new Problem(400, code, message, null);
    }

    /** 400 for one field: the message starts with the field's path so clients see which one. */
    public static Problem invalidField(String field, String message) {
        return new Problem(400, "invalid_field", field + ": " + message, java.util.Map.of("field", field));
    }

    public static Problem unauthorized(String message) {
        return new Problem(401, "unauthorized", message, null);
    }

    public static Problem forbidden(String message) {
        return new Problem(403, "forbidden", message, null);
    }

    public static Problem notFound(String what) {
        return new Problem(404, "not_found", what + " does not exist", null);
    }

    public static Problem conflict(String code, String message) {
        return new Problem(409, code, message, null);
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public Object details() {
        return details;
    }
}
