package dev.switchboard.client;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Verifies webhook requests signed the <a href="https://www.standardwebhooks.com/">Standard Webhooks</a>
 * way, as Switchboard signs them: {@code webhook-signature} holds space-separated {@code v1,<base64>}
 * entries, each an HMAC-SHA256 of {@code <webhook-id>.<webhook-timestamp>.<raw body>} keyed with the
 * bytes a {@code whsec_} secret encodes.
 *
 * <p>Give it every secret currently valid (the new and the old during a rotation): a request verifies
 * when any signature matches any secret. Signatures are compared in constant time. The timestamp must be
 * within the tolerance of now (5 minutes unless set otherwise). Verify the raw body bytes as received,
 * before parsing them. Instances are immutable and thread-safe.
 *
 * <pre>{@code
 * WebhookVerifier verifier = WebhookVerifier.of("whsec_…");
 * verifier.verify(rawBody, request.headers());  // throws WebhookVerificationException
 * }</pre>
 */
public final class WebhookVerifier {
    /** The tolerance unless set otherwise: 5 minutes either way. */
    public static final Duration DEFAULT_TOLERANCE = Duration.ofMinutes(5);

    private static final String SECRET_PREFIX = "whsec_";

    private final List<byte[]> keys;
    private final Duration tolerance;
    private final Clock clock;

    private WebhookVerifier(List<byte[]> keys, Duration tolerance, Clock clock) {
        this.keys = keys;
        this.tolerance = tolerance;
        this.clock = clock;
    }

    /**
     * A verifier accepting signatures by any of {@code secrets} ({@code whsec_<base64>}; a bare base64
     * key is accepted too). Throws {@link IllegalArgumentException} naming a secret that is not base64.
     */
    public static WebhookVerifier of(String... secrets) {
        return of(List.of(secrets));
    }

    /** {@link #of(String...)} from a list. */
    public static WebhookVerifier of(List<String> secrets) {
        if (secrets.isEmpty()) {
            throw new IllegalArgumentException("a webhook verifier needs at least one secret");
        }
        List<byte[]> keys = new ArrayList<>();
        for (int i = 0; i < secrets.size(); i++) {
            String secret = Objects.requireNonNull(secrets.get(i), "secret");
            String encoded = secret.startsWith(SECRET_PREFIX) ? secret.substring(SECRET_PREFIX.length()) : secret;
            try {
                byte[] key = Base64.getDecoder().decode(encoded);
                if (key.length == 0) {
                    throw new IllegalArgumentException("secret " + (i + 1) + " is empty");
                }
                keys.add(key);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        "secret " + (i + 1) + " is not whsec_ followed by base64: " + e.getMessage());
            }
        }
        return new WebhookVerifier(List.copyOf(keys), DEFAULT_TOLERANCE, Clock.systemUTC());
    }

    /** This verifier with another timestamp tolerance (either way from now). */
    public WebhookVerifier withTolerance(Duration tolerance) {
        if (tolerance.isNegative()) {
            throw new IllegalArgumentException("the tolerance must not be negative");
        }
        return new WebhookVerifier(keys, tolerance, clock);
    }

    /** This verifier reading "now" from {@code clock} (for tests, or a server whose clock is known to drift). */
    public WebhookVerifier withClock(Clock clock) {
        return new WebhookVerifier(keys, tolerance, Objects.requireNonNull(clock));
    }

    /**
     * Verifies a request given its headers as most servers expose them (names in any case; the first value
     * of each is used).
     */
    public void verify(byte[] body, Map<String, ? extends List<String>> headers) throws WebhookVerificationException {
        verify(
                first(headers, "webhook-id"),
                first(headers, "webhook-timestamp"),
                first(headers, "webhook-signature"),
                body);
    }

    /**
     * {@link #verify(byte[], Map)} for a body already read as a string (decoded as UTF-8, exactly as
     * received). Prefer the bytes: Switchboard sends {@code Content-Type: application/json} without a
     * charset, which some servers decode as ISO-8859-1, and a body with any non-ASCII character then
     * does not verify.
     */
    public void verify(String body, Map<String, ? extends List<String>> headers) throws WebhookVerificationException {
        verify(body.getBytes(StandardCharsets.UTF_8), headers);
    }

    /** Verifies a request given the three headers' values and the raw body. */
    public void verify(String webhookId, String webhookTimestamp, String webhookSignature, byte[] body)
            throws WebhookVerificationException {
        require("webhook-id", webhookId);
        require("webhook-timestamp", webhookTimestamp);
        require("webhook-signature", webhookSignature);
        long timestamp;
        try {
            timestamp = Long.parseLong(webhookTimestamp.trim());
        } catch (NumberFormatException e) {
            throw new WebhookVerificationException(
                    WebhookVerificationException.Reason.INVALID_TIMESTAMP,
                    "webhook-timestamp is not a number of seconds: '" + webhookTimestamp + "'");
        }
        long now = clock.instant().getEpochSecond();
        long apart;
        try {
            apart = Math.absExact(Math.subtractExact(now, timestamp));
        } catch (ArithmeticException e) {
            apart = Long.MAX_VALUE; // a timestamp near either end of a long: wrapping around made it look recent
        }
        if (apart > tolerance.toSeconds()) {
            throw new WebhookVerificationException(
                    WebhookVerificationException.Reason.TIMESTAMP_OUT_OF_TOLERANCE,
                    "webhook-timestamp " + timestamp + " is " + (apart == Long.MAX_VALUE ? "far" : apart + " s")
                            + " from now, over the tolerance of " + tolerance.toSeconds() + " s");
        }
        byte[] prefix = (webhookId + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8);
        List<byte[]> expected = new ArrayList<>(keys.size());
        for (byte[] key : keys) {
            expected.add(hmac(key, prefix, body));
        }
        boolean matched = false;
        for (String entry : webhookSignature.trim().split(" +")) {
            int comma = entry.indexOf(',');
            if (comma < 0 || !entry.substring(0, comma).equals("v1")) {
                continue;
            }
            byte[] given;
            try {
                given = Base64.getDecoder().decode(entry.substring(comma + 1));
            } catch (IllegalArgumentException e) {
                continue;
            }
            for (byte[] candidate : expected) {
                // Every pair is compared, so the time taken does not tell which one matched.
                matched |= MessageDigest.isEqual(candidate, given);
            }
        }
        if (!matched) {
            throw new WebhookVerificationException(
                    WebhookVerificationException.Reason.NO_MATCHING_SIGNATURE,
                    "no v1 signature in webhook-signature matches the "
                            + (keys.size() == 1 ? "secret" : keys.size() + " secrets"));
        }
    }

    private static void require(String name, String value) throws WebhookVerificationException {
        if (value == null || value.isBlank()) {
            throw new WebhookVerificationException(
                    WebhookVerificationException.Reason.MISSING_HEADER, "the " + name + " header is missing");
        }
    }

    private static String first(Map<String, ? extends List<String>> headers, String name) {
        for (Map.Entry<String, ? extends List<String>> header : headers.entrySet()) {
            if (header.getKey() != null
                    && header.getKey().toLowerCase(Locale.ROOT).equals(name)
                    && header.getValue() != null
                    && !header.getValue().isEmpty()) {
                return header.getValue().get(0);
            }
        }
        return null;
    }

    private static byte[] hmac(byte[] key, byte[] prefix, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update(prefix);
            return mac.doFinal(body);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is part of every JDK", e);
        }
    }
}
