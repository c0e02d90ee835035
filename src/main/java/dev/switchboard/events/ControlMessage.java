package dev.switchboard.events;

/**
 * A rare change that every node must act on, sent on the control channel ({@link ControlChannel}).
 * Each names the row that changed by its primary key; a listener re-reads what it needs.
 */
public sealed interface ControlMessage {
    /** A webhook endpoint was created, changed, deleted or disabled, or its streams were asked to replay. */
    record WebhookChanged(long endpointPk) implements ControlMessage {}

    /** A connection was created, enabled, disabled, deleted, or its access token rotated. */
    record ConnectionChanged(long connectionPk) implements ControlMessage {}

    /** An integration's permissions or event types changed, or its client key was rotated. */
    record IntegrationChanged(long integrationPk) implements ControlMessage {}

    /** A collection was created. */
    record CollectionsChanged() implements ControlMessage {}

    /** A manual webhook message (a test, a retried message) is due: a dispatcher should claim it. */
    record ManualMessageDue() implements ControlMessage {}

    /**
     * Changes may have been missed: the listening connection was lost and is back. Each node makes its
     * own when it starts listening again; listeners forget or re-read everything they hold.
     */
    record Resync() implements ControlMessage {}
}
