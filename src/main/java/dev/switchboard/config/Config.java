package dev.switchboard.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

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
        Path dataDir,
        Optional<DatabaseUrl> databaseUrl,
        int databasePoolSize,
        Optional<String> adminKey,
        Optional<String> secretKey,
        long maxBodyBytes,
        Duration shutdownGrace,
        int rateLimitRequests,
        Duration rateLimitWindow,
        FailedAuthLimit failedAuthLimit,
        Duration eventsRetention,
        Duration eventsMaxWait,
        String logFormat,
        List<CollectionDefinition> collections,
        WebhookSettings webhooks,
        WebSocketSettings websockets,
        ConsoleSettings console) {

    public Config {
        collections = List.copyOf(collections);
    }
}
