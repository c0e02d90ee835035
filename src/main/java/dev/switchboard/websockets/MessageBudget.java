package dev.switchboard.websockets;

/**
 * What the sockets of one connection on this node may send together, in characters of whole messages,
 * charged before a message is parsed: as much as one socket may send at its message limit ({@value
 * ClientMessages#MAX_PER_WINDOW} messages of {@code websockets.maxMessageSize} per {@value
 * ClientMessages#WINDOW_SECONDS} s), filled again at that rate. Each socket's own limit counts messages
 * only after parsing them, and a connection may hold many sockets: one access token on 120 of them sent
 * 64 KiB messages of empty JSON objects under every socket's limit and kept a 2-core node's CPU busy,
 * other tenants' requests taking seconds. A request the token's rate limit admits is given back: it is
 * paid for there, as over HTTP, however high the operator set that limit; what drains the budget is the
 * rest (pings, subscriptions, requests refused), a few characters each from a client that is not flooding.
 */
final class MessageBudget {
    private final double capacity;
    private final double perNano;
    private double left;
    private long filledAt;

    MessageBudget(long maxMessageBytes, long nanos) {
        this.capacity = (double) ClientMessages.MAX_PER_WINDOW * maxMessageBytes;
        this.perNano = capacity / (ClientMessages.WINDOW_SECONDS * 1_000_000_000.0);
        this.left = capacity;
        this.filledAt = nanos;
    }

    /** Takes {@code chars} at {@code nanos} ({@link System#nanoTime()}); false (nothing taken) when fewer are left. */
    synchronized boolean take(long chars, long nanos) {
        left = Math.min(capacity, left + (nanos - filledAt) * perNano);
        filledAt = nanos;
        if (chars > left) {
            return false;
        }
        left -= chars;
        return true;
    }

    /** Gives back {@code chars} taken for a message paid for elsewhere (a request the rate limit admitted). */
    synchronized void giveBack(long chars) {
        left = Math.min(capacity, left + chars);
    }
}
