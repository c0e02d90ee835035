package dev.switchboard.webhooks;

import dev.switchboard.support.Refusal;
import dev.switchboard.support.Tokens;
import dev.switchboard.support.Utf8;
import dev.switchboard.tracing.Tracing;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocketFactory;

/**
 * Sends one webhook request and reports what it came to. The whole attempt, redirects included, fits
 * in the timeout. 307 and 308 are followed (up to {@value #MAX_REDIRECTS} times) to URLs that pass the
 * same rules as registered ones, with the same body and headers; other statuses are the answer. Its
 * first {@value #MAX_RESPONSE_BYTES} bytes of response body are kept with the attempt, with any token in
 * them masked; a 2xx is read to its end, another status as far as {@value WebhookConnection#MAX_BODY} bytes
 * (a connection with more of it left is closed rather than read).
 * Requests go over HTTP/1.1 keep-alive connections ({@link WebhookConnections}).
 */
public final class WebhookSender implements AutoCloseable {
    static final int MAX_REDIRECTS = 5;
    static final int MAX_RESPONSE_BYTES = 1024;
    static final String USER_AGENT = "Switchboard-Webhooks/" + dev.switchboard.support.Version.current();

    private final WebhookConnections connections;
    private final Duration timeout;
    private final AddressPolicy policy;
    private final InstantSource clock;

    public WebhookSender(
            Duration timeout, AddressPolicy policy, int maxConnectionsPerDestination, InstantSource clock) {
        this(timeout, policy, maxConnectionsPerDestination, clock, (SSLSocketFactory) SSLSocketFactory.getDefault());
    }

    /** With {@code tls} deciding which certificates are trusted (the JVM's trust store by default). */
    WebhookSender(
            Duration timeout,
            AddressPolicy policy,
            int maxConnectionsPerDestination,
            InstantSource clock,
            SSLSocketFactory tls) {
        this.timeout = timeout;
        this.policy = policy;
        this.clock = clock;
        this.connections = new WebhookConnections(new GuardedResolver(policy), maxConnectionsPerDestination, tls);
    }

    /** The Standard Webhooks headers of one attempt. */
    public record Signed(String messageId, long timestamp, String signature) {}

    /**
     * POSTs {@code body} to {@code url} for integration {@code integrationPk} (whose connections are its
     * own: {@link WebhookConnections}); blocks (on a virtual thread) until the attempt has an outcome.
     */
    public Attempt send(long integrationPk, WebhookUrl url, String body, Signed headers) {
        return withoutQuery(attempt(integrationPk, url, body, headers), url.uri());
    }

    /**
     * {@code attempt} without {@code url}'s query in its error or response excerpt. A receiver quoting its
     * request line (a 404 page, a service that is not HTTP) quotes the query, which often holds the
     * receiver's own secret: attempts are shown where the query is not (a portal session without
     * {@code secrets}) and logged, where URLs are written {@code ?…}.
     */
    static Attempt withoutQuery(Attempt attempt, URI url) {
        String raw = url.getRawQuery();
        if (raw == null || raw.isEmpty() || attempt.error() == null && attempt.responseBody() == null) {
            return attempt;
        }
        // The whole query as sent, as registered and decoded, then each value long enough to be a secret
        // (a short one, v=2, would hide the same text wherever the answer has it); each also as JSON encoders
        // write it into an answer that echoes it: PHP's json_encode writes / as \/ (a base64 secret's
        // slashes), Go's & as \u0026.
        List<String> forms = Stream.concat(
                        Stream.of(ascii(raw), raw, url.getQuery()),
                        Stream.of(raw.split("&"))
                                .map(pair -> pair.substring(pair.indexOf('=') + 1))
                                .flatMap(value -> Stream.of(value, URLDecoder.decode(value, StandardCharsets.UTF_8))))
                .filter(f -> f != null && f.length() >= 8)
                .flatMap(f -> Stream.of(f, f.replace("/", "\\/"), f.replace("&", "\\u0026")))
                .distinct()
                .sorted(Comparator.comparingInt(String::length).reversed())
                .toList();
        return new Attempt(
                attempt.outcome(),
                attempt.status(),
                hidden(attempt.error(), forms),
                hidden(attempt.responseBody(), forms),
                attempt.retryAfter(),
                attempt.startedAt(),
                attempt.durationMillis());
    }

    private static String hidden(String text, List<String> forms) {
        if (text == null) {
            return null;
        }
        for (String form : forms) {
            text = text.replace(form, "…");
        }
        return text;
    }

    private Attempt attempt(long integrationPk, WebhookUrl url, String body, Signed headers) {
        Instant started = clock.instant();
        long startNanos = System.nanoTime();
        long deadline = startNanos + timeout.toNanos();
        URI target = url.uri();
        byte[] content = body.getBytes(StandardCharsets.UTF_8);
        try {
            for (int hop = 0; ; hop++) {
                WebhookConnection.Answer answer =
                        connections.exchange(integrationPk, target, request(target, content, headers), deadline);
                int status = answer.status();
                if ((status == 307 || status == 308) && hop < MAX_REDIRECTS) {
                    Optional<URI> next = redirect(target, answer.location(), policy);
                    if (next.isEmpty()) {
                        return result(
                                Attempt.Outcome.redirect_error,
                                answer,
                                "redirect to a URL webhooks may not call: " + WebhookUrl.redact(answer.location()),
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
                return result(outcome, answer, error, started, startNanos);
            }
        } catch (WebhookConnection.OversizedAnswer e) {
            return result(Attempt.Outcome.http_error, e.answer, e.getMessage(), started, startNanos);
        } catch (IOException e) {
            return classify(e, started, startNanos);
        }
    }

    /** A POST of {@code content} to {@code target}, head and body. */
    private static byte[] request(URI target, byte[] content, Signed signed) {
        StringBuilder head = new StringBuilder(512);
        String path = target.getRawPath() == null || target.getRawPath().isEmpty() ? "/" : target.getRawPath();
        head.append("POST ").append(ascii(path));
        if (target.getRawQuery() != null) {
            head.append('?').append(ascii(target.getRawQuery()));
        }
        head.append(" HTTP/1.1\r\nHost: ").append(target.getHost());
        if (target.getPort() >= 0) {
            head.append(':').append(target.getPort());
        }
        head.append("\r\nUser-Agent: ").append(USER_AGENT);
        head.append("\r\nContent-Type: application/json");
        head.append("\r\nContent-Length: ").append(content.length);
        BiConsumer<String, String> header = (name, value) -> {
            if (value.indexOf('\r') >= 0 || value.indexOf('\n') >= 0) {
                throw new IllegalArgumentException("a line break in the value of header " + name);
            }
            head.append("\r\n").append(name).append(": ").append(value);
        };
        header.accept("webhook-id", signed.messageId());
        header.accept("webhook-timestamp", Long.toString(signed.timestamp()));
        header.accept("webhook-signature", signed.signature());
        Tracing.inject(header); // the attempt's span, when traced
        byte[] headBytes = head.append("\r\n\r\n").toString().getBytes(StandardCharsets.UTF_8);
        byte[] request = Arrays.copyOf(headBytes, headBytes.length + content.length);
        System.arraycopy(content, 0, request, headBytes.length, content.length);
        return request;
    }

    /**
     * A request line is ASCII (RFC 9112): a URL registered with other characters ({@code /hé}) has them
     * sent as the escapes of their UTF-8 bytes, as a browser would, which every receiver reads.
     */
    static String ascii(String raw) {
        for (int i = 0; i < raw.length(); i++) {
            if (raw.charAt(i) >= 0x80) {
                return URI.create("http://h/?" + raw).toASCIIString().substring("http://h/?".length());
            }
        }
        return raw;
    }

    /**
     * A header's text as its sender most likely meant it: header bytes are read one character each
     * (ISO-8859-1), so a {@code Location} holding UTF-8 ({@code /dést}) is decoded again as UTF-8 when its
     * bytes are that; else it stays as read.
     */
    static String utf8(String header) {
        return Utf8.decode(header.getBytes(StandardCharsets.ISO_8859_1)).orElse(header);
    }

    /** Where a 307/308 from {@code from} may lead: a URL webhooks may call, and never from https to http. */
    static Optional<URI> redirect(URI from, String location, AddressPolicy policy) {
        if (location == null || location.isBlank()) {
            return Optional.empty();
        }
        // A fragment is allowed in Location (RFC 9110) and never sent: dropped, not a reason to refuse.
        String target = utf8(location.trim());
        int fragment = target.indexOf('#');
        if (fragment >= 0) {
            target = target.substring(0, fragment);
        }
        try {
            URI next = WebhookUrl.parse(from.resolve(target).toString(), "Location", policy)
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
            Attempt.Outcome outcome, WebhookConnection.Answer answer, String error, Instant started, long startNanos) {
        int status = answer.status();
        Optional<Duration> retryAfter = status == 429 || status == 503
                ? RetryPolicy.parseRetryAfter(answer.retryAfter(), clock.instant())
                : Optional.empty();
        // A receiver echoing its request (an error page quoting its input) would otherwise put a lifecycle
        // message's access token into the attempt, which the messages API shows, to a read-only portal too.
        return new Attempt(
                outcome, status, error, Tokens.masked(answer.body()), retryAfter, started, millisSince(startNanos));
    }

    private static Attempt failure(Attempt.Outcome outcome, String error, Instant started, long startNanos) {
        return new Attempt(outcome, null, error, null, Optional.empty(), started, millisSince(startNanos));
    }

    private Attempt classify(IOException cause, Instant started, long startNanos) {
        if (Thread.currentThread().isInterrupted()
                || cause instanceof InterruptedIOException && !(cause instanceof SocketTimeoutException)) {
            return failure(Attempt.Outcome.connection_error, "interrupted: the node is stopping", started, startNanos);
        }
        return switch (cause) {
            case GuardedResolver.BlockedAddressException blocked ->
                failure(Attempt.Outcome.blocked_address, blocked.getMessage(), started, startNanos);
            case SocketTimeoutException timedOut ->
                failure(
                        Attempt.Outcome.timeout,
                        "no complete answer within " + timeout.toMillis() + " ms",
                        started,
                        startNanos);
            case UnknownHostException unknown ->
                failure(Attempt.Outcome.connection_error, "unknown host: " + unknown.getMessage(), started, startNanos);
            case ConnectException refused ->
                failure(
                        Attempt.Outcome.connection_error,
                        "connection refused: " + refused.getMessage(),
                        started,
                        startNanos);
            case SSLException tls ->
                failure(Attempt.Outcome.connection_error, "TLS failed: " + tls.getMessage(), started, startNanos);
            // the message alone: the attempt is shown to the partner, who has no use for a Java class name
            default ->
                failure(
                        Attempt.Outcome.connection_error,
                        cause.getMessage() == null ? "the connection failed" : cause.getMessage(),
                        started,
                        startNanos);
        };
    }

    private static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    @Override
    public void close() {
        connections.close();
    }
}
