package dev.switchboard.config;

import static dev.switchboard.config.SettingTable.*;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Builds the {@link Config}: the defaults in {@link SettingTable}, then the optional file, then the
 * environment. Every setting has one YAML path and one environment variable; anything unknown in
 * either place fails the start, naming it (and the setting it was probably meant to be), so a misspelt
 * setting never silently falls back to its default. The one exception is the variables a Kubernetes
 * Service injects ({@link ServiceLinks}): they are ignored, with a warning.
 */
public final class ConfigLoader {
    /** A key given twice is refused: otherwise the second silently wins, and a second block replaces the first. */
    private static final ObjectMapper YAML =
            new ObjectMapper(new YAMLFactory()).enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private static final String CONFIG_FILE_VARIABLE = "SWITCHBOARD_CONFIG";
    /**
     * The access token {@code switchboard listen} reads: not a setting, and a developer who exported it
     * for listen may start a server from the same shell.
     */
    public static final String ACCESS_TOKEN_VARIABLE = "SWITCHBOARD_ACCESS_TOKEN";

    private ConfigLoader() {}

    /**
     * Loads from the process environment and the file it names (or ./switchboard.yaml when present),
     * handing {@code warnings} what was ignored (service-link variables), for the caller to log once
     * logging is set up: the log format is itself a setting.
     */
    public static Config load(Map<String, String> env, Consumer<String> warnings) {
        return load(env, Path.of("switchboard.yaml"), warnings);
    }

    /** The same, looking for {@code lookedFor} when {@code SWITCHBOARD_CONFIG} names no file. */
    static Config load(Map<String, String> env, Path lookedFor, Consumer<String> warnings) {
        Path file =
                Optional.ofNullable(env.get(CONFIG_FILE_VARIABLE)).map(Path::of).orElse(lookedFor);
        if (env.containsKey(CONFIG_FILE_VARIABLE) && !Files.isRegularFile(file)) {
            throw new ConfigException(CONFIG_FILE_VARIABLE + ": no file at " + file.toAbsolutePath());
        }
        // A directory or a broken link where the file is looked for (a volume mounted at the file's path)
        // would otherwise start the server on its defaults, with a new embedded database.
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(file)) {
            throw new ConfigException(file.toAbsolutePath() + " is not a file (a directory, or a link to nothing);"
                    + " the settings file must be a file, or absent");
        }
        return load(Files.isRegularFile(file) ? Optional.of(file) : Optional.empty(), env, warnings);
    }

    public static Config load(Optional<Path> file, Map<String, String> env) {
        return load(file, env, warning -> {});
    }

    public static Config load(Optional<Path> file, Map<String, String> env, Consumer<String> warnings) {
        Map<String, String> values = new LinkedHashMap<>();
        ALL.forEach(setting -> values.put(setting.path(), setting.defaultValue()));
        List<JsonNode> collections = new ArrayList<>();
        if (file.isPresent()) {
            try (JsonParser parser = YAML.createParser(file.get().toFile())) {
                JsonNode tree = YAML.readTree(parser);
                if (parser.nextToken() != null) {
                    throw new ConfigException(file.get() + ": holds more than one YAML document (a second"
                            + " '---'); settings must be in one");
                }
                if (tree != null && !tree.isMissingNode() && !tree.isNull()) {
                    merge(
                            tree,
                            "",
                            writtenTexts(file.get()),
                            values,
                            new HashSet<>(),
                            collections,
                            file.get().toString());
                }
            } catch (IOException e) {
                throw new ConfigException(file.get() + ": not valid YAML" + yamlProblem(e));
            }
        }
        Set<String> fromFile = new HashSet<>();
        ALL.forEach(setting -> {
            if (!Objects.equals(values.get(setting.path()), setting.defaultValue())) {
                fromFile.add(setting.path());
            }
        });
        TreeSet<String> serviceLinks = new TreeSet<>();
        TreeSet<String> emptied = new TreeSet<>();
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (!e.getKey().startsWith("SWITCHBOARD_")
                    || e.getKey().equals(CONFIG_FILE_VARIABLE)
                    || e.getKey().equals(ACCESS_TOKEN_VARIABLE)) {
                continue;
            }
            if (ServiceLinks.isServiceLink(e.getKey(), e.getValue())) {
                serviceLinks.add(e.getKey());
                continue;
            }
            Setting<?> setting = BY_VARIABLE.get(e.getKey());
            if (setting == null) {
                throw new ConfigException(e.getKey() + " is not a Switchboard setting"
                        + didYouMean(e.getKey(), BY_VARIABLE.keySet())
                        + " (the settings are listed in README.md)");
            }
            if (e.getValue().isBlank() && fromFile.contains(setting.path())) {
                // What a compose file's ${VAR} gives for an unset VAR. An empty database URL means the
                // embedded database: a server meant for the file's database would start on a new one.
                if (setting == DATABASE_URL) {
                    throw new ConfigException(e.getKey() + " is set but empty, which would replace "
                            + setting.path() + " from " + file.orElseThrow() + " with the embedded database;"
                            + " unset the variable, or remove the setting from the file");
                }
                emptied.add(e.getKey() + " (" + setting.path() + ")");
            }
            values.put(setting.path(), e.getValue());
        }
        if (!emptied.isEmpty()) {
            warnings.accept(
                    "Set but empty, so emptying what the configuration file set: " + String.join(", ", emptied));
        }
        if (!serviceLinks.isEmpty()) {
            warnings.accept("Ignoring " + String.join(", ", serviceLinks)
                    + ": Kubernetes service-link variables (a Service named switchboard…), not settings."
                    + " Set enableServiceLinks: false in the pod spec to leave them out.");
        }
        Config config = build(values, collections);
        config.webhooks().allowedAddresses().stream()
                .filter(range -> range.prefixLength() == 0)
                .findFirst()
                .ifPresent(everything -> warnings.accept("webhooks.allowedAddresses holds " + everything
                        + ", every address there is: every integration's webhooks may call loopback, private and"
                        + " cloud metadata addresses. List only the ranges partners need"
                        + " (webhooks.allowPrivateAddresses is the switch for development and tests)."));
        return config;
    }

    /**
     * The text of every number and boolean in the file, as written, by JSON pointer. YAML 1.1 reads
     * {@code 010} as 8, {@code 0x1F} as 31, {@code 1234_5678} as 12345678 and {@code no}, {@code off} and
     * {@code yes} as booleans, and the parsed value is all the tree keeps; a setting gets what the operator
     * wrote instead, for its own parser to read or refuse, so an admin key of digits and underscores stays
     * that key, a portal named {@code No} keeps its name and a port of {@code 0x1F} is refused, not 31.
     * An alias ({@code *name}) is refused: the parser gives its anchor's name, not the value it stands for.
     * (Collections' schemas keep YAML's numbers: they are JSON Schema, not settings.)
     */
    private static Map<String, String> writtenTexts(Path file) throws IOException {
        Map<String, String> texts = new HashMap<>();
        try (JsonParser parser = YAML.createParser(file.toFile())) {
            for (JsonToken token = parser.nextToken(); token != null; token = parser.nextToken()) {
                if (parser instanceof YAMLParser yaml && yaml.isCurrentAlias()) {
                    throw new ConfigException(
                            file + ": line " + parser.currentLocation().getLineNr()
                                    + " uses a YAML alias (*" + parser.getText() + "), which settings do not take;"
                                    + " write the value out");
                }
                if (token.isNumeric() || token.isBoolean()) {
                    texts.put(parser.getParsingContext().pathAsPointer().toString(), parser.getText());
                }
            }
        }
        return texts;
    }

    private static String text(JsonNode value, String pointer, Map<String, String> writtenTexts) {
        return value.isNumber() || value.isBoolean()
                ? writtenTexts.getOrDefault(pointer, value.asText())
                : value.asText();
    }

    private static void merge(
            JsonNode node,
            String prefix,
            Map<String, String> writtenTexts,
            Map<String, String> values,
            Set<String> given,
            List<JsonNode> collections,
            String source) {
        if (!node.isObject()) {
            throw new ConfigException(source + ": expected a mapping of settings");
        }
        Iterator<Map.Entry<String, JsonNode>> fields = node.properties().iterator();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            String path = prefix + field.getKey();
            JsonNode value = field.getValue();
            // The parser refuses a key repeated in one mapping; this is one setting written two ways
            // (server: {port: 8080} and server.port: 8081), where one would silently win.
            if (!value.isObject() && BY_PATH.containsKey(path) && !given.add(path)) {
                throw new ConfigException(
                        source + ": '" + path + "' is set twice (nested and as a dotted key); keep one");
            }
            if (value.isNull() && (path.equals(COLLECTIONS) || isSection(path))) {
                // A section (or the collections list) with everything under it commented out: nothing set.
                continue;
            }
            if (path.equals(COLLECTIONS)) {
                if (!value.isArray()) {
                    throw new ConfigException(source + ": collections must be a list");
                }
                value.forEach(collections::add);
            } else if (value.isObject()) {
                merge(value, path + ".", writtenTexts, values, given, collections, source);
            } else if (value.isArray() && BY_PATH.containsKey(path)) {
                if (!BY_PATH.get(path).takesList()) {
                    throw new ConfigException(source + ": '" + path + "' takes one value, not a list");
                }
                // A list (retryDelays: [1m, 5m]) is the same as its comma-separated form.
                List<String> items = new ArrayList<>();
                for (int i = 0; i < value.size(); i++) {
                    if (value.get(i).isContainerNode()) {
                        throw new ConfigException(
                                source + ": '" + path + "[" + i + "]' must be a value, not a list or mapping");
                    }
                    items.add(text(value.get(i), pointer(path) + "/" + i, writtenTexts));
                }
                values.put(path, String.join(",", items));
            } else if (BY_PATH.containsKey(path)) {
                values.put(path, value.isNull() ? "" : text(value, pointer(path), writtenTexts));
            } else {
                throw new ConfigException(
                        source + ": '" + path + "' is not a Switchboard setting" + didYouMean(path, BY_PATH.keySet()));
            }
        }
    }

    /** Whether {@code path} holds settings ({@code server}, {@code webhooks}) rather than being one. */
    private static boolean isSection(String path) {
        return !BY_PATH.containsKey(path) && BY_PATH.keySet().stream().anyMatch(k -> k.startsWith(path + "."));
    }

    private static String pointer(String path) {
        return "/" + path.replace('.', '/');
    }

    /**
     * Where and what the parser found wrong, without the text of the file it quotes: a line with a
     * stray quote is often the one holding the database password or the admin key.
     */
    private static String yamlProblem(IOException e) {
        StringBuilder problem = new StringBuilder();
        if (e instanceof JsonProcessingException p
                && p.getLocation() != null
                && p.getLocation().getLineNr() > 0) {
            problem.append(" at line ")
                    .append(p.getLocation().getLineNr())
                    .append(", column ")
                    .append(p.getLocation().getColumnNr());
        }
        String original = e instanceof JsonProcessingException p ? p.getOriginalMessage() : e.getMessage();
        List<String> what = new ArrayList<>();
        for (String line : String.valueOf(original).split("\n")) {
            // The parser's own lines are flush left; the quoted source and its caret are indented.
            if (!line.isBlank() && !Character.isWhitespace(line.charAt(0)) && !line.startsWith("in '")) {
                what.add(line.strip());
            }
        }
        if (!what.isEmpty()) {
            problem.append(": ").append(String.join("; ", what));
        }
        return problem.append(" (the file's text is not shown: it may hold a secret)")
                .toString();
    }

    private static String didYouMean(String written, Collection<String> known) {
        return Suggestions.nearest(written, known)
                .map(name -> "; did you mean " + name + "?")
                .orElse("");
    }

    /** Reads every setting through its row of the table, then the checks that involve two settings. */
    private static Config build(Map<String, String> values, List<JsonNode> collectionNodes) {
        Reader r = new Reader(values);
        int port = r.get(PORT);
        Optional<Integer> managementPort = r.get(MANAGEMENT_PORT);
        managementPort.ifPresent(p -> r.check(MANAGEMENT_PORT, p == 0 || p != port, "must differ from server.port"));
        // Alone, it binds nothing and /metrics stays on server.port: not what whoever set it meant.
        r.check(
                MANAGEMENT_HOST,
                managementPort.isPresent() || r.get(MANAGEMENT_HOST).isEmpty(),
                "needs server.managementPort (without one, /metrics and /health/* are served on server.port)");
        List<CollectionDefinition> collections = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < collectionNodes.size(); i++) {
            CollectionDefinition collection = collection(collectionNodes.get(i), COLLECTIONS + "[" + i + "]");
            if (!names.add(collection.name())) {
                // The last one won, and the other's schema was silently gone.
                throw new ConfigException(
                        COLLECTIONS + "[" + i + "].name: '" + collection.name() + "' is declared twice");
            }
            collections.add(collection);
        }
        return new Config(
                r.get(HOST),
                port,
                managementPort,
                r.get(MANAGEMENT_HOST),
                // Without the trailing slash: links are this followed by their path.
                r.get(PUBLIC_URL).map(url -> url.replaceAll("/+$", "")),
                Path.of(r.get(DATA_DIR)).toAbsolutePath().normalize(),
                r.get(DATABASE_URL),
                r.get(DATABASE_POOL_SIZE),
                r.get(DATABASE_READ_TIMEOUT),
                r.get(ADMIN_KEY),
                r.get(SECRET_KEY),
                r.get(MAX_BODY_SIZE),
                r.get(SHUTDOWN_GRACE),
                r.get(RATE_LIMIT_REQUESTS),
                r.get(RATE_LIMIT_WINDOW),
                new FailedAuthLimit(r.get(RATE_LIMIT_AUTH_FAILURES), r.get(RATE_LIMIT_AUTH_FAILURES_WINDOW)),
                r.get(EVENTS_RETENTION),
                r.get(EVENTS_MAX_WAIT),
                r.get(AUDIT_RETENTION),
                r.get(LOG_FORMAT),
                collections,
                webhooks(r),
                websockets(r),
                new ConsoleSettings(
                        r.get(CONSOLE_SESSION_IDLE_TIMEOUT),
                        r.get(PORTAL_FRAME_ANCESTORS),
                        r.get(PORTAL_NAME),
                        r.get(PORTAL_ACCENT_COLOR)));
    }

    private static WebhookSettings webhooks(Reader r) {
        Duration timeout = r.get(WEBHOOKS_TIMEOUT);
        Duration lease = r.get(WEBHOOKS_LEASE_TIME);
        r.check(
                WEBHOOKS_LEASE_TIME,
                lease.compareTo(timeout.multipliedBy(2)) > 0,
                "must be more than twice webhooks.timeout, so a lease outlives the request it covers");
        int concurrency = r.get(WEBHOOKS_CONCURRENCY);
        int endpointConcurrency = r.get(WEBHOOKS_ENDPOINT_CONCURRENCY);
        r.check(
                WEBHOOKS_ENDPOINT_CONCURRENCY,
                endpointConcurrency >= 1 && endpointConcurrency <= concurrency,
                "must be between 1 and webhooks.concurrency");
        int integrationConcurrency = r.get(WEBHOOKS_INTEGRATION_CONCURRENCY).orElse(Math.max(1, concurrency / 2));
        r.check(
                WEBHOOKS_INTEGRATION_CONCURRENCY,
                integrationConcurrency >= 1 && integrationConcurrency <= concurrency,
                "must be between 1 and webhooks.concurrency");
        return new WebhookSettings(
                r.get(WEBHOOKS_ALLOW_PRIVATE_ADDRESSES),
                r.get(WEBHOOKS_ALLOWED_ADDRESSES),
                r.get(WEBHOOKS_RETRY_DELAYS),
                timeout,
                r.get(WEBHOOKS_DISABLE_AFTER),
                r.get(WEBHOOKS_SECRET_GRACE_PERIOD),
                lease,
                concurrency,
                endpointConcurrency,
                integrationConcurrency,
                r.get(WEBHOOKS_MAX_RETRY_AFTER));
    }

    private static WebSocketSettings websockets(Reader r) {
        return new WebSocketSettings(
                r.get(WEBSOCKETS_PING_INTERVAL),
                r.get(WEBSOCKETS_PING_TIMEOUT),
                r.get(WEBSOCKETS_QUEUE_SIZE),
                r.get(WEBSOCKETS_MAX_MESSAGE_SIZE).intValue(),
                r.get(WEBSOCKETS_MAX_SOCKETS_PER_CONNECTION),
                r.get(WEBSOCKETS_ALLOWED_ORIGINS));
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

    /** The merged text of every setting, read through the table; errors name the setting both ways. */
    private record Reader(Map<String, String> values) {
        <T> T get(Setting<T> setting) {
            return setting.read(values.get(setting.path()));
        }

        void check(Setting<?> setting, boolean ok, String expectation) {
            if (!ok) {
                throw setting.refused(values.get(setting.path()), expectation);
            }
        }
    }
}
