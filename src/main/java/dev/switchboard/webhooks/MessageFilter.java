package dev.switchboard.webhooks;

import dev.switchboard.events.EventFilter;
import dev.switchboard.support.Instants;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Which of an endpoint's messages to list or retry: by status, tenant, event type (a type or a pattern
 * such as {@code reservations.*}: messages carrying at least one matching event), and creation time
 * ({@code from} inclusive, {@code to} exclusive). A null field does not filter.
 */
public record MessageFilter(WebhookMessage.Status status, String tenantId, String eventType, Instant from, Instant to) {

    public static final MessageFilter NONE = new MessageFilter(null, null, null, null, null);

    public MessageFilter withStatus(WebhookMessage.Status status) {
        return new MessageFilter(status, tenantId, eventType, from, to);
    }

    /**
     * Whether it picks messages by the events they carry (an event type other than {@code *}): each look
     * reads a message's range of the log, so a scan that does is bounded more tightly.
     */
    boolean byEventType() {
        return eventType != null && !eventType.equals("*");
    }

    /**
     * The conditions on {@code m} (webhook_messages) as SQL, each with its parameters appended to
     * {@code params}. {@code carried} is what the endpoint's streams take from their logs: a stream
     * message's range also spans the events it passed over, which it does not carry.
     */
    String sql(List<Object> params, EventFilter carried) {
        List<String> where = new ArrayList<>();
        if (status != null) {
            where.add("m.status = ?");
            params.add(status.name());
        }
        if (tenantId != null) {
            where.add("m.tenant_id = ?");
            params.add(tenantId);
        }
        if (from != null) {
            where.add("m.created_at >= ?");
            params.add(Instants.microsUp(from));
        }
        if (to != null) {
            where.add("m.created_at < ?");
            params.add(Instants.microsUp(to));
        }
        if (byEventType()) {
            // A stream message is a range of its stream's log; a manual one (a test) keeps its body.
            String like = eventType.endsWith(".*")
                    ? eventType.substring(0, eventType.length() - 1).replace("_", "\\_") + "%"
                    : eventType.replace("_", "\\_");
            params.add(like);
            where.add(
                    "(CASE WHEN m.body IS NULL THEN " + carriedEvent(" AND ev.type LIKE ?" + carried.sql("ev.", params))
                            + " ELSE EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.body::jsonb -> 'events')"
                            + " = 'array' THEN m.body::jsonb -> 'events' ELSE jsonb_build_array(m.body::jsonb) END) b"
                            + " WHERE b ->> 'type' LIKE ?) END)");
            params.add(like);
        }
        return where.isEmpty() ? "" : " AND " + String.join(" AND ", where);
    }

    /**
     * SQL that is true when message {@code m} carries an event {@code carried} lets through: a message
     * that keeps its body (a test), or one of the events of its range it carries (all of them, or its
     * {@code seqs}). A failed message that carries none would be failed again unsent if retried.
     */
    static String carriesAnEvent(List<Object> params, EventFilter carried) {
        return "(m.body IS NOT NULL OR " + carriedEvent(carried.sql("ev.", params)) + ")";
    }

    /** An event of m's range that m carries and that {@code conditions} (on {@code ev}) take. */
    private static String carriedEvent(String conditions) {
        return "EXISTS (SELECT 1 FROM webhook_streams fs JOIN events ev"
                + " ON ev.stream_pk = fs.stream_pk AND ev.seq BETWEEN m.first_seq AND m.last_seq"
                + " AND (m.seqs IS NULL OR ev.seq = ANY (m.seqs))"
                + " WHERE fs.pk = m.webhook_stream_pk" + conditions + ")";
    }
}
