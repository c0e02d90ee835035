package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.standardwebhooks.Webhook;
import com.standardwebhooks.exceptions.WebhookVerificationException;
import dev.switchboard.testing.Fast;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

@Fast
class SignerTest {
    @Test
    void matchesThePublishedStandardWebhooksTestVector() {
        String signature = Signer.signature(
                List.of("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330L,
                "{\"test\": 2432232314}");
        assertThat(signature).isEqualTo("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    @Test
    void theReferenceLibraryVerifiesOurSignaturesWithAnyOfTheSecrets() {
        String current = Signer.newSecret();
        String previous = Signer.newSecret();
        long now = Instant.now().getEpochSecond();
        String body = "{\"tenantId\":\"hotel\",\"events\":[]}";
        String header = Signer.signature(List.of(current, previous), "msg_1", now, body);
        assertThat(header.split(" ")).hasSize(2);
        Map<String, List<String>> headers = Map.of(
                "webhook-id",
                List.of("msg_1"),
                "webhook-timestamp",
                List.of(Long.toString(now)),
                "webhook-signature",
                List.of(header));
        assertThatCode(() -> new Webhook(current).verify(body, headers)).doesNotThrowAnyException();
        assertThatCode(() -> new Webhook(previous).verify(body, headers)).doesNotThrowAnyException();
        assertThatThrownBy(() -> new Webhook(Signer.newSecret()).verify(body, headers))
                .isInstanceOf(WebhookVerificationException.class);
        assertThatThrownBy(() -> new Webhook(current).verify(body + " ", headers))
                .isInstanceOf(WebhookVerificationException.class);
    }

    @Test
    void secretsAreWhsecAndThirtyTwoRandomBytes() {
        String secret = Signer.newSecret();
        assertThat(secret).startsWith("whsec_");
        assertThat(java.util.Base64.getDecoder().decode(secret.substring(6))).hasSize(32);
        assertThat(Signer.newSecret()).isNotEqualTo(secret);
    }
}
