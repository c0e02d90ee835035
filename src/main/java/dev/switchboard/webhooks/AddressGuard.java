package dev.switchboard.webhooks;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Optional;

/**
 * Decides whether a webhook may connect to an address. Refused: loopback, private, shared (CGNAT),
 * link-local (with the cloud metadata address), unspecified, multicast, broadcast, reserved and
 * documentation ranges, IPv6 unique-local and site-local, and every IPv6 form that embeds an IPv4
 * address (IPv4-mapped, IPv4-translated, IPv4-compatible, NAT64, 6to4, Teredo; Java turns most IPv4-mapped
 * ones into IPv4 addresses, which are judged as such). Addresses are checked after resolution, on the exact
 * addresses the client will connect to, so a DNS answer that changes after a check cannot slip past.
 */
public final class AddressGuard {
    private AddressGuard() {}

    /** Why the address is refused, or empty when a webhook may call it. */
    public static Optional<String> refusal(InetAddress address) {
        if (address instanceof Inet4Address v4) {
            return refusalV4(v4.getAddress());
        }
        byte[] a = address.getAddress();
        if (address.isLoopbackAddress()) return Optional.of("loopback address");
        if (address.isAnyLocalAddress()) return Optional.of("unspecified address");
        if (address.isLinkLocalAddress()) return Optional.of("link-local address");
        if (address.isSiteLocalAddress()) return Optional.of("site-local address");
        if (address.isMulticastAddress()) return Optional.of("multicast address");
        if ((a[0] & 0xfe) == 0xfc) return Optional.of("unique-local address (fc00::/7)");
        if (isZero(a, 0, 10) && (a[10] & 0xff) == 0xff && (a[11] & 0xff) == 0xff) {
            return embedded("IPv4-mapped", a, 12);
        }
        if (isZero(a, 0, 8) && (a[8] & 0xff) == 0xff && (a[9] & 0xff) == 0xff && isZero(a, 10, 12)) {
            return embedded("IPv4-translated", a, 12); // ::ffff:0:a.b.c.d, RFC 2765 (::ffff:0:0:0/96)
        }
        if (isZero(a, 0, 12)) {
            return embedded("IPv4-compatible", a, 12);
        }
        if (prefix(a, 0x00, 0x64, 0xff, 0x9b) && isZero(a, 4, 12)) {
            return embedded("NAT64", a, 12); // 64:ff9b::/96
        }
        if (prefix(a, 0x00, 0x64, 0xff, 0x9b) && (a[4] & 0xff) == 0x00 && (a[5] & 0xff) == 0x01) {
            return Optional.of("local-use NAT64 address (64:ff9b:1::/48)");
        }
        if (prefix(a, 0x20, 0x02)) {
            return embedded("6to4", a, 2); // 2002:AABB:CCDD::/48 carries AA.BB.CC.DD
        }
        if (prefix(a, 0x20, 0x01, 0x00, 0x00)) {
            return Optional.of("Teredo address (2001::/32)");
        }
        if (prefix(a, 0x20, 0x01, 0x0d, 0xb8)) {
            return Optional.of("documentation address (2001:db8::/32)");
        }
        if (prefix(a, 0x01, 0x00) && isZero(a, 2, 8)) {
            return Optional.of("discard-only address (100::/64)");
        }
        return Optional.empty();
    }

    private static Optional<String> refusalV4(byte[] a) {
        int b0 = a[0] & 0xff;
        int b1 = a[1] & 0xff;
        int b2 = a[2] & 0xff;
        if (b0 == 0) return Optional.of("unspecified or 'this network' address (0.0.0.0/8)");
        if (b0 == 127) return Optional.of("loopback address");
        if (b0 == 10) return Optional.of("private address (10.0.0.0/8)");
        if (b0 == 172 && (b1 & 0xf0) == 16) return Optional.of("private address (172.16.0.0/12)");
        if (b0 == 192 && b1 == 168) return Optional.of("private address (192.168.0.0/16)");
        if (b0 == 100 && (b1 & 0xc0) == 64) return Optional.of("shared address (100.64.0.0/10)");
        if (b0 == 169 && b1 == 254) return Optional.of("link-local or metadata address (169.254.0.0/16)");
        if (b0 == 192 && b1 == 0 && b2 == 0) return Optional.of("IETF protocol address (192.0.0.0/24)");
        if (b0 == 192 && b1 == 0 && b2 == 2) return Optional.of("documentation address (192.0.2.0/24)");
        if (b0 == 198 && b1 == 51 && b2 == 100) return Optional.of("documentation address (198.51.100.0/24)");
        if (b0 == 203 && b1 == 0 && b2 == 113) return Optional.of("documentation address (203.0.113.0/24)");
        if (b0 == 198 && (b1 & 0xfe) == 18) return Optional.of("benchmarking address (198.18.0.0/15)");
        if (b0 == 192 && b1 == 88 && b2 == 99) return Optional.of("6to4 relay address (192.88.99.0/24)");
        if (b0 >= 224 && b0 <= 239) return Optional.of("multicast address");
        if (b0 >= 240) return Optional.of("reserved or broadcast address (240.0.0.0/4)");
        return Optional.empty();
    }

    /** IPv6 forms that embed an IPv4 address are refused whatever they embed; the reason names a private one. */
    private static Optional<String> embedded(String form, byte[] a, int offset) {
        byte[] v4 = {a[offset], a[offset + 1], a[offset + 2], a[offset + 3]};
        return Optional.of(refusalV4(v4)
                .map(why -> form + " form of a " + why)
                .orElse(form + " address (call the IPv4 address directly)"));
    }

    private static boolean isZero(byte[] a, int from, int to) {
        for (int i = from; i < to; i++) {
            if (a[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean prefix(byte[] a, int... bytes) {
        for (int i = 0; i < bytes.length; i++) {
            if ((a[i] & 0xff) != bytes[i]) {
                return false;
            }
        }
        return true;
    }
}
