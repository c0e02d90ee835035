package dev.switchboard.webhooks;

import dev.switchboard.config.WebhookSettings;
import dev.switchboard.db.Jdbc;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.events.ControlMessage.WebhookChanged;
import dev.switchboard.support.Refusal;
import dev.switchboard.support.SecretBox;
import dev.switchboard.tracing.Tracing;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Scope;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
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
    private final Tracing tracing;
    /** Lines about one endpoint's failed attempts: a receiver failing every request must not flood the log. */
    private final EndpointLogLines lines = new EndpointLogLines();

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
            SecretBox secretBox,
            Tracing tracing) {
        this.secretBox = secretBox;
        this.tracing = tracing;
        this.sender = sender;
        this.addresses = addresses;
        this.control = control;
        this.endpoints = endpoints;
        this.settings = settings;
        this.metrics = metrics;
        this.dataSource = dataSource;
        this.clock = clock;
    }

    /**
     * Where and how an endpoint's messages go: its URL, checked against the settings as they are now, and
     * its signing keys, good until {@code keysExpireAt} (a {@link System#nanoTime} deadline; null: until
     * the endpoint changes).
     */
    record Route(WebhookEndpoint endpoint, WebhookUrl url, Signer.Keyed signer, Long keysExpireAt) {
        /** Whether a rotated-out secret's grace period has ended since the keys were read: read them again. */
        boolean keysExpired() {
            return keysExpireAt != null && System.nanoTime() - keysExpireAt >= 0;
        }
    }

    /**
     * The endpoint's route, for one worker (its signer is not shared). Throws when the stored URL is one
     * the settings now refuse, or a lifecycle endpoint's that would carry access tokens in clear text.
     */
    Route route(WebhookEndpoint endpoint) {
        WebhookUrl url;
        try {
            url = WebhookUrl.parse(endpoint.url(), "url", addresses);
        } catch (Refusal e) {
            // Stored when the server's settings allowed it (private addresses, say): refused until it changes.
            throw new RouteRefused("endpoint " + endpoint.id() + " has a url the server refuses now (" + e.getMessage()
                    + "): change its url");
        }
        if (endpoint.kind() == WebhookEndpoint.Kind.lifecycle && !addresses.mayCarrySecretsTo(url.uri())) {
            // Registration refuses such URLs now; one stored before that must not get tokens in clear text
            // either. The stream backs off and the endpoint shows this error until its url is changed.
            throw new RouteRefused("lifecycle endpoint " + endpoint.id() + " has an http url, and its"
                    + " messages carry access tokens: change its url to https");
        }
        // Over delivery's own pool: a stream starting must not wait for a connection the API's requests hold.
        EndpointStore.SigningSecrets secrets =
                Jdbc.withConnection(dataSource, c -> endpoints.signingSecrets(c, endpoint.pk()));
        Long keysExpireAt = secrets.firstExpiresIn() == null
                ? null
                : System.nanoTime() + secrets.firstExpiresIn().toNanos();
        return new Route(endpoint, url, Signer.keyedWith(secrets.secrets()), keysExpireAt);
    }

    /**
     * An endpoint's stored URL is one the server's settings refuse now: nothing sent to it will go out
     * until the URL is changed. A stream backs off and shows it as its error; a manual message is failed.
     */
    static final class RouteRefused extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        RouteRefused(String message) {
            super(message);
        }
    }

    /** The attempt a manual message refused its route records: none was made; counted as abandoned. */
    Attempt refused(WebhookEndpoint endpoint, RouteRefused refusal) {
        return notSent(endpoint, Attempt.Outcome.blocked_address, refusal.getMessage());
    }

    /** The attempt a retried message that has nothing left to send records instead of a request: why. */
    Attempt nothingToSend(WebhookEndpoint endpoint, String why) {
        return notSent(endpoint, Attempt.Outcome.nothing_to_send, why);
    }

    private Attempt notSent(WebhookEndpoint endpoint, Attempt.Outcome outcome, String why) {
        Attempt attempt = new Attempt(outcome, null, why, null, Optional.empty(), clock.instant(), 0);
        metrics.notSent(endpoint.id(), attempt);
        return attempt;
    }

    Attempt attempt(Route route, MessageLog.Pending message) {
        return attempt(route, message, List.of());
    }

    /**
     * Makes one attempt. With tracing on it is a client span under the write whose events it carries
     * ({@code causes}: their kept trace contexts; linked to each when they came from several), and the
     * request carries that span's {@code traceparent}.
     */
    Attempt attempt(Route route, MessageLog.Pending message, List<String> causes) {
        if (!tracing.on()) {
            return send(route, message);
        }
        Span span = tracing.startCaused("webhook POST", SpanKind.CLIENT, causes);
        span.setAttribute(HTTP_METHOD, "POST");
        span.setAttribute(URL_FULL, WebhookUrl.redact(route.url().uri().toString())); // no query, no credentials
        span.setAttribute(ENDPOINT, route.endpoint().id());
        span.setAttribute(MESSAGE, message.webhookId());
        span.setAttribute(ATTEMPT, (long) message.attempts() + 1);
        Attempt attempt;
        try (Scope ignored = tracing.enter(span)) {
            attempt = send(route, message);
        } catch (RuntimeException e) {
            span.recordException(e);
            span.setStatus(StatusCode.ERROR);
            span.end();
            throw e;
        }
        if (attempt.status() != null) {
            span.setAttribute(HTTP_STATUS, (long) attempt.status());
        }
        span.setAttribute(OUTCOME, attempt.outcome().name());
        if (!attempt.delivered()) {
            span.setAttribute(ERROR_TYPE, attempt.outcome().name());
            span.setStatus(
                    StatusCode.ERROR,
                    attempt.error() == null ? attempt.outcome().name() : attempt.error());
        }
        span.end();
        return attempt;
    }

    private static final AttributeKey<String> HTTP_METHOD = AttributeKey.stringKey("http.request.method");
    private static final AttributeKey<Long> HTTP_STATUS = AttributeKey.longKey("http.response.status_code");
    private static final AttributeKey<String> URL_FULL = AttributeKey.stringKey("url.full");
    private static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
    private static final AttributeKey<String> ENDPOINT = AttributeKey.stringKey("switchboard.webhook.endpoint");
    private static final AttributeKey<String> MESSAGE = AttributeKey.stringKey("switchboard.webhook.message");
    private static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("switchboard.webhook.attempt");
    private static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("switchboard.webhook.outcome");

    private Attempt send(Route route, MessageLog.Pending message) {
        WebhookEndpoint endpoint = route.endpoint();
        WebhookUrl url = route.url();
        long timestamp = clock.instant().getEpochSecond();
        String body = MessageBody.withAccessToken(
                message.body(), message.sealedToken() == null ? null : secretBox.open(message.sealedToken()));
        String signature = route.signer().sign(message.webhookId(), timestamp, body);
        Attempt attempt;
        metrics.requestSent();
        try {
            attempt = sender.send(
                    endpoint.integrationPk(),
                    url,
                    body,
                    new WebhookSender.Signed(message.webhookId(), timestamp, signature));
        } finally {
            metrics.requestEnded();
        }
        metrics.attempt(endpoint.id(), attempt);
        long leftOut;
        if (!attempt.delivered() && (leftOut = lines.admit(endpoint.id(), System.nanoTime())) >= 0) {
            log.info(
                    "Webhook {} message {} attempt {} to {} failed: {} ({}){}",
                    endpoint.id(),
                    message.webhookId(),
                    message.attempts() + 1,
                    url.redacted(),
                    attempt.outcome(),
                    attempt.error(),
                    EndpointLogLines.leftOut(leftOut));
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
        if (decision instanceof Decision.Abandoned) {
            metrics.abandoned(endpoint.id());
        }
        long leftOut = decision instanceof Decision.Delivered ? -1 : lines.admit(endpoint.id(), System.nanoTime());
        if (leftOut < 0) {
            return decision;
        }
        switch (decision) {
            case Decision.RetryLater r
            when attempt.outcome() == Attempt.Outcome.gone ->
                log.info(
                        "Webhook {} message {} answered 410: the endpoint is disabled, and a stream's message waits for"
                                + " it to be enabled again (a test or a retried message is failed){}",
                        endpoint.id(),
                        message.webhookId(),
                        EndpointLogLines.leftOut(leftOut));
            case Decision.RetryLater r ->
                log.info(
                        "Webhook {} message {} is retried in {} ms (attempt {} of {}){}",
                        endpoint.id(),
                        message.webhookId(),
                        r.delay().toMillis(),
                        inRound + 1,
                        policy.maxAttempts(),
                        EndpointLogLines.leftOut(leftOut));
            case Decision.Abandoned a ->
                log.warn(
                        "Webhook {} message {} abandoned after {} attempts; it is listed as failed and can be retried"
                                + " or replayed{}",
                        endpoint.id(),
                        message.webhookId(),
                        inRound,
                        EndpointLogLines.leftOut(leftOut));
            case Decision.Delivered d -> {}
        }
        return decision;
    }

    /** After recording: an endpoint that has just become disabled is announced, so every node stops sending to it. */
    void afterRecord(WebhookEndpoint endpoint, MessageLog.Recorded recorded) {
        if (recorded.endpointState() == WebhookEndpoint.State.disabled && !endpoint.disabled()) {
            log.warn(
                    "Webhook {} is now disabled ({}); its events wait in the log until it is enabled again, but"
                            + " those that pass the events retention meanwhile are deleted unsent",
                    endpoint.id(),
                    recorded.endpointReason());
            Jdbc.withConnection(dataSource, c -> {
                control.publish(c, new WebhookChanged(endpoint.pk()));
                return null;
            });
        }
    }
}
