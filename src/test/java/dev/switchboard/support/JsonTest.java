package dev.switchboard.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.switchboard.testing.Fast;
import java.util.List;
import org.junit.jupiter.api.Test;

@Fast
class JsonTest {
    @Test
    void whatIsWrongWithABodyIsSaidWithoutTheParsersClassAndFeatureNames() {
        for (String body : List.of(
                "{\"a\": NaN}",
                "{\"a\": +1}",
                "{/* a comment */}",
                "{'a': 1}",
                "{\"a\": 01}",
                "{",
                "[1, {",
                "{\"" + "k".repeat(Json.MAX_NAME_LENGTH + 1) + "\": 1}")) {
            JsonProcessingException e =
                    catchThrowableOfType(JsonProcessingException.class, () -> Json.MAPPER.readTree(body));
            assertThat(Json.describe(e))
                    .as(body)
                    .isNotBlank()
                    .doesNotContain(
                            "`", "Feature", "ALLOW_", "enable", "com.fasterxml", "Source", "REDACTED", "Constraints");
        }
        JsonProcessingException longKey = catchThrowableOfType(
                JsonProcessingException.class, () -> Json.MAPPER.readTree("{\"" + "k".repeat(900_000) + "\": 1}"));
        assertThat(Json.describe(longKey)).isEqualTo("a key is longer than 50000 characters");
    }
}
