package dev.switchboard.support;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.regex.Pattern;

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
    public static final String SESSION_PREFIX = "sb_session_";
    public static final String PORTAL_LINK_PREFIX = "sb_portal_";

    private static final SecureRandom RANDOM = new SecureRandom();
    /** A token of any kind, whole or cut short (at the end of an excerpt): its prefix and what follows of it. */
    private static final Pattern ANY_TOKEN = Pattern.compile("("
            + String.join(
                    "|",
                    ADMIN_PREFIX,
                    CLIENT_KEY_PREFIX,
                    ACCESS_TOKEN_PREFIX,
                    SIGNING_SECRET_PREFIX,
                    SESSION_PREFIX,
                    PORTAL_LINK_PREFIX)
            + ")[A-Za-z0-9_+/=-]+"); // signing secrets are standard base64 (+, /, =), the others URL-safe

    private Tokens() {}

    public static String generate(String prefix) {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return prefix + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /**
     * {@code text} with every token in it reduced to its prefix ({@code sb_access_…}): for what others wrote
     * that Switchboard keeps and shows, such as a receiver's answer to a lifecycle webhook echoing the access
     * token the request carried.
     */
    public static String masked(String text) {
        return text == null ? null : ANY_TOKEN.matcher(text).replaceAll("$1…");
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
