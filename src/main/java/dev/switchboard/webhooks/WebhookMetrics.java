package dev.switchboard.webhooks;

import dev.switchboard.db.Jdbc;
import dev.switchboard.db.LogOrigin;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import javax.sql.DataSource;

/**
 * What the operator sees of webhooks, per endpoint: attempts by outcome, delivery latency (from the
 * oldest event's commit to the 2xx), messages abandoned, and how far each endpoint's streams lag
 * behind their logs and how many of its streams are held back by worker errors (both refreshed from the
 * database, so they cover every node's streams), and this node's worker errors; node-wide, messages
 * by what their latest attempt came to, requests in flight and how many steps each write carries.
 */
public final class WebhookMetrics {
    private final MeterRegistry meters;
    private final DataSource dataSource;
    private final MultiGauge lag;
    private final MultiGauge inError;
    private final Counter expired;
    private final DistributionSummary stepBatch;
    private final MultiGauge age;
    private final Counter messagesDelivered;
    private final Counter messagesRetried;
    private final Counter messagesAbandoned;
    private final AtomicInteger inFlight = new AtomicInteger();

    private record AttemptKey(String endpointId, Attempt.Outcome outcome) {}

    private final Map<AttemptKey, Counter> attempts = new ConcurrentHashMap<>();
    private final Map<String, Timer> latencies = new ConcurrentHashMap<>();
    /** The per-minute counts the console charts (kept in PostgreSQL); null when not kept. */
    private volatile DeliveryStats stats;

    /** {@code dataSource} is the one the lag and error gauges are refreshed from. */
    public WebhookMetrics(MeterRegistry meters, DataSource dataSource) {
        this.meters = meters;
        this.dataSource = dataSource;
        this.lag = MultiGauge.builder("switchboard.webhooks.stream.lag")
                .description("Events in the logs that an endpoint's streams have not yet delivered or passed")
                .register(meters);
        this.inError = MultiGauge.builder("switchboard.webhooks.streams.in_error")
                .description(
                        "An endpoint's streams whose last run ended in a worker error and that have not moved since"
                                + " (held back with a growing wait): a stuck stream")
                .register(meters);
        this.expired = Counter.builder("switchboard.webhooks.events.expired")
                .description("Events a webhook stream could not send because they passed the retention first")
                .register(meters);
        this.age = MultiGauge.builder("switchboard.webhooks.endpoint.lag")
                .description("Age of the oldest event an endpoint's streams have not yet delivered or passed over")
                .baseUnit("seconds")
                .register(meters);
        this.messagesDelivered = messages("delivered");
        this.messagesRetried = messages("retry");
        this.messagesAbandoned = messages("abandoned");
        Gauge.builder("switchboard.webhooks.requests.in_flight", inFlight, AtomicInteger::get)
                .description("Webhook requests this node has sent and not yet had an answer to")
                .register(meters);
        this.stepBatch = DistributionSummary.builder("switchboard.webhooks.step.writes")
                .description("Streams' delivery steps (an outcome, the next message) written per statement")
                .register(meters);
    }

    private Counter messages(String outcome) {
        return Counter.builder("switchboard.webhooks.messages")
                .description("Webhook messages by what their latest attempt came to: delivered, retry (failed with"
                        + " attempts left) or abandoned (failed its last attempt)")
                .tags("outcome", outcome)
                .register(meters);
    }

    /** Shows how many streams this node delivers now (the dispatcher's count). */
    void activeStreams(Supplier<Number> activeStreams) {
        // Held strongly: a gauge keeps only a weak reference to its state by default, and nothing else
        // holds this supplier, so the gauge would read NaN after the first garbage collection.
        Gauge.builder(
                        "switchboard.webhooks.streams.active",
                        activeStreams,
                        s -> s.get().doubleValue())
                .description("Webhook streams this node is delivering now")
                .strongReference(true)
                .register(meters);
    }

    /** Also counts attempts, deliveries and abandoned messages into {@code stats}. */
    public void keepStats(DeliveryStats stats) {
        this.stats = stats;
    }

    void attempt(String endpointId, Attempt attempt) {
        DeliveryStats kept = stats;
        if (kept != null) {
            kept.attempt(endpointId, attempt.delivered(), attempt.durationMillis());
        }
        countAttempt(endpointId, attempt);
    }

    /**
     * A message failed with an attempt that sent nothing ({@link Attempt.Outcome#nothing_to_send}, or a
     * manual message's refused route): counted as a failed attempt, with no duration, and an abandoned
     * message, so that the console's "retried" (failed attempts less abandoned messages) is left as it was.
     */
    void notSent(String endpointId, Attempt attempt) {
        DeliveryStats kept = stats;
        if (kept != null) {
            kept.notSent(endpointId);
        }
        countAttempt(endpointId, attempt);
        failed(endpointId).increment();
    }

    private void countAttempt(String endpointId, Attempt attempt) {
        // Looked up once per endpoint and outcome: building a meter's id on every attempt costs more than the count.
        attempts.computeIfAbsent(
                        new AttemptKey(endpointId, attempt.outcome()),
                        key -> Counter.builder("switchboard.webhooks.attempts")
                                .description("Webhook attempts by endpoint and outcome")
                                .tags(
                                        "endpoint",
                                        endpointId,
                                        "outcome",
                                        attempt.outcome().name())
                                .register(meters))
                .increment();
    }

    /** What became of a message after an attempt: delivered, retry (scheduled) or abandoned. */
    void message(Decision decision) {
        switch (decision) {
            case Decision.Delivered d -> messagesDelivered.increment();
            case Decision.RetryLater r -> messagesRetried.increment();
            case Decision.Abandoned a -> messagesAbandoned.increment();
        }
    }

    /** A webhook request is in flight from this until {@link #requestEnded}. */
    void requestSent() {
        inFlight.incrementAndGet();
    }

    void requestEnded() {
        inFlight.decrementAndGet();
    }

    void delivered(String endpointId, Duration sinceOldestEvent) {
        DeliveryStats kept = stats;
        if (kept != null) {
            kept.delivered(endpointId, sinceOldestEvent);
        }
        latencies
                .computeIfAbsent(
                        endpointId,
                        id -> Timer.builder("switchboard.webhooks.delivery.latency")
                                .description("From the commit of a message's oldest event to the receiver's 2xx")
                                .publishPercentiles(0.5, 0.99)
                                .tags("endpoint", id)
                                .register(meters))
                .record(sinceOldestEvent.isNegative() ? Duration.ZERO : sinceOldestEvent);
    }

    void abandoned(String endpointId) {
        DeliveryStats kept = stats;
        if (kept != null) {
            kept.abandoned(endpointId);
        }
        failed(endpointId).increment();
    }

    /** A worker error on one of the endpoint's streams (not an attempt's outcome). */
    void streamError(String endpointId) {
        streamErrors(endpointId).increment();
    }

    private Counter failed(String endpointId) {
        return Counter.builder("switchboard.webhooks.messages.failed")
                .description("Messages abandoned after their last attempt")
                .tags("endpoint", endpointId)
                .register(meters);
    }

    private Counter streamErrors(String endpointId) {
        return Counter.builder("switchboard.webhooks.stream.errors")
                .description("Worker errors on an endpoint's streams, each holding the stream back for a growing wait")
                .tags("endpoint", endpointId)
                .register(meters);
    }

    /** How many streams' steps one write carried. */
    void stepsWritten(int steps) {
        stepBatch.record(steps);
    }

    void expired(long count) {
        expired.increment(count);
    }

    /**
     * Streams a lag is counted for: not those of a disabled connection, nor of an endpoint disabled while
     * it was not failing (by its partner or the operator), which are paused on purpose and would otherwise
     * hold the lag alerts on (the lag growing to the retention) for as long as they stay disabled, hiding
     * any real delay of the endpoint's other tenants. An endpoint disabled for failing (a 410, or failing
     * for longer than {@code webhooks.disableAfter}) keeps its lag: its partner is missing those events.
     */
    private static final String DELIVERING = "(ws.connection_pk IS NULL OR c.state = 'enabled')"
            + " AND (e.state <> 'disabled' OR e.failing_since IS NOT NULL)";

    /** Reads every endpoint's lag, and its streams held back by errors, from the database. */
    void refreshLag() {
        // One probe per stream serves both lag gauges: the first event past its position gives its age and,
        // a stream's log being an unbroken run of seqs up to the newest, the count of events from it on (a
        // stream behind a restored database's jump is counted event by event: LogOrigin.eventsAfterSql).
        // So events the retention removed are not counted as waiting.
        record Endpoint(String id, long events, double seconds, long streamsInError) {}
        List<Endpoint> endpoints = Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(
                        c,
                        "SELECT e.id,"
                                + " coalesce(sum("
                                + LogOrigin.eventsAfterSql(
                                        "ws.stream_pk", "(oldest.seq - 1)", "s.last_seq", "s.jumped_from")
                                + ") FILTER (WHERE " + DELIVERING + "), 0),"
                                + " coalesce(extract(epoch FROM now() - min(oldest.time) FILTER (WHERE " + DELIVERING
                                + ")), 0), count(*) FILTER (WHERE ws.errors > 0) FROM webhook_streams ws"
                                + " JOIN webhook_endpoints e ON e.pk = ws.endpoint_pk JOIN streams s ON s.pk = ws.stream_pk"
                                + " LEFT JOIN connections c ON c.pk = ws.connection_pk"
                                + " LEFT JOIN LATERAL (SELECT ev.seq, ev.time FROM events ev WHERE ev.stream_pk = ws.stream_pk"
                                + "   AND ev.seq > ws.position ORDER BY ev.seq LIMIT 1) oldest ON true GROUP BY e.id",
                        rs -> new Endpoint(rs.getString(1), rs.getLong(2), rs.getDouble(3), rs.getLong(4))));
        lag.register(rows(endpoints, Endpoint::id, Endpoint::events), true);
        age.register(rows(endpoints, Endpoint::id, Endpoint::seconds), true);
        inError.register(rows(endpoints, Endpoint::id, Endpoint::streamsInError), true);
        // Every endpoint's failure counters exist from 0, on every node: one that first appeared with the
        // 50 messages a long outage abandoned together would show no increase() and fire no alert.
        endpoints.forEach(e -> {
            failed(e.id());
            streamErrors(e.id());
        });
        forgetDeletedEndpoints();
    }

    /** A gauge's rows, one per endpoint. */
    private static <T> List<MultiGauge.Row<?>> rows(
            List<T> endpoints, Function<T, String> id, Function<T, Number> value) {
        return endpoints.stream()
                .<MultiGauge.Row<?>>map(e -> MultiGauge.Row.of(Tags.of("endpoint", id.apply(e)), value.apply(e)))
                .toList();
    }

    /**
     * Removes the meters of endpoints deleted since (on any node), which would otherwise stay in
     * {@code /metrics} and in memory for good. Only endpoints that had meters before the lookup are
     * candidates, so a meter made meanwhile for a new endpoint is never taken for a deleted one's.
     */
    private void forgetDeletedEndpoints() {
        List<Meter> endpointMeters = meters.getMeters().stream()
                .filter(m -> m.getId().getName().startsWith("switchboard.webhooks.")
                        && m.getId().getTag("endpoint") != null)
                .toList();
        Set<String> candidates = new HashSet<>(latencies.keySet());
        attempts.keySet().forEach(key -> candidates.add(key.endpointId()));
        endpointMeters.forEach(m -> candidates.add(m.getId().getTag("endpoint")));
        if (candidates.isEmpty()) {
            return;
        }
        Set<String> existing = new HashSet<>(Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(
                        c, "SELECT id FROM webhook_endpoints WHERE id = ANY (?)", rs -> rs.getString(1), (Object)
                                candidates.toArray(String[]::new))));
        candidates.removeAll(existing);
        if (candidates.isEmpty()) {
            return;
        }
        attempts.keySet().removeIf(key -> candidates.contains(key.endpointId()));
        latencies.keySet().removeIf(candidates::contains);
        endpointMeters.stream()
                .filter(m -> candidates.contains(m.getId().getTag("endpoint")))
                .forEach(meters::remove);
    }
}
