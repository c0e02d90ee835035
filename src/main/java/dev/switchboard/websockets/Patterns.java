package dev.switchboard.websockets;

import java.util.ArrayList;
import java.util.List;

/**
 * Intersections of event-type pattern lists, so a {@code subscribe} can only narrow what a socket
 * receives. Two patterns ({@code *}, {@code a.b.*}, {@code a.b.c}) are either nested or disjoint, so
 * the intersection of two lists is exactly the set of the narrower pattern of every nested pair.
 */
final class Patterns {
    private Patterns() {}

    static List<String> intersect(List<String> a, List<String> b) {
        List<String> result = new ArrayList<>();
        for (String x : a) {
            for (String y : b) {
                String meet = meet(x, y);
                if (meet != null && !result.contains(meet)) {
                    result.add(meet);
                }
            }
        }
        return List.copyOf(result);
    }

    /** The narrower of two nested patterns, or null when no event type matches both. */
    static String meet(String x, String y) {
        if (covers(x, y)) {
            return y;
        }
        if (covers(y, x)) {
            return x;
        }
        return null;
    }

    /** True when every type {@code inner} matches is also matched by {@code outer}. */
    static boolean covers(String outer, String inner) {
        if (outer.equals("*") || outer.equals(inner)) {
            return true;
        }
        if (!outer.endsWith(".*") || inner.equals("*")) {
            return false;
        }
        String prefix = outer.substring(0, outer.length() - 1); // "a.b."
        return inner.startsWith(prefix);
    }
}
