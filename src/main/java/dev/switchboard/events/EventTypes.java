package dev.switchboard.events;

import dev.switchboard.support.Refusal;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Event types and the patterns that select them. A type is dot-separated lower-case segments
 * ({@code reservations.created}, {@code device.command}); a pattern is a type, a type prefix ending in
 * {@code .*} ({@code reservations.*}), or {@code *} for everything.
 */
public final class EventTypes {
    private static final String SEGMENT = "[a-z0-9][a-z0-9_-]{0,62}";
    private static final Pattern TYPE = Pattern.compile(SEGMENT + "(\\." + SEGMENT + "){0,7}");
    private static final Pattern PATTERN = Pattern.compile("\\*|" + SEGMENT + "(\\." + SEGMENT + "){0,7}(\\.\\*)?");
    public static final List<String> RECORD_ACTIONS = List.of("created", "updated", "deleted");
    /** First segments of Switchboard's own event types ({@code connection.created}), never in a tenant's log. */
    private static final List<String> OWN_NAMESPACES = List.of("connection", "webhook");

    private EventTypes() {}

    /**
     * Whether a type or pattern names Switchboard's own events ({@code connection.*}, {@code webhook.test}):
     * no one may publish such a type, so a tenant's log never holds one.
     */
    public static boolean isOwn(String typeOrPattern) {
        int dot = typeOrPattern.indexOf('.');
        return OWN_NAMESPACES.contains(dot < 0 ? typeOrPattern : typeOrPattern.substring(0, dot));
    }

    public static boolean isType(String text) {
        return text != null && TYPE.matcher(text).matches();
    }

    public static boolean isPattern(String text) {
        return text != null && PATTERN.matcher(text).matches();
    }

    public static void requirePatterns(List<String> patterns, String field) {
        for (int i = 0; i < patterns.size(); i++) {
            if (!isPattern(patterns.get(i))) {
                throw new Refusal.InvalidField(
                        field + "[" + i + "]",
                        "'" + patterns.get(i)
                                + "' is not an event type pattern (e.g. reservations.created, reservations.*, *)");
            }
        }
    }

    public static boolean matches(String pattern, String type) {
        if (pattern.equals("*")) {
            return true;
        }
        if (pattern.endsWith(".*")) {
            return type.startsWith(pattern.substring(0, pattern.length() - 1));
        }
        return pattern.equals(type);
    }

    public static boolean matchesAny(List<String> patterns, String type) {
        for (String p : patterns) {
            if (matches(p, type)) {
                return true;
            }
        }
        return false;
    }

    /** Whether some event type matches both patterns. */
    public static boolean overlap(String a, String b) {
        return meet(a, b) != null;
    }

    /**
     * The types both lists match, as patterns, so a narrowing (a WebSocket's {@code subscribe}) can only
     * narrow. Two patterns are either nested or disjoint, so the intersection of two lists is exactly the
     * narrower pattern of every nested pair.
     */
    public static List<String> intersect(List<String> a, List<String> b) {
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
    private static String meet(String x, String y) {
        if (covers(x, y)) {
            return y;
        }
        if (covers(y, x)) {
            return x;
        }
        return null;
    }

    /** True when every type {@code inner} matches is also matched by {@code outer}. */
    private static boolean covers(String outer, String inner) {
        if (outer.equals("*") || outer.equals(inner)) {
            return true;
        }
        if (!outer.endsWith(".*") || inner.equals("*")) {
            return false;
        }
        String prefix = outer.substring(0, outer.length() - 1); // "a.b."
        return inner.startsWith(prefix);
    }

    /** The SQL LIKE form of a pattern ({@code _} is a LIKE wildcard, so it is escaped). */
    static String toLike(String pattern) {
        String escaped = pattern.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%");
        if (escaped.equals("*")) {
            return "%";
        }
        return escaped.endsWith(".*") ? escaped.substring(0, escaped.length() - 1) + "%" : escaped;
    }
}
