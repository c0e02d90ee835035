package dev.switchboard.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.testing.Fast;
import java.math.BigDecimal;
import org.junit.jupiter.api.Test;

@Fast
class JsonInputTest {
    @Test
    void theWrittenOutLengthOfANumberIsItsPlainFormsLength() {
        for (String n :
                new String[] {"0", "1", "-1", "1.50", "-0.001", "1e3", "1E+99", "1e-5", "-123.456e2", "9.99e-1"}) {
            BigDecimal value = new BigDecimal(n);
            assertThat(JsonInput.writtenOutLength(value))
                    .as(n)
                    .isEqualTo(value.toPlainString().length());
        }
        assertThat(JsonInput.writtenOutLength(new BigDecimal("1e999999999"))).isEqualTo(1_000_000_000L);
    }

    @Test
    void aNumberIsRefusedWhenItsFullFormIsLongerThanTheServerReadsBack() {
        JsonInput.check(Json.read("{\"n\":1e98,\"m\":-1e-97}"), "");
        assertThatThrownBy(() -> JsonInput.check(Json.read("{\"a\":{\"n\":1e100}}"), ""))
                .isInstanceOf(Refusal.InvalidField.class)
                .hasMessageStartingWith("a.n: number has more than 100 characters");
        assertThatThrownBy(() -> JsonInput.check(Json.read("{\"n\":[1e-99]}"), ""))
                .isInstanceOf(Refusal.InvalidField.class)
                .hasMessageStartingWith("n[0]:");
    }

    /** The path is written out only for a refusal, and names the value as a client wrote it. */
    @Test
    void aRefusalNamesThePathOfTheValue() {
        assertThatThrownBy(() -> JsonInput.check(Json.read("{\"a\":[1,{\"b\":\"x\\u0000\"}]}"), "data"))
                .hasMessageStartingWith("data.a[1].b: text must not contain the NUL character");
        assertThatThrownBy(() -> JsonInput.check(Json.read("[{\"k\\u0000\":1}]"), ""))
                .hasMessageStartingWith("[0].k\u0000: text must not contain");
    }
}
