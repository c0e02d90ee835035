package dev.switchboard.client;

/** A webhook request that did not verify; {@link #reason()} says why. */
public final class WebhookVerificationException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Why a request did not verify. */
    public enum Reason {
        /** {@code webhook-id}, {@code webhook-timestamp} or {@code webhook-signature} is missing or empty. */
        MISSING_HEADER,
        /** {@code webhook-timestamp} is not a number of seconds. */
        INVALID_TIMESTAMP,
        /** The timestamp is further from now than the tolerance (a replayed or delayed request). */
        TIMESTAMP_OUT_OF_TOLERANCE,
        /** No {@code v1,} signature in the header matches any of the secrets. */
        NO_MATCHING_SIGNATURE
    }

    private final Reason reason;

    WebhookVerificationException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    /** Why the request did not verify. */
    public Reason reason() {
        return reason;
    }
}
