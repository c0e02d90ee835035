package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

@Fast
class AttemptTest {
    private static Attempt failed(String error) {
        return new Attempt(Attempt.Outcome.redirect_error, 307, error, null, Optional.empty(), Instant.EPOCH, 1);
    }

    /**
     * A receiver's redirect or status line is quoted in the error the operator's log shows: a carriage
     * return, a terminal escape or a C1 line break in it could overwrite or split the server's log lines.
     */
    @Test
    void anErrorQuotingTheReceiverKeepsNoControlCharacterAndNoMoreThanAThousandCharacters() {
        String error = failed("redirect to a URL webhooks may not call: \rINFO all good\u001b]0;x\u0007\u0085next")
                .error();
        assertThat(error)
                .isEqualTo("redirect to a URL webhooks may not call: \uFFFDINFO all good\uFFFD]0;x\uFFFD\uFFFDnext");
        assertThat(failed("x".repeat(9000)).error()).hasSize(Attempt.MAX_ERROR);
        assertThat(failed("x".repeat(999) + "\uD83D\uDE00").error())
                .as("not cut inside a character")
                .isEqualTo("x".repeat(999));
        assertThat(failed(null).error()).isNull();
    }

    /** A receiver that put a token on its status line had it shown whole, where the body's is masked. */
    @Test
    void aTokenInTheErrorIsMaskedAsInTheBody() {
        String token = "sb_access_" + "A".repeat(43);
        assertThat(failed("not an HTTP/1.x answer: HTTP/1.1 200 " + token).error())
                .isEqualTo("not an HTTP/1.x answer: HTTP/1.1 200 sb_access_…");
    }

    @Test
    void aResponseBodyIsKeptAsItCameButForNul() {
        Attempt a = new Attempt(
                Attempt.Outcome.http_error, 500, "HTTP 500", "a\rb\u0000c", Optional.empty(), Instant.EPOCH, 1);
        assertThat(a.responseBody()).isEqualTo("a\rb\uFFFDc");
    }
}
