package dev.switchboard.config;

import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The operator console and the partner portal: how long a session lives without a request, which
 * pages may frame the portal (the CSP {@code frame-ancestors} sources: {@code self}, {@code none} or
 * origins), and the name and accent colour the portal shows.
 */
public record ConsoleSettings(
        Duration sessionIdleTimeout, List<String> frameAncestors, String brandName, String accentColor) {

    public ConsoleSettings {
        frameAncestors = List.copyOf(frameAncestors);
    }

    /** The value of the portal pages' {@code frame-ancestors} directive, e.g. {@code 'self' https://app.example.com}. */
    public String frameAncestorsDirective() {
        return frameAncestors.stream()
                .map(s -> s.equals("self") || s.equals("none") ? "'" + s + "'" : s)
                .collect(Collectors.joining(" "));
    }

    /** A frame-ancestors source as an operator writes it: {@code self}, {@code none} or an origin. */
    static String frameAncestor(String text) {
        String t = text.trim().replace("'", "");
        if (t.equals("self") || t.equals("none")) {
            return t;
        }
        return WebOrigin.parse(t).toString();
    }
}
