package dev.switchboard.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds the {@link Config}: bundled defaults, then the optional file, then the environment. Every
 * setting has one YAML path and one environment variable; anything unknown in either place fails the
 * start, naming it, so a misspelt setting never silently falls back to its default.
 */
public final class ConfigLoader {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Pattern SIZE = Pattern.compile("(\\d{1,12})\\s*(B|KiB|MiB|GiB)?");
    private static final String CONFIG_FILE_VARIABLE = "SWITCHBOARD_CONFIG";

    /** YAML path → environment variable, for every scalar setting. */
    static final Map<String, String> SETTINGS = new LinkedHashMap<>();

    static {
        SETTINGS.put("server.host", "SWITCHBOARD_HOST");
        SETTINGS.put("server.port", "SWITCHBOARD_PORT");
        SETTINGS.put("server.managementPort", "SWITCHBOARD_MANAGEMENT_PORT");
        SETTINGS.put("server.maxBodySize", "SWITCHBOARD_MAX_BODY_SIZE");
        SETTINGS.put("dataDir", "SWITCHBOARD_DATA_DIR");
        SETTINGS.put("database.url", "SWITCHBOARD_DATABASE_URL");
        SETTINGS.put("database.poolSize", "SWITCHBOARD_DATABASE_POOL_SIZE");
        SETTINGS.put("adminKey", "SWITCHBOARD_ADMIN_KEY");
        SETTINGS.put("secretKey", "SWITCHBOARD_SECRET_KEY");
        SETTINGS.put("rateLimit.requests", "SWITCHBOARD_RATE_LIMIT_REQUESTS");
        SETTINGS.put("rateLimit.window", "SWITCHBOARD_RATE_LIMIT_WINDOW");
        SETTINGS.put("rateLimit.authFailures", "SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES");
        SETTINGS.put("rateLimit.authFailuresWindow", "SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES_WINDOW");
        SETTINGS.put("events.retention", "SWITCHBOARD_EVENTS_RETENTION");
        SETTINGS.put("events.maxWait", "SWITCHBOARD_EVENTS_MAX_WAIT");
        SETTINGS.put("log.format", "SWITCHBOARD_LOG_FORMAT");
        SETTINGS.put("webhooks.allowPrivateAddresses", "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES");
        SETTINGS.put("webhooks.allowedAddresses", "SWITCHBOARD_WEBHOOKS_ALLOWED_ADDRESSES");
        SETTINGS.put("webhooks.retryDelays", "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS");
        SETTINGS.put("webhooks.timeout", "SWITCHBOARD_WEBHOOKS_TIMEOUT");
        SETTINGS.put("webhooks.disableAfter", "SWITCHBOARD_WEBHOOKS_DISABLE_AFTER");
        SETTINGS.put("webhooks.secretGracePeriod", "SWITCHBOARD_WEBHOOKS_SECRET_GRACE_PERIOD");
        SETTINGS.put("webhooks.leaseTime", "SWITCHBOARD_WEBHOOKS_LEASE_TIME");
        SETTINGS.put("webhooks.concurrency", "SWITCHBOARD_WEBHOOKS_CONCURRENCY");
        SETTINGS.put("webhooks.endpointConcurrency", "SWITCHBOARD_WEBHOOKS_ENDPOINT_CONCURRENCY");
        SETTINGS.put("webhooks.maxRetryAfter", "SWITCHBOARD_WEBHOOKS_MAX_RETRY_AFTER");
        SETTINGS.put("websockets.pingInterval", "SWITCHBOARD_WEBSOCKETS_PING_INTERVAL");
        SETTINGS.put("websockets.pingTimeout", "SWITCHBOARD_WEBSOCKETS_PING_TIMEOUT");
        SETTINGS.put("websockets.queueSize", "SWITCHBOARD_WEBSOCKETS_QUEUE_SIZE");
        SETTINGS.put("websockets.maxMessageSize", "SWITCHBOARD_WEBSOCKETS_MAX_MESSAGE_SIZE");
        SETTINGS.put("websockets.maxSocketsPerConnection", "SWITCHBOARD_WEBSOCKETS_MAX_SOCKETS_PER_CONNECTION");
        SETTINGS.put("websockets.allowedOrigins", "SWITCHBOARD_WEBSOCKETS_ALLOWED_ORIGINS");
    }

    private ConfigLoader() {}

    /** Loads from the process environment and the file it names (or ./switchboard.yaml when present). */
    public static Config load(Map<String, String> env) {
        Path file = Optional.ofNullable(env.get(CONFIG_FILE_VARIABLE)).map(Path::of)
                .orElse(Path.of("switchboard.yaml"));
        if (env.containsKey(CONFIG_FILE_VARIABLE) && !Files.isRegularFile(file)) {
            throw new ConfigException(CONFIG_FILE_VARIABLE + ": no file at " + file.toAbsolutePath());
        }
        return load(Files.isRegularFile(file) ? Optional.of(file) : Optional.empty(), env);
    }

    public static Config load(Optional<Path> file, Map<String, String> env) {
        Map<String, String> values = new LinkedHashMap<>();
        List<JsonNode> collections = new ArrayList<>();
        try (InputStream in = ConfigLoader.class.getResourceAsStream("/switchboard-defaults.yaml")) {
            merge(YAML.readTree(in), "", values, collections, "switchboard-defaults.yaml");
        } catch (IOException e) {
            throw new IllegalStateException("the bundled defaults cannot be read", e);
        }
        if (file.isPresent()) {
            collections.clear();
            try {
                JsonNode tree = YAML.readTree(file.get().toFile());
                if (tree != null && !tree.isMissingNode() && !tree.isNull()) {
                    merge(tree, "", values, collections, file.get().toString());
                }
            } catch (IOException e) {
                throw new ConfigException(file.get() + ": not valid YAML: " + e.getMessage());
            }
        }
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (!e.getKey().startsWith("SWITCHBOARD_") || e.getKey().equals(CONFIG_FILE_VARIABLE)) {
                continue;
            }
            String path = SETTINGS.entrySet().stream().filter(s -> s.getValue().equals(e.getKey()))
                    .map(Map.Entry::getKey).findFirst()
                    .orElseThrow(() -> new ConfigException(e.getKey() + " is not a Switchboard setting"
                            + " (the settings are listed in README.md)"));
            values.put(path, e.getValue());
        }
        return build(values, collections);
    }

    private static void merge(JsonNode node, String prefix, Map<String, String> values, List<JsonNode> collections,
                              String source) {
        if (!node.isObject()) {
            throw new ConfigException(source + ": expected a mapping of settings");
        }
        Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            String path = prefix + field.getKey();
            JsonNode value = field.getValue();
            if (path.equals("collections")) {
                if (!value.isArray()) {
                    throw new ConfigException(source + ": collections must be a list");
                }
                value.forEach(collections::add);
            } else if (value.isObject()) {
                merge(value, path + ".", values, collections, source);
            } else if (value.isArray() && SETTINGS.containsKey(path)) {
                // A list (retryDelays: [1m, 5m]) is the same as its comma-separated form.
                List<String> items = new ArrayList<>();
                value.forEach(item -> items.add(item.asText()));
                values.put(path, String.join(",", items));
            } else if (SETTINGS.containsKey(path)) {
                values.put(path, value.isNull() ? "" : value.asText());
            } else {
                throw new ConfigException(source + ": '" + path + "' is not a Switchboard setting");
            }
        }
    }

    private static Config build(Map<String, String> values, List<JsonNode> collectionNodes) {
        Reader r = new Reader(values);
        int port = r.get("server.port", Integer::parseInt);
        r.check("server.port", port >= 0 && port <= 65535, "must be between 0 and 65535");
        Optional<Integer> managementPort = r.optional("server.managementPort")
                .map(p -> r.parse("server.managementPort", p, Integer::parseInt));
        managementPort.ifPresent(p -> {
            r.check("server.managementPort", p >= 0 && p <= 65535, "must be between 0 and 65535, or empty for none");
            r.check("server.managementPort", p == 0 || p != port, "must differ from server.port");
        });
        int poolSize = r.get("database.poolSize", Integer::parseInt);
        r.check("database.poolSize", poolSize >= 2 && poolSize <= 500, "must be between 2 and 500");
        long maxBody = r.get("server.maxBodySize", ConfigLoader::parseSize);
        r.check("server.maxBodySize", maxBody >= 1024, "must be at least 1KiB");
        int requests = r.get("rateLimit.requests", Integer::parseInt);
        r.check("rateLimit.requests", requests >= 1 && requests <= 1_000_000, "must be between 1 and 1000000");
        Duration window = r.get("rateLimit.window", Durations::parse);
        r.check("rateLimit.window", !window.isZero(), "must be longer than 0");
        int authFailures = r.get("rateLimit.authFailures", Integer::parseInt);
        r.check("rateLimit.authFailures", authFailures >= 0 && authFailures <= 1_000_000,
                "must be between 0 (no limit) and 1000000");
        Duration authFailuresWindow = r.get("rateLimit.authFailuresWindow", Durations::parse);
        r.check("rateLimit.authFailuresWindow", between(authFailuresWindow, Duration.ofSeconds(1), Duration.ofDays(1)),
                "must be between 1s and 24h");
        Duration retention = r.get("events.retention", Durations::parse);
        r.check("events.retention", retention.compareTo(Duration.ofMinutes(1)) >= 0, "must be at least 1m");
        Duration maxWait = r.get("events.maxWait", Durations::parse);
        r.check("events.maxWait", maxWait.compareTo(Duration.ofMinutes(5)) <= 0, "must be at most 5m");
        String logFormat = r.get("log.format", String::trim);
        r.check("log.format", logFormat.equals("text") || logFormat.equals("json"), "must be text or json");
        Optional<String> adminKey = r.optional("adminKey");
        adminKey.ifPresent(k -> r.check("adminKey", k.length() >= 24, "must be at least 24 characters"));
        Optional<String> secretKey = r.optional("secretKey");
        secretKey.ifPresent(k -> r.check("secretKey", decodesTo32Bytes(k), "must be the base64 of 32 bytes"));
        Optional<DatabaseUrl> databaseUrl = r.optional("database.url").map(u -> r.parse("database.url", u, DatabaseUrl::parse));
        String host = r.get("server.host", String::trim);
        r.check("server.host", !host.isEmpty(), "must not be empty");
        String dataDir = r.get("dataDir", String::trim);
        r.check("dataDir", !dataDir.isEmpty(), "must not be empty");

        List<CollectionDefinition> collections = new ArrayList<>();
        for (int i = 0; i < collectionNodes.size(); i++) {
            collections.add(collection(collectionNodes.get(i), "collections[" + i + "]"));
        }
        return new Config(host, port, managementPort, Path.of(dataDir).toAbsolutePath().normalize(), databaseUrl, poolSize, adminKey,
                secretKey, maxBody, requests, window, new FailedAuthLimit(authFailures, authFailuresWindow), retention,
                maxWait, logFormat, collections, webhooks(r), websockets(r));
    }

    private static WebhookSettings webhooks(Reader r) {
        boolean allowPrivate = r.get("webhooks.allowPrivateAddresses", ConfigLoader::parseBoolean);
        List<Cidr> allowed = r.get("webhooks.allowedAddresses", ConfigLoader::parseCidrs);
        List<Duration> delays = r.get("webhooks.retryDelays", ConfigLoader::parseDurations);
        r.check("webhooks.retryDelays", delays.size() <= 20, "at most 20 delays");
        Duration timeout = r.get("webhooks.timeout", Durations::parse);
        r.check("webhooks.timeout", between(timeout, Duration.ofMillis(100), Duration.ofMinutes(2)), "must be between 100ms and 2m");
        Duration disableAfter = r.get("webhooks.disableAfter", Durations::parse);
        r.check("webhooks.disableAfter", !disableAfter.isZero(), "must be longer than 0");
        Duration grace = r.get("webhooks.secretGracePeriod", Durations::parse);
        Duration lease = r.get("webhooks.leaseTime", Durations::parse);
        r.check("webhooks.leaseTime", lease.compareTo(timeout.multipliedBy(2)) > 0,
                "must be more than twice webhooks.timeout, so a lease outlives the request it covers");
        int concurrency = r.get("webhooks.concurrency", Integer::parseInt);
        r.check("webhooks.concurrency", concurrency >= 1 && concurrency <= 10_000, "must be between 1 and 10000");
        int endpointConcurrency = r.get("webhooks.endpointConcurrency", Integer::parseInt);
        r.check("webhooks.endpointConcurrency", endpointConcurrency >= 1 && endpointConcurrency <= concurrency,
                "must be between 1 and webhooks.concurrency");
        Duration maxRetryAfter = r.get("webhooks.maxRetryAfter", Durations::parse);
        return new WebhookSettings(allowPrivate, allowed, delays, timeout, disableAfter, grace, lease, concurrency,
                endpointConcurrency, maxRetryAfter);
    }

    private static WebSocketSettings websockets(Reader r) {
        Duration pingInterval = r.get("websockets.pingInterval", Durations::parse);
        r.check("websockets.pingInterval", between(pingInterval, Duration.ofMillis(100), Duration.ofMinutes(10)),
                "must be between 100ms and 10m");
        Duration pingTimeout = r.get("websockets.pingTimeout", Durations::parse);
        r.check("websockets.pingTimeout", !pingTimeout.isZero(), "must be longer than 0");
        long queue = r.get("websockets.queueSize", ConfigLoader::parseSize);
        r.check("websockets.queueSize", queue >= 16 * 1024, "must be at least 16KiB");
        long maxMessage = r.get("websockets.maxMessageSize", ConfigLoader::parseSize);
        r.check("websockets.maxMessageSize", maxMessage >= 1024 && maxMessage <= 16 * 1024 * 1024,
                "must be between 1KiB and 16MiB");
        int maxSockets = r.get("websockets.maxSocketsPerConnection", Integer::parseInt);
        r.check("websockets.maxSocketsPerConnection", maxSockets >= 1 && maxSockets <= 1_000_000,
                "must be between 1 and 1000000");
        List<WebOrigin> origins = r.get("websockets.allowedOrigins", ConfigLoader::parseOrigins);
        return new WebSocketSettings(pingInterval, pingTimeout, queue, (int) maxMessage, maxSockets, origins);
    }

    private static boolean between(Duration d, Duration min, Duration max) {
        return d.compareTo(min) >= 0 && d.compareTo(max) <= 0;
    }

    static boolean parseBoolean(String text) {
        return switch (text.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("'" + text + "' is not true or false");
        };
    }

    /** Comma-separated address ranges ({@code 10.1.0.0/16,fd00::/8}); empty means none. */
    static List<Cidr> parseCidrs(String text) {
        return parseList(text, Cidr::parse);
    }

    /** Comma-separated origins ({@code https://app.example.com,https://admin.example.com:8443}); empty means none. */
    static List<WebOrigin> parseOrigins(String text) {
        return parseList(text, WebOrigin::parse);
    }

    /** Comma-separated durations ({@code 1m,5m}); empty means none. */
    static List<Duration> parseDurations(String text) {
        return parseList(text, Durations::parse);
    }

    private static <T> List<T> parseList(String text, Function<String, T> parser) {
        List<T> all = new ArrayList<>();
        if (!text.isBlank()) {
            for (String part : text.split(",")) {
                all.add(parser.apply(part));
            }
        }
        return all;
    }

    private static CollectionDefinition collection(JsonNode node, String where) {
        if (!node.isObject()) {
            throw new ConfigException(where + ": expected a mapping with name, schema, eventFields");
        }
        node.fieldNames().forEachRemaining(f -> {
            if (!List.of("name", "schema", "eventFields").contains(f)) {
                throw new ConfigException(where + "." + f + ": not a collection setting (name, schema, eventFields)");
            }
        });
        JsonNode name = node.get("name");
        if (name == null || !name.isTextual()) {
            throw new ConfigException(where + ".name: required, a string");
        }
        List<String> fields = new ArrayList<>();
        JsonNode eventFields = node.get("eventFields");
        if (eventFields != null && !eventFields.isNull()) {
            if (!eventFields.isArray()) {
                throw new ConfigException(where + ".eventFields: must be a list of field names");
            }
            eventFields.forEach(f -> fields.add(f.asText()));
        }
        JsonNode schema = node.get("schema");
        return new CollectionDefinition(name.asText(), schema == null || schema.isNull() ? null : schema, fields);
    }

    static long parseSize(String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size (write e.g. 512KiB, 1MiB)");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2);
        return switch (unit) {
            case "KiB" -> n * 1024;
            case "MiB" -> n * 1024 * 1024;
            case "GiB" -> n * 1024 * 1024 * 1024;
            default -> n;
        };
    }

    private static boolean decodesTo32Bytes(String text) {
        try {
            return java.util.Base64.getDecoder().decode(text.trim()).length == 32;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Reads settings, naming both the YAML path and the environment variable in every error. */
    private record Reader(Map<String, String> values) {
        <T> T get(String path, Function<String, T> parser) {
            return parse(path, values.get(path), parser);
        }

        Optional<String> optional(String path) {
            String v = values.get(path);
            return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
        }

        <T> T parse(String path, String value, Function<String, T> parser) {
            try {
                return parser.apply(value);
            } catch (RuntimeException e) {
                String why = e instanceof NumberFormatException ? "'" + value + "' is not a whole number" : e.getMessage();
                throw new ConfigException(name(path) + ": " + why);
            }
        }

        void check(String path, boolean ok, String expectation) {
            if (!ok) {
                throw new ConfigException(name(path) + ": " + expectation + " (got '" + shown(path) + "')");
            }
        }

        private String shown(String path) {
            return path.equals("adminKey") || path.equals("secretKey") ? "<hidden>" : values.get(path);
        }

        private static String name(String path) {
            return SETTINGS.get(path) + " (" + path + ")";
        }
    }
}
