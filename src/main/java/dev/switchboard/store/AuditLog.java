package dev.switchboard.store;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonRawValue;
import dev.switchboard.db.Jdbc;
import dev.switchboard.support.Json;
import dev.switchboard.support.Refusal;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.List;
import javax.sql.DataSource;

/** Who changed what, when: one row per change made through the API (docs/console.md). */
public final class AuditLog {
    private final DataSource dataSource;
    private final InstantSource clock;

    public AuditLog(DataSource dataSource, InstantSource clock) {
        this.dataSource = dataSource;
        this.clock = clock;
    }

    /** Who made a change: {@code kind} operator, portal, admin_key or client_key. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Actor(String kind, String sessionId, String integrationId) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Target(String type, String id) {}

    @JsonPropertyOrder({"id", "at", "actor", "action", "target", "details", "requestId"})
    public record Entry(
            String id,
            Instant at,
            Actor actor,
            String action,
            Target target,
            @JsonRawValue String details,
            String requestId) {}

    /** One change as its entry records it: who, what, on what, the request's details, and its id. */
    public record Change(Actor actor, String action, Target target, Object details, String requestId) {}

    public void record(Change change) {
        Jdbc.withConnection(dataSource, c -> {
            record(c, change);
            return null;
        });
    }

    /** Records a change in the caller's transaction: the entry commits with the change, or neither does. */
    public void record(Connection c, Change change) throws SQLException {
        Jdbc.update(
                c,
                "INSERT INTO audit_log (at, actor_kind, actor_session_id, actor_integration_id, action,"
                        + " target_type, target_id, details, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?)",
                clock.instant().truncatedTo(ChronoUnit.MICROS),
                change.actor().kind(),
                change.actor().sessionId(),
                change.actor().integrationId(),
                change.action(),
                change.target() == null ? null : change.target().type(),
                change.target() == null ? null : change.target().id(),
                change.details() == null ? null : Json.write(change.details()),
                change.requestId());
    }

    /** Entries newest first, after {@code cursor} (an entry's id) when given. */
    public List<Entry> list(String cursor, int limit) {
        Long before = null;
        if (cursor != null && !cursor.isEmpty()) {
            if (!cursor.matches("aud_[0-9]{1,18}")) {
                throw new Refusal.InvalidField("cursor", "is not an audit entry id this server returned");
            }
            before = Long.parseLong(cursor.substring(4));
        }
        Long after = before;
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.query(
                        c,
                        "SELECT pk, at, actor_kind, actor_session_id, actor_integration_id, action, target_type,"
                                + " target_id, details::text AS details, request_id FROM audit_log"
                                + " WHERE (?::bigint IS NULL OR pk < ?) ORDER BY pk DESC LIMIT ?",
                        rs -> new Entry(
                                "aud_" + rs.getLong("pk"),
                                Jdbc.instant(rs, "at"),
                                new Actor(
                                        rs.getString("actor_kind"),
                                        rs.getString("actor_session_id"),
                                        rs.getString("actor_integration_id")),
                                rs.getString("action"),
                                rs.getString("target_type") == null
                                        ? null
                                        : new Target(rs.getString("target_type"), rs.getString("target_id")),
                                rs.getString("details"),
                                rs.getString("request_id")),
                        after,
                        after,
                        limit));
    }
}
