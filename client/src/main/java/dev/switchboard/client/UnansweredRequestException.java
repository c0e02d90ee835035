package dev.switchboard.client;

/**
 * A request made on an {@link EventStream} was sent but its response never came: it timed out, the
 * connection dropped, or the stream closed. Whether the server performed it is unknown: a write may or
 * may not have happened. Retrying a {@code records.create} with the same idempotency key is safe (the
 * server answers the first create's result instead of creating another); an update with
 * {@code ifMatch} fails with {@link ApiException.Conflict} if the first attempt went through.
 */
public final class UnansweredRequestException extends SwitchboardException {
    private static final long serialVersionUID = 1L;

    UnansweredRequestException(String message, Throwable cause) {
        super(message, cause);
    }
}
