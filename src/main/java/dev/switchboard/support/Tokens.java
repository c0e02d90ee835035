package dev.switchboard.support;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * Bearer tokens: 32 random bytes behind a prefix that says what kind of token it is (so secret
 * scanners and people can tell them apart). Only the SHA-256 of a token is stored: tokens are
 * random, so a fast hash is as good as a slow one, and the lookup by hash never compares the secret
 * itself character by character.
 */
public final class Tokens {
    public static final String ADMIN_PREFIX = "sb_admin_";
    public static final String CLIENT_KEY_PREFIX = "sb_client_";
    public static final String ACCESS_TOKEN_PREFIX = "sb_access_";
    public static final String SIGNING_SECRET_PREFIX = "whsec_";

    private static final SecureRandom RANDOM = new SecureRandom();

    private Tokens() {}

    public static String generate(String prefix) {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return prefix + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    public static byte[] hash(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    /** Constant-time comparison of a presented token with a stored hash. */
    public static boolean matches(String token, byte[] storedHash) {
        return MessageDigest.isEqual(hash(token), storedHash);
    }
}
