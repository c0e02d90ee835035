package dev.switchboard.config;

import java.time.Duration;

/** At most {@code failures} refused tokens per client address in any {@code window} (0: no limit). */
public record FailedAuthLimit(int failures, Duration window) {}
