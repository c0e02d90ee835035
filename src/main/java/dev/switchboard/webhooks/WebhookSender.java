package dev.switchboard.webhooks;

import dev.switchboard.support.Refusal;
import dev.switchboard.tracing.Tracing;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLException;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;

/**
 * Sends one webhook request and reports what it came to. The whole attempt, redirects included, fits
 * in the timeout. 307 and 308 are followed (up to {@value #MAX_REDIRECTS} times) to URLs that pass the
 * same rules as registered ones, with the same body and headers; other statuses are the answer. At
 * most 4 KiB of a response body is read; the rest is discarded by closing the exchange.
 */
public final class WebhookSender implements AutoCloseable {
    static final int MAX_REDIRECTS = 5;
    static final int MAX_RESPONSE_BYTES = 4096;
    static final String USER_AGENT = "Switchboard-Webhooks/" + dev.switchboard.support.Version.current();

    private final HttpClient client;
    private final ExecutorService resolver = Executors.newVirtualThreadPerTaskExecutor();
    private final Duration timeout;
    private final AddressPolicy policy;
    private final InstantSource clock;

    public WebhookSender(
            Duration timeout, AddressPolicy policy, int maxConnectionsPerDestination, InstantSource clock) {
        this.timeout = timeout;
        this.policy = policy;
        this.clock = clock;
        this.client = new HttpClient();
        client.setFollowRedirects(false);
        client.setConnectTimeout(timeout.toMillis());
        client.setIdleTimeout(30_000);
        client.setMaxConnectionsPerDestination(maxConnectionsPerDestination);
        client.setSocketAddressResolver(new GuardedResolver(resolver, policy));
        client.setUserAgentField(new org.eclipse.jetty.http.HttpField(HttpHeader.USER_AGENT, USER_AGENT));
        try {
            client.start();
        } catch (Exception e) {
            throw new IllegalStateException("the webhook HTTP client did not start", e);
        }
    }

    /** The Standard Webhooks headers of one attempt. */
    public record Signed(String messageId, long timestamp, String signature) {}

    /** POSTs {@code body} to {@code url}; blocks (on a virtual thread) until the attempt has an outcome. */
    public Attempt send(WebhookUrl url, String body, Signed headers) {
        Instant started = clock.instant();
        long startNanos = System.nanoTime();
        long deadline = startNanos + timeout.toNanos();
        URI target = url.uri();
        try {
            for (int hop = 0; ; hop++) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException();
                }
                Request request = client.newRequest(target)
                        .method(HttpMethod.POST)
                        .timeout(left, TimeUnit.NANOSECONDS)
                        .headers(h -> {
                            h.put("webhook-id", headers.messageId())
                                    .put("webhook-timestamp", Long.toString(headers.timestamp()))
                                    .put("webhook-signature", headers.signature());
                            Tracing.inject(h::put); // the attempt's span, when traced
                        })
                        .body(new StringRequestContent("application/json", body, StandardCharsets.UTF_8));
                InputStreamResponseListener listener = new InputStreamResponseListener();
                request.send(listener);
                Response response = listener.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                String responseBody = readCapped(listener, request);
                int status = response.getStatus();
                if ((status == 307 || status == 308) && hop < MAX_REDIRECTS) {
                    String location = response.getHeaders().get(HttpHeader.LOCATION);
                    Optional<URI> next = redirect(target, location, policy);
                    if (next.isEmpty()) {
                        return result(
                                Attempt.Outcome.redirect_error,
                                status,
                                "redirect to a URL webhooks may not call: " + WebhookUrl.redact(location),
                                responseBody,
                                response,
                                started,
                                startNanos);
                    }
                    target = next.get();
                    continue;
                }
                Attempt.Outcome outcome = status >= 200 && status < 300
                        ? Attempt.Outcome.delivered
                        : status == 410
                                ? Attempt.Outcome.gone
                                : status == 307 || status == 308
                                        ? Attempt.Outcome.redirect_error
                                        : Attempt.Outcome.http_error;
                String error = switch (outcome) {
                    case delivered -> null;
                    case redirect_error -> "more than " + MAX_REDIRECTS + " redirects";
                    default -> "HTTP " + status;
                };
                return result(outcome, status, error, responseBody, response, started, startNanos);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return failure(Attempt.Outcome.connection_error, "interrupted: the node is stopping", started, startNanos);
        } catch (TimeoutException e) {
            return failure(
                    Attempt.Outcome.timeout,
                    "no complete answer within " + timeout.toMillis() + " ms",
                    started,
                    startNanos);
        } catch (ExecutionException e) {
            return classify(e.getCause(), started, startNanos);
        }
    }

    /** Reads at most {@link #MAX_RESPONSE_BYTES} of the body, then drops the rest by aborting the exchange. */
    private static String readCapped(InputStreamResponseListener listener, Request request) {
        byte[] buffer = new byte[MAX_RESPONSE_BYTES];
        int length = 0;
        try (InputStream in = listener.getInputStream()) {
            while (length < buffer.length) {
                int n = in.read(buffer, length, buffer.length - length);
                if (n < 0) {
                    break;
                }
                length += n;
            }
            if (length == buffer.length && in.read() >= 0) {
                request.abort(new IOException("response body larger than " + MAX_RESPONSE_BYTES + " bytes: not read"));
            }
        } catch (IOException e) {
            // The status is known; a body that breaks off or times out is kept as far as it came.
        }
        return new String(buffer, 0, length, StandardCharsets.UTF_8);
    }

    /** Where a 307/308 from {@code from} may lead: a URL webhooks may call, and never from https to http. */
    static Optional<URI> redirect(URI from, String location, AddressPolicy policy) {
        if (location == null || location.isBlank()) {
            return Optional.empty();
        }
        try {
            URI next = WebhookUrl.parse(from.resolve(location.trim()).toString(), "Location", policy)
                    .uri();
            // A request that left over https never continues in clear text: a lifecycle message carries an
            // access token, and every message its signature and data. Like http registrations of lifecycle
            // endpoints, a downgrade is allowed only where private addresses are (development and tests).
            if (from.getScheme().equalsIgnoreCase("https") && !policy.mayCarrySecretsTo(next)) {
                return Optional.empty();
            }
            return Optional.of(next);
        } catch (Refusal | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private Attempt result(
            Attempt.Outcome outcome,
            int status,
            String error,
            String body,
            Response response,
            Instant started,
            long startNanos) {
        Optional<Duration> retryAfter = status == 429 || status == 503
                ? RetryPolicy.parseRetryAfter(response.getHeaders().get(HttpHeader.RETRY_AFTER), clock.instant())
                : Optional.empty();
        return new Attempt(outcome, status, error, body, retryAfter, started, millisSince(startNanos));
    }

    private static Attempt failure(Attempt.Outcome outcome, String error, Instant started, long startNanos) {
        return new Attempt(outcome, null, error, null, Optional.empty(), started, millisSince(startNanos));
    }

    private Attempt classify(Throwable cause, Instant started, long startNanos) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof GuardedResolver.BlockedAddressException) {
                return failure(Attempt.Outcome.blocked_address, t.getMessage(), started, startNanos);
            }
            if (t instanceof TimeoutException || t instanceof java.net.SocketTimeoutException) {
                return failure(
                        Attempt.Outcome.timeout,
                        "no complete answer within " + timeout.toMillis() + " ms",
                        started,
                        startNanos);
            }
            if (t instanceof UnknownHostException) {
                return failure(
                        Attempt.Outcome.connection_error, "unknown host: " + t.getMessage(), started, startNanos);
            }
            if (t instanceof ConnectException) {
                return failure(
                        Attempt.Outcome.connection_error, "connection refused: " + t.getMessage(), started, startNanos);
            }
            if (t instanceof SSLException) {
                return failure(Attempt.Outcome.connection_error, "TLS failed: " + t.getMessage(), started, startNanos);
            }
        }
        return failure(Attempt.Outcome.connection_error, String.valueOf(cause), started, startNanos);
    }

    private static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    @Override
    public void close() {
        try {
            client.stop();
        } catch (Exception e) {
            // stopping: nothing more to send
        }
        resolver.shutdownNow();
    }
}
