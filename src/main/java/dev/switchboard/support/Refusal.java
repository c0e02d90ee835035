package dev.switchboard.support;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A request Switchboard refuses, and why: the kind of refusal (this sealed family), a stable
 * machine-readable {@code code}, a message that names what is wrong, and optional {@code details}.
 * Thrown anywhere below an edge; it carries no protocol: each edge maps the kind to its own answer
 * in one place (the HTTP status in {@code web.HttpErrors}; the WebSocket messages in
 * {@code websockets}). The code and details are the same on every edge.
 */
public abstract sealed class Refusal extends RuntimeException {
    private final String code;
    private final transient Object details;

    private Refusal(String code, String message, Object details) {
        super(message, null, false, false);
        this.code = code;
        this.details = details;
    }

    public String code() {
        return code;
    }

    public Object details() {
        return details;
    }

    /** The request is malformed as a whole (its body, a header, a combination of fields). */
    public static final class Invalid extends Refusal {
        public Invalid(String code, String message) {
            this(code, message, null);
        }

        public Invalid(String code, String message, Object details) {
            super(code, message, details);
        }
    }

    /** One field is wrong: the message starts with the field's path so clients see which one. */
    public static final class InvalidField extends Refusal {
        private final String field;

        public InvalidField(String field, String message) {
            this(field, message, Map.of());
        }

        /** With more details beside the field's name, e.g. the limit it went past. */
        public InvalidField(String field, String message, Map<String, Object> more) {
            super("invalid_field", field + ": " + message, withField(field, more));
            this.field = field;
        }

        private static Map<String, Object> withField(String field, Map<String, Object> more) {
            if (more.isEmpty()) {
                return Map.of("field", field);
            }
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("field", field);
            details.putAll(more);
            return details;
        }

        public String field() {
            return field;
        }
    }

    /** No token, or one that is unknown, revoked, or belongs to a disabled connection. */
    public static final class Unauthenticated extends Refusal {
        public Unauthenticated(String message) {
            super("unauthorized", message, null);
        }
    }

    /** The caller is known but may not do this. */
    public static final class Forbidden extends Refusal {
        public Forbidden(String message) {
            this("forbidden", message);
        }

        public Forbidden(String code, String message) {
            super(code, message, null);
        }
    }

    /** What the request names does not exist (or is another tenant's, which is the same to the caller). */
    public static final class NotFound extends Refusal {
        public NotFound(String what) {
            this("not_found", what);
        }

        /** With a code of its own ({@code link_not_found}) where clients tell it apart. */
        public NotFound(String code, String what) {
            super(code, what + " does not exist", null);
        }
    }

    /** What the request names existed but can no longer be used (a used or expired single-use link). */
    public static final class Gone extends Refusal {
        public Gone(String code, String message) {
            super(code, message, null);
        }
    }

    /** The request contradicts the current state: something exists, changed, or is at its limit. */
    public static final class Conflict extends Refusal {
        public Conflict(String code, String message) {
            this(code, message, null);
        }

        public Conflict(String code, String message, Object details) {
            super(code, message, details);
        }
    }

    /** An Idempotency-Key seen before with a different request. */
    public static final class IdempotencyKeyReused extends Refusal {
        public IdempotencyKeyReused(String key) {
            super(
                    "idempotency_key_reused",
                    "Idempotency-Key '" + key + "' was already used with a different request",
                    null);
        }
    }

    /** A request too large to be handled at all (413 {@code body_too_large}). */
    public static final class BodyTooLarge extends Refusal {
        public BodyTooLarge(String message) {
            super("body_too_large", message, null);
        }
    }

    /** The event a write would append is over the limit for an event's data; {@code field} is the largest part. */
    public static final class EventTooLarge extends Refusal {
        private final String field;
        private final long maxEventBytes;

        public EventTooLarge(String field, long eventBytes, long maxEventBytes, String message) {
            super(
                    "event_too_large",
                    message,
                    Map.of("field", field, "eventBytes", eventBytes, "maxEventBytes", maxEventBytes));
            this.field = field;
            this.maxEventBytes = maxEventBytes;
        }

        private EventTooLarge(String field, long maxEventBytes) {
            super(
                    "event_too_large",
                    field + ": this update would make the record's events carry more than " + maxEventBytes
                            + " bytes of data (the collection copies its eventFields into each)",
                    Map.of("field", field, "maxEventBytes", maxEventBytes));
            this.field = field;
            this.maxEventBytes = maxEventBytes;
        }

        /** The same refusal without the sizes, which would tell a caller that may not read the record its size. */
        public EventTooLarge unread() {
            return new EventTooLarge(field, maxEventBytes);
        }
    }

    /**
     * A write would make a record's data larger than a request body may be: an update merges its patch into
     * the record, so patches each within the limit could otherwise grow one record without bound.
     */
    public static final class RecordTooLarge extends Refusal {
        private final long maxBytes;

        public RecordTooLarge(String id, long bytes, long maxBytes) {
            this(
                    bytes,
                    maxBytes,
                    "record '" + id + "' would hold " + bytes + " bytes of data as JSON, over the limit of " + maxBytes
                            + " bytes (server.maxBodySize); remove or shorten fields in the same update");
        }

        private RecordTooLarge(long bytes, long maxBytes, String message) {
            super("record_too_large", message, Map.of("bytes", bytes, "maxBytes", maxBytes));
            this.maxBytes = maxBytes;
        }

        private RecordTooLarge(long maxBytes) {
            super(
                    "record_too_large",
                    "this update would make the record's data larger than " + maxBytes
                            + " bytes as JSON (server.maxBodySize); send a smaller update",
                    Map.of("maxBytes", maxBytes));
            this.maxBytes = maxBytes;
        }

        /** The same refusal without the size, which would tell a caller that may not read the record its size. */
        public RecordTooLarge unread() {
            return new RecordTooLarge(maxBytes);
        }

        /** A new record whose data, its numbers written out in full as they are stored, is over the limit. */
        public static RecordTooLarge created(long bytes, long maxBytes) {
            return new RecordTooLarge(
                    bytes,
                    maxBytes,
                    "the record's data would be " + bytes + " bytes as JSON with its numbers written out in full (as"
                            + " they are stored: 1e99 is 100 digits), over the limit of " + maxBytes
                            + " bytes (server.maxBodySize)");
        }
    }

    /** A position older than the retention: the events after it are gone, and the reader must resynchronise. */
    public static final class PositionExpired extends Refusal {
        private final long oldest;
        private final long head;

        public PositionExpired(long after, long oldest, long head) {
            super(
                    "position_expired",
                    "events after position " + after + " are past the retention period and gone;"
                            + " resynchronise through the records API, then read from the newest position",
                    Map.of("oldestSeq", oldest, "headSeq", head));
            this.oldest = oldest;
            this.head = head;
        }

        public long oldest() {
            return oldest;
        }

        public long head() {
            return head;
        }
    }

    /** The server has no room for the request now, whoever sent it: retry after {@code retryAfterSeconds}. */
    public static final class Busy extends Refusal {
        private final long retryAfterSeconds;

        public Busy(String code, String message, long retryAfterSeconds) {
            super(code, message, null);
            this.retryAfterSeconds = retryAfterSeconds;
        }

        public long retryAfterSeconds() {
            return retryAfterSeconds;
        }
    }

    /** Too much too fast (requests, refused tokens, open sockets): retry after {@code retryAfterSeconds}. */
    public static final class Throttled extends Refusal {
        private final long retryAfterSeconds;

        public Throttled(String code, String message, long retryAfterSeconds) {
            super(code, message, null);
            this.retryAfterSeconds = retryAfterSeconds;
        }

        public long retryAfterSeconds() {
            return retryAfterSeconds;
        }
    }
}
