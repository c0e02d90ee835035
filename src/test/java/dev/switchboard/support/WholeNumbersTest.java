package dev.switchboard.support;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import org.junit.jupiter.api.Test;

@Fast
class WholeNumbersTest {
    @Test
    void everyLongWrittenWithAsciiDigitsIsRead() {
        assertThat(WholeNumbers.parse("0")).isZero();
        assertThat(WholeNumbers.parse("-42")).isEqualTo(-42L);
        assertThat(WholeNumbers.parse("1000000000000000000")).isEqualTo(1_000_000_000_000_000_000L);
        assertThat(WholeNumbers.parse("9223372036854775807")).isEqualTo(Long.MAX_VALUE);
        assertThat(WholeNumbers.parse("-9223372036854775808")).isEqualTo(Long.MIN_VALUE);
    }

    @Test
    void anythingElseIsNotANumber() {
        for (String text : new String[] {
            "",
            "-",
            "+1",
            " 1",
            "1 ",
            "1.0",
            "1e3",
            "١",
            "１",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999"
        }) {
            assertThat(WholeNumbers.parse(text)).as(text).isNull();
        }
        assertThat(WholeNumbers.parse(null)).isNull();
    }
}
