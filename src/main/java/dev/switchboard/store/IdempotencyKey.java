package dev.switchboard.store;

import dev.switchboard.db.Jdbc;
import dev.switchboard.support.Refusal;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * An idempotency key of a write that appends one event (a record create, a custom event): its scope
 * (who sent it, for which tenant), the key, and a fingerprint of the request. {@code
 * earlierFingerprints} are the request's fingerprints as earlier releases took them, accepted as well
 * for the day their keys live. The write claims the key in its transaction and stores its answer there;
 * a retry with the same key and request gets that answer, with another request 422.
 */
public record IdempotencyKey(String scope, String key, byte[] fingerprint, List<byte[]> earlierFingerprints) {
    public IdempotencyKey {
        earlierFingerprints = List.copyOf(earlierFingerprints);
    }

    /** The first request's answer, and the seq of the event it appended (0 for a key stored before seqs were kept). */
    public record Answer(String body, long seq) {}

    /**
     * Claims the key for this transaction's write (empty), or the answer of the request that used it first
     * (the claim waits for one in flight to commit); 422 when that was another request.
     */
    public Optional<Answer> claimOrFirstAnswer(Connection c) throws SQLException {
        while (!claim(c)) {
            Optional<Answer> first = answer(c);
            if (first.isPresent()) {
                return first;
            }
            // Pruned (past its 24 h) between the two statements: claimed again.
        }
        return Optional.empty();
    }

    private boolean claim(Connection c) throws SQLException {
        return Jdbc.update(
                        c,
                        "INSERT INTO idempotency_keys (scope, key, fingerprint) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        scope,
                        key,
                        fingerprint)
                > 0;
    }

    /** Stores the answer of the write that claimed the key, in its transaction. */
    public void answered(Connection c, int status, String body, long seq) throws SQLException {
        Jdbc.update(
                c,
                "UPDATE idempotency_keys SET status = ?, body = ?, seq = ? WHERE scope = ? AND key = ?",
                status,
                body,
                seq,
                scope,
                key);
    }

    /**
     * The answer of the request that used the key first, once it is committed (empty before); 422 when
     * that was another request.
     */
    public Optional<Answer> answer(Connection c) throws SQLException {
        return Jdbc.one(
                c,
                "SELECT fingerprint, body, seq FROM idempotency_keys WHERE scope = ? AND key = ?",
                rs -> {
                    byte[] stored = rs.getBytes("fingerprint");
                    if (!Arrays.equals(stored, fingerprint)
                            && earlierFingerprints.stream().noneMatch(earlier -> Arrays.equals(stored, earlier))) {
                        throw new Refusal.IdempotencyKeyReused(key);
                    }
                    return new Answer(rs.getString("body"), rs.getLong("seq"));
                },
                scope,
                key);
    }
}
