package dev.switchboard.webhooks;

import dev.switchboard.config.WebhookSettings;
import dev.switchboard.db.Jdbc;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.events.ControlMessage.WebhookChanged;
import dev.switchboard.support.SecretBox;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes one attempt of a message and decides what follows: signs the body with the endpoint's current
 * secrets, sends it, applies the endpoint's retry schedule (or the server's), counts it, and says
 * so in the log when an endpoint has just been disabled.
 */
public final class Deliverer {
    private static final Logger log = LoggerFactory.getLogger(Deliverer.class);

    private final WebhookSender sender;
    private final AddressPolicy addresses;
    private final EndpointStore endpoints;
    private final WebhookSettings settings;
    private final WebhookMetrics metrics;
    private final DataSource dataSource;
    private final InstantSource clock;
    private final SecretBox secretBox;
    private final ControlChannel control;

    /** {@code addresses} re-checks each stored URL before it is sent to (the settings may have changed since). */
    public Deliverer(
            WebhookSender sender,
            AddressPolicy addresses,
            EndpointStore endpoints,
            WebhookSettings settings,
            WebhookMetrics metrics,
            DataSource dataSource,
            ControlChannel control,
            InstantSource clock,
            SecretBox secretBox) {
        this.secretBox = secretBox;
        this.sender = sender;
        this.addresses = addresses;
        this.control = control;
        this.endpoints = endpoints;
        this.settings = settings;
        this.metrics = metrics;
        this.dataSource = dataSource;
        this.clock = clock;
    }

    /** Where and how an endpoint's messages go: its URL, checked against the settings as they are now, and its signing keys. */
    record Route(WebhookEndpoint endpoint, WebhookUrl url, Signer.Keyed signer) {}

    /**
     * The endpoint's route, for one worker (its signer is not shared). Throws when the stored URL is one
     * the settings now refuse, or a lifecycle endpoint's that would carry access tokens in clear text.
     */
    Route route(WebhookEndpoint endpoint) {
        WebhookUrl url = WebhookUrl.parse(endpoint.url(), "url", addresses);
        if (endpoint.kind() == WebhookEndpoint.Kind.lifecycle && !addresses.mayCarrySecretsTo(url.uri())) {
            // Registration refuses such URLs now; one stored before that must not get tokens in clear text
            // either. The stream backs off and the endpoint shows this error until its url is changed.
            throw new IllegalStateException("lifecycle endpoint " + endpoint.id() + " has an http url, and its"
                    + " messages carry access tokens: change its url to https");
        }
        return new Route(endpoint, url, Signer.keyedWith(endpoints.signingSecrets(endpoint.pk())));
    }

    Attempt attempt(Route route, MessageLog.Pending message) {
        WebhookEndpoint endpoint = route.endpoint();
        WebhookUrl url = route.url();
        long timestamp = clock.instant().getEpochSecond();
        String body = MessageBody.withAccessToken(
                message.body(), message.sealedToken() == null ? null : secretBox.open(message.sealedToken()));
        String signature = route.signer().sign(message.webhookId(), timestamp, body);
        Attempt attempt;
        metrics.requestSent();
        try {
            attempt = sender.send(url, body, new WebhookSender.Signed(message.webhookId(), timestamp, signature));
        } finally {
            metrics.requestEnded();
        }
        metrics.attempt(endpoint.id(), attempt);
        if (!attempt.delivered()) {
            log.info(
                    "Webhook {} message {} attempt {} to {} failed: {} ({})",
                    endpoint.id(),
                    message.webhookId(),
                    message.attempts() + 1,
                    url.redacted(),
                    attempt.outcome(),
                    attempt.error());
        }
        return attempt;
    }

    Decision decide(WebhookEndpoint endpoint, MessageLog.Pending message, Attempt attempt) {
        List<java.time.Duration> delays = EndpointStore.retryDelays(endpoint);
        RetryPolicy policy =
                new RetryPolicy(delays == null ? settings.retryDelays() : delays, settings.maxRetryAfter());
        int inRound = message.attempts() + 1 - message.roundStart();
        Decision decision = Decision.after(attempt, inRound, policy, ThreadLocalRandom.current());
        metrics.message(decision);
        switch (decision) {
            case Decision.RetryLater r ->
                log.info(
                        "Webhook {} message {} is retried in {} ms (attempt {} of {})",
                        endpoint.id(),
                        message.webhookId(),
                        r.delay().toMillis(),
                        inRound + 1,
                        policy.maxAttempts());
            case Decision.Abandoned a -> {
                metrics.abandoned(endpoint.id());
                log.warn(
                        "Webhook {} message {} abandoned after {} attempts; it is listed as failed and can be retried"
                                + " or replayed",
                        endpoint.id(),
                        message.webhookId(),
                        inRound);
            }
            case Decision.Delivered d -> {}
        }
        return decision;
    }

    /** After recording: an endpoint that has just become disabled is announced, so every node stops sending to it. */
    void afterRecord(WebhookEndpoint endpoint, MessageLog.Recorded recorded) {
        if (recorded.endpointState() == WebhookEndpoint.State.disabled && !endpoint.disabled()) {
            log.warn(
                    "Webhook {} is now disabled ({}); its events wait in the log until it is enabled again",
                    endpoint.id(),
                    recorded.endpointReason());
            Jdbc.withConnection(dataSource, c -> {
                control.publish(c, new WebhookChanged(endpoint.pk()));
                return null;
            });
        }
    }
}
