package dev.switchboard.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Every setting Switchboard reads, each described once, in the order of the bundled defaults file.
 * The loader takes its defaults, environment variables and checks from here; {@code
 * SettingTableTest} holds {@code switchboard-defaults.yaml} (values and comments) and the README's
 * configuration table to it. Checks that involve two settings are in {@link ConfigLoader}.
 *
 * <p>An empty default means unset. The one setting not here is {@link #COLLECTIONS}: a list of
 * mappings, written in the file only.
 */
final class SettingTable {
    private SettingTable() {}

    /** Collections declared in the file: a list of {@code name}, {@code schema}, {@code eventFields}; no variable. */
    static final String COLLECTIONS = "collections";

    static final Setting<String> HOST = new Setting<>(
            "server.host",
            "SWITCHBOARD_HOST",
            "0.0.0.0",
            Parsers::trimmed,
            // localhost:9000 was taken for a host name, and the start failed as "port already in use".
            check(
                    host -> !host.isEmpty() && !host.matches("[^:\\[\\]]+:\\d*"),
                    "must be a host name or address, without a port (that is server.port)"),
            "address the HTTP server binds");
    static final Setting<Integer> PORT = new Setting<>(
            "server.port",
            "SWITCHBOARD_PORT",
            "8080",
            Parsers::wholeNumber,
            check(port -> port >= 0 && port <= 65535, "must be between 0 and 65535"),
            "0 picks a free port");
    static final Setting<Optional<Integer>> MANAGEMENT_PORT = new Setting<>(
            "server.managementPort",
            "SWITCHBOARD_MANAGEMENT_PORT",
            "",
            Parsers.optional(Parsers::wholeNumber),
            ifPresent(port -> port >= 0 && port <= 65535, "must be between 0 and 65535, or empty for none"),
            "a second port for /metrics and /health/*; when set, /metrics is not served on server.port; empty: none");
    static final Setting<Optional<String>> PUBLIC_URL = new Setting<>(
            "server.publicUrl",
            "SWITCHBOARD_PUBLIC_URL",
            "",
            Parsers.optional(Parsers::trimmed),
            ifPresent(
                    SettingTable::isPublicUrl,
                    "must be an http:// or https:// URL with a host (and a port from 1 to 65535, if any) and no query,"
                            + " fragment or credentials, e.g."
                            + " https://switchboard.example.com"),
            "the address partners reach this server at, for the links it hands out (portal links) and the server"
                    + " the AsyncAPI document names; empty: the scheme and Host of the request that asked");
    static final Setting<Optional<String>> MANAGEMENT_HOST = new Setting<>(
            "server.managementHost",
            "SWITCHBOARD_MANAGEMENT_HOST",
            "",
            Parsers.optional(Parsers::trimmed),
            ifPresent(host -> host.matches("[A-Za-z0-9.:%\\[\\]-]+"), "must be a host name or an IP address"),
            "address the management port binds, e.g. 127.0.0.1 to keep /metrics off the network (needs"
                    + " server.managementPort); empty: server.host");
    static final Setting<Long> MAX_BODY_SIZE = new Setting<>(
            "server.maxBodySize",
            "SWITCHBOARD_MAX_BODY_SIZE",
            "1MiB",
            Parsers::size,
            // A body is read into memory before its request is authenticated: the bound keeps an operator's
            // raised limit from letting anonymous clients hold gigabytes of heap each.
            check(bytes -> bytes >= 1024 && bytes <= 64L << 20, "must be between 1KiB and 64MiB"),
            "larger request bodies get 413");
    static final Setting<Duration> SHUTDOWN_GRACE = new Setting<>(
            "server.shutdownGrace",
            "SWITCHBOARD_SHUTDOWN_GRACE",
            "5s",
            Durations::parse,
            check(d -> d.compareTo(Duration.ofMinutes(5)) <= 0, "must be at most 5m"),
            "on SIGTERM, /health/ready answers 503 this long before the node stops accepting requests; not with the embedded database");

    static final Setting<String> DATA_DIR = new Setting<>(
            "dataDir",
            "SWITCHBOARD_DATA_DIR",
            "./data",
            Parsers::trimmed,
            check(dir -> !dir.isEmpty(), "must not be empty"),
            "embedded PostgreSQL lives in <dataDir>/postgres");

    static final Setting<Optional<DatabaseUrl>> DATABASE_URL = new Setting<>(
            "database.url",
            "SWITCHBOARD_DATABASE_URL",
            "",
            Parsers.optional(DatabaseUrl::parse),
            Setting.Check.NONE,
            "external PostgreSQL; empty runs the embedded one");
    static final Setting<Integer> DATABASE_POOL_SIZE = new Setting<>(
            "database.poolSize",
            "SWITCHBOARD_DATABASE_POOL_SIZE",
            "16",
            Parsers::wholeNumber,
            check(size -> size >= 2 && size <= 500, "must be between 2 and 500"),
            "connections per node");
    static final Setting<Duration> DATABASE_READ_TIMEOUT = new Setting<>(
            "database.readTimeout",
            "SWITCHBOARD_DATABASE_READ_TIMEOUT",
            "60s",
            Durations::parse,
            check(
                    d -> between(d, Duration.ofSeconds(1), Duration.ofHours(1)) && d.getNano() == 0,
                    "must be whole seconds between 1s and 1h"),
            "longest wait for one answer from the database before its connection is dropped and the query fails");

    static final Setting<Optional<String>> ADMIN_KEY = new Setting<>(
                    "adminKey",
                    "SWITCHBOARD_ADMIN_KEY",
                    "",
                    Parsers.optional(Function.identity()),
                    // At most what the console's sign-in takes: a longer key could never sign in to it. Visible
                    // ASCII only: HTTP header values are not UTF-8, so a key with other characters signed in to
                    // the console (a JSON body) but was never matched as a bearer token.
                    ifPresent(
                            key -> key.length() >= 24
                                    && key.length() <= 200
                                    && key.chars().allMatch(c -> c > ' ' && c < 0x7f),
                            "must be between 24 and 200 characters, each a visible ASCII one (no spaces)"),
                    "empty generates one on first start, prints it once")
            .asSecret();
    static final Setting<Optional<String>> SECRET_KEY = new Setting<>(
                    "secretKey",
                    "SWITCHBOARD_SECRET_KEY",
                    "",
                    Parsers.optional(Function.identity()),
                    ifPresent(Parsers::isBase64Of32Bytes, "must be the base64 of 32 bytes"),
                    "base64 of 32 bytes sealing secrets at rest; empty generates one")
            .asSecret();

    static final Setting<Integer> RATE_LIMIT_REQUESTS = new Setting<>(
            "rateLimit.requests",
            "SWITCHBOARD_RATE_LIMIT_REQUESTS",
            "200",
            Parsers::wholeNumber,
            check(n -> n >= 1 && n <= 1_000_000, "must be between 1 and 1000000"),
            "requests per access token per window");
    static final Setting<Duration> RATE_LIMIT_WINDOW = new Setting<>(
            "rateLimit.window",
            "SWITCHBOARD_RATE_LIMIT_WINDOW",
            "30s",
            Durations::parse,
            check(d -> !d.isZero(), "must be longer than 0"),
            "sliding window length");
    static final Setting<Integer> RATE_LIMIT_AUTH_FAILURES = new Setting<>(
            "rateLimit.authFailures",
            "SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES",
            "20",
            Parsers::wholeNumber,
            check(n -> n >= 0 && n <= 1_000_000, "must be between 0 (no limit) and 1000000"),
            "refused tokens per client address per window before 429; 0: no limit");
    static final Setting<Duration> RATE_LIMIT_AUTH_FAILURES_WINDOW = new Setting<>(
            "rateLimit.authFailuresWindow",
            "SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES_WINDOW",
            "1m",
            Durations::parse,
            check(d -> between(d, Duration.ofSeconds(1), Duration.ofDays(1)), "must be between 1s and 24h"),
            "sliding window for refused tokens");

    static final Setting<Duration> EVENTS_RETENTION = new Setting<>(
            "events.retention",
            "SWITCHBOARD_EVENTS_RETENTION",
            "7d",
            Durations::parse,
            check(d -> d.compareTo(Duration.ofMinutes(1)) >= 0, "must be at least 1m"),
            "older events are deleted in small batches");
    static final Setting<Duration> AUDIT_RETENTION = new Setting<>(
            "audit.retention",
            "SWITCHBOARD_AUDIT_RETENTION",
            "90d",
            Durations::parse,
            check(d -> d.compareTo(Duration.ofDays(1)) >= 0, "must be at least 1d"),
            "audit log entries older than this are deleted, in small batches");
    static final Setting<Duration> EVENTS_MAX_WAIT = new Setting<>(
            "events.maxWait",
            "SWITCHBOARD_EVENTS_MAX_WAIT",
            "30s",
            Durations::parse,
            // wait= is in seconds: 1500ms would act as 1s, and 500ms refuse every wait but 0.
            check(
                    d -> d.compareTo(Duration.ofMinutes(5)) <= 0 && d.getNano() == 0,
                    "must be whole seconds, at most 5m"),
            "longest long poll (GET /api/v1/events?wait=)");

    static final Setting<String> LOG_FORMAT = new Setting<>(
            "log.format",
            "SWITCHBOARD_LOG_FORMAT",
            "text",
            Parsers::trimmed,
            check(f -> f.equals("text") || f.equals("json"), "must be text or json"),
            "text or json");

    static final Setting<Boolean> WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = new Setting<>(
            "webhooks.allowPrivateAddresses",
            "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES",
            "false",
            Parsers::bool,
            Setting.Check.NONE,
            "true lets webhooks call loopback and private addresses (development, tests)");
    static final Setting<List<Cidr>> WEBHOOKS_ALLOWED_ADDRESSES = new Setting<>(
            "webhooks.allowedAddresses",
            "SWITCHBOARD_WEBHOOKS_ALLOWED_ADDRESSES",
            "",
            Parsers.list(Cidr::parse),
            Setting.Check.NONE,
            "ranges webhooks may call although private (10.1.0.0/16,fd00::/8)");
    static final Setting<List<Duration>> WEBHOOKS_RETRY_DELAYS = new Setting<>(
            "webhooks.retryDelays",
            "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS",
            "1m,5m",
            Parsers.list(Durations::parse),
            check(delays -> delays.size() <= 20, "at most 20 delays"),
            "delays between attempts (jittered); after the last attempt a message is abandoned");
    static final Setting<Duration> WEBHOOKS_TIMEOUT = new Setting<>(
            "webhooks.timeout",
            "SWITCHBOARD_WEBHOOKS_TIMEOUT",
            "5s",
            Durations::parse,
            check(d -> between(d, Duration.ofMillis(100), Duration.ofMinutes(2)), "must be between 100ms and 2m"),
            "an attempt with no complete answer by then has failed");
    static final Setting<Duration> WEBHOOKS_DISABLE_AFTER = new Setting<>(
            "webhooks.disableAfter",
            "SWITCHBOARD_WEBHOOKS_DISABLE_AFTER",
            "24h",
            Durations::parse,
            check(d -> !d.isZero(), "must be longer than 0"),
            "an endpoint failing continuously this long is disabled");
    static final Setting<Duration> WEBHOOKS_SECRET_GRACE_PERIOD = new Setting<>(
            "webhooks.secretGracePeriod",
            "SWITCHBOARD_WEBHOOKS_SECRET_GRACE_PERIOD",
            "24h",
            Durations::parse,
            Setting.Check.NONE,
            "a rotated-out signing secret keeps signing this long");
    static final Setting<Duration> WEBHOOKS_LEASE_TIME = new Setting<>(
            "webhooks.leaseTime",
            "SWITCHBOARD_WEBHOOKS_LEASE_TIME",
            "30s",
            Durations::parse,
            Setting.Check.NONE,
            "a node holds a delivery stream this long without renewing it");
    static final Setting<Integer> WEBHOOKS_CONCURRENCY = new Setting<>(
            "webhooks.concurrency",
            "SWITCHBOARD_WEBHOOKS_CONCURRENCY",
            "64",
            Parsers::wholeNumber,
            check(n -> n >= 1 && n <= 10_000, "must be between 1 and 10000"),
            "webhook requests one node sends at once");
    static final Setting<Integer> WEBHOOKS_ENDPOINT_CONCURRENCY = new Setting<>(
            "webhooks.endpointConcurrency",
            "SWITCHBOARD_WEBHOOKS_ENDPOINT_CONCURRENCY",
            "8",
            Parsers::wholeNumber,
            Setting.Check.NONE,
            "of those, at most this many to one endpoint");
    static final Setting<Optional<Integer>> WEBHOOKS_INTEGRATION_CONCURRENCY = new Setting<>(
            "webhooks.integrationConcurrency",
            "SWITCHBOARD_WEBHOOKS_INTEGRATION_CONCURRENCY",
            "",
            Parsers.optional(Parsers::wholeNumber),
            Setting.Check.NONE,
            "of those, at most this many to one integration's endpoints; empty: half of webhooks.concurrency");
    static final Setting<Duration> WEBHOOKS_MAX_RETRY_AFTER = new Setting<>(
            "webhooks.maxRetryAfter",
            "SWITCHBOARD_WEBHOOKS_MAX_RETRY_AFTER",
            "1h",
            Durations::parse,
            Setting.Check.NONE,
            "the longest Retry-After (429, 503) that is honoured");

    static final Setting<Duration> WEBSOCKETS_PING_INTERVAL = new Setting<>(
            "websockets.pingInterval",
            "SWITCHBOARD_WEBSOCKETS_PING_INTERVAL",
            "25s",
            Durations::parse,
            check(d -> between(d, Duration.ofMillis(100), Duration.ofMinutes(10)), "must be between 100ms and 10m"),
            "the server pings every connection this often");
    static final Setting<Duration> WEBSOCKETS_PING_TIMEOUT = new Setting<>(
            "websockets.pingTimeout",
            "SWITCHBOARD_WEBSOCKETS_PING_TIMEOUT",
            "20s",
            Durations::parse,
            check(d -> !d.isZero(), "must be longer than 0"),
            "a connection that does not answer a ping by then is closed");
    static final Setting<Long> WEBSOCKETS_QUEUE_SIZE = new Setting<>(
            "websockets.queueSize",
            "SWITCHBOARD_WEBSOCKETS_QUEUE_SIZE",
            "1MiB",
            Parsers::size,
            check(bytes -> bytes >= 16 * 1024, "must be at least 16KiB"),
            "bytes waiting for one client before it is closed as a slow consumer");
    static final Setting<Long> WEBSOCKETS_MAX_MESSAGE_SIZE = new Setting<>(
            "websockets.maxMessageSize",
            "SWITCHBOARD_WEBSOCKETS_MAX_MESSAGE_SIZE",
            "64KiB",
            Parsers::size,
            check(bytes -> bytes >= 1024 && bytes <= 16 * 1024 * 1024, "must be between 1KiB and 16MiB"),
            "larger client messages close the connection");
    static final Setting<Integer> WEBSOCKETS_MAX_SOCKETS_PER_CONNECTION = new Setting<>(
            "websockets.maxSocketsPerConnection",
            "SWITCHBOARD_WEBSOCKETS_MAX_SOCKETS_PER_CONNECTION",
            "1000",
            Parsers::wholeNumber,
            check(n -> n >= 1 && n <= 1_000_000, "must be between 1 and 1000000"),
            "open sockets per access token per node");
    static final Setting<List<WebOrigin>> WEBSOCKETS_ALLOWED_ORIGINS = new Setting<>(
            "websockets.allowedOrigins",
            "SWITCHBOARD_WEBSOCKETS_ALLOWED_ORIGINS",
            "",
            Parsers.list(WebOrigin::parse),
            Setting.Check.NONE,
            "origins besides the server's own whose pages may open a socket with the AccessToken cookie"
                    + " (https://app.example.com,https://admin.example.com:8443)");

    static final Setting<Duration> CONSOLE_SESSION_IDLE_TIMEOUT = new Setting<>(
            "console.sessionIdleTimeout",
            "SWITCHBOARD_CONSOLE_SESSION_IDLE_TIMEOUT",
            "30m",
            Durations::parse,
            check(d -> between(d, Duration.ofMinutes(1), Duration.ofHours(24)), "must be between 1m and 24h"),
            "a console or portal session with no request this long is signed out");
    static final Setting<List<String>> PORTAL_FRAME_ANCESTORS = new Setting<>(
            "portal.frameAncestors",
            "SWITCHBOARD_PORTAL_FRAME_ANCESTORS",
            "self",
            Parsers.list(ConsoleSettings::frameAncestor),
            check(
                    list -> !list.isEmpty() && (!list.contains("none") || list.size() == 1),
                    "must list self, origins, or none alone"),
            "pages that may show the partner portal in a frame: self, none, or origins (self,https://app.example.com)");
    static final Setting<String> PORTAL_NAME = new Setting<>(
            "portal.name",
            "SWITCHBOARD_PORTAL_NAME",
            "Switchboard",
            Parsers::trimmed,
            check(name -> !name.isEmpty() && name.length() <= 60, "must be 1 to 60 characters"),
            "the platform's name, shown by the console and the portal");
    static final Setting<String> PORTAL_ACCENT_COLOR = new Setting<>(
            "portal.accentColor",
            "SWITCHBOARD_PORTAL_ACCENT_COLOR",
            "#2563eb",
            Parsers::trimmed,
            check(color -> color.matches("#[0-9a-fA-F]{6}"), "must be a colour like #2563eb"),
            "the portal's accent colour, #rrggbb");

    static final List<Setting<?>> ALL = List.of(
            HOST,
            PORT,
            MANAGEMENT_PORT,
            MANAGEMENT_HOST,
            PUBLIC_URL,
            MAX_BODY_SIZE,
            SHUTDOWN_GRACE,
            DATA_DIR,
            DATABASE_URL,
            DATABASE_POOL_SIZE,
            DATABASE_READ_TIMEOUT,
            ADMIN_KEY,
            SECRET_KEY,
            RATE_LIMIT_REQUESTS,
            RATE_LIMIT_WINDOW,
            RATE_LIMIT_AUTH_FAILURES,
            RATE_LIMIT_AUTH_FAILURES_WINDOW,
            EVENTS_RETENTION,
            EVENTS_MAX_WAIT,
            AUDIT_RETENTION,
            LOG_FORMAT,
            WEBHOOKS_ALLOW_PRIVATE_ADDRESSES,
            WEBHOOKS_ALLOWED_ADDRESSES,
            WEBHOOKS_RETRY_DELAYS,
            WEBHOOKS_TIMEOUT,
            WEBHOOKS_DISABLE_AFTER,
            WEBHOOKS_SECRET_GRACE_PERIOD,
            WEBHOOKS_LEASE_TIME,
            WEBHOOKS_CONCURRENCY,
            WEBHOOKS_ENDPOINT_CONCURRENCY,
            WEBHOOKS_INTEGRATION_CONCURRENCY,
            WEBHOOKS_MAX_RETRY_AFTER,
            WEBSOCKETS_PING_INTERVAL,
            WEBSOCKETS_PING_TIMEOUT,
            WEBSOCKETS_QUEUE_SIZE,
            WEBSOCKETS_MAX_MESSAGE_SIZE,
            WEBSOCKETS_MAX_SOCKETS_PER_CONNECTION,
            WEBSOCKETS_ALLOWED_ORIGINS,
            CONSOLE_SESSION_IDLE_TIMEOUT,
            PORTAL_FRAME_ANCESTORS,
            PORTAL_NAME,
            PORTAL_ACCENT_COLOR);

    /** Settings by YAML path; building it refuses two settings with one path. */
    static final Map<String, Setting<?>> BY_PATH =
            ALL.stream().collect(Collectors.toUnmodifiableMap(Setting::path, Function.identity()));

    /** Settings by environment variable; building it refuses two settings with one variable. */
    static final Map<String, Setting<?>> BY_VARIABLE =
            ALL.stream().collect(Collectors.toUnmodifiableMap(Setting::variable, Function.identity()));

    private static <T> Setting.Check<T> check(Predicate<T> test, String expectation) {
        return new Setting.Check<>(test, expectation);
    }

    /** A check of an optional setting's value when it is set; unset always passes. */
    private static <T> Setting.Check<Optional<T>> ifPresent(Predicate<T> test, String expectation) {
        return new Setting.Check<>(value -> value.isEmpty() || test.test(value.get()), expectation);
    }

    private static boolean isPublicUrl(String url) {
        try {
            java.net.URI uri = new java.net.URI(url);
            return ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
                    && uri.getHost() != null
                    && (uri.getPort() == -1 || uri.getPort() >= 1 && uri.getPort() <= 65535)
                    && uri.getRawUserInfo() == null
                    && uri.getRawQuery() == null
                    && uri.getRawFragment() == null;
        } catch (java.net.URISyntaxException e) {
            return false;
        }
    }

    private static boolean between(Duration d, Duration min, Duration max) {
        return d.compareTo(min) >= 0 && d.compareTo(max) <= 0;
    }
}
