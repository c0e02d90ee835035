package dev.switchboard.support;

import com.github.f4b6a3.uuid.UuidCreator;
import java.util.Optional;
import java.util.UUID;

/**
 * Public identifiers: a type prefix and a UUIDv7 in lower-case Crockford base32 (26 characters), so
 * ids say what they name ({@code rec_}, {@code evt_}, {@code con_}) and sort by creation time.
 */
public final class Ids {
    private static final char[] ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz".toCharArray();
    private static final int[] VALUES = new int[128];

    static {
        java.util.Arrays.fill(VALUES, -1);
        for (int i = 0; i < ALPHABET.length; i++) {
            VALUES[ALPHABET[i]] = i;
            VALUES[Character.toUpperCase(ALPHABET[i])] = i;
        }
    }

    private Ids() {}

    /**
     * A new UUIDv7. Its random bits come from a fast generator, not a secure one: ids name things and
     * are never secrets (tokens, keys and session cookies come from {@code Tokens}), and the secure
     * generator, one per JVM behind a lock, cost every webhook message a few microseconds.
     */
    public static UUID newUuid() {
        return UuidCreator.getTimeOrderedEpochFast();
    }

    /** A new id with the given prefix, e.g. {@code newId("rec")} → {@code rec_01jd…}. */
    public static String newId(String prefix) {
        return format(prefix, newUuid());
    }

    public static String format(String prefix, UUID uuid) {
        char[] out = new char[26];
        long hi = uuid.getMostSignificantBits();
        long lo = uuid.getLeastSignificantBits();
        // 128 bits as 26 base32 digits: the first digit carries the top 3 bits.
        for (int i = 25; i >= 0; i--) {
            out[i] = ALPHABET[(int) (lo & 31)];
            lo = (lo >>> 5) | (hi << 59);
            hi >>>= 5;
        }
        return prefix + "_" + new String(out);
    }

    /** Parses an id with the given prefix; empty when the text is not such an id. */
    public static Optional<UUID> parse(String prefix, String id) {
        if (id == null || id.length() != prefix.length() + 27 || !id.startsWith(prefix + "_")) {
            return Optional.empty();
        }
        long hi = 0;
        long lo = 0;
        for (int i = prefix.length() + 1; i < id.length(); i++) {
            char c = id.charAt(i);
            int v = c < 128 ? VALUES[c] : -1;
            if (v < 0) {
                return Optional.empty();
            }
            hi = (hi << 5) | (lo >>> 59);
            lo = (lo << 5) | v;
        }
        if (id.charAt(prefix.length() + 1) > '7') {
            return Optional.empty(); // more than 128 bits
        }
        return Optional.of(new UUID(hi, lo));
    }
}
