package dev.switchboard.store;

import dev.switchboard.support.Instants;
import dev.switchboard.support.Refusal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

/**
 * A page request for records. Without an update interval, records come in id order (creation order);
 * with one, in {@code updatedAt} order. {@code updatedAt} is stamped as a write begins, not as it
 * commits, so a write that commits slowly can land behind records a client has already paged past:
 * an exact change feed is the event log's (its {@code seq} is in commit order). The cursor is opaque: it encodes the last record's sort key and which order it belongs to.
 * A page also ends before its data passes {@code maxBytes} (always holding one record at least).
 */
public record RecordQuery(
        int limit, Cursor after, Instant updatedFrom, Instant updatedTo, List<UUID> ids, int maxBytes) {

    public boolean byUpdate() {
        return updatedFrom != null || updatedTo != null;
    }

    /** The position after a record: its id, and its update time when paging in update order. */
    public record Cursor(boolean byUpdate, Instant updatedAt, UUID id) {
        public String encode() {
            String raw =
                    byUpdate ? "u:" + updatedAt.getEpochSecond() + "." + updatedAt.getNano() + ":" + id : "i:" + id;
            return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
        }

        /** The cursor {@link #encode} wrote, refused (400) when it is any other text, even one read the same. */
        public static Cursor decode(String text) {
            Cursor read = read(text);
            // Written back and compared: Long.parseLong and UUID.fromString also read other digits, a sign
            // and short groups (1-1-1-1-1), which would make a forged cursor of something never returned.
            if (read == null || !read.encode().equals(text)) {
                throw new Refusal.InvalidField("cursor", "is not a cursor this server returned");
            }
            return read;
        }

        private static Cursor read(String text) {
            try {
                String raw = new String(Base64.getUrlDecoder().decode(text), StandardCharsets.UTF_8);
                String[] parts = raw.split(":", 3);
                if (parts[0].equals("i") && parts.length == 2) {
                    return new Cursor(false, null, UUID.fromString(parts[1]));
                }
                if (parts[0].equals("u") && parts.length == 3) {
                    String[] time = parts[1].split("\\.");
                    Instant updatedAt = Instant.ofEpochSecond(Long.parseLong(time[0]), Long.parseLong(time[1]));
                    if (Instants.inRange(updatedAt)) {
                        return new Cursor(true, updatedAt, UUID.fromString(parts[2]));
                    }
                }
            } catch (RuntimeException e) {
                // fall through: not one of ours
            }
            return null;
        }
    }
}
