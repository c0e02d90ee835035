package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The socket's message limit counts the last 10 s whenever a message comes, not windows that start afresh. */
@Fast
class MessageWindowTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void theLimitWithinAnyTenSecondsIsAllowedAndOneMoreIsNot() {
        MessageWindow window = new MessageWindow(100, Duration.ofSeconds(10));
        assertThat(window.count(0, 100)).isTrue();
        assertThat(window.count(5 * SECOND, 1)).isFalse();
    }

    @Test
    void twiceTheLimitAcrossTheEndOfTenSecondsIsTooMany() {
        MessageWindow window = new MessageWindow(100, Duration.ofSeconds(10));
        assertThat(window.count(0, 1)).isTrue();
        assertThat(window.count(9_400_000_000L, 99)).isTrue();
        // 200 within 0.8 s: a window restarting at 10 s let them all through.
        assertThat(window.count(10_200_000_000L, 100)).isFalse();
    }

    @Test
    void messagesOlderThanTheWindowNoLongerCount() {
        MessageWindow window = new MessageWindow(100, Duration.ofSeconds(10));
        for (int second = 0; second < 60; second++) {
            assertThat(window.count(second * SECOND, 10)).isTrue(); // 10 a second, 100 in any 10 s
        }
        assertThat(window.count(60 * SECOND, 10)).isTrue(); // those of second 50 are out of the window
        assertThat(window.count(60 * SECOND + 1, 1)).isFalse(); // 101 since second 51
    }
}
