package dev.switchboard.client;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A client of one Switchboard server with one token: usually a connection's access token
 * ({@code sb_access_…}), or the admin key acting for a tenant ({@link Builder#tenant}).
 *
 * <pre>{@code
 * SwitchboardClient client = SwitchboardClient.builder("https://switchboard.example.com", token).build();
 * DataRecord created = client.records("reservations").create(Map.of("state", "confirmed"), "order-1234");
 * for (DataRecord r : client.records("reservations").list()) { ... }
 * try (EventStream stream = client.eventStream(new FileCursorStore(Path.of("cursor")), events -> ...)) { ... }
 * }</pre>
 *
 * <p>Answers 429 are retried (up to {@link Builder#maxRetries}) after the answer's {@code Retry-After}, or a
 * short backoff when it has none; 503 too for reads, for requests with an {@code Idempotency-Key} (every
 * create has one) and for {@code server_busy} (refused before anything was done), not for an update or a
 * delete answered another 503, whose write may have been made before the answer was lost.
 * Other errors throw an {@link ApiException} subclass carrying the server's error code and request id.
 * Instances are thread-safe.
 */
public final class SwitchboardClient {
    static final String IDEMPOTENCY_KEY = "Idempotency-Key";
    /** The 503 of a node with no room for the request's body: refused before its route ran. */
    private static final String SERVER_BUSY = "server_busy";

    /**
     * Numbers as the server keeps them: a decimal read as a double would lose digits ({@code 12345678901234567.89}
     * became {@code 1.2345678901234568E16}), and a record read, changed and written back would store the loss.
     */
    static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
                    .build())
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();

    private final URI baseUrl;
    private final String token;
    private final String tenant;
    private final HttpClient http;
    private final Duration requestTimeout;
    private final int maxRetries;
    private final Duration maxRetryAfter;

    private SwitchboardClient(Builder b) {
        String base = b.baseUrl.endsWith("/") ? b.baseUrl.substring(0, b.baseUrl.length() - 1) : b.baseUrl;
        this.baseUrl = URI.create(base);
        if (!"http".equals(baseUrl.getScheme()) && !"https".equals(baseUrl.getScheme())) {
            throw new IllegalArgumentException("the server's URL must be http:// or https://, got " + b.baseUrl);
        }
        this.token = b.token;
        this.tenant = b.tenant;
        this.requestTimeout = b.requestTimeout;
        this.maxRetries = b.maxRetries;
        this.maxRetryAfter = b.maxRetryAfter;
        this.http = HttpClient.newBuilder().connectTimeout(b.connectTimeout).build();
    }

    /** A builder for a client of the server at {@code baseUrl} (e.g. {@code http://localhost:8080}) with {@code token}. */
    public static Builder builder(String baseUrl, String token) {
        return new Builder(baseUrl, token);
    }

    /** The records API of one collection. */
    public Records records(String collection) {
        return new Records(this, collection);
    }

    /** The event feed ({@code GET /api/v1/events}), read with long polls. */
    public EventFeed eventFeed(EventFeed.Options options) {
        return new EventFeed(this, options);
    }

    /**
     * Opens the tenant's event stream over the WebSocket and starts delivering to {@code listener}. The
     * stream resumes after the position {@code cursors} holds and saves each batch's last {@code seq}
     * there after the listener has returned. It needs a connection's access token: the server refuses
     * the admin key a socket (the stream ends with 403).
     */
    public EventStream eventStream(CursorStore cursors, EventStream.Listener listener) {
        return eventStream(EventStream.Options.defaults(), cursors, listener);
    }

    /** {@link #eventStream(CursorStore, EventStream.Listener)} with options (event types, backoff, heartbeat). */
    public EventStream eventStream(EventStream.Options options, CursorStore cursors, EventStream.Listener listener) {
        return EventStream.open(this, options, cursors, listener);
    }

    /** The connection the access token belongs to ({@code GET /api/v1/connection}; an access token only). */
    public ConnectionInfo connection() {
        return ConnectionInfo.from(
                send("GET", "/api/v1/connection", null, Map.of()).body());
    }

    /** The longest {@code Retry-After} waited for; a stream's handshake waits at most this long too. */
    Duration maxRetryAfter() {
        return maxRetryAfter;
    }

    URI baseUrl() {
        return baseUrl;
    }

    String token() {
        return token;
    }

    String tenant() {
        return tenant;
    }

    HttpClient http() {
        return http;
    }

    static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    /** An answer: its status, parsed body (null when empty) and headers of interest. */
    record Answer(int status, JsonNode body, String etag) {}

    /**
     * Sends one request, retrying 429 (and 503 where a second attempt cannot write twice), and returns a 2xx
     * answer or throws the error as an {@link ApiException}.
     */
    Answer send(String method, String path, Object body, Map<String, String> headers) {
        return send(method, path, body, headers, requestTimeout);
    }

    /** How long a request may take; a long poll adds its wait to it. */
    Duration requestTimeout() {
        return requestTimeout;
    }

    Answer send(String method, String path, Object body, Map<String, String> headers, Duration timeout) {
        String json;
        try {
            json = body == null ? null : MAPPER.writeValueAsString(body);
        } catch (IOException e) {
            throw new IllegalArgumentException("the request body cannot be written as JSON: " + e.getMessage(), e);
        }
        for (int attempt = 0; ; attempt++) {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path))
                    .timeout(timeout)
                    .header("Authorization", "Bearer " + token)
                    .header("Accept", "application/json");
            if (tenant != null) {
                request.header("Switchboard-Tenant", tenant);
            }
            headers.forEach(request::header);
            if (json != null) {
                request.header("Content-Type", "application/json");
                request.method(method, HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8));
            } else {
                request.method(method, HttpRequest.BodyPublishers.noBody());
            }
            HttpResponse<String> response = exchange(request.build(), method, path, timeout);
            int status = response.statusCode();
            JsonNode parsed = parse(response.body(), status, method, path);
            if (status >= 200 && status < 300) {
                if (parsed == null && !method.equals("DELETE")) {
                    throw new SwitchboardException(method + " " + path + " answered " + status + " without a body: is "
                            + baseUrl + " a Switchboard server?");
                }
                return new Answer(
                        status, parsed, response.headers().firstValue("ETag").orElse(null));
            }
            Duration retryAfter = response.headers()
                    .firstValue("Retry-After")
                    .map(SwitchboardClient::seconds)
                    .orElse(null);
            String requestId = response.headers().firstValue("Request-Id").orElse(null);
            // 429 and 503 server_busy: the request was refused before its route did anything. Any other 503
            // may come after its write committed (the database's answer was lost), so only a request that
            // cannot write twice is sent again.
            boolean again = status == 429
                    || (status == 503
                            && (method.equals("GET")
                                    || headers.containsKey(IDEMPOTENCY_KEY)
                                    || (parsed != null
                                            && SERVER_BUSY.equals(parsed.path("error")
                                                    .path("code")
                                                    .asText()))));
            if (again && attempt < maxRetries) {
                Duration wait = retryAfter != null ? retryAfter : Backoff.DEFAULT.delay(attempt);
                if (wait.compareTo(maxRetryAfter) <= 0) {
                    sleep(wait);
                    continue;
                }
            }
            throw ApiException.of(status, parsed, requestId, retryAfter);
        }
    }

    /**
     * One exchange, bounded by {@code timeout} as a whole: the JDK's own timeout ends at the answer's headers, and
     * a body that stalls after them would hold the call until the server closed the connection.
     */
    private HttpResponse<String> exchange(HttpRequest request, String method, String path, Duration timeout) {
        CompletableFuture<HttpResponse<String>> pending =
                http.sendAsync(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        try {
            return pending.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            pending.cancel(true);
            String message = method + " " + path + " did not answer within " + timeout;
            throw new SwitchboardException(message, new java.net.http.HttpTimeoutException(message));
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new SwitchboardException(method + " " + path + " failed: " + cause, cause);
        } catch (InterruptedException e) {
            pending.cancel(true);
            Thread.currentThread().interrupt();
            throw new SwitchboardException(method + " " + path + " was interrupted", e);
        }
    }

    private static JsonNode parse(String text, int status, String method, String path) {
        if (text == null || text.isEmpty()) {
            return null;
        }
        try {
            return MAPPER.readTree(text);
        } catch (IOException e) {
            if (status >= 200 && status < 300) {
                throw new SwitchboardException(
                        method + " " + path + " answered " + status + " with a body that is not JSON");
            }
            return null;
        }
    }

    private static Duration seconds(String header) {
        try {
            return Duration.ofSeconds(Math.max(0, Long.parseLong(header.trim())));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static void sleep(Duration wait) {
        try {
            Thread.sleep(wait.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SwitchboardException("interrupted while waiting to retry", e);
        }
    }

    /** Settings of a {@link SwitchboardClient}. */
    public static final class Builder {
        private final String baseUrl;
        private final String token;
        private String tenant;
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration requestTimeout = Duration.ofSeconds(30);
        private int maxRetries = 3;
        private Duration maxRetryAfter = Duration.ofSeconds(60);

        private Builder(String baseUrl, String token) {
            this.baseUrl = Objects.requireNonNull(baseUrl, "baseUrl");
            this.token = Objects.requireNonNull(token, "token");
        }

        /** With the admin key: the tenant it acts for (sent as {@code Switchboard-Tenant}). */
        public Builder tenant(String tenantId) {
            this.tenant = tenantId;
            return this;
        }

        /** How long a connection may take to open (default 10 s). */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = timeout;
            return this;
        }

        /** How long a request may take (default 30 s; a long poll adds its wait). */
        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = timeout;
            return this;
        }

        /** How many times a 429 or 503 answer is retried before it is thrown (default 3; 0 never retries). */
        public Builder maxRetries(int retries) {
            if (retries < 0) {
                throw new IllegalArgumentException("maxRetries must be 0 or more");
            }
            this.maxRetries = retries;
            return this;
        }

        /** A {@code Retry-After} longer than this is not waited for: the error is thrown (default 60 s). */
        public Builder maxRetryAfter(Duration max) {
            this.maxRetryAfter = max;
            return this;
        }

        /** The client. */
        public SwitchboardClient build() {
            return new SwitchboardClient(this);
        }
    }
}
