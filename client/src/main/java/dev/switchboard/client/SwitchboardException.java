package dev.switchboard.client;

/**
 * What the client's requests throw: {@link ApiException} and its subclasses for any answer that is not
 * 2xx (with code {@code http_<status>} when the body is not Switchboard's error JSON, as a proxy's 502
 * page), or this class itself when the server could not be reached, did not answer in time, or answered
 * 2xx with something that is not JSON. {@link WebhookVerifier} throws its own checked {@link
 * WebhookVerificationException}.
 */
public class SwitchboardException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** An error with a message. */
    public SwitchboardException(String message) {
        super(message);
    }

    /** An error with a message and its cause. */
    public SwitchboardException(String message, Throwable cause) {
        super(message, cause);
    }
}
