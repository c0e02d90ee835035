package dev.switchboard.config;

import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.StringJoiner;

/**
 * Switchboard's whole configuration, validated and immutable. Built by {@link ConfigLoader} from the
 * defaults in {@link SettingTable} (written out with a line on each in the bundled {@code
 * switchboard-defaults.yaml}), an optional {@code switchboard.yaml}, then {@code SWITCHBOARD_*}
 * environment variables.
 */
public record Config(
        String host,
        int port,
        Optional<Integer> managementPort,
        Optional<String> managementHost,
        Optional<String> publicUrl,
        Path dataDir,
        Optional<DatabaseUrl> databaseUrl,
        int databasePoolSize,
        Duration databaseReadTimeout,
        Optional<String> adminKey,
        Optional<String> secretKey,
        long maxBodyBytes,
        Duration shutdownGrace,
        int rateLimitRequests,
        Duration rateLimitWindow,
        FailedAuthLimit failedAuthLimit,
        Duration eventsRetention,
        Duration eventsMaxWait,
        Duration auditRetention,
        String logFormat,
        List<CollectionDefinition> collections,
        WebhookSettings webhooks,
        WebSocketSettings websockets,
        ConsoleSettings console) {

    public Config {
        collections = List.copyOf(collections);
    }

    /**
     * Every setting as the record would print it, but the admin key and the sealing key only as set or
     * not: a configuration written into a log line or an error must not carry them (the database URL
     * already hides its password).
     */
    @Override
    public String toString() {
        StringJoiner settings = new StringJoiner(", ", "Config[", "]");
        for (RecordComponent component : Config.class.getRecordComponents()) {
            Object value;
            try {
                value = component.getAccessor().invoke(this);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
            if (value instanceof Optional<?> key && SECRETS.contains(component.getName())) {
                value = key.isPresent() ? "(set)" : "(not set)";
            }
            settings.add(component.getName() + "=" + value);
        }
        return settings.toString();
    }

    private static final Set<String> SECRETS = Set.of("adminKey", "secretKey");
}
