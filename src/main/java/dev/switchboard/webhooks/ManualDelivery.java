package dev.switchboard.webhooks;

import dev.switchboard.db.DatabaseException;
import dev.switchboard.db.Jdbc;
import java.time.Duration;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One attempt of a manual message (a {@code webhook.test}, or an abandoned message sent again), which
 * is sent on its own, outside any stream's order. A failure with attempts left releases it until its
 * retry is due. A retried stream message that is delivered or failed again is followed, in the same
 * slot of the dispatcher's, by the next retried message of its stream, for up to {@link #TURN}: a bulk
 * retry of one stream goes at the receiver's pace, where one message per pass of the dispatcher
 * (every {@value WebhookDispatcher#TICK_MILLIS} ms) took 40 minutes for 10,000; then the slot is
 * claimed again, in turn with the other integrations' messages.
 */
final class ManualDelivery implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(ManualDelivery.class);
    /** How long one claim's slot goes on with the retried messages of one stream. */
    static final Duration TURN = Duration.ofSeconds(1);

    private final MessageLog.Pending first;
    /** The delivery pool, which the endpoint is read through (as everything delivery reads). */
    private final DataSource dataSource;

    private final MessageLog messages;
    private final Deliverer deliverer;
    private final WebhookMetrics metrics;
    private final BooleanSupplier running;
    private final Runnable finished;
    /** Counts the changes to endpoints, connections and integrations this node has been told of. */
    private final LongSupplier changes;

    /**
     * A retried stream message's target and route as read for an earlier message of this turn (all of one
     * stream), and {@link #changes} before they were read: reused while no change has been told of since,
     * as a stream's worker keeps its own until one is. Read again for each message, they were two
     * statements, a secret's decryption and a URL's parsing a message, about half the server's time for it.
     */
    private record Known(long changes, DeliveryTarget target, Deliverer.Route route) {}

    private Known known;

    ManualDelivery(
            MessageLog.Pending first,
            DataSource dataSource,
            MessageLog messages,
            Deliverer deliverer,
            WebhookMetrics metrics,
            BooleanSupplier running,
            LongSupplier changes,
            Runnable finished) {
        this.first = first;
        this.dataSource = dataSource;
        this.messages = messages;
        this.deliverer = deliverer;
        this.metrics = metrics;
        this.running = running;
        this.changes = changes;
        this.finished = finished;
    }

    @Override
    public void run() {
        try {
            long turnEnds = System.nanoTime() + TURN.toNanos();
            MessageLog.Pending message = first;
            while (message != null) {
                message = deliver(message, turnEnds);
            }
        } finally {
            finished.run();
        }
    }

    /** The endpoint {@code message} goes to, unless it is disabled or gone. */
    private Optional<WebhookEndpoint> sendableEndpoint(MessageLog.Pending message) {
        return Jdbc.withConnection(dataSource, c -> EndpointStore.find(c, message.endpointPk()))
                .filter(e -> !e.disabled());
    }

    /** Whether the outcome of {@code message}, recorded now, brings its stream's next retried message along. */
    private boolean claimNext(MessageLog.Pending message, long turnEnds) {
        return message.lastSeq() != null && running.getAsBoolean() && System.nanoTime() < turnEnds;
    }

    /**
     * Sends {@code message} once and records the outcome; returns the next retried message of its stream,
     * claimed with the outcome of this one when it was delivered or failed within the turn, else null (it
     * waits for a retry later, its endpoint is disabled, its lease lost, the database unable to answer).
     */
    private MessageLog.Pending deliver(MessageLog.Pending message, long turnEnds) {
        try {
            // Read before anything it guards: a change noticed from here on is not missed next time.
            long changesNow = changes.getAsLong();
            Known reusable = known != null && known.changes() == changesNow ? known : null;
            WebhookEndpoint endpoint;
            DeliveryTarget target = null;
            MessageLog.Pending sending = message;
            if (message.body() == null) {
                // A retried stream message: its body is its range of the log, through the filter as it is now.
                MessageLog.Pending rebuilt;
                switch (messages.rebuilt(message, reusable == null ? null : reusable.target())) {
                    case MessageLog.Rebuilt.Paused p -> {
                        log.info(
                                "Webhook message {} is not sent: its connection or endpoint was disabled after it was"
                                        + " claimed; it is given back, to wait while its connection is disabled (or"
                                        + " be failed, as those waiting are, if its endpoint is)",
                                message.webhookId());
                        messages.releaseManual(message.pk());
                        return null;
                    }
                    case MessageLog.Rebuilt.Gone g -> {
                        // Deleted since its claim, with its connection or endpoint: not left pending and leased.
                        Optional<WebhookEndpoint> found = sendableEndpoint(message);
                        if (found.isEmpty()) {
                            messages.releaseManual(message.pk());
                            return null;
                        }
                        return messages.failRefused(
                                message,
                                deliverer.nothingToSend(
                                        found.get(), "not sent: its connection or endpoint was deleted"),
                                false);
                    }
                    case MessageLog.Rebuilt.Ready r -> {
                        rebuilt = r.message();
                        target = r.target();
                    }
                }
                endpoint = target.endpoint();
                MessageLog.Logged logged = rebuilt.logged();
                long expired = logged.expired();
                if (logged.body() == null) {
                    // Failed again with the reason as its attempt, so that the messages API and the console say
                    // why (a retry accepted, then its filter narrowed before its turn).
                    String why;
                    if (expired > 0) {
                        metrics.expired(expired);
                        why = "not sent: the retention removed its events before its turn";
                        log.warn(
                                "Webhook message {}: the retention removed its events before it was delivered; they"
                                        + " are gone, and it is failed again without being sent",
                                message.webhookId());
                    } else {
                        why = "not sent: it carries no event the endpoint may receive now (its event types, or its"
                                + " integration's, were narrowed); widen them, then retry it";
                        log.info(
                                "Webhook message {} holds no event its endpoint may receive any more; it is not sent"
                                        + " and is failed again",
                                message.webhookId());
                    }
                    return messages.failRefused(
                            message, deliverer.nothingToSend(endpoint, why), claimNext(message, turnEnds));
                }
                if (logged.restated() && !messages.restate(rebuilt)) {
                    return null; // its lease is gone: whoever holds it now sends it
                }
                if (expired > 0) {
                    metrics.expired(expired);
                    log.warn(
                            "Webhook message {}: the retention removed {} events of its range (before seq {}) before"
                                    + " it was delivered; they are gone, and it is sent with the {} left",
                            message.webhookId(),
                            expired,
                            logged.firstSeq(),
                            logged.events());
                }
                sending = rebuilt;
            } else {
                Optional<WebhookEndpoint> found = sendableEndpoint(message);
                if (found.isEmpty()) {
                    messages.releaseManual(message.pk());
                    return null;
                }
                endpoint = found.get();
            }
            Deliverer.Route route;
            if (reusable != null
                    && reusable.target() == target
                    && !reusable.route().keysExpired()) {
                route = reusable.route();
            } else {
                try {
                    route = deliverer.route(endpoint);
                } catch (Deliverer.RouteRefused e) {
                    // Claimed again at every lease's end, it would never go out: failed now, its reason as its
                    // attempt, to be retried once the URL is changed.
                    log.warn("Webhook message {} is not sent and is failed: {}", message.webhookId(), e.getMessage());
                    return messages.failRefused(sending, deliverer.refused(endpoint, e), claimNext(message, turnEnds));
                }
            }
            known = target == null ? null : new Known(changesNow, target, route);
            Attempt attempt = deliverer.attempt(route, sending);
            Decision decision = deliverer.decide(endpoint, sending, attempt);
            MessageLog.Recorded recorded =
                    messages.recordManual(sending, attempt, decision, claimNext(message, turnEnds));
            deliverer.afterRecord(endpoint, recorded);
            return recorded.next();
        } catch (RuntimeException e) {
            if (e instanceof DatabaseException db && db.isTransient()) {
                log.warn(
                        "Sending webhook message {} stopped, the database could not answer ({}); it is tried again"
                                + " when its lease expires",
                        message.webhookId(),
                        db.detail());
            } else {
                log.error(
                        "Sending webhook message {} failed; it is tried again when its lease expires",
                        message.webhookId(),
                        e);
            }
            return null;
        }
    }
}
