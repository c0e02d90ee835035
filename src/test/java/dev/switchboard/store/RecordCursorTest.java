package dev.switchboard.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.support.Refusal;
import dev.switchboard.testing.Fast;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** A records list's cursor is read back only as it was written. */
@Fast
class RecordCursorTest {
    private static String encoded(String raw) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aCursorTheServerWroteIsReadBack() {
        UUID id = UUID.randomUUID();
        for (RecordQuery.Cursor cursor : List.of(
                new RecordQuery.Cursor(false, null, id),
                new RecordQuery.Cursor(true, Instant.parse("2026-12-05T03:04:05.123456Z"), id))) {
            assertThat(RecordQuery.Cursor.decode(cursor.encode())).isEqualTo(cursor);
        }
    }

    @Test
    void textReadTheSameButNeverWrittenIsRefused() {
        String uuid = "0000000a-000b-400c-800d-00000000000e";
        for (String raw : List.of(
                "u:+1700000000.0:" + uuid,
                "u:\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660.0:" + uuid,
                "u:01700000000.0:" + uuid,
                "i:1-1-1-1-1",
                "i:" + uuid.toUpperCase(java.util.Locale.ROOT))) {
            assertThatThrownBy(() -> RecordQuery.Cursor.decode(encoded(raw)))
                    .as(raw)
                    .isInstanceOf(Refusal.InvalidField.class)
                    .hasMessage("cursor: is not a cursor this server returned");
        }
        assertThat(RecordQuery.Cursor.decode(encoded("i:" + uuid)).id()).isEqualTo(UUID.fromString(uuid));
    }
}
