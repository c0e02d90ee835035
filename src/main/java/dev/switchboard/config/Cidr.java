package dev.switchboard.config;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** An address range written {@code 10.1.0.0/16} or {@code fd00:1::/64} (a single address without a suffix). */
public record Cidr(byte[] network, int prefixLength) {

    public static Cidr parse(String text) {
        String t = text.trim();
        int slash = t.indexOf('/');
        String address = slash < 0 ? t : t.substring(0, slash);
        if (!address.matches("[0-9.]+|[0-9A-Fa-f:.]+") || !address.contains(".") && !address.contains(":")) {
            throw new IllegalArgumentException("'" + text + "' is not an IP address or range (write e.g. 10.1.0.0/16)");
        }
        if (!address.contains(":") && !address.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            // The resolver reads 10.1 as 10.0.0.1: 10.1/16 would open a range other than the one meant.
            throw new IllegalArgumentException(
                    "'" + text + "': write all four parts of an IPv4 address (e.g. 10.1.0.0/16, not 10.1/16)");
        }
        byte[] bytes;
        try {
            bytes = InetAddress.getByName(address).getAddress(); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + text + "' is not an IP address or range");
        }
        int bits = bytes.length * 8;
        int length;
        try {
            length = slash < 0 ? bits : Integer.parseInt(t.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' has no valid prefix length");
        }
        if (length < 0 || length > bits) {
            throw new IllegalArgumentException("'" + text + "': the prefix length must be 0 to " + bits);
        }
        byte[] network = bytes.clone();
        for (int i = 0; i < network.length; i++) {
            int kept = Math.clamp(length - i * 8L, 0, 8); // bits of this byte inside the prefix
            network[i] &= (byte) (0xFF << (8 - kept));
        }
        Cidr range = new Cidr(network, length);
        // 10.1.2.3/8 opens all of 10.0.0.0/8: most likely not what was meant, so it is not guessed.
        if (!java.util.Arrays.equals(network, bytes)) {
            throw new IllegalArgumentException(
                    "'" + text + "' has bits set past its prefix length: the range it would name is " + range
                            + "; write that, or the prefix length meant");
        }
        return range;
    }

    public boolean contains(InetAddress address) {
        byte[] a = address.getAddress();
        if (a.length != network.length) {
            return false;
        }
        int shift = a.length * 8 - prefixLength;
        return new BigInteger(1, a).shiftRight(shift).equals(new BigInteger(1, network).shiftRight(shift));
    }

    @Override
    public String toString() {
        try {
            return InetAddress.getByAddress(network).getHostAddress() + "/" + prefixLength;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Cidr c && c.prefixLength == prefixLength && java.util.Arrays.equals(c.network, network);
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(network) * 31 + prefixLength;
    }
}
