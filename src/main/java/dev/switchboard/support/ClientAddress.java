package dev.switchboard.support;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HexFormat;

/**
 * The client a limit counts against (refused secrets, request bodies still arriving): an IPv4 address,
 * or the /64 an IPv6 address belongs to. A single host is routinely given a whole /64 (2^64
 * addresses), so counting each IPv6 address on its own would give one client as many guesses as it
 * cares to take, and each new address an entry of the limiter to keep.
 */
public final class ClientAddress {
    private ClientAddress() {}

    /** The key of {@code ip} (as the connection reports it: a numeric address, never looked up). */
    public static String of(String ip) {
        if (ip == null || ip.indexOf(':') < 0) {
            return ip; // IPv4
        }
        try {
            // A literal: parsed, never resolved. An IPv4-mapped address comes back as IPv4.
            InetAddress address = InetAddress.getByName(ip);
            if (address instanceof Inet6Address) {
                return HexFormat.of().formatHex(address.getAddress(), 0, 8) + "::/64";
            }
            return address.getHostAddress();
        } catch (UnknownHostException e) {
            return ip;
        }
    }
}
