package dev.switchboard.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.testing.Fast;
import dev.switchboard.webhooks.Signer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The client's webhook verifier accepts what the server's Signer signs and refuses everything else, saying why. */
@Fast
class WebhookVerifierTest {
    private static final String BODY =
            "{\"tenantId\":\"hotel\",\"integrationId\":\"int_1\",\"events\":[{\"seq\":1,\"data\":{\"name\":\"Zoë\"}}]}";
    private final String current = Signer.newSecret();
    private final String previous = Signer.newSecret();
    private final long now = Instant.now().getEpochSecond();

    private Map<String, List<String>> headers(List<String> secrets, long timestamp, String body) {
        return Map.of(
                "Webhook-Id", List.of("msg_1"),
                "webhook-timestamp", List.of(Long.toString(timestamp)),
                "webhook-signature", List.of(Signer.signature(secrets, "msg_1", timestamp, body)));
    }

    @Test
    void acceptsTheServersSignatureOverBytesOrAString() {
        Map<String, List<String>> headers = headers(List.of(current), now, BODY);
        WebhookVerifier verifier = WebhookVerifier.of(current);
        assertThatCode(() -> verifier.verify(BODY, headers)).doesNotThrowAnyException();
        assertThatCode(() -> verifier.verify(BODY.getBytes(StandardCharsets.UTF_8), headers))
                .doesNotThrowAnyException();
    }

    @Test
    void duringARotationAnySignatureByAnySecretVerifies() {
        Map<String, List<String>> both = headers(List.of(current, previous), now, BODY);
        assertThatCode(() -> WebhookVerifier.of(previous).verify(BODY, both)).doesNotThrowAnyException();
        assertThatCode(() -> WebhookVerifier.of(current).verify(BODY, both)).doesNotThrowAnyException();
        Map<String, List<String>> newOnly = headers(List.of(current), now, BODY);
        assertThatCode(() -> WebhookVerifier.of(previous, current).verify(BODY, newOnly))
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> WebhookVerifier.of(previous).verify(BODY, newOnly))
                .isInstanceOfSatisfying(
                        WebhookVerificationException.class,
                        e -> assertThat(e.reason())
                                .isEqualTo(WebhookVerificationException.Reason.NO_MATCHING_SIGNATURE));
    }

    @Test
    void aChangedBodyIdOrTimestampDoesNotVerify() {
        Map<String, List<String>> headers = headers(List.of(current), now, BODY);
        WebhookVerifier verifier = WebhookVerifier.of(current);
        assertThatThrownBy(() -> verifier.verify(BODY + " ", headers)).hasMessageContaining("no v1 signature");
        assertThatThrownBy(() -> verifier.verify(
                        "msg_2",
                        Long.toString(now),
                        headers.get("webhook-signature").get(0),
                        BODY.getBytes()))
                .isInstanceOf(WebhookVerificationException.class);
        assertThatThrownBy(() -> verifier.verify(
                        "msg_1",
                        Long.toString(now + 1),
                        headers.get("webhook-signature").get(0),
                        BODY.getBytes()))
                .isInstanceOf(WebhookVerificationException.class);
    }

    @Test
    void timestampsOutsideTheToleranceAreRefusedAndTheToleranceIsConfigurable() {
        long tenMinutesAgo = now - 600;
        Map<String, List<String>> old = headers(List.of(current), tenMinutesAgo, BODY);
        assertThatThrownBy(() -> WebhookVerifier.of(current).verify(BODY, old))
                .isInstanceOfSatisfying(WebhookVerificationException.class, e -> {
                    assertThat(e.reason()).isEqualTo(WebhookVerificationException.Reason.TIMESTAMP_OUT_OF_TOLERANCE);
                    assertThat(e.getMessage()).contains("300 s");
                });
        assertThatCode(() -> WebhookVerifier.of(current)
                        .withTolerance(Duration.ofMinutes(15))
                        .verify(BODY, old))
                .doesNotThrowAnyException();
        Clock then = Clock.fixed(Instant.ofEpochSecond(tenMinutesAgo + 10), ZoneOffset.UTC);
        assertThatCode(() -> WebhookVerifier.of(current).withClock(then).verify(BODY, old))
                .doesNotThrowAnyException();
    }

    /** A difference from now that does not fit in a long is out of tolerance, not wrapped around to a small one. */
    @Test
    void aTimestampAtEitherEndOfALongIsOutOfTolerance() {
        for (long timestamp : new long[] {now + Long.MIN_VALUE, Long.MIN_VALUE, Long.MAX_VALUE}) {
            Map<String, List<String>> far = headers(List.of(current), timestamp, BODY);
            assertThatThrownBy(() -> WebhookVerifier.of(current).verify(BODY, far))
                    .as("timestamp %d", timestamp)
                    .isInstanceOfSatisfying(
                            WebhookVerificationException.class,
                            e -> assertThat(e.reason())
                                    .isEqualTo(WebhookVerificationException.Reason.TIMESTAMP_OUT_OF_TOLERANCE));
        }
    }

    @Test
    void missingOrMalformedHeadersAreNamed() {
        WebhookVerifier verifier = WebhookVerifier.of(current);
        assertThatThrownBy(() -> verifier.verify(BODY, Map.of()))
                .isInstanceOfSatisfying(WebhookVerificationException.class, e -> {
                    assertThat(e.reason()).isEqualTo(WebhookVerificationException.Reason.MISSING_HEADER);
                    assertThat(e.getMessage()).contains("webhook-id");
                });
        assertThatThrownBy(() -> verifier.verify("msg_1", "yesterday", "v1,abc", BODY.getBytes()))
                .isInstanceOfSatisfying(
                        WebhookVerificationException.class,
                        e -> assertThat(e.reason()).isEqualTo(WebhookVerificationException.Reason.INVALID_TIMESTAMP));
        assertThatThrownBy(() -> verifier.verify("msg_1", Long.toString(now), "v2,abc v1,!!notbase64", BODY.getBytes()))
                .isInstanceOfSatisfying(
                        WebhookVerificationException.class,
                        e -> assertThat(e.reason())
                                .isEqualTo(WebhookVerificationException.Reason.NO_MATCHING_SIGNATURE));
    }

    @Test
    void aSecretThatIsNotBase64IsRefusedWhenTheVerifierIsMade() {
        assertThatThrownBy(() -> WebhookVerifier.of(current, "whsec_not base64!"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("secret 2");
        assertThatThrownBy(() -> WebhookVerifier.of(List.of())).isInstanceOf(IllegalArgumentException.class);
    }
}
