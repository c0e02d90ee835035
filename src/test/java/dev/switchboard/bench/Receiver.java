package dev.switchboard.bench;

import java.util.List;
import java.util.OptionalLong;

/**
 * Where the webhooks benchmark's messages arrive: an HTTP server on loopback that answers 200 at once
 * ({@code /hang} never, {@code /slow} after {@link WebhookReceiver#SLOW}), counts the events and
 * requests it receives, keeps bodies for the raw ceiling, and takes each event's latency from its
 * {@code time} to its arrival. {@link WebhookReceiver} runs in the harness's JVM; {@link NodeReceiver}
 * is a Node process.
 */
interface Receiver extends AutoCloseable {
    /** What the report says the receiver is. */
    String description();

    String url(String path);

    long events();

    long requests();

    /** Starts collecting commit → received latencies into a new set; returns it (complete after {@link #stopMeasuring}). */
    Latencies measure();

    void stopMeasuring();

    /** Keeps every body received from now on, until {@link #keptBodies} is called. */
    void keepBodies();

    List<String> keptBodies();

    /** The receiver's process when it is not this JVM's, so that its CPU counts as the harness's. */
    default OptionalLong pid() {
        return OptionalLong.empty();
    }
}
