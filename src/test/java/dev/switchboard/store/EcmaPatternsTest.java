package dev.switchboard.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** JSON Schema patterns read as ECMA-262 reads them, where Java's reading differs. */
@Fast
class EcmaPatternsTest {
    private static boolean finds(String ecma, String value) {
        return Pattern.compile(EcmaPatterns.toJava(ecma)).matcher(value).find();
    }

    @Test
    void dollarIsTheEndOfTheValueOnly() {
        assertThat(finds("^[a-z]+$", "abc")).isTrue();
        assertThat(finds("^[a-z]+$", "abc\n")).isFalse();
        assertThat(finds("^[a-z]+$", "abc\r\n")).isFalse();
        assertThat(finds("^[a-z]+$", "abc\u0085")).isFalse();
        assertThat(finds("a$|b", "b\n")).isTrue();
        assertThat(finds("^\\$[0-9]+$", "$12")).as("an escaped $ is a dollar").isTrue();
        assertThat(finds("^[$]+$", "$$")).as("in a class, a dollar").isTrue();
    }

    @Test
    void whiteSpaceIsUnicodeWhiteSpace() {
        assertThat(finds("^\\S+$", "a\u00a0b")).isFalse();
        assertThat(finds("^\\S+$", "a-b")).isTrue();
        assertThat(finds("^\\s$", "\u3000")).isTrue();
        assertThat(finds("^[\\s,]+$", " ,\u2028")).isTrue();
        assertThat(finds("^[^\\s]+$", "a\ufeffb")).isFalse();
        assertThat(finds("^[a\\S]+$", "xa")).isTrue();
        assertThat(finds("^[a\\S]+$", "x a")).isFalse();
        assertThat(finds("^\\\\s$", "\\s")).as("an escaped backslash, then s").isTrue();
    }

    @Test
    void aClassHoldsWhatEcmaTakesLiterally() {
        assertThat(finds("^[[]+$", "[[")).isTrue();
        assertThat(finds("^[a&&b]+$", "a&b")).isTrue();
        assertThat(finds("^[\\]a]+$", "]a")).isTrue();
    }

    @Test
    void whatJavaRefusesOrReadsOtherwiseIsReadAsEcmaReadsIt() {
        assertThat(finds("^[]$", "")).as("an empty class matches nothing").isFalse();
        assertThat(finds("^a[]?$", "a")).isTrue();
        assertThat(finds("^[^]{2}$", "\n\u2028"))
                .as("its negation any character")
                .isTrue();
        assertThat(finds("^[\\b]$", "\b")).as("a backspace in a class").isTrue();
        assertThat(finds("^\\0$", "\0")).isTrue();
        assertThat(finds("^.$", "\u0085")).as("ECMA's . takes U+0085").isTrue();
        assertThat(finds("^.$", "\n")).isFalse();
        assertThat(finds("^.$", "\u2028")).isFalse();
        assertThat(finds("^[.]$", "x")).as("a dot in a class is a dot").isFalse();
        assertThat(finds("^\\.$", ".")).isTrue();
    }
}
