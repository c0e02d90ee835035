package dev.switchboard.webhooks;

import java.util.List;

/**
 * A page of an endpoint's messages and where the next one starts: null once every message the filter
 * could pick has been listed. A page may hold fewer messages than asked for, even none, and still have a
 * cursor: the list reads only so many messages a request.
 */
public record MessagePage(List<WebhookMessage> messages, String cursor) {}
