package dev.switchboard.cli;

import dev.switchboard.client.Backoff;
import dev.switchboard.client.ConnectionInfo;
import dev.switchboard.client.EventStream;
import dev.switchboard.events.Event;
import dev.switchboard.support.Ids;
import dev.switchboard.support.Version;
import dev.switchboard.webhooks.MessageBody;
import dev.switchboard.webhooks.Signer;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sends each batch the event stream delivers to the local receiver as the server would: the body
 * {@link MessageBody} builds, signed by {@link Signer}, split where the server would split it. A batch
 * is done only when the receiver answered 2xx; anything else is retried with backoff, so the cursor
 * never passes an event the receiver has not accepted.
 */
final class Forwarder implements EventStream.Listener {
    /** As many events per message as an endpoint's default {@code maxBatchSize}. */
    static final int MAX_BATCH = 100;

    private final URI target;
    private final String secret;
    private final ConnectionInfo connection;
    private final Duration timeout;
    private final boolean printJson;
    private final PrintWriter out;
    private final HttpClient http;
    private final Backoff backoff = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30));

    Forwarder(
            URI target,
            String secret,
            ConnectionInfo connection,
            Duration timeout,
            boolean printJson,
            PrintWriter out) {
        this.target = target;
        this.secret = secret;
        this.connection = connection;
        this.timeout = timeout;
        this.printJson = printJson;
        this.out = out;
        this.http = HttpClient.newBuilder()
                // As Switchboard sends webhooks: HTTP/1.1, without the JDK's offer to upgrade to h2c.
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    @Override
    public void onEvents(List<dev.switchboard.client.Event> received) throws InterruptedException {
        List<Event> events = new ArrayList<>(received.size());
        for (dev.switchboard.client.Event e : received) {
            events.add(new Event(e.id(), e.seq(), e.type(), e.subject(), e.time(), JsonbText.write(e.data()), null));
        }
        while (!events.isEmpty()) {
            MessageBody.Batch batch =
                    MessageBody.events(connection.tenantId(), connection.integrationId(), events, MAX_BATCH);
            deliver(events.subList(0, batch.count()), batch.json());
            events = events.subList(batch.count(), events.size());
        }
    }

    @Override
    public void onStateChange(EventStream.State state) {
        print(now() + "  stream " + state.name().toLowerCase());
    }

    @Override
    public void onError(Throwable error) {
        print(now() + "  " + describe(error) + "; reconnecting");
    }

    /** What went wrong in words: the JDK's connection failures have no message of their own. */
    private static String describe(Throwable error) {
        return error.getMessage() == null ? error.getClass().getSimpleName() : error.getMessage();
    }

    @Override
    public void onResumeFailed(com.fasterxml.jackson.databind.JsonNode message) {
        // The stream goes on from the oldest event kept (Options.withResumeAtOldestKept).
        long oldest = message.path("oldestSeq").asLong(-1);
        print(now() + "  the server's retention removed events after seq "
                + message.path("after").asLong()
                + " before they were forwarded"
                + (oldest > 0
                        ? "; resuming after " + (oldest - 1) + " (the oldest event kept is " + oldest + ")"
                        : ""));
    }

    @Override
    public void onClosed(int code, String reason) {
        print(now() + "  the server ended the stream: " + code + " " + reason);
    }

    /** Sends one message until the receiver accepts it, with the same webhook-id on every attempt. */
    private void deliver(List<Event> events, String body) throws InterruptedException {
        String messageId = messageId(events);
        String summary = summary(events);
        for (int attempt = 0; ; attempt++) {
            long timestamp = Instant.now().getEpochSecond();
            HttpRequest request = HttpRequest.newBuilder(target)
                    .timeout(timeout)
                    .header("Content-Type", "application/json")
                    .header("User-Agent", "switchboard-listen/" + Version.current())
                    .header("webhook-id", messageId)
                    .header("webhook-timestamp", Long.toString(timestamp))
                    .header("webhook-signature", Signer.signature(List.of(secret), messageId, timestamp, body))
                    .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                    .build();
            long started = System.nanoTime();
            String outcome;
            boolean accepted;
            // Bounded as a whole, as the server bounds an attempt: the JDK's own timeout ends at the answer's
            // headers, and a receiver that stalls in its body would hold listen until it closed the connection.
            CompletableFuture<HttpResponse<Void>> pending =
                    http.sendAsync(request, HttpResponse.BodyHandlers.discarding());
            try {
                HttpResponse<Void> response = pending.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
                outcome = Integer.toString(response.statusCode());
                accepted = response.statusCode() >= 200 && response.statusCode() < 300;
            } catch (TimeoutException e) {
                pending.cancel(true);
                outcome = "timeout";
                accepted = false;
            } catch (ExecutionException e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                outcome = cause instanceof java.net.http.HttpTimeoutException
                        ? "timeout"
                        : "error (" + describe(cause) + ")";
                accepted = false;
            } catch (InterruptedException e) {
                pending.cancel(true);
                throw e;
            }
            long millis = (System.nanoTime() - started) / 1_000_000;
            if (accepted) {
                print(String.format("%s  %s  → %s  %d ms", now(), summary, outcome, millis));
                if (printJson) {
                    print(body);
                }
                return;
            }
            Duration wait = backoff.delay(attempt);
            print(String.format(
                    "%s  %s  → %s  %d ms; attempt %d, retrying in %.1f s",
                    now(), summary, outcome, millis, attempt + 1, wait.toMillis() / 1000.0));
            Thread.sleep(wait.toMillis());
        }
    }

    /**
     * The batch's webhook-id, made from its connection and the ids of the events it carries rather than
     * drawn anew: a batch the receiver took while listen was stopped is sent again by the next run, and a
     * receiver that skips the ids it has processed (as Standard Webhooks advises) must know it. The events'
     * ids, not their seqs: one seq range carries other events under other --types, or after a restore.
     */
    String messageId(List<Event> events) {
        StringBuilder batch = new StringBuilder(connection.id());
        for (Event e : events) {
            batch.append('|').append(e.id());
        }
        return Ids.format("msg", UUID.nameUUIDFromBytes(batch.toString().getBytes(StandardCharsets.UTF_8)));
    }

    /** "reservations.created ×2, reservations.updated  seq 41-43" */
    static String summary(List<Event> events) {
        Map<String, Integer> types = new LinkedHashMap<>();
        for (Event e : events) {
            types.merge(e.type(), 1, Integer::sum);
        }
        StringBuilder text = new StringBuilder();
        types.forEach((type, n) -> {
            if (!text.isEmpty()) {
                text.append(", ");
            }
            text.append(type).append(n > 1 ? " ×" + n : "");
        });
        long first = events.get(0).seq();
        long last = events.get(events.size() - 1).seq();
        return text + "  seq " + (first == last ? Long.toString(first) : first + "-" + last);
    }

    private static String now() {
        return Instant.now().truncatedTo(ChronoUnit.MILLIS).toString();
    }

    private void print(String line) {
        synchronized (out) {
            out.println(line);
            out.flush();
        }
    }
}
