package dev.switchboard.websockets;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import dev.switchboard.websockets.ClientMessages.Invalid;
import dev.switchboard.websockets.ClientMessages.Ping;
import dev.switchboard.websockets.ClientMessages.Subscribe;
import java.util.List;
import org.junit.jupiter.api.Test;

@Fast
class ClientMessagesTest {
    @Test
    void pingAndSubscribeAreRecognised() {
        assertThat(ClientMessages.parse("{\"type\":\"ping\"}")).isEqualTo(new Ping());
        assertThat(ClientMessages.parse("{\"type\":\"subscribe\",\"eventTypes\":[\"device.*\",\"a.b\"]}"))
                .isEqualTo(new Subscribe(List.of("device.*", "a.b")));
    }

    @Test
    void anythingElseIsAnInvalidMessageNamingTheProblem() {
        assertThat(code("")).isEqualTo("malformed_message");
        assertThat(code("{\"type\":\"ping\"} trailing")).isEqualTo("malformed_message");
        assertThat(code("{\"type\":\"ping\",\"type\":\"ping\"}")).isEqualTo("malformed_message");
        assertThat(code("42")).isEqualTo("malformed_message");
        assertThat(code("{}")).isEqualTo("invalid_field");
        assertThat(code("{\"type\":7}")).isEqualTo("invalid_field");
        assertThat(code("{\"type\":\"publish\"}")).isEqualTo("unknown_type");
        assertThat(code("{\"type\":\"subscribe\"}")).isEqualTo("invalid_field");
        assertThat(code("{\"type\":\"subscribe\",\"eventTypes\":[]}")).isEqualTo("invalid_field");
        assertThat(code("{\"type\":\"subscribe\",\"eventTypes\":[1]}")).isEqualTo("invalid_field");
        assertThat(code("{\"type\":\"subscribe\",\"eventTypes\":[\"x\"],\"more\":1}"))
                .isEqualTo("invalid_field");
        String many = "\"a\",".repeat(ClientMessages.MAX_PATTERNS) + "\"a\"";
        assertThat(code("{\"type\":\"subscribe\",\"eventTypes\":[" + many + "]}"))
                .isEqualTo("invalid_field");
        assertThat(((Invalid) ClientMessages.parse("{\"type\":\"subscribe\",\"eventTypes\":[\"ok.*\",\"Not Ok\"]}"))
                        .message())
                .startsWith("eventTypes[1]:");
    }

    private static String code(String text) {
        return ((Invalid) ClientMessages.parse(text)).code();
    }
}
