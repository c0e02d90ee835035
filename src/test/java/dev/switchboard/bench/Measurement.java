package dev.switchboard.bench;

/** One measured run: answers per second inside the window, their latency percentiles, and the CPU used meanwhile. */
record Measurement(double perSecond, double p50Millis, double p99Millis, long requests, CpuMeter.Usage cpu) {}
