package dev.switchboard.config;

import java.util.Collection;
import java.util.Optional;

/** "Did you mean" for a misspelt name (a setting, a schema keyword): the known one nearest to what was written, if it is near. */
public final class Suggestions {
    private Suggestions() {}

    /**
     * The candidate closest to {@code written} by edit distance (case-insensitive), when at most a third
     * of its letters (and at least two) would have to change; nothing when none is that close or two tie.
     */
    public static Optional<String> nearest(String written, Collection<String> candidates) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        boolean tie = false;
        for (String candidate : candidates) {
            int d = distance(written.toLowerCase(), candidate.toLowerCase());
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
                tie = false;
            } else if (d == bestDistance) {
                tie = true;
            }
        }
        int allowed = Math.max(2, written.length() / 3);
        return best == null || tie || bestDistance > allowed ? Optional.empty() : Optional.of(best);
    }

    /** Levenshtein distance, where swapping two neighbouring letters also counts as one change. */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
