package dev.switchboard.webhooks;

import dev.switchboard.db.DatabaseException;
import dev.switchboard.db.Jdbc;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.events.ControlMessage.ManualMessageDue;
import dev.switchboard.events.ControlMessage.WebhookChanged;
import dev.switchboard.events.EventFilter;
import dev.switchboard.events.EventLog;
import dev.switchboard.support.Ids;
import dev.switchboard.support.Instants;
import dev.switchboard.support.Refusal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * Webhook messages and attempts in the database: a message is written before its first attempt (so a
 * crash re-sends the same message, with the same {@code webhook-id}), and each attempt's outcome is
 * recorded together with what it means for the message, its stream and its endpoint, in one
 * statement: for many streams at once on the delivery path ({@link #steps}), on its own for a failure.
 * A stream message keeps no body: its body is its range of the log, built again, through what its
 * integration may receive then, when it is shown or sent again. Stream writes are guarded by the
 * lease: a node that lost its stream changes nothing there.
 */
public final class MessageLog {
    /**
     * The sealed access token of a webhook_messages row: that of its first event (a lifecycle message
     * carries one; its range may go on over events its filter passed over), which only
     * lifecycle events have. Null once the retention removed that event: a pending message is then dropped
     * unsent, a failed one refused a retry.
     */
    private static final String SEALED_TOKEN = "(SELECT ev.sealed FROM webhook_streams ws JOIN events ev"
            + " ON ev.stream_pk = ws.stream_pk AND ev.seq = webhook_messages.first_seq"
            + " WHERE ws.pk = webhook_messages.webhook_stream_pk) AS sealed_token";
    /**
     * The attempt that delivered a message is kept on the message's row, not in webhook_attempts: nearly
     * every message is delivered at its first attempt, and a row of its own was a third of the database's
     * writes per message. webhook_attempts keeps the attempts that failed.
     */
    private static final String DELIVERED_ATTEMPT =
            "(delivered_started_at, delivered_duration_ms, delivered_status_code, delivered_response)";
    /** A stream message's next attempt is kept on its stream (so the message row is not indexed by it). */
    private static final String MESSAGE_COLUMNS = "m.pk, m.id, e.id AS webhook_id, m.status, m.lane, m.tenant_id,"
            + " m.first_seq, m.last_seq, m.event_count, coalesce(m.next_attempt_at, ws.next_attempt_at) AS next_attempt_at,"
            + " m.created_at, m.finished_at";

    private static final String MESSAGE_FROM =
            " FROM webhook_messages m JOIN webhook_endpoints e ON e.pk = m.endpoint_pk"
                    + " LEFT JOIN webhook_streams ws ON ws.pk = m.webhook_stream_pk AND ws.message_id = m.id";

    /** A message keeps its latest attempts: more than a round of the longest retry schedule (21). */
    static final int ATTEMPTS_KEPT = 25;

    /** How many of an endpoint's messages one list request reads at most (a few milliseconds' work). */
    static final int LIST_SCAN = 10_000;
    /** How many positions of the log a list by event type looks through at most (its messages' ranges). */
    static final int LIST_SCAN_EVENTS = 100_000;
    /**
     * How many of an endpoint's messages one bulk retry looks through at most (a fraction of a second), and
     * with an event type to match, whose look reads each failed message's range of the log: 280,000 took
     * 46 s, and past the statement timeout the request failed whatever it was sent again.
     */
    static final int RETRY_SCAN = 100_000;

    static final int RETRY_SCAN_BY_EVENTS = 10_000;

    private final DataSource dataSource;
    private final String nodeId;
    private final Duration leaseTime;
    private final Duration disableAfter;
    private final ControlChannel control;
    private final EventLog events;

    /** {@code events} reads the log through the same pool, to build delivered messages' bodies again. */
    public MessageLog(
            DataSource dataSource,
            String nodeId,
            Duration leaseTime,
            Duration disableAfter,
            ControlChannel control,
            EventLog events) {
        this.dataSource = dataSource;
        this.events = events;
        this.control = control;
        this.nodeId = nodeId;
        this.leaseTime = leaseTime;
        this.disableAfter = disableAfter;
    }

    /**
     * A message about to be attempted. {@code roundStart} is the attempts made before its current round;
     * {@code sealedToken} the access token a lifecycle message carries, sealed (its event's), added to the
     * body only when it is sent. A body built again from the log comes with {@code logged}, what of its
     * range is left (null for a body kept or not yet built).
     */
    record Pending(
            long pk,
            UUID id,
            long endpointPk,
            String body,
            int attempts,
            int roundStart,
            Long lastSeq,
            byte[] sealedToken,
            Logged logged) {
        String webhookId() {
            return Ids.format(WebhookMessage.ID_PREFIX, id);
        }

        /** The same message with its body built again from its range of the log. */
        Pending withBody(Logged logged) {
            return new Pending(pk, id, endpointPk, logged.body(), attempts, roundStart, lastSeq, sealedToken, logged);
        }
    }

    /**
     * A stream message's range of the log as it is now: its body (null when no event of it may be sent
     * any more), how many events that is, and how many of its first positions the retention has removed
     * ({@code expired}; the range then starts at {@code firstSeq}, the oldest event kept). {@code restated}:
     * its row says otherwise (events the retention removed, or the filter passes over now or again), and
     * is set right by {@link #restate} before it is sent.
     */
    record Logged(String body, int events, long expired, long firstSeq, boolean restated) {}

    /**
     * One stream's step on the delivery path when all goes well: the outcome of its message that was
     * just delivered ({@code done}, null for a stream's first message) and the message it sends next
     * ({@code next}, null when none is waiting). Delivered moves the stream's position to the message's
     * last seq; the next message is written, and made the stream's current one, before it is attempted.
     */
    record Step(long webhookStreamPk, long endpointPk, Done done, Next next) {}

    /** A message delivered by the attempt described. */
    record Done(Pending message, Attempt attempt) {}

    /**
     * The stream's next message. {@code seqs}: the events it carries when its range also holds events it
     * does not (null when it carries them all). {@code appliedRewind} is the replay request it honours
     * (cleared with it).
     */
    record Next(
            UUID id,
            String tenantId,
            long firstSeq,
            long lastSeq,
            int eventCount,
            long[] seqs,
            String body,
            byte[] sealedToken,
            Long appliedRewind) {}

    /** What a step did: whether this node still holds the stream (nothing changed otherwise), and the next message as written. */
    record Stepped(boolean held, Pending next) {}

    /**
     * Applies many streams' steps (at most one per stream) in one statement. Each takes effect only while
     * this node holds its stream's lease and the stream's current message is the one it delivered (none,
     * for a first message), so a node that paused past its lease changes nothing; an attempt is recorded
     * only while its message exists (deleting the endpoint or connection mid-request removes it). The
     * next message is written without its body (it is its range of the log); the body stays in memory
     * for the attempt. Returns one {@link Stepped} per step, in order.
     */
    List<Stepped> steps(Connection c, List<Step> steps) throws SQLException {
        int n = steps.size();
        Long[] streams = new Long[n];
        UUID[] doneIds = new UUID[n];
        Long[] donePks = new Long[n];
        Long[] positions = new Long[n];
        Integer[] attemptNumbers = new Integer[n];
        Long[] startedAt = new Long[n];
        Integer[] durations = new Integer[n];
        Integer[] statusCodes = new Integer[n];
        String[] responses = new String[n];
        UUID[] nextIds = new UUID[n];
        Long[] endpointPks = new Long[n];
        String[] tenants = new String[n];
        Long[] firstSeqs = new Long[n];
        Long[] lastSeqs = new Long[n];
        Integer[] counts = new Integer[n];
        String[] seqs = new String[n];
        Long[] rewinds = new Long[n];
        for (int i = 0; i < n; i++) {
            Step step = steps.get(i);
            streams[i] = step.webhookStreamPk();
            endpointPks[i] = step.endpointPk();
            if (step.done() != null) {
                Pending m = step.done().message();
                Attempt a = step.done().attempt();
                doneIds[i] = m.id();
                donePks[i] = m.pk();
                positions[i] = m.lastSeq();
                attemptNumbers[i] = m.attempts() + 1;
                // microseconds since the epoch: a bigint array goes in binary, where a text array of ISO
                // times was formatted here and parsed there
                startedAt[i] = ChronoUnit.MICROS.between(Instant.EPOCH, a.startedAt());
                durations[i] = (int) Math.min(Integer.MAX_VALUE, a.durationMillis());
                statusCodes[i] = a.status();
                responses[i] = a.responseBody();
            }
            if (step.next() != null) {
                Next next = step.next();
                nextIds[i] = next.id();
                tenants[i] = next.tenantId();
                firstSeqs[i] = next.firstSeq();
                lastSeqs[i] = next.lastSeq();
                counts[i] = next.eventCount();
                // one text per row: unnest cannot take an array of arrays of different lengths
                seqs[i] = next.seqs() == null
                        ? null
                        : Arrays.toString(next.seqs()).replace('[', '{').replace(']', '}');
                rewinds[i] = next.appliedRewind();
            }
        }
        // Every later part reads the stream update's RETURNING, never the arrays again: joining the
        // statement's parts to each other made PostgreSQL build a hash table per join on every execution
        // (seven of them, each in fresh memory), for a handful of rows.
        String sql = "WITH s AS (UPDATE webhook_streams ws SET position = coalesce(i.position, ws.position),"
                // next_attempt_at and errors: a worker error's wait and count, over now that the stream moves
                + "   message_id = i.next_id, next_attempt_at = NULL, errors = 0,"
                + "   rewind_to = CASE WHEN i.next_id IS NOT NULL AND ws.rewind_to IS NOT DISTINCT FROM i.applied_rewind"
                + "     THEN NULL ELSE ws.rewind_to END,"
                + "   lease_until = now() + ?::bigint * interval '1 millisecond'"
                + "   FROM unnest(?::bigint[], ?::uuid[], ?::bigint[], ?::bigint[], ?::int[], ?::bigint[],"
                + "     ?::int[], ?::int[], ?::text[], ?::uuid[], ?::bigint[], ?::text[], ?::bigint[], ?::bigint[],"
                + "     ?::int[], ?::text[], ?::bigint[]) AS i(ws_pk, done_id, done_pk, position, n, started_at,"
                + "     duration_ms, status_code, response_body, next_id, endpoint_pk, tenant_id, first_seq, last_seq,"
                + "     event_count, seqs, applied_rewind)"
                + "   WHERE ws.pk = i.ws_pk AND ws.leased_by = ? AND ws.message_id IS NOT DISTINCT FROM i.done_id"
                + "   RETURNING ws.pk, i.done_pk, i.n,"
                + "     timestamptz 'epoch' + i.started_at * interval '1 microsecond' AS started_at,"
                + "     i.duration_ms, i.status_code, i.response_body,"
                + "     i.next_id, i.endpoint_pk, i.tenant_id, i.first_seq, i.last_seq, i.event_count, i.seqs),"
                + " m AS (UPDATE webhook_messages wm SET attempts = s.n, status = 'delivered', finished_at = now(),"
                + "   " + DELIVERED_ATTEMPT + " = (s.started_at, s.duration_ms, s.status_code, s.response_body)"
                + "   FROM s WHERE wm.pk = s.done_pk RETURNING wm.endpoint_pk),"
                + " x AS (INSERT INTO webhook_messages (id, endpoint_pk, webhook_stream_pk, lane, tenant_id, first_seq,"
                + "   last_seq, event_count, seqs, body, status) SELECT s.next_id, s.endpoint_pk, s.pk, 'stream',"
                + "   s.tenant_id, s.first_seq, s.last_seq, s.event_count, s.seqs::bigint[], NULL, 'pending' FROM s"
                + "   WHERE s.next_id IS NOT NULL RETURNING webhook_stream_pk, pk),"
                // A delivery ends an endpoint's failing spell (an array, not a join: no hash table to build)
                + " e AS (UPDATE webhook_endpoints SET state = 'enabled', failing_since = NULL, state_reason = NULL,"
                + "   updated_at = now() WHERE pk = ANY (ARRAY(SELECT endpoint_pk FROM m)) AND state = 'failing'"
                + "   RETURNING pk)"
                // A stream this node still holds; the message written next on it
                + " SELECT pk AS ws_pk, NULL::bigint AS next_pk FROM s"
                + " UNION ALL SELECT webhook_stream_pk, pk FROM x";
        Set<Long> held = new HashSet<>();
        Map<Long, Long> nextPks = new HashMap<>();
        try (PreparedStatement ps = Jdbc.prepare(
                        c,
                        sql,
                        leaseTime.toMillis(),
                        streams,
                        doneIds,
                        donePks,
                        positions,
                        attemptNumbers,
                        startedAt,
                        durations,
                        statusCodes,
                        responses,
                        nextIds,
                        endpointPks,
                        tenants,
                        firstSeqs,
                        lastSeqs,
                        counts,
                        seqs,
                        rewinds,
                        nodeId);
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                long stream = rs.getLong("ws_pk");
                long nextPk = rs.getLong("next_pk");
                if (rs.wasNull()) {
                    held.add(stream);
                } else {
                    nextPks.put(stream, nextPk);
                }
            }
        }
        return steps.stream()
                .map(step -> {
                    Long nextPk = nextPks.get(step.webhookStreamPk());
                    Pending next = nextPk == null
                            ? null
                            : new Pending(
                                    nextPk,
                                    step.next().id(),
                                    step.endpointPk(),
                                    step.next().body(),
                                    0,
                                    0,
                                    step.next().lastSeq(),
                                    step.next().sealedToken(),
                                    null);
                    return new Stepped(held.contains(step.webhookStreamPk()), next);
                })
                .toList();
    }

    /** Moves a stream with no message past events that were not for it; false when the lease is lost. */
    boolean advance(long webhookStreamPk, long position, Long appliedRewind) {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.update(
                                c,
                                "UPDATE webhook_streams SET position = ?,"
                                        + " next_attempt_at = NULL, errors = 0,"
                                        + " rewind_to = CASE WHEN rewind_to IS NOT DISTINCT FROM ?::bigint THEN NULL ELSE rewind_to END,"
                                        + " lease_until = now() + ?::bigint * interval '1 millisecond'"
                                        + " WHERE pk = ? AND leased_by = ? AND message_id IS NULL",
                                position,
                                appliedRewind,
                                leaseTime.toMillis(),
                                webhookStreamPk,
                                nodeId)
                        == 1);
    }

    /**
     * A stream whose current message is no longer pending (its outcome was recorded, or it was deleted)
     * has nothing to send for it: the lease holder moves the stream past a finished message (delivered or
     * abandoned, as its outcome would have) or, when the message is gone, back to reading from its
     * position. False when the lease is no longer this node's or the message is pending after all.
     */
    boolean passFinished(long webhookStreamPk, UUID messageId) {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.update(
                                c,
                                "UPDATE webhook_streams ws SET"
                                        + " position = greatest(ws.position, coalesce((SELECT m.last_seq FROM webhook_messages m"
                                        + "   WHERE m.id = ws.message_id), ws.position)),"
                                        + " message_id = NULL, next_attempt_at = NULL,"
                                        + " lease_until = now() + ?::bigint * interval '1 millisecond'"
                                        + " WHERE ws.pk = ? AND ws.leased_by = ? AND ws.message_id = ?"
                                        + " AND NOT EXISTS (SELECT 1 FROM webhook_messages m WHERE m.id = ws.message_id AND m.status = 'pending')",
                                leaseTime.toMillis(),
                                webhookStreamPk,
                                nodeId,
                                messageId)
                        == 1);
    }

    /**
     * Passes a stream's current message that has nothing left to send: its range of the log no longer holds
     * an event the stream's filter lets through (the endpoint's event types or the integration's
     * permissions narrowed since it was written, or the retention removed its events while it waited for
     * an attempt). The position moves past its range, as past any events the filter passes over. A message
     * never attempted is deleted; one with attempts is kept as failed with them, so that what was tried is
     * still shown, and a retry once the filter lets its events through again sends them. Returns its
     * attempts; empty when the lease is no longer this node's or the message is not the stream's pending one.
     */
    Optional<Integer> passEmpty(long webhookStreamPk, UUID messageId) {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.one(
                        c,
                        "WITH passed AS (UPDATE webhook_streams ws SET"
                                + " position = greatest(ws.position, m.last_seq), message_id = NULL,"
                                + " next_attempt_at = NULL,"
                                + " lease_until = now() + ?::bigint * interval '1 millisecond'"
                                + " FROM webhook_messages m"
                                + " WHERE ws.pk = ? AND ws.leased_by = ? AND ws.message_id = ?"
                                + " AND m.id = ws.message_id AND m.status = 'pending' RETURNING m.pk, m.attempts),"
                                + " unsent AS (DELETE FROM webhook_messages"
                                + "   WHERE pk IN (SELECT pk FROM passed WHERE attempts = 0)),"
                                + " tried AS (UPDATE webhook_messages SET status = 'failed', finished_at = now()"
                                + "   WHERE pk IN (SELECT pk FROM passed WHERE attempts > 0))"
                                + " SELECT attempts FROM passed",
                        rs -> rs.getInt(1),
                        leaseTime.toMillis(),
                        webhookStreamPk,
                        nodeId,
                        messageId));
    }

    /**
     * Restates a message this node holds (through its stream's lease, or its own as a retried message) as
     * its range is now ({@code message.logged()}): it starts at the oldest event kept and counts the events
     * it carries, so the messages API shows what is sent, and a loss to the retention is seen once. Its
     * {@code seqs} stay: a filter widened again gives back what it first carried. False when this node no
     * longer holds it, or it is no longer pending.
     */
    boolean restate(Pending message) {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.update(
                                c,
                                "UPDATE webhook_messages m SET first_seq = ?, event_count = ? WHERE m.pk = ?"
                                        + " AND m.status = 'pending' AND (m.leased_by = ? OR EXISTS (SELECT 1"
                                        + " FROM webhook_streams ws WHERE ws.pk = m.webhook_stream_pk"
                                        + " AND ws.message_id = m.id AND ws.leased_by = ?))",
                                message.logged().firstSeq(),
                                message.logged().events(),
                                message.pk(),
                                nodeId,
                                nodeId)
                        == 1);
    }

    /**
     * A stream's pending message; a body it does not keep is built again from its range of {@code target}'s
     * log, and is null when that range holds no event the stream's filter lets through any more.
     */
    Optional<Pending> pending(UUID messageId, DeliveryTarget target) {
        record Row(Pending pending, Long firstSeq, long[] seqs, int eventCount) {}
        Optional<Row> row = Jdbc.withConnection(
                dataSource,
                c -> Jdbc.one(
                        c,
                        "SELECT pk, id, endpoint_pk, body, attempts, round_start, first_seq, last_seq, seqs,"
                                + " event_count, " + SEALED_TOKEN
                                + " FROM webhook_messages WHERE id = ? AND status = 'pending'",
                        rs -> new Row(
                                pending(rs), (Long) rs.getObject("first_seq"), seqs(rs), rs.getInt("event_count")),
                        messageId));
        return row.map(r -> {
            Pending p = r.pending();
            if (p.body() != null || r.firstSeq() == null) {
                return p;
            }
            return p.withBody(logged(target, r.firstSeq(), p.lastSeq(), r.seqs(), r.eventCount()));
        });
    }

    /**
     * A stream message's body as it was sent, built again from its range of the log: the events from
     * {@code firstSeq} to {@code lastSeq} that pass the stream's filter and that the message carries
     * ({@code seqs}, or every one of the range when null). A filter narrowed since the message was written
     * leaves out what it no longer lets through, one widened adds nothing (the same webhook-id never carries
     * more), and events the retention removed are missing. A lifecycle message is its first event, whose
     * sealed token it carries: nothing when that event is gone or no longer passes, rather than another
     * event of its range sent with that token.
     */
    private Logged logged(DeliveryTarget target, long firstSeq, long lastSeq, long[] seqs, int eventCount) {
        List<dev.switchboard.events.Event> found = new ArrayList<>();
        long after = firstSeq - 1;
        long expired = -1;
        while (after < lastSeq) {
            // No more than the range holds: a page of 1,000 read for a message of one event cost a retried
            // message 8 ms of PostgreSQL's CPU once its stream's log was long.
            int limit = (int) Math.min(1000, lastSeq - after);
            EventLog.Onward read = events.readOnward(target.eventStreamPk(), after, limit, target.filter());
            if (expired < 0) {
                expired = Math.min(read.expired(), lastSeq - firstSeq + 1);
            }
            read.page().events().stream()
                    .filter(e -> e.seq() <= lastSeq && (seqs == null || Arrays.binarySearch(seqs, e.seq()) >= 0))
                    .forEach(found::add);
            if (!read.page().full() || read.page().next() <= after) {
                break;
            }
            after = read.page().next();
        }
        expired = Math.max(0, expired);
        long first = firstSeq + expired;
        if (found.isEmpty() || (target.lifecycle() && found.getFirst().seq() != firstSeq)) {
            return new Logged(null, 0, expired, first, true);
        }
        String body = target.lifecycle()
                ? MessageBody.lifecycle(found.getFirst(), target.endpoint().integrationId())
                : MessageBody.events(target.tenantId(), target.endpoint().integrationId(), found, found.size())
                        .json();
        return new Logged(body, found.size(), expired, first, expired > 0 || found.size() != eventCount);
    }

    /**
     * What recording an attempt changed: whether the stream is still this node's, and the endpoint's state
     * (and why) if it changed; for a retried stream message, the next retried message of its stream when it
     * was claimed with the outcome ({@link #recordManual}), else null.
     */
    record Recorded(boolean streamHeld, WebhookEndpoint.State endpointState, String endpointReason, Pending next) {}

    /**
     * Records an attempt on a stream message and applies the decision: delivered or abandoned moves the
     * stream past the message (keeping the lease); a retry releases the stream until the retry is due.
     */
    Recorded recordStream(long webhookStreamPk, Pending message, Attempt attempt, Decision decision) {
        boolean retry = decision instanceof Decision.RetryLater;
        long delay = retry ? ((Decision.RetryLater) decision).delay().toMillis() : 0;
        String stream = retry
                ? "UPDATE webhook_streams SET next_attempt_at = now() + ?::bigint * interval '1 millisecond', leased_by = NULL,"
                        + " lease_until = NULL, errors = 0 WHERE pk = ? AND leased_by = ? AND message_id = ? RETURNING pk"
                : "UPDATE webhook_streams SET position = ?, message_id = NULL, next_attempt_at = NULL, errors = 0,"
                        + " lease_until = now() + ?::bigint * interval '1 millisecond'"
                        + " WHERE pk = ? AND leased_by = ? AND message_id = ? RETURNING pk";
        Object[] streamParams = retry
                ? new Object[] {delay, webhookStreamPk, nodeId, message.id()}
                : new Object[] {message.lastSeq(), leaseTime.toMillis(), webhookStreamPk, nodeId, message.id()};
        Recording recording = recording(message, attempt, decision, false, true, false, stream, streamParams);
        return run(recording);
    }

    /**
     * Records an attempt on a manual message (a test, a retried abandoned one); a retry releases its lease.
     * A retried stream message delivered or failed again is followed, with {@code claimNext}, by the next
     * retried message of its stream, claimed by the same statement ({@link #CLAIM_NEXT_OF_STREAM}): {@link
     * Recorded#next}.
     */
    Recorded recordManual(Pending message, Attempt attempt, Decision decision, boolean claimNext) {
        Recorded recorded = run(manualRecording(message, attempt, decision, claimNext));
        if (decision instanceof Decision.RetryLater) {
            // Its endpoint disabled while this attempt was in flight (or by it).
            failIfItsEndpointIsDisabled(message.pk());
        }
        return recorded;
    }

    /** {@link #recordManual}'s statement. */
    Recording manualRecording(Pending message, Attempt attempt, Decision decision, boolean claimNext) {
        return recording(
                message,
                attempt,
                decision,
                true,
                true,
                claimNext && !(decision instanceof Decision.RetryLater),
                "SELECT 1 AS pk",
                new Object[0]);
    }

    /**
     * Fails a manual message that was never sent, with {@code attempt} saying why: its endpoint's stored
     * URL is refused now ({@link Deliverer.RouteRefused}), or it has nothing left to send. The endpoint's
     * health is left alone: the receiver was never asked. Returns the next retried message of its stream
     * when {@code claimNext} (as {@link #recordManual}), else null.
     */
    Pending failRefused(Pending message, Attempt attempt, boolean claimNext) {
        return run(recording(
                        message,
                        attempt,
                        new Decision.Abandoned(),
                        true,
                        false,
                        claimNext,
                        "SELECT 1 AS pk",
                        new Object[0]))
                .next();
    }

    /**
     * One statement, undone whole when PostgreSQL picks it to break a deadlock with a disabling or a retry
     * of the endpoint's messages: run again rather than lose the receiver's answer.
     */
    private Recorded run(Recording recording) {
        return Jdbc.retryingDeadlocks(() -> Jdbc.withConnection(dataSource, recording::run));
    }

    /** One attempt's outcome as a statement, guarded by the lease: see {@link #recording}. */
    record Recording(String sql, Object[] params) {
        Recorded run(Connection c) throws SQLException {
            return Jdbc.one(
                            c,
                            sql,
                            rs -> new Recorded(
                                    rs.getLong("held") > 0,
                                    endpointState(rs.getString("endpoint_state")),
                                    rs.getString("endpoint_reason"),
                                    rs.getObject("pk") == null ? null : pending(rs)),
                            params)
                    .orElseThrow();
        }
    }

    private Recording recording(
            Pending message,
            Attempt attempt,
            Decision decision,
            boolean manual,
            boolean endpointHealth,
            boolean claimNext,
            String streamSql,
            Object[] streamParams) {
        String status = switch (decision) {
            case Decision.Delivered d -> WebhookMessage.Status.delivered.name();
            case Decision.RetryLater r -> WebhookMessage.Status.pending.name();
            case Decision.Abandoned a -> WebhookMessage.Status.failed.name();
        };
        Long retryMillis = decision instanceof Decision.RetryLater r ? r.delay().toMillis() : null;
        int n = message.attempts() + 1;
        List<Object> params = new ArrayList<>(java.util.Arrays.asList(streamParams));
        params.add(n);
        params.add(status);
        if (manual) {
            params.add(retryMillis);
        }
        params.add(status);
        int durationMillis = (int) Math.min(Integer.MAX_VALUE, attempt.durationMillis());
        if (attempt.delivered()) {
            params.addAll(java.util.Arrays.asList(
                    attempt.startedAt(), durationMillis, attempt.status(), attempt.responseBody()));
        }
        params.add(message.pk());
        if (manual) {
            params.add(nodeId);
        }
        if (!attempt.delivered()) {
            params.addAll(java.util.Arrays.asList(
                    n,
                    attempt.startedAt(),
                    durationMillis,
                    attempt.status(),
                    attempt.outcome().name(),
                    truncate(attempt.error(), 1000),
                    attempt.responseBody(),
                    n));
        }
        String endpointSql;
        if (!endpointHealth) {
            endpointSql = "SELECT NULL::text AS state, NULL::text AS state_reason WHERE false";
        } else if (attempt.delivered()) {
            endpointSql = "UPDATE webhook_endpoints SET state = 'enabled', failing_since = NULL, state_reason = NULL,"
                    + " updated_at = now() WHERE pk = ? AND state = 'failing' AND EXISTS (SELECT 1 FROM m)"
                    + " RETURNING state, state_reason";
            params.add(message.endpointPk());
        } else {
            // Failing since the first failure after a success; disabled by a 410, or when failing too long.
            // One disabled meanwhile (through the API, or by another attempt) is left as it is: its state came
            // back as "now disabled" from every failure recorded after, each announced again.
            endpointSql = "UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now()),"
                    + " state = CASE WHEN ? OR coalesce(failing_since, now()) < now() - ?::bigint"
                    + "   * interval '1 millisecond' THEN 'disabled' ELSE 'failing' END,"
                    + " state_reason = CASE WHEN ? THEN 'the receiver answered 410 Gone'"
                    + "   WHEN coalesce(failing_since, now()) < now() - ?::bigint * interval '1 millisecond'"
                    + "   THEN 'failing continuously for longer than ' || ? ELSE ? END,"
                    + " updated_at = now() WHERE pk = ? AND state <> 'disabled' AND EXISTS (SELECT 1 FROM m)"
                    + " RETURNING state, state_reason";
            boolean gone = attempt.outcome() == Attempt.Outcome.gone;
            params.addAll(List.of(
                    gone,
                    disableAfter.toMillis(),
                    gone,
                    disableAfter.toMillis(),
                    dev.switchboard.config.Durations.format(disableAfter),
                    truncate(attempt.outcome().name() + ": " + attempt.error(), 500),
                    message.endpointPk()));
        }
        // Every write is guarded by the lease: the stream's (for a stream message) or the message's own
        // (a manual one). A node that paused past its lease (a long GC, SIGSTOP) and comes back with the
        // outcome of an old attempt must change nothing: the message may be the new holder's current one,
        // and marking it delivered or failed under it would leave the stream pointing at a message that is
        // no longer pending. So the message, its attempt and the endpoint's health follow the stream's
        // guarded update (s), and change only when it did.
        String sql = "WITH s AS (" + streamSql + "),"
                // A stream message keeps no body, failed or not: each attempt (and a retry through the API)
                // builds it from its range, through what the integration may receive then. A body kept when
                // an attempt failed was sent on every retry, also after a narrowing that came while that
                // attempt was in flight (its forgetting found no body to forget yet).
                + " m AS (UPDATE webhook_messages SET attempts = ?, status = ?,"
                + (manual
                        ? " next_attempt_at = now() + ?::bigint * interval '1 millisecond', leased_by = NULL,"
                                + " lease_until = NULL,"
                        : "")
                + " finished_at = CASE WHEN ? = 'pending' THEN NULL ELSE now() END"
                + (attempt.delivered() ? ", " + DELIVERED_ATTEMPT + " = (?::timestamptz, ?, ?, ?)" : "")
                + " WHERE pk = ?" + (manual ? " AND leased_by = ?" : "")
                + " AND EXISTS (SELECT 1 FROM s) RETURNING pk, webhook_stream_pk, first_seq, status),"
                // Only while the message exists: deleting its endpoint or connection mid-request removes it.
                + (attempt.delivered()
                        ? ""
                        : " a AS (INSERT INTO webhook_attempts (message_pk, n, started_at, duration_ms, status_code,"
                                + " outcome, error, response_body) SELECT m.pk, ?, ?, ?, ?, ?, ?, ? FROM m"
                                + " ON CONFLICT DO NOTHING),"
                                // Retried again and again through the API (a receiver asking for no wait
                                // between attempts), one message gathered attempts without end, each read
                                // back whenever it is listed.
                                + " t AS (DELETE FROM webhook_attempts WHERE message_pk = (SELECT pk FROM m)"
                                + " AND n <= ?::int - " + ATTEMPTS_KEPT + "),")
                + " e AS (" + endpointSql + ")"
                + (claimNext ? ", next AS (" + CLAIM_NEXT_OF_STREAM + ")" : "")
                + " SELECT (SELECT count(*) FROM s) AS held, (SELECT state FROM e) AS endpoint_state,"
                + " (SELECT state_reason FROM e) AS endpoint_reason, next.*"
                + " FROM (VALUES (1)) one LEFT JOIN " + (claimNext ? "next" : "(SELECT NULL::bigint AS pk) next")
                + " ON true";
        if (claimNext) {
            params.add(nodeId);
            params.add(leaseTime.toMillis());
        }
        return new Recording(sql, params.toArray());
    }

    /** The endpoint's state if recording changed it, else null. */
    private static WebhookEndpoint.State endpointState(String state) {
        return state == null ? null : WebhookEndpoint.State.valueOf(state);
    }

    /**
     * Test messages of one endpoint that may wait to be sent at once. Nothing else bounds them: a partner
     * calling {@code POST …/test} at its rate limit against a receiver that answers slowly grew a backlog
     * of hundreds of thousands a day, never pruned while pending, which every node's claim of manual
     * messages sorted four times a second.
     */
    static final int MAX_PENDING_TESTS = 100;
    /** How many of an endpoint's newest test messages are looked at to count those waiting. */
    private static final int TESTS_LOOKED_AT = 1_000;

    /**
     * Holds the endpoint's row until the caller commits and refuses a disabled endpoint: a test or a
     * retry of one would wait, pending and kept past the retention, to go out all at once whenever it is
     * enabled again. Held in share mode, which a change of the endpoint's state waits for: disabling it
     * then fails again what the caller wrote (V27), where a check before the transaction let a retry
     * commit just after the disable and leave its messages waiting. Deleted meanwhile, it is not found,
     * and no message is left behind for it (as a foreign key's check did, V21). A retry takes it after
     * its messages, the order in which recording an attempt and narrowing an endpoint lock them.
     */
    private static void lockSendable(Connection c, long endpointPk) throws SQLException {
        refuseDisabled(c, endpointPk, " FOR SHARE");
    }

    /**
     * Makes the caller's transaction the only one, until it ends, that changes the endpoint's manual
     * messages at a partner's or the operator's request: a test, a retry of one or of many, a disabling
     * (V27's trigger fails the waiting ones), a delete. Each locks many of those rows, and not in one order:
     * racing each other they deadlocked, each deadlock costing a second before PostgreSQL broke it, long
     * enough for the requests queued behind to pass their lock timeout (16 retries and a disabling at once:
     * 503s). Taken before any of those rows (after the integration's row, which a key's rotation holds
     * while it disables lifecycle endpoints); the dispatcher's claims and attempts do not take it.
     */
    static void takeManualTurn(Connection c, long endpointPk) throws SQLException {
        Jdbc.one(
                c,
                "SELECT pg_advisory_xact_lock(hashtextextended('switchboard.webhook_manual', ?))",
                rs -> true,
                endpointPk);
    }

    /** Refuses a test or retry of a disabled endpoint; {@code lock} locks its row ({@code " FOR SHARE"}) or not (""). */
    private static void refuseDisabled(Connection c, long endpointPk, String lock) throws SQLException {
        record Endpoint(String id, String state) {}
        Endpoint endpoint = Jdbc.one(
                        c,
                        "SELECT id, state FROM webhook_endpoints WHERE pk = ?" + lock,
                        rs -> new Endpoint(rs.getString("id"), rs.getString("state")),
                        endpointPk)
                .orElseThrow(() -> new Refusal.NotFound("the webhook endpoint"));
        if (WebhookEndpoint.State.disabled.name().equals(endpoint.state())) {
            throw new Refusal.Conflict(
                    "endpoint_disabled",
                    "webhook endpoint '" + endpoint.id() + "' is disabled; enable it (PATCH {\"state\": \"enabled\"})"
                            + " before sending it a test or a retry");
        }
    }

    /** Writes a test message, due now, and tells the dispatchers; returns its public id. */
    String createTest(long endpointPk, String body) {
        UUID id = Ids.newUuid();
        // A disabling takes its turn before it fails the waiting tests, but the dispatcher may be claiming
        // and recording them meanwhile: a deadlock's victim here runs again.
        Jdbc.inTransactionRetryingDeadlocks(dataSource, c -> {
            // The waiting ones are counted among its newest tests (V22's index): those pile up behind a slow
            // receiver, where a fast one leaves few waiting however many it was sent. One endpoint's tests are
            // made one at a time, else each of a burst counts before the others commit (200 at once left 112).
            takeManualTurn(c, endpointPk);
            lockSendable(c, endpointPk);
            int waiting = Jdbc.one(
                            c,
                            "SELECT count(*) FILTER (WHERE t.status = 'pending') FROM (SELECT m.status"
                                    + " FROM webhook_messages m WHERE m.endpoint_pk = ? AND m.lane = 'manual'"
                                    + " AND m.first_seq IS NULL ORDER BY m.pk DESC LIMIT ?) t",
                            rs -> rs.getInt(1),
                            endpointPk,
                            TESTS_LOOKED_AT)
                    .orElseThrow();
            if (waiting >= MAX_PENDING_TESTS) {
                throw new Refusal.Throttled(
                        "too_many_pending_tests",
                        "this endpoint has " + MAX_PENDING_TESTS + " test messages waiting to be sent; send"
                                + " another once they are",
                        5);
            }
            Jdbc.update(
                    c,
                    "INSERT INTO webhook_messages (id, endpoint_pk, lane, tenant_id, event_count, body, status,"
                            + " next_attempt_at) VALUES (?, ?, 'manual', NULL, 1, ?, 'pending', now())",
                    id,
                    endpointPk,
                    body);
            control.publish(c, new ManualMessageDue());
            return null;
        });
        return Ids.format(WebhookMessage.ID_PREFIX, id);
    }

    /**
     * {@link #claimManual}'s statement. A retried stream message waits behind the older retried messages
     * of its stream still waiting, and while one of its stream is being sent: each stream with messages
     * waiting is found by a skip through V32's index of those (one lookup per stream), its oldest is the
     * first entry there, and whether one of its messages is leased is a look at V32's index of leased
     * manual messages. Found from every message waiting (a grouping of them all, then a join of each), a claim
     * took about 10 ms at 2,000 waiting and 100 ms at 10,000, four times a second on every node while a
     * bulk retry lasted, finding nothing to take most of the time; looked for per message among every
     * retried message of its stream (V31's index, which keeps the delivered and failed ones), it read each
     * waiting message's finished elders and ran past the statement timeout. Tests, which belong to no
     * stream, are taken as they come due.
     */
    static final String CLAIM_MANUAL = "WITH RECURSIVE streams AS ("
            + " (SELECT webhook_stream_pk AS pk FROM webhook_messages WHERE lane = 'manual' AND next_attempt_at IS NOT NULL"
            + "   AND webhook_stream_pk IS NOT NULL ORDER BY webhook_stream_pk LIMIT 1)"
            + " UNION ALL SELECT (SELECT w.webhook_stream_pk FROM webhook_messages w WHERE w.lane = 'manual'"
            + "   AND w.next_attempt_at IS NOT NULL AND w.webhook_stream_pk > streams.pk"
            + "   ORDER BY w.webhook_stream_pk LIMIT 1) FROM streams WHERE streams.pk IS NOT NULL),"
            // Each stream's oldest waiting message (by first seq, then by key: a replay of failed events makes
            // messages of the same range, and both went at once when any message at the oldest seq was taken),
            // unless one of its stream is being sent (an older one retried while a newer one is in flight waits
            // for it), here or on another node; and the tests waiting
            + " candidates AS MATERIALIZED (SELECT oldest.pk FROM streams CROSS JOIN LATERAL"
            + "   (SELECT w.pk FROM webhook_messages w WHERE w.lane = 'manual' AND w.next_attempt_at IS NOT NULL"
            + "     AND w.webhook_stream_pk = streams.pk AND w.status = 'pending' ORDER BY w.first_seq, w.pk LIMIT 1) oldest"
            + "   WHERE streams.pk IS NOT NULL AND NOT EXISTS (SELECT 1 FROM webhook_messages l WHERE l.lane = 'manual'"
            + "     AND l.leased_by IS NOT NULL AND l.webhook_stream_pk = streams.pk AND l.status = 'pending'"
            + "     AND l.lease_until >= now())"
            + "   UNION ALL SELECT pk FROM webhook_messages WHERE lane = 'manual' AND next_attempt_at IS NOT NULL"
            + "     AND webhook_stream_pk IS NULL)"
            + " UPDATE webhook_messages"
            + " SET leased_by = ?, lease_until = now() + ?::bigint * interval '1 millisecond' WHERE pk IN ("
            + " SELECT pk FROM (SELECT m.pk, m.next_attempt_at, coalesce(r.left_room, ?) AS left_room,"
            + "   row_number() OVER (PARTITION BY e.integration_pk ORDER BY m.next_attempt_at) AS turn"
            + "   FROM candidates JOIN webhook_messages m ON m.pk = candidates.pk"
            + "   JOIN webhook_endpoints e ON e.pk = m.endpoint_pk"
            + "   LEFT JOIN unnest(?::bigint[], ?::int[]) AS r(integration_pk, left_room)"
            + "     ON r.integration_pk = e.integration_pk"
            + "   WHERE m.next_attempt_at <= now() AND m.status = 'pending'"
            + "   AND e.state <> 'disabled' AND (m.lease_until IS NULL OR m.lease_until < now())"
            // A retried stream message waits, as its stream does, while its connection is disabled
            + "   AND NOT EXISTS (SELECT 1 FROM webhook_streams ws JOIN connections c"
            + "     ON c.pk = ws.connection_pk WHERE ws.pk = m.webhook_stream_pk AND c.state <> 'enabled')"
            + " ) due WHERE turn <= left_room ORDER BY turn, next_attempt_at LIMIT ?)"
            + " AND status = 'pending' AND (lease_until IS NULL OR lease_until < now())"
            + " RETURNING pk, id, endpoint_pk, body, attempts, round_start, last_seq, "
            + SEALED_TOKEN
            + ", (SELECT integration_pk FROM webhook_endpoints e WHERE e.pk = endpoint_pk) AS integration_pk";

    /** A manual message this node claimed, and the integration whose endpoint it goes to. */
    record ClaimedManual(Pending message, long integrationPk) {}

    /**
     * Claims up to {@code limit} manual messages that are due, for this node: one per integration in
     * turn, each integration's oldest first, and no more of one integration than {@code room} leaves it
     * (integration pk → messages it may still take; {@code roomDefault} for the others). So an
     * integration that retries thousands of messages to a slow endpoint does not hold up another's test
     * or retry. A retried stream message is claimed only once no older retried message of its stream is
     * pending, and while none of its stream is being sent (leased to any node; one's outcome and the claim
     * of the next are one statement, {@link #CLAIM_NEXT_OF_STREAM}). One stream's retries go one at a time,
     * in seq order. Nodes may pick the same message; the update takes it only while it is still unleased.
     */
    List<ClaimedManual> claimManual(int limit, Map<Long, Integer> room, int roomDefault) {
        if (limit <= 0) {
            return List.of();
        }
        Long[] integrations = room.keySet().toArray(Long[]::new);
        Integer[] left = room.values().toArray(Integer[]::new);
        // A bulk retry or a disabling updates these rows in another order: a deadlock's victim here runs again
        // rather than cost the dispatcher a second's pause and a sweep of every stream.
        return Jdbc.retryingDeadlocks(() -> Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(
                        c,
                        CLAIM_MANUAL,
                        rs -> new ClaimedManual(pending(rs), rs.getLong("integration_pk")),
                        nodeId,
                        leaseTime.toMillis(),
                        roomDefault,
                        integrations,
                        left,
                        limit)));
    }

    /**
     * The part of {@link #recordManual}'s statement that claims the next retried message of the stream once
     * the one recorded ({@code m}, as the statement updates it) is delivered or failed: the stream's oldest
     * message waiting but it (V32's index of those, by first seq, then by key, as {@link #CLAIM_MANUAL}
     * takes them; an older one retried while the chain went on is next, where a look past {@code m} only
     * left it until the chain's turn ended and sent it among the newer ones), taken for this node if it is
     * due, unleased, not locked by another transaction (skipped, not waited for: the outcome must not wait),
     * and its endpoint and connection let it go. Its endpoint is read twice: as the statement's snapshot
     * shows it, and as this very outcome may have changed it ({@code e}); one claimed by the outcome that
     * disabled the endpoint escaped the disabling's failing of those waiting.
     *
     * <p>So a stream's retries follow one another at the receiver's pace, not one per pass of the
     * dispatcher, without its claim's look over every waiting message, and the stream is never seen idle
     * between the two: recorded and claimed in two commits, another node's claim could take an older
     * retried message in between and send it beside the next. A message whose lease a slower attempt lost
     * is not updated ({@code m} is empty), and its stream's turn is not ours. Two index entries are read,
     * also while the table's statistics say there are no manual messages (as they do until autovacuum
     * analyzes it again after a bulk retry): where a join let the planner read the finished message
     * through V31's index once per message of the stream, it took 7 ms a message at 2,000; read from V31's
     * index of every retried message, the next 100 of them were fetched for each message sent.
     */
    static final String CLAIM_NEXT_OF_STREAM = "UPDATE webhook_messages"
            + " SET leased_by = ?, lease_until = now() + ?::bigint * interval '1 millisecond'"
            + " WHERE pk = (SELECT w.pk FROM webhook_messages w WHERE w.pk = (SELECT ahead.pk FROM m CROSS JOIN LATERAL"
            + "   (SELECT pk FROM webhook_messages WHERE lane = 'manual' AND next_attempt_at IS NOT NULL"
            + "     AND webhook_stream_pk = m.webhook_stream_pk AND pk <> m.pk"
            + "     ORDER BY first_seq, pk LIMIT 1) ahead"
            + "   WHERE m.status <> 'pending') FOR UPDATE SKIP LOCKED)"
            + " AND status = 'pending' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())"
            + " AND EXISTS (SELECT 1 FROM webhook_endpoints we WHERE we.pk = endpoint_pk AND we.state <> 'disabled')"
            + " AND NOT EXISTS (SELECT 1 FROM e WHERE e.state = 'disabled')"
            + " AND NOT EXISTS (SELECT 1 FROM webhook_streams ws JOIN connections cn ON cn.pk = ws.connection_pk"
            + "   WHERE ws.pk = webhook_stream_pk AND cn.state <> 'enabled')"
            + " RETURNING pk, id, endpoint_pk, body, attempts, round_start, last_seq, "
            + SEALED_TOKEN;

    /** A retried stream message as it is about to be sent. */
    sealed interface Rebuilt {
        /**
         * Built again from its range of the log; its body is null when nothing in it may be sent any more.
         * {@code target}: its stream as it was read (or as the caller knew it).
         */
        record Ready(Pending message, DeliveryTarget target) implements Rebuilt {}

        /**
         * Its connection (or endpoint) was disabled after the message was claimed: it is given back unsent and
         * waits, as its stream does, where the claim would have passed it over.
         */
        record Paused() implements Rebuilt {}

        /** It or its stream was deleted since its claim (with its connection or endpoint). */
        record Gone() implements Rebuilt {}
    }

    /**
     * A retried stream message (which keeps no body; one kept by an earlier release is forgotten when what
     * its integration may receive changes), built again from its range of the log through its stream's
     * filter as it is now, once its stream is read as deliverable again: this read, not the claim, is the
     * last look before the request. {@code known}: the stream's target as the caller read it for an earlier
     * message, with no change to its endpoint, connection or integration noticed since (null: none); used
     * instead of reading it again when the message is of that stream, as a stream's worker keeps its own.
     */
    Rebuilt rebuilt(Pending message, DeliveryTarget known) {
        record Stored(long streamPk, long firstSeq, long[] seqs, int eventCount) {}
        record Range(DeliveryTarget target, boolean deliverable, Stored stored) {}
        Optional<Range> range = Jdbc.withConnection(
                dataSource,
                c -> Jdbc.one(
                                c,
                                "SELECT webhook_stream_pk, first_seq, seqs, event_count FROM webhook_messages"
                                        + " WHERE pk = ? AND webhook_stream_pk IS NOT NULL AND first_seq IS NOT NULL",
                                rs -> new Stored(rs.getLong(1), rs.getLong(2), seqs(rs), rs.getInt("event_count")),
                                message.pk())
                        .flatMap(r -> {
                            if (known != null && known.webhookStreamPk() == r.streamPk()) {
                                return Optional.of(new Range(known, true, r));
                            }
                            try {
                                Optional<DeliveryTarget> now = StreamLeases.target(c, r.streamPk(), false);
                                return now.isPresent()
                                        ? now.map(t -> new Range(t, true, r))
                                        : StreamLeases.target(c, r.streamPk(), true)
                                                .map(t -> new Range(t, false, r));
                            } catch (SQLException e) {
                                throw new DatabaseException(e);
                            }
                        }));
        if (range.isEmpty()) {
            return new Rebuilt.Gone();
        }
        Range r = range.get();
        if (!r.deliverable()) {
            return new Rebuilt.Paused();
        }
        // The log is read through connections of its own, outside the one above.
        return new Rebuilt.Ready(
                message.withBody(logged(
                        r.target(),
                        r.stored().firstSeq(),
                        message.lastSeq(),
                        r.stored().seqs(),
                        r.stored().eventCount())),
                r.target());
    }

    /**
     * Gives a claimed manual message back unsent: its endpoint is disabled or gone (its messages go with it),
     * or its connection disabled.
     */
    void releaseManual(long messagePk) {
        int released = Jdbc.withConnection(
                dataSource,
                c -> Jdbc.update(
                        c,
                        "UPDATE webhook_messages SET leased_by = NULL, lease_until = NULL WHERE pk = ? AND leased_by = ?",
                        messagePk,
                        nodeId));
        if (released > 0) {
            failIfItsEndpointIsDisabled(messagePk);
        }
    }

    /**
     * Fails a manual message that was leased when its endpoint was disabled, now that it is released:
     * disabling fails the manual messages waiting on it (V27) but passes over one leased then, which waited,
     * pending, for the endpoint to be enabled again, to go out alone then. Enabled again since, it waits. Its
     * attempt says why, as the disabling's do (V33).
     */
    private void failIfItsEndpointIsDisabled(long messagePk) {
        Jdbc.withConnection(
                dataSource,
                c -> Jdbc.update(
                        c,
                        "WITH failed AS (UPDATE webhook_messages m SET status = 'failed', next_attempt_at = NULL,"
                                + " finished_at = now(), attempts = m.attempts + 1"
                                + " FROM webhook_endpoints e WHERE m.pk = ? AND m.status = 'pending'"
                                + " AND m.leased_by IS NULL AND e.pk = m.endpoint_pk AND e.state = 'disabled'"
                                + " RETURNING m.pk, m.attempts, e.state_reason)"
                                + " INSERT INTO webhook_attempts (message_pk, n, started_at, duration_ms, status_code,"
                                + " outcome, error) SELECT pk, attempts, now(), 0, NULL, 'endpoint_disabled',"
                                + " 'not sent: the endpoint was disabled (' || coalesce(state_reason, 'disabled')"
                                + " || '); retry it once the endpoint is enabled again' FROM failed"
                                + " ON CONFLICT DO NOTHING",
                        messagePk));
    }

    /**
     * An endpoint's messages, newest first, each with its attempts, those {@code filter} picks among the
     * next {@link #LIST_SCAN} of its messages after the cursor (by event type: as many of those as cover
     * {@link #LIST_SCAN_EVENTS} positions of the log between them). A page with room left and a cursor means
     * the scan stopped there, not that nothing older matches: no index may name {@code status} (see
     * V3), so a filter that matches few messages would otherwise have one request read an endpoint's
     * millions of them, holding an API connection all the while.
     */
    MessagePage list(long endpointPk, MessageFilter filter, String afterId, int limit) {
        UUID after = cursorId(afterId);
        return Jdbc.withConnection(dataSource, c -> {
            cursorPk(c, endpointPk, after, "list again from the first page");
            // A message whose events are looked for costs a read of its range of the log, up to 20,000
            // positions for one that also covers events it passed over: such a scan is bounded by those.
            boolean byEvents = filter.byEventType();
            List<Object> scannedParams = java.util.Arrays.asList(
                    byEvents, endpointPk, after, after, endpointPk, LIST_SCAN, byEvents ? LIST_SCAN_EVENTS : LIST_SCAN);
            List<Object> params = new ArrayList<>(scannedParams);
            String conditions = filter.sql(params, carried(c, endpointPk));
            params.add(limit);
            params.add(limit);
            params.add(endpointPk);
            params.addAll(scannedParams);
            List<WebhookMessage> page = new ArrayList<>();
            UUID[] edge = new UUID[1];
            Jdbc.query(
                    c,
                    pageSql(conditions),
                    rs -> {
                        edge[0] = rs.getObject("scan_edge", UUID.class);
                        rs.getLong("pk");
                        if (!rs.wasNull()) {
                            page.add(message(rs));
                        }
                        return null;
                    },
                    params.toArray());
            String cursor = page.size() == limit
                    ? page.getLast().id()
                    : edge[0] == null ? null : Ids.format(WebhookMessage.ID_PREFIX, edge[0]);
            return new MessagePage(withAttempts(c, page), cursor);
        });
    }

    private static UUID cursorId(String cursor) {
        return cursor == null
                ? null
                : Ids.parse(WebhookMessage.ID_PREFIX, cursor)
                        .orElseThrow(
                                () -> new Refusal.InvalidField("cursor", "is not a message id this server returned"));
    }

    /**
     * The key of the endpoint's message a cursor names (0 for none). One that names none of this endpoint's
     * messages (another endpoint's, or one removed since with its connection or by the retention) is
     * refused: read as the end, it told a client that follows cursors until null that it had seen every
     * message. The same answer for each: nothing leaks.
     */
    private static long cursorPk(Connection c, long endpointPk, UUID cursor, String whatToDo) throws SQLException {
        if (cursor == null) {
            return 0;
        }
        return Jdbc.one(
                        c,
                        "SELECT pk FROM webhook_messages WHERE id = ? AND endpoint_pk = ?",
                        rs -> rs.getLong(1),
                        cursor,
                        endpointPk)
                .orElseThrow(() -> new Refusal.InvalidField(
                        "cursor",
                        "is not a message of this endpoint (it may have been removed since, with its connection or"
                                + " by the retention): " + whatToDo));
    }

    /**
     * The next messages after the cursor, newest first, as long as what they cost stays in the budget
     * (the first one always); the cursor is one of this endpoint's messages ({@link #list} refuses any
     * other). Parameters: by events, the endpoint, the cursor
     * twice, the endpoint, {@link #LIST_SCAN}, the budget.
     */
    private static final String SCANNED = "SELECT pk FROM (SELECT pk, sum(cost) OVER (ORDER BY pk DESC ROWS BETWEEN"
            + " UNBOUNDED PRECEDING AND 1 PRECEDING) AS spent FROM (SELECT s.pk, CASE WHEN ?::boolean"
            + " THEN coalesce(s.last_seq - s.first_seq + 1, 1) ELSE 1 END AS cost FROM webhook_messages s"
            + " WHERE s.endpoint_pk = ? AND (?::uuid IS NULL OR s.pk < (SELECT c.pk FROM webhook_messages c"
            + " WHERE c.id = ? AND c.endpoint_pk = ?)) ORDER BY s.pk DESC LIMIT ?) next) costed"
            + " WHERE coalesce(spent, 0) < ?";

    /**
     * A page of what {@link #SCANNED} reads that the {@code conditions} pick, read lazily (a page that
     * fills stops the scan), and the scan's edge when the page did not fill. Parameters: those of
     * SCANNED, of the conditions, the limit twice, the endpoint, SCANNED's again.
     */
    static String pageSql(String conditions) {
        return "WITH page AS (SELECT " + MESSAGE_COLUMNS + ", NULL AS body" + MESSAGE_FROM
                + " JOIN (" + SCANNED + ") w ON w.pk = m.pk"
                + " WHERE true" + conditions + " ORDER BY m.pk DESC LIMIT ?)"
                // Only a page that did not fill read all it could: where that stopped, when older messages
                // are left, is where the next one starts.
                + " SELECT page.*, CASE WHEN (SELECT count(*) FROM page) < ? THEN (SELECT CASE WHEN EXISTS"
                + " (SELECT 1 FROM webhook_messages o WHERE o.endpoint_pk = ? AND o.pk < b.low) THEN (SELECT id"
                + " FROM webhook_messages WHERE pk = b.low) END FROM (SELECT min(pk) AS low FROM (" + SCANNED
                + ") again) b) END AS scan_edge FROM (SELECT 1) one LEFT JOIN page ON true ORDER BY page.pk DESC";
    }

    /**
     * What the endpoint's streams take from their logs now, as a message's body is built again from
     * its range (filters narrowed since narrow what a range is taken to carry, as they do its body).
     */
    private static EventFilter carried(Connection c, long endpointPk) throws SQLException {
        return Jdbc.one(
                        c,
                        "SELECT i.event_types AS i_event_types, i.read_collections, " + EndpointStore.COLUMNS
                                + EndpointStore.FROM + " WHERE e.pk = ?",
                        rs -> DeliveryTarget.filter(
                                EndpointStore.map(rs),
                                Jdbc.strings(rs, "i_event_types"),
                                DeliveryTarget.readable(Jdbc.strings(rs, "read_collections"))),
                        endpointPk)
                .orElse(EventFilter.ALL); // deleted meanwhile, and its messages with it
    }

    /**
     * Sends again, as {@link #retry} does one, the oldest {@code max} of the endpoint's failed (abandoned)
     * messages that {@code filter} picks after the cursor, among its next {@link #RETRY_SCAN} messages
     * ({@link #RETRY_SCAN_BY_EVENTS} by event type), but those that carry no event that may be sent now.
     */
    BulkRetry retryAll(long endpointPk, MessageFilter filter, String afterId, int max) {
        UUID after = cursorId(afterId);
        boolean byEvents = filter.byEventType();
        int scan = byEvents ? RETRY_SCAN_BY_EVENTS : RETRY_SCAN;
        // Many messages, then the endpoint, in the endpoint's manual turn: the dispatcher, which takes no
        // turn, may still cross that order, and then one of the two is run again.
        return Jdbc.inTransactionRetryingDeadlocks(dataSource, c -> {
            // Refused before the messages are read (a window of them, up to a second), and again under the
            // lock below, where a disabling that came meanwhile is seen.
            refuseDisabled(c, endpointPk, "");
            long from = cursorPk(c, endpointPk, after, "send the retry again without it");
            // The window this request looks through: the next messages after the cursor, by key (an index).
            record Window(long last, UUID lastId, boolean cut) {}
            Window window = Jdbc.one(
                            c,
                            "SELECT w.n, w.last, e.id FROM (SELECT count(*) AS n, max(pk) AS last FROM (SELECT pk FROM"
                                    + " webhook_messages WHERE endpoint_pk = ? AND pk > ? ORDER BY pk LIMIT ?) s) w"
                                    + " LEFT JOIN webhook_messages e ON e.pk = w.last",
                            rs -> new Window(
                                    rs.getLong("last"), rs.getObject("id", UUID.class), rs.getInt("n") == scan),
                            endpointPk,
                            from,
                            scan)
                    .orElseThrow();
            EventFilter carried = carried(c, endpointPk);
            // Of those picked, one whose events are all gone, or that carries none the endpoint may receive
            // now, is left failed: it would fail again unsent (alone it gets 410 or 409). Looked at only among
            // the picked, since each look reads its range of the log.
            List<Object> params = new ArrayList<>();
            String sendable = "m.status = 'failed' AND NOT (" + CARRIES_ONLY_EXPIRED_EVENTS + ") AND "
                    + MessageFilter.carriesAnEvent(params, carried);
            params.addAll(List.of(endpointPk, from, window.last()));
            String picked = filter.withStatus(WebhookMessage.Status.failed).sql(params, carried);
            params.add(max);
            // Picked before the endpoint's manual turn is taken, locking nothing: a filter may look through
            // many failed messages for a second, and the endpoint's tests, retries and disabling, waiting for
            // the turn meanwhile, were 503 after their 2 s lock wait.
            record Pick(long pk, UUID id, boolean sendable) {}
            List<Pick> picks = Jdbc.query(
                    c,
                    "SELECT m.pk, m.id, " + sendable + " AS sendable FROM webhook_messages m WHERE m.pk IN (SELECT"
                            + " m.pk FROM webhook_messages m WHERE m.endpoint_pk = ? AND m.pk > ? AND m.pk <= ?"
                            + picked + " ORDER BY m.pk LIMIT ?) ORDER BY m.pk",
                    rs -> new Pick(rs.getLong("pk"), rs.getObject("id", UUID.class), rs.getBoolean("sendable")),
                    params.toArray());
            Long[] pks = picks.stream().filter(Pick::sendable).map(Pick::pk).toArray(Long[]::new);
            takeManualTurn(c, endpointPk);
            // Those retried or deleted since they were picked are left as they are now.
            int n = Jdbc.update(
                    c,
                    "UPDATE webhook_messages SET lane = 'manual', status = 'pending', round_start = attempts,"
                            + " next_attempt_at = now(), finished_at = NULL, leased_by = NULL, lease_until = NULL"
                            + " WHERE pk = ANY(?::bigint[]) AND status = 'failed'",
                    (Object) pks);
            lockSendable(c, endpointPk);
            if (n > 0) {
                control.publish(c, new ManualMessageDue());
            }
            UUID next = picks.size() == max ? picks.getLast().id() : window.cut() ? window.lastId() : null;
            return new BulkRetry(n, next == null ? null : Ids.format(WebhookMessage.ID_PREFIX, next));
        });
    }

    Optional<WebhookMessage> get(long endpointPk, String messageId) {
        Optional<UUID> id = Ids.parse(WebhookMessage.ID_PREFIX, messageId);
        if (id.isEmpty()) {
            return Optional.empty();
        }
        record Stored(WebhookMessage message, long[] seqs, Optional<DeliveryTarget> logOf) {}
        Optional<Stored> stored = Jdbc.withConnection(dataSource, c -> {
            Optional<Found> found = find(c, endpointPk, id.get());
            if (found.isEmpty()) {
                return Optional.<Stored>empty();
            }
            return Optional.of(new Stored(found.get().message(), found.get().seqs(), logOf(c, found.get())));
        });
        // A body kept as a range of the log is built outside the connection above: the log is read through
        // connections of its own.
        return stored.map(s -> s.logOf()
                .map(target -> {
                    Logged logged = logged(target, s.message(), s.seqs());
                    return asNextSent(s.message(), logged).withBody(logged.body());
                })
                .orElse(s.message()));
    }

    /** {@code message}'s range of the log as it is now. */
    private Logged logged(DeliveryTarget target, WebhookMessage message, long[] seqs) {
        return logged(target, message.firstSeq(), message.lastSeq(), seqs, message.eventCount());
    }

    /**
     * A pending message shows the range and count its next attempt carries ({@code logged}): fewer events
     * when its filter narrowed or the retention removed some since its last attempt. A finished one keeps
     * those its last attempt carried.
     */
    private static WebhookMessage asNextSent(WebhookMessage message, Logged logged) {
        return message.status() == WebhookMessage.Status.pending && logged.body() != null
                ? message.withRange(logged.firstSeq(), logged.events())
                : message;
    }

    /** A message as the API shows it, the stream it was sent on (null for a manual one) and the events it carries. */
    private record Found(WebhookMessage message, Long streamPk, long[] seqs) {}

    /**
     * The stream whose log holds {@code found}'s body, to build it from: a stream message keeps none (one
     * kept by an earlier release is shown as kept); empty for a manual one.
     */
    private static Optional<DeliveryTarget> logOf(Connection c, Found found) throws SQLException {
        return found.message().body() == null && found.streamPk() != null
                ? StreamLeases.target(c, found.streamPk(), true)
                : Optional.empty();
    }

    private Optional<Found> find(Connection c, long endpointPk, UUID id) throws SQLException {
        Optional<Found> found = Jdbc.one(
                c,
                "SELECT " + MESSAGE_COLUMNS + ", m.body, m.webhook_stream_pk AS stream_of, m.seqs" + MESSAGE_FROM
                        + " WHERE m.endpoint_pk = ? AND m.id = ?",
                rs -> new Found(message(rs), (Long) rs.getObject("stream_of"), seqs(rs)),
                endpointPk,
                id);
        if (found.isEmpty()) {
            return found;
        }
        return Optional.of(new Found(
                withAttempts(c, List.of(found.get().message())).getFirst(),
                found.get().streamPk(),
                found.get().seqs()));
    }

    /**
     * Sends an abandoned message again, on its own (its stream has moved on): it becomes a pending
     * manual message with a fresh round of attempts, keeping its id and its attempt history.
     */
    WebhookMessage retry(long endpointPk, String messageId) {
        UUID id = Ids.parse(WebhookMessage.ID_PREFIX, messageId)
                .orElseThrow(() -> new Refusal.NotFound("message '" + messageId + "'"));
        // The answer is read in the retry's transaction: once it commits, this node may send the message at
        // once (the control channel delivers here after the commit), and the answer is what the retry made.
        record Retried(int changed, Optional<Found> message, Optional<DeliveryTarget> logOf) {}
        Retried retried = Jdbc.inTransactionRetryingDeadlocks(dataSource, c -> {
            takeManualTurn(c, endpointPk);
            if (expired(c, endpointPk, id)) {
                throw new Refusal.Gone(
                        "message_expired",
                        "message '" + messageId + "' carried events the retention has removed since; nothing of it"
                                + " is left to send");
            }
            if (carriesNothingNow(c, endpointPk, id)) {
                throw new Refusal.Conflict(
                        "message_empty",
                        "message '" + messageId + "' carries no event the endpoint may receive now (its event types,"
                                + " or its integration's, were narrowed since it was sent): widen them, then retry it");
            }
            int n = Jdbc.update(
                    c,
                    "UPDATE webhook_messages SET lane = 'manual', status = 'pending', round_start = attempts,"
                            + " next_attempt_at = now(), finished_at = NULL, leased_by = NULL, lease_until = NULL"
                            + " WHERE endpoint_pk = ? AND id = ? AND status = 'failed'",
                    endpointPk,
                    id);
            lockSendable(c, endpointPk);
            if (n == 1) {
                control.publish(c, new ManualMessageDue());
            }
            Optional<Found> found = find(c, endpointPk, id);
            return new Retried(n, found, n == 1 && found.isPresent() ? logOf(c, found.get()) : Optional.empty());
        });
        int changed = retried.changed();
        Found found = retried.message().orElseThrow(() -> new Refusal.NotFound("message '" + messageId + "'"));
        if (changed == 0) {
            throw new Refusal.Conflict(
                    "message_not_failed",
                    "message '" + messageId + "' is " + found.message().status()
                            + "; only failed (abandoned) messages can be retried");
        }
        // What its next attempt carries (read outside the transaction: the log through connections of its own)
        return retried.logOf()
                .map(target -> asNextSent(found.message(), logged(target, found.message(), found.seqs())))
                .orElse(found.message());
    }

    /**
     * Whether failed stream message {@code m}'s events are all gone: the last event it carries (a
     * lifecycle message's first event; a stream message's range may go on over events its filter passed
     * over) is older than the oldest event its log keeps. The message itself is kept until its own id
     * passes the retention.
     */
    private static final String CARRIES_ONLY_EXPIRED_EVENTS = "m.body IS NULL AND m.first_seq IS NOT NULL"
            + " AND EXISTS (SELECT 1 FROM webhook_endpoints e, webhook_streams ws JOIN streams s ON s.pk = ws.stream_pk"
            + " WHERE e.pk = m.endpoint_pk AND ws.pk = m.webhook_stream_pk"
            + " AND CASE WHEN e.kind = 'lifecycle' THEN m.first_seq"
            + " ELSE coalesce((SELECT max(c) FROM unnest(m.seqs) c), m.last_seq) END"
            + " < coalesce((SELECT min(ev.seq) FROM events ev WHERE ev.stream_pk = s.pk), s.last_seq + 1))";

    /** Whether a failed message carries no event its endpoint's filter lets through now. */
    private static boolean carriesNothingNow(Connection c, long endpointPk, UUID id) throws SQLException {
        List<Object> params = new ArrayList<>();
        String carries = MessageFilter.carriesAnEvent(params, carried(c, endpointPk));
        params.add(endpointPk);
        params.add(id);
        return Jdbc.one(
                        c,
                        "SELECT NOT " + carries
                                + " FROM webhook_messages m WHERE m.endpoint_pk = ? AND m.id = ? AND m.status = 'failed'",
                        rs -> rs.getBoolean(1),
                        params.toArray())
                .orElse(false);
    }

    private static boolean expired(Connection c, long endpointPk, UUID id) throws SQLException {
        return Jdbc.one(
                        c,
                        "SELECT " + CARRIES_ONLY_EXPIRED_EVENTS
                                + " FROM webhook_messages m WHERE m.endpoint_pk = ? AND m.id = ? AND m.status = 'failed'",
                        rs -> rs.getBoolean(1),
                        endpointPk,
                        id)
                .orElse(false);
    }

    /**
     * Asks the endpoint's streams (one tenant's, or all) to send again everything after a position,
     * after the message each is delivering now. {@code since} picks, per stream, the first event at or
     * after that time. Returns how many streams will replay.
     */
    int replay(long endpointPk, Long tenantPk, Long fromSeq, Instant since) {
        // A position older than the retention replays from the oldest event kept: the events before it are
        // gone by the operator's choice, not lost by the stream, which would count and log them as such. With
        // none kept, from the head: nothing to send again (GREATEST passes over a NULL, and took 0).
        String target = fromSeq != null
                ? "GREATEST(?::bigint - 1, coalesce((SELECT min(seq) - 1 FROM events ev WHERE ev.stream_pk = ws.stream_pk),"
                        + " (SELECT s.last_seq FROM streams s WHERE s.pk = ws.stream_pk)))"
                : "first_event_since(ws.stream_pk, ?) - 1"; // a binary search of the log (V25)
        // The positions first, holding no lock: while the update below holds its streams' rows, every
        // delivery step this node writes for them waits.
        record Target(long streamPk, long position) {}
        List<Target> targets = Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(
                        c,
                        "SELECT t.pk, t.target FROM (SELECT ws.pk, " + target + " AS target FROM webhook_streams ws"
                                + " LEFT JOIN connections c ON c.pk = ws.connection_pk"
                                + " WHERE ws.endpoint_pk = ? AND (?::bigint IS NULL OR c.tenant_pk = ?)) t"
                                + " WHERE t.target IS NOT NULL",
                        rs -> new Target(rs.getLong(1), rs.getLong(2)),
                        fromSeq != null ? fromSeq : Instants.microsUp(since),
                        endpointPk,
                        tenantPk,
                        tenantPk));
        return Jdbc.inTransaction(dataSource, c -> {
            int n = Jdbc.update(
                    c,
                    "UPDATE webhook_streams ws SET rewind_to = LEAST(coalesce(rewind_to, t.target), t.target)"
                            + " FROM unnest(?::bigint[], ?::bigint[]) AS t(pk, target)"
                            + " WHERE ws.pk = t.pk AND t.target < coalesce("
                            + "   (SELECT last_seq FROM webhook_messages WHERE id = ws.message_id), ws.position)",
                    targets.stream().map(Target::streamPk).toArray(Long[]::new),
                    targets.stream().map(Target::position).toArray(Long[]::new));
            control.publish(c, new WebhookChanged(endpointPk));
            return n;
        });
    }

    private static List<WebhookMessage> withAttempts(Connection c, List<WebhookMessage> messages) throws SQLException {
        if (messages.isEmpty()) {
            return messages;
        }
        Map<Long, List<WebhookMessage.AttemptRecord>> byMessage = new LinkedHashMap<>();
        for (WebhookMessage m : messages) {
            byMessage.put(m.pk(), new ArrayList<>());
        }
        Jdbc.query(
                c,
                "SELECT message_pk, n, started_at, duration_ms, status_code, outcome, error, response_body"
                        + " FROM webhook_attempts WHERE message_pk = ANY(?::bigint[])"
                        + " UNION ALL SELECT pk, attempts, delivered_started_at, delivered_duration_ms,"
                        + " delivered_status_code, 'delivered', NULL, delivered_response FROM webhook_messages"
                        + " WHERE pk = ANY(?::bigint[]) AND delivered_started_at IS NOT NULL ORDER BY 1, 2",
                rs -> {
                    byMessage
                            .get(rs.getLong("message_pk"))
                            .add(new WebhookMessage.AttemptRecord(
                                    rs.getInt("n"),
                                    Jdbc.instant(rs, "started_at"),
                                    rs.getInt("duration_ms"),
                                    (Integer) rs.getObject("status_code"),
                                    rs.getString("outcome"),
                                    rs.getString("error"),
                                    rs.getString("response_body")));
                    return null;
                },
                byMessage.keySet().toArray(Long[]::new),
                byMessage.keySet().toArray(Long[]::new));
        return messages.stream()
                .map(m -> new WebhookMessage(
                        m.pk(),
                        m.id(),
                        m.webhookId(),
                        m.status(),
                        m.lane(),
                        m.tenantId(),
                        m.firstSeq(),
                        m.lastSeq(),
                        m.eventCount(),
                        m.nextAttemptAt(),
                        m.createdAt(),
                        m.finishedAt(),
                        List.copyOf(byMessage.get(m.pk())),
                        m.body()))
                .toList();
    }

    private static WebhookMessage message(ResultSet rs) throws SQLException {
        WebhookMessage.Status status = WebhookMessage.Status.valueOf(rs.getString("status"));
        return new WebhookMessage(
                rs.getLong("pk"),
                Ids.format(WebhookMessage.ID_PREFIX, rs.getObject("id", UUID.class)),
                rs.getString("webhook_id"),
                status,
                rs.getString("lane"),
                rs.getString("tenant_id"),
                (Long) rs.getObject("first_seq"),
                (Long) rs.getObject("last_seq"),
                rs.getInt("event_count"),
                status == WebhookMessage.Status.pending ? Jdbc.instant(rs, "next_attempt_at") : null,
                Jdbc.instant(rs, "created_at"),
                Jdbc.instant(rs, "finished_at"),
                List.of(),
                rs.getString("body"));
    }

    private static String truncate(String text, int max) {
        return text == null || text.length() <= max ? text : text.substring(0, max);
    }

    /** The seqs a stream message carries, ascending as written; null when it carries every event of its range. */
    private static long[] seqs(ResultSet rs) throws SQLException {
        java.sql.Array array = rs.getArray("seqs");
        if (array == null) {
            return null;
        }
        Long[] seqs = (Long[]) array.getArray();
        long[] carried = new long[seqs.length];
        for (int i = 0; i < seqs.length; i++) {
            carried[i] = seqs[i];
        }
        return carried;
    }

    private static Pending pending(ResultSet rs) throws SQLException {
        return new Pending(
                rs.getLong("pk"),
                rs.getObject("id", UUID.class),
                rs.getLong("endpoint_pk"),
                rs.getString("body"),
                rs.getInt("attempts"),
                rs.getInt("round_start"),
                (Long) rs.getObject("last_seq"),
                rs.getBytes("sealed_token"),
                null);
    }
}
