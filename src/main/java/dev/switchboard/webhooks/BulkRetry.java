package dev.switchboard.webhooks;

/**
 * What one bulk retry did: how many failed messages it made pending again, and where the next request
 * goes on ({@code cursor}: the last message it looked at; null once it looked at the endpoint's newest).
 */
public record BulkRetry(int retried, String cursor) {}
