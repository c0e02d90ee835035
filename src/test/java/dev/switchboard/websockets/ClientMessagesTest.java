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
        assertThat(ClientMessages.parse("\uFEFF{\"type\":\"ping\"}"))
                .as("after a byte order mark")
                .isEqualTo(new Ping());
        assertThat(ClientMessages.parse("{\"type\":\"subscribe\",\"eventTypes\":[\"device.*\",\"a.b\"]}"))
                .isEqualTo(new Subscribe(List.of("device.*", "a.b")));
    }

    @Test
    void aRequestIsRecognisedWithItsMethodAndParams() {
        var request = (ClientMessages.Request) ClientMessages.parse(
                "{\"type\":\"request\",\"id\":\"r1\",\"method\":\"records.get\",\"params\":{\"id\":\"rec_x\"}}");
        assertThat(request.id()).isEqualTo("r1");
        assertThat(request.method()).isEqualTo(RequestMethod.RECORDS_GET);
        assertThat(request.params().get("id").asText()).isEqualTo("rec_x");
        var noParams = (ClientMessages.Request)
                ClientMessages.parse("{\"type\":\"request\",\"id\":\"r2\",\"method\":\"events.list\"}");
        assertThat(noParams.params().isEmpty()).isTrue();
    }

    @Test
    void aRequestThatCannotBePerformedIsABadRequestEchoingItsIdWhenUsable() {
        assertThat(bad("{\"type\":\"request\",\"method\":\"records.get\"}")).isEqualTo("null invalid_field id");
        assertThat(bad("{\"type\":\"request\",\"id\":7,\"method\":\"records.get\"}"))
                .isEqualTo("null invalid_field id");
        String longId = "x".repeat(ClientMessages.MAX_REQUEST_ID + 1);
        assertThat(bad("{\"type\":\"request\",\"id\":\"" + longId + "\",\"method\":\"records.get\"}"))
                .isEqualTo("null invalid_field id");
        // A lone surrogate cannot be sent back in UTF-8 (it would come back as "?", matching nothing).
        assertThat(bad("{\"type\":\"request\",\"id\":\"\\ud800\",\"method\":\"records.get\"}"))
                .isEqualTo("null invalid_field id");
        assertThat(bad("{\"type\":\"request\",\"id\":\"\\ud83d\\ude00\",\"method\":\"records.drop\"}"))
                .isEqualTo("\ud83d\ude00 unknown_method method");
        assertThat(bad("{\"type\":\"request\",\"id\":\"a\",\"method\":\"records.drop\"}"))
                .isEqualTo("a unknown_method method");
        // 64 characters, each two UTF-16 units: usable (the limit counts characters, as the docs say).
        String emoji = "\ud83d\ude00".repeat(ClientMessages.MAX_REQUEST_ID);
        assertThat(bad("{\"type\":\"request\",\"id\":\"" + emoji + "\",\"method\":\"records.drop\"}"))
                .isEqualTo(emoji + " unknown_method method");
        assertThat(bad("{\"type\":\"request\",\"id\":\"" + emoji + "x\",\"method\":\"records.drop\"}"))
                .isEqualTo("null invalid_field id");
        assertThat(bad("{\"type\":\"request\",\"id\":\"a\"}")).isEqualTo("a invalid_field method");
        assertThat(bad("{\"type\":\"request\",\"id\":\"a\",\"method\":\"records.get\",\"params\":1}"))
                .isEqualTo("a invalid_field params");
        assertThat(bad("{\"type\":\"request\",\"id\":\"a\",\"method\":\"records.get\",\"extra\":1}"))
                .isEqualTo("a invalid_field extra");
    }

    @Test
    void aRequestTheParserRefusesIsStillAnsweredWithItsIdAndTheReason() {
        String start = "{\"type\":\"request\",\"id\":\"r9\",\"method\":\"records.create\",\"params\":";
        String duplicate = start + "{\"collection\":\"a\",\"collection\":\"a\",\"data\":{}}}";
        String longNumber = start + "{\"collection\":\"a\",\"data\":{\"x\":1" + "0".repeat(1200) + "}}}";
        String deep = start + "{\"collection\":\"a\",\"data\":" + "[".repeat(100) + "]".repeat(100) + "}}";
        String cut = start + "{\"collection\":";
        // An exponent BigDecimal cannot hold closed the socket with 1011 (Jackson lets a NumberFormatException
        // through).
        String exponent = start + "{\"collection\":\"a\",\"data\":{\"x\":1e99999999999}}}";
        String negativeExponent = start + "{\"collection\":\"a\",\"data\":{\"x\":1e-2147483649}}}";
        for (String text :
                List.of(duplicate, longNumber, deep, cut, start + "{}} trailing", exponent, negativeExponent)) {
            assertThat(bad(text))
                    .as(text.substring(0, Math.min(text.length(), 120)))
                    .isEqualTo("r9 invalid_json null");
        }
        var refusal = ((ClientMessages.BadRequest) ClientMessages.parse(duplicate)).refusal();
        assertThat(refusal.getMessage()).startsWith("the request is not valid JSON: Duplicate field 'collection'");
        // An id after the fault is read past it; one after where the text ends cannot be: answered without.
        assertThat(bad("{\"type\":\"request\",\"params\":{\"a\":1,\"a\":2},\"id\":\"late\"}"))
                .isEqualTo("late invalid_json null");
        assertThat(bad("{\"type\":\"request\",\"params\":{\"d\":" + "[".repeat(100) + "]".repeat(100)
                        + "},\"id\":\"late\"}"))
                .isEqualTo("late invalid_json null");
        assertThat(bad("{\"type\":\"request\",\"params\":{\"n\":1" + "0".repeat(1200) + "},\"id\":\"late\"}"))
                .isEqualTo("late invalid_json null");
        assertThat(bad("{\"type\":\"request\",\"params\":{\"a\":")).isEqualTo("null invalid_json null");
        assertThat(((ClientMessages.BadRequest) ClientMessages.parse(exponent))
                        .refusal()
                        .getMessage())
                .isEqualTo("the request is not valid JSON: a number's exponent is too large to be read");
        assertThat(code("{\"type\":\"ping\",\"n\":1e99999999999}")).isEqualTo("malformed_message");
    }

    private static String bad(String text) {
        var bad = (ClientMessages.BadRequest) ClientMessages.parse(text);
        @SuppressWarnings("unchecked")
        var details = (java.util.Map<String, Object>) bad.refusal().details();
        return bad.id() + " " + bad.refusal().code() + " " + (details == null ? null : details.get("field"));
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
