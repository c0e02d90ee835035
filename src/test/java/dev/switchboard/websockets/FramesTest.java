package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.events.EventLog;
import dev.switchboard.support.Json;
import dev.switchboard.testing.Fast;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The WebSocket edge's answer to a replay from an expired position: a message, not an error or a close. */
@Fast
class FramesTest {

    @Test
    void anExpiredResumePositionBecomesAResumeFailedMessageNamingWhereLiveEventsStart() {
        var frame = Frames.resumeFailed(new EventLog.PositionExpired(3, 10, 20), 25);
        byte[] bytes = new byte[frame.remaining()];
        frame.get(bytes);
        JsonNode json = Json.read(new String(bytes, StandardCharsets.UTF_8));
        assertThat(json.get("type").asText()).isEqualTo("resume_failed");
        assertThat(json.get("code").asText()).isEqualTo("position_expired");
        assertThat(json.get("after").asLong()).isEqualTo(3);
        assertThat(json.get("oldestSeq").asLong()).isEqualTo(10);
        assertThat(json.get("headSeq").asLong()).isEqualTo(20);
        assertThat(json.get("position").asLong()).isEqualTo(25);
        assertThat(json.get("message").asText())
                .isEqualTo("events after position 3 are past the retention period;"
                        + " resynchronise through the API, then follow live events from position 25");
    }
}
