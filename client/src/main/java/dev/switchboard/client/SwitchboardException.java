package dev.switchboard.client;

/**
 * Everything the client throws: {@link ApiException} (the server answered with an error) and its
 * subclasses, or this class itself when the server could not be reached or answered something that is
 * not Switchboard's JSON.
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
