package dev.switchboard.webhooks;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonRawValue;
import dev.switchboard.support.Tokens;
import java.time.Instant;
import java.util.List;

/**
 * One webhook request and its attempts, as the API shows it. {@code id} is the {@code webhook-id}
 * header, the same on every attempt. {@code firstSeq}..{@code lastSeq} is the part of the tenant's log
 * it covers; {@code body} is shown when one message is read.
 */
@JsonPropertyOrder({
    "id",
    "webhookId",
    "status",
    "lane",
    "tenantId",
    "firstSeq",
    "lastSeq",
    "eventCount",
    "nextAttemptAt",
    "createdAt",
    "finishedAt",
    "attempts",
    "body"
})
public record WebhookMessage(
        @JsonIgnore long pk,
        String id,
        String webhookId,
        Status status,
        String lane,
        String tenantId,
        Long firstSeq,
        Long lastSeq,
        int eventCount,
        Instant nextAttemptAt,
        Instant createdAt,
        Instant finishedAt,
        List<AttemptRecord> attempts,

        @JsonRawValue @JsonInclude(JsonInclude.Include.NON_NULL)
        String body) {

    /** What a message's id starts with ({@code msg_…}); the id is also its {@code webhook-id}. */
    public static final String ID_PREFIX = "msg";

    /** The same message showing {@code body}. */
    public WebhookMessage withBody(String body) {
        return new WebhookMessage(
                pk,
                id,
                webhookId,
                status,
                lane,
                tenantId,
                firstSeq,
                lastSeq,
                eventCount,
                nextAttemptAt,
                createdAt,
                finishedAt,
                attempts,
                body);
    }

    /** The same message covering {@code firstSeq}..{@code lastSeq} with {@code eventCount} events. */
    public WebhookMessage withRange(Long firstSeq, int eventCount) {
        return new WebhookMessage(
                pk,
                id,
                webhookId,
                status,
                lane,
                tenantId,
                firstSeq,
                lastSeq,
                eventCount,
                nextAttemptAt,
                createdAt,
                finishedAt,
                attempts,
                body);
    }

    /** Spelled as in the database and the JSON; {@code failed} is abandoned (retried only through the API). */
    public enum Status {
        pending,
        delivered,
        failed
    }

    /** One attempt as recorded. */
    @JsonPropertyOrder({"n", "startedAt", "durationMs", "status", "outcome", "error", "responseBody"})
    public record AttemptRecord(
            int n,
            Instant startedAt,
            int durationMs,
            Integer status,
            String outcome,
            String error,
            String responseBody) {
        public AttemptRecord {
            // Also masked as attempts are written (WebhookSender, Attempt); those written before that may hold
            // a token a receiver echoed, in the body or in the error quoting its status line.
            responseBody = Tokens.masked(responseBody);
            error = Tokens.masked(error);
        }
    }
}
