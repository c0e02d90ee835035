package dev.switchboard.webhooks;

import dev.switchboard.support.Tokens;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Standard Webhooks signatures: {@code v1,<base64 HMAC-SHA256 of "id.timestamp.body">}, keyed with the
 * bytes a {@code whsec_} secret encodes. Several secrets (during a rotation's grace period) give
 * several space-separated signatures; a receiver accepts the request when any of them verifies.
 */
public final class Signer {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int SECRET_BYTES = 32;

    private Signer() {}

    /** A new signing secret: {@code whsec_} and the base64 of 32 random bytes. */
    public static String newSecret() {
        byte[] key = new byte[SECRET_BYTES];
        RANDOM.nextBytes(key);
        return Tokens.SIGNING_SECRET_PREFIX + Base64.getEncoder().encodeToString(key);
    }

    /** The value of the {@code webhook-signature} header for one request. */
    public static String signature(List<String> secrets, String messageId, long timestampSeconds, String body) {
        return keyedWith(secrets).sign(messageId, timestampSeconds, body);
    }

    /**
     * Signs with these secrets, keyed once: a stream signs thousands of messages with the same secrets,
     * and decoding them and initialising HMAC for each would cost more than the HMAC itself. Not safe
     * for concurrent use: one per thread (a stream's worker, a manual delivery).
     */
    public static Keyed keyedWith(List<String> secrets) {
        List<Mac> macs = new ArrayList<>();
        for (String secret : secrets) {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(key(secret), "HmacSHA256"));
                macs.add(mac);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("HMAC-SHA256 is part of every JDK", e);
            }
        }
        return new Keyed(List.copyOf(macs));
    }

    /** Signing keys, ready to use. */
    public static final class Keyed {
        private final List<Mac> macs;

        private Keyed(List<Mac> macs) {
            this.macs = macs;
        }

        /** The value of the {@code webhook-signature} header for one request. */
        public String sign(String messageId, long timestampSeconds, String body) {
            byte[] content = (messageId + "." + timestampSeconds + "." + body).getBytes(StandardCharsets.UTF_8);
            StringBuilder header = new StringBuilder(macs.size() * 48);
            for (Mac mac : macs) {
                if (!header.isEmpty()) {
                    header.append(' ');
                }
                header.append("v1,").append(Base64.getEncoder().encodeToString(mac.doFinal(content)));
            }
            return header.toString();
        }
    }

    private static byte[] key(String secret) {
        if (!secret.startsWith(Tokens.SIGNING_SECRET_PREFIX)) {
            throw new IllegalArgumentException("a signing secret starts with " + Tokens.SIGNING_SECRET_PREFIX);
        }
        return Base64.getDecoder().decode(secret.substring(Tokens.SIGNING_SECRET_PREFIX.length()));
    }
}
