package dev.switchboard.websockets;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The operations a client may ask for on its socket ({@code {"type":"request","method":…}}), each the
 * twin of an HTTP route. A write appends an event, so its response must precede that event's frame on
 * the socket that asked (see {@link ClientSession}).
 */
public enum RequestMethod {
    RECORDS_CREATE("records.create", true),
    RECORDS_GET("records.get", false),
    RECORDS_LIST("records.list", false),
    RECORDS_UPDATE("records.update", true),
    RECORDS_DELETE("records.delete", true),
    EVENTS_LIST("events.list", false);

    private final String wireName;
    private final boolean write;

    RequestMethod(String wireName, boolean write) {
        this.wireName = wireName;
        this.write = write;
    }

    /** The name clients send in {@code method}. */
    public String wireName() {
        return wireName;
    }

    /** Whether it appends an event (create, update, delete). */
    public boolean write() {
        return write;
    }

    static Optional<RequestMethod> named(String name) {
        return Arrays.stream(values()).filter(m -> m.wireName.equals(name)).findFirst();
    }

    static String names() {
        return Arrays.stream(values()).map(RequestMethod::wireName).collect(Collectors.joining(", "));
    }
}
