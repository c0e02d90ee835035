package dev.switchboard.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.testing.Fast;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Fast
class ConfigLoaderTest {
    @TempDir
    Path dir;

    @Test
    void defaultsApplyWhenNothingIsSet() {
        Config config = ConfigLoader.load(Optional.empty(), Map.of());
        assertThat(config.port()).isEqualTo(8080);
        assertThat(config.databaseUrl()).isEmpty();
        assertThat(config.maxBodyBytes()).isEqualTo(1024 * 1024);
        assertThat(config.rateLimitRequests()).isEqualTo(200);
        assertThat(config.rateLimitWindow()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.failedAuthLimit()).isEqualTo(new FailedAuthLimit(20, Duration.ofMinutes(1)));
        assertThat(config.eventsRetention()).isEqualTo(Duration.ofDays(7));
        assertThat(config.dataDir()).isEqualTo(Path.of("data").toAbsolutePath());
        assertThat(config.webhooks().allowPrivateAddresses()).isFalse();
        assertThat(config.webhooks().retryDelays()).containsExactly(Duration.ofMinutes(1), Duration.ofMinutes(5));
        assertThat(config.webhooks().maxAttempts()).isEqualTo(3);
        assertThat(config.webhooks().timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.webhooks().integrationConcurrency())
                .as("half of webhooks.concurrency")
                .isEqualTo(32);
        assertThat(ConfigLoader.load(
                                Optional.empty(),
                                Map.of(
                                        "SWITCHBOARD_WEBHOOKS_CONCURRENCY",
                                        "1",
                                        "SWITCHBOARD_WEBHOOKS_ENDPOINT_CONCURRENCY",
                                        "1"))
                        .webhooks()
                        .integrationConcurrency())
                .as("half of 1, at least 1")
                .isEqualTo(1);
        assertThat(config.websockets().pingInterval()).isEqualTo(Duration.ofSeconds(25));
        assertThat(config.websockets().queueBytes()).isEqualTo(1024 * 1024);
        assertThat(config.websockets().maxMessageBytes()).isEqualTo(64 * 1024);
        assertThat(config.websockets().allowedOrigins()).isEmpty();
    }

    @Test
    void allowedOriginsAreOriginsWrittenAsAListAndAnythingElseFailsNamingTheSetting() throws IOException {
        assertThat(ConfigLoader.load(
                                Optional.empty(),
                                Map.of(
                                        "SWITCHBOARD_WEBSOCKETS_ALLOWED_ORIGINS",
                                        "https://App.Example.com, http://localhost:3000,https://example.com:443"))
                        .websockets()
                        .allowedOrigins())
                .extracting(WebOrigin::toString)
                .containsExactly("https://app.example.com", "http://localhost:3000", "https://example.com");
        Path file = dir.resolve("switchboard.yaml");
        Files.writeString(file, "websockets:\n  allowedOrigins: [https://app.example.com, 'http://[::1]:8080']\n");
        assertThat(ConfigLoader.load(Optional.of(file), Map.of()).websockets().allowedOrigins())
                .containsExactly(new WebOrigin("https", "app.example.com", 443), new WebOrigin("http", "[::1]", 8080));
        for (String bad : java.util.List.of(
                "app.example.com",
                "https://app.example.com/",
                "https://app.example.com/path",
                "https://*.example.com",
                "ftp://example.com",
                "https://user@example.com",
                "https://example.com:0",
                "https://example.com?x=1",
                "null",
                "https://")) {
            assertThatThrownBy(() ->
                            ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_WEBSOCKETS_ALLOWED_ORIGINS", bad)))
                    .as(bad)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith(
                            "SWITCHBOARD_WEBSOCKETS_ALLOWED_ORIGINS (websockets.allowedOrigins): '" + bad + "'");
        }
    }

    @Test
    void theLimitOfRefusedTokensIsValidatedNamingTheSetting() {
        assertThat(ConfigLoader.load(
                                Optional.empty(),
                                Map.of(
                                        "SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES",
                                        "0",
                                        "SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES_WINDOW",
                                        "10m"))
                        .failedAuthLimit())
                .isEqualTo(new FailedAuthLimit(0, Duration.ofMinutes(10)));
        assertThatThrownBy(
                        () -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES", "-1")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES (rateLimit.authFailures)");
        assertThatThrownBy(() ->
                        ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES", "many")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("not a whole number");
        assertThatThrownBy(() -> ConfigLoader.load(
                        Optional.empty(), Map.of("SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES_WINDOW", "0s")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES_WINDOW (rateLimit.authFailuresWindow)");
    }

    @Test
    void retryDelaysAreACommaSeparatedListOrAYamlList() throws IOException {
        Path file = dir.resolve("switchboard.yaml");
        Files.writeString(file, "webhooks:\n  retryDelays: [10s, 1m, 1h]\n");
        assertThat(ConfigLoader.load(Optional.of(file), Map.of()).webhooks().retryDelays())
                .containsExactly(Duration.ofSeconds(10), Duration.ofMinutes(1), Duration.ofHours(1));
        assertThat(ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_WEBHOOKS_RETRY_DELAYS", ""))
                        .webhooks()
                        .maxAttempts())
                .isEqualTo(1);
        assertThatThrownBy(() ->
                        ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_WEBHOOKS_RETRY_DELAYS", "1m,soon")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("SWITCHBOARD_WEBHOOKS_RETRY_DELAYS");
        assertThatThrownBy(() -> ConfigLoader.load(
                        Optional.empty(), Map.of("SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "yes")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("not true or false");
        assertThat(ConfigLoader.load(
                                Optional.empty(), Map.of("SWITCHBOARD_WEBHOOKS_ALLOWED_ADDRESSES", "10.1.0.0/16, ::1"))
                        .webhooks()
                        .allowedAddresses())
                .hasSize(2);
        assertThatThrownBy(() -> ConfigLoader.load(
                        Optional.empty(), Map.of("SWITCHBOARD_WEBHOOKS_ALLOWED_ADDRESSES", "10.1.0.0/99")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("SWITCHBOARD_WEBHOOKS_ALLOWED_ADDRESSES");
    }

    @Test
    void theEnvironmentOverridesTheFileWhichOverridesTheDefaults() throws IOException {
        Path file = dir.resolve("switchboard.yaml");
        Files.writeString(file, """
                server:
                  port: 9000
                rateLimit:
                  requests: 50
                  window: 500ms
                collections:
                  - name: reservations
                    eventFields: [state]
                    schema: {type: object}
                """);
        Config config = ConfigLoader.load(Optional.of(file), Map.of("SWITCHBOARD_PORT", "9100"));
        assertThat(config.port()).isEqualTo(9100);
        assertThat(config.rateLimitRequests()).isEqualTo(50);
        // Spaces around a whole number are dropped, as around a duration (" 200" was refused, " 5s" taken).
        assertThat(ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_RATE_LIMIT_REQUESTS", " 200 "))
                        .rateLimitRequests())
                .isEqualTo(200);
        assertThat(config.rateLimitWindow()).isEqualTo(Duration.ofMillis(500));
        assertThat(config.collections()).singleElement().satisfies(c -> {
            assertThat(c.name()).isEqualTo("reservations");
            assertThat(c.eventFields()).containsExactly("state");
            assertThat(c.schema().get("type").asText()).isEqualTo("object");
        });
    }

    @Test
    void badValuesFailNamingTheSetting() {
        assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_PORT", "80x")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("SWITCHBOARD_PORT (server.port)");
        assertThatThrownBy(() ->
                        ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_RATE_LIMIT_WINDOW", "30 seconds")))
                .hasMessageContaining("SWITCHBOARD_RATE_LIMIT_WINDOW")
                .hasMessageContaining("not a duration");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_DATABASE_URL", "mysql://x")))
                .hasMessageStartingWith("SWITCHBOARD_DATABASE_URL");
        for (String key :
                List.of("short", "k".repeat(201), "ключ-админа-очень-длинный-2024", "an admin key with spaces in it")) {
            assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_ADMIN_KEY", key)))
                    .hasMessageStartingWith("SWITCHBOARD_ADMIN_KEY")
                    .hasMessageContaining("between 24 and 200 characters")
                    .hasMessageNotContaining(key);
        }
        for (String url : List.of(
                "switchboard.example.com",
                "ftp://switchboard.example.com",
                "https://u:p@sb.example",
                "https://sb.example/?x=1",
                "https:///portal")) {
            assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_PUBLIC_URL", url)))
                    .as(url)
                    .hasMessageStartingWith("SWITCHBOARD_PUBLIC_URL (server.publicUrl)")
                    .hasMessageContaining("must be an http:// or https:// URL");
        }
        assertThat(ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_PUBLIC_URL", "https://sb.example/hooks/"))
                        .publicUrl())
                .contains("https://sb.example/hooks");
        // 17179869185GiB is 2^64 + 1 GiB: multiplied without a check it wrapped to 1 GiB.
        for (String size : List.of("512", "65MiB", "17179869185GiB", "999999999999GiB")) {
            assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_MAX_BODY_SIZE", size)))
                    .as(size)
                    .hasMessageStartingWith("SWITCHBOARD_MAX_BODY_SIZE")
                    .hasMessageMatching(".*(must be between 1KiB and 64MiB|is larger than any size a setting takes).*");
        }
        for (String outOfRange : List.of("0", "65")) {
            assertThatThrownBy(() -> ConfigLoader.load(
                            Optional.empty(), Map.of("SWITCHBOARD_WEBHOOKS_INTEGRATION_CONCURRENCY", outOfRange)))
                    .hasMessageStartingWith("SWITCHBOARD_WEBHOOKS_INTEGRATION_CONCURRENCY")
                    .hasMessageContaining("must be between 1 and webhooks.concurrency");
        }
        assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_ADMN_KEY", "x")))
                .hasMessageContaining("SWITCHBOARD_ADMN_KEY is not a Switchboard setting");
    }

    @Test
    void theManagementPortIsOptionalAndValidatedNamingTheSetting() throws IOException {
        assertThat(ConfigLoader.load(Optional.empty(), Map.of()).managementPort())
                .isEmpty();
        assertThat(ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_MANAGEMENT_PORT", "9090"))
                        .managementPort())
                .contains(9090);
        Path file = dir.resolve("management.yaml");
        Files.writeString(file, "server:\n  managementPort: 9091\n");
        assertThat(ConfigLoader.load(Optional.of(file), Map.of()).managementPort())
                .contains(9091);
        assertThat(ConfigLoader.load(Optional.of(file), Map.of("SWITCHBOARD_MANAGEMENT_PORT", ""))
                        .managementPort())
                .isEmpty();
        assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_MANAGEMENT_PORT", "metrics")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("SWITCHBOARD_MANAGEMENT_PORT (server.managementPort)")
                .hasMessageContaining("whole number");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_MANAGEMENT_PORT", "70000")))
                .hasMessageStartingWith("SWITCHBOARD_MANAGEMENT_PORT")
                .hasMessageContaining("between 0 and 65535");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_MANAGEMENT_PORT", "8080")))
                .hasMessageStartingWith("SWITCHBOARD_MANAGEMENT_PORT")
                .hasMessageContaining("must differ from server.port");
        assertThat(ConfigLoader.load(Optional.empty(), Map.of()).managementHost())
                .isEmpty();
        assertThat(ConfigLoader.load(
                                Optional.empty(),
                                Map.of(
                                        "SWITCHBOARD_MANAGEMENT_PORT",
                                        "9090",
                                        "SWITCHBOARD_MANAGEMENT_HOST",
                                        " 127.0.0.1 "))
                        .managementHost())
                .contains("127.0.0.1");
    }

    @Test
    void unknownFileSettingsFailNamingThem() throws IOException {
        Path file = dir.resolve("switchboard.yaml");
        Files.writeString(file, "server:\n  prot: 1\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(file), Map.of()))
                .hasMessageContaining("'server.prot' is not a Switchboard setting");
    }

    /** A section whose lines are all commented out is what YAML reads as null: nothing set, not an error. */
    @Test
    void aSectionWithNothingUnderItSetsNothing() throws IOException {
        Path file = dir.resolve("switchboard.yaml");
        Files.writeString(
                file,
                "server:\n  # port: 9000\nwebhooks:\ncollections:\n  # - name: rooms\nrateLimit:\n  requests: 100\n");
        Config config = ConfigLoader.load(Optional.of(file), Map.of());
        assertThat(config.port()).isEqualTo(8080);
        assertThat(config.collections()).isEmpty();
        assertThat(config.rateLimitRequests()).isEqualTo(100);
        Files.writeString(file, "serevr:\n  # port: 9000\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(file), Map.of()))
                .hasMessageContaining("'serevr' is not a Switchboard setting");
    }

    @Test
    void libpqStyleDatabaseUrlsBecomeJdbcUrls() {
        DatabaseUrl url = DatabaseUrl.parse("postgresql://sb:p%40ss@db.internal:5433/switchboard?sslmode=require");
        assertThat(url.jdbcUrl()).isEqualTo("jdbc:postgresql://db.internal:5433/switchboard?sslmode=require");
        assertThat(url.user()).isEqualTo("sb");
        assertThat(url.password()).isEqualTo("p@ss");
        assertThat(url.toString()).doesNotContain("p@ss");
    }

    @Test
    void durationsAreWrittenWithAUnit() {
        assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Durations.parse("24h")).isEqualTo(Duration.ofHours(24));
        assertThat(Durations.parse("7d")).isEqualTo(Duration.ofDays(7));
        assertThatThrownBy(() -> Durations.parse("5")).isInstanceOf(IllegalArgumentException.class);
        assertThat(Durations.format(Duration.ofMinutes(5))).isEqualTo("5m");
    }

    @Test
    void aFileTheParserRefusesIsNamedWithoutQuotingItsText() throws IOException {
        Path file = dir.resolve("broken.yaml");
        Files.writeString(
                file, "database:\n  url: \"postgresql://app:Hunter2Secret@db.internal/sb\nserver:\n  port: 1\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(file), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("not valid YAML at line")
                .hasMessageNotContaining("Hunter2Secret");
    }

    @Test
    void aSettingGivenTwiceOrASecondDocumentIsRefusedNotDropped() throws IOException {
        Path twice = dir.resolve("twice.yaml");
        Files.writeString(twice, "server:\n  port: 9001\n  port: 9002\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(twice), Map.of()))
                .hasMessageContaining("Duplicate field 'port'");
        Path blocks = dir.resolve("blocks.yaml");
        Files.writeString(blocks, "server:\n  managementPort: 9091\nevents:\n  retention: 1d\nserver:\n  port: 9000\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(blocks), Map.of()))
                .hasMessageContaining("Duplicate field 'server'");
        // One setting written two ways: the nested one won, silently.
        Path twoWays = dir.resolve("two-ways.yaml");
        Files.writeString(twoWays, "server:\n  port: 18790\nserver.port: 18791\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(twoWays), Map.of()))
                .hasMessageEndingWith("'server.port' is set twice (nested and as a dotted key); keep one");
        Path collections = dir.resolve("collections.yaml");
        Files.writeString(
                collections,
                "collections:\n  - name: orders\n    schema: {type: object}\n  - name: orders\n    eventFields: [state]\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(collections), Map.of()))
                .hasMessage("collections[1].name: 'orders' is declared twice");
        Path documents = dir.resolve("documents.yaml");
        Files.writeString(documents, "server:\n  port: 9000\n---\nserver:\n  managementPort: 9091\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(documents), Map.of()))
                .hasMessageContaining("more than one YAML document");
    }

    private static final String SECRET_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    @Test
    void theConfigurationPrintsNeitherKeyNorTheDatabasePassword() {
        Config config = ConfigLoader.load(
                Optional.empty(),
                Map.of(
                        "SWITCHBOARD_ADMIN_KEY", "sb_admin_Hunter2AdminKey-0123456789",
                        "SWITCHBOARD_SECRET_KEY", SECRET_KEY,
                        "SWITCHBOARD_DATABASE_URL", "postgresql://app:Hunter2Password@db.internal/sb"));
        assertThat(config.toString())
                .contains("port=8080", "adminKey=(set)", "secretKey=(set)", "db.internal")
                .doesNotContain("Hunter2AdminKey", SECRET_KEY, "Hunter2Password");
        assertThat(ConfigLoader.load(Optional.empty(), Map.of()).toString()).contains("adminKey=(not set)");
    }

    @Test
    void aNumberInTheFileIsReadAsWrittenNotAsYamlRewritesIt() throws IOException {
        // YAML 1.1 reads these as the numbers 12345678901234567890123456 (underscores dropped), 8 (octal)
        // and 8080 (hexadecimal); each setting now gets the text the operator wrote.
        Path file = dir.resolve("numbers.yaml");
        Files.writeString(
                file,
                "adminKey: 1234_5678_9012_3456_7890_1234_56\nserver:\n  port: 010\n"
                        + "collections:\n  - name: orders\n    schema: {type: object, maxProperties: 010}\n");
        Config config = ConfigLoader.load(Optional.of(file), Map.of());
        assertThat(config.adminKey()).contains("1234_5678_9012_3456_7890_1234_56");
        assertThat(config.port()).isEqualTo(10);
        // A collection's schema is JSON Schema, not a setting: it keeps YAML's numbers.
        assertThat(config.collections().getFirst().schema().get("maxProperties").isNumber())
                .isTrue();

        Path hex = dir.resolve("hex.yaml");
        Files.writeString(hex, "server:\n  port: 0x1F90\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(hex), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("server.port")
                .hasMessageContaining("'0x1F90' is not a whole number");

        Path list = dir.resolve("list.yaml");
        Files.writeString(list, "webhooks:\n  retryDelays: [10s, 1_0]\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(list), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("1_0");
    }

    @Test
    void wordsYamlReadsAsBooleansStayWhatWasWrittenAndAliasesAreRefused() throws IOException {
        // YAML 1.1 reads no, off and yes as booleans: a portal named No was named "false", and a data
        // directory written off became ./false, a new embedded database.
        Path words = dir.resolve("words.yaml");
        Files.writeString(words, "portal:\n  name: No\ndataDir: off\n");
        Config config = ConfigLoader.load(Optional.of(words), Map.of());
        assertThat(config.console().brandName()).isEqualTo("No");
        assertThat(config.dataDir().getFileName()).isEqualTo(Path.of("off"));
        Path yes = dir.resolve("yes.yaml");
        Files.writeString(yes, "webhooks:\n  allowPrivateAddresses: yes\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(yes), Map.of()))
                .hasMessageContaining("webhooks.allowPrivateAddresses")
                .hasMessageContaining("'yes' is not true or false");
        Files.writeString(yes, "webhooks:\n  allowPrivateAddresses: True\n");
        assertThat(ConfigLoader.load(Optional.of(yes), Map.of()).webhooks().allowPrivateAddresses())
                .isTrue();

        // The parser gives an alias as its anchor's name: dataDir would have been ./brand.
        Path alias = dir.resolve("alias.yaml");
        Files.writeString(alias, "portal:\n  name: &brand Acme Hotels\ndataDir: *brand\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(alias), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("line 3")
                .hasMessageContaining("alias (*brand)");
    }

    @Test
    void aListIsTakenOnlyByListsAndOnlyOfValues() throws IOException {
        Path nested = dir.resolve("nested.yaml");
        Files.writeString(nested, "webhooks:\n  retryDelays: [1m, [2m]]\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(nested), Map.of()))
                .hasMessageContaining("'webhooks.retryDelays[1]' must be a value, not a list or mapping");
        Path single = dir.resolve("single.yaml");
        Files.writeString(single, "server:\n  host: [a, b]\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(single), Map.of()))
                .hasMessageContaining("'server.host' takes one value, not a list");
        assertThatThrownBy(() ->
                        ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_WEBHOOKS_RETRY_DELAYS", "1m,5m,")))
                .hasMessageStartingWith("SWITCHBOARD_WEBHOOKS_RETRY_DELAYS");
    }

    @Test
    void aSettingsFileThatIsNotAFileStopsTheStart() throws IOException {
        // A volume mounted at the file's path: the server started on its defaults, with a new database.
        Path directory = Files.createDirectories(dir.resolve("mounted/switchboard.yaml"));
        assertThatThrownBy(() -> ConfigLoader.load(Map.of(), directory, warning -> {}))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("is not a file");
        Path broken = Files.createSymbolicLink(dir.resolve("switchboard.yaml"), dir.resolve("nowhere.yaml"));
        assertThatThrownBy(() -> ConfigLoader.load(Map.of(), broken, warning -> {}))
                .hasMessageContaining("is not a file");
        assertThat(ConfigLoader.load(Map.of(), dir.resolve("absent.yaml"), warning -> {})
                        .port())
                .isEqualTo(8080);
    }

    @Test
    void anEmptyVariableDoesNotSwapTheFilesDatabaseForTheEmbeddedOne() throws IOException {
        Path file = dir.resolve("database.yaml");
        Files.writeString(file, "database:\n  url: postgresql://app:pw@db.internal/sb\n");
        // A compose file's ${SWITCHBOARD_DATABASE_URL} with the variable unset.
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(file), Map.of("SWITCHBOARD_DATABASE_URL", "")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("SWITCHBOARD_DATABASE_URL is set but empty")
                .hasMessageNotContaining("pw@");
        List<String> warnings = new java.util.ArrayList<>();
        Path management = dir.resolve("management.yaml");
        Files.writeString(management, "server:\n  managementPort: 9091\n");
        assertThat(ConfigLoader.load(Optional.of(management), Map.of("SWITCHBOARD_MANAGEMENT_PORT", ""), warnings::add)
                        .managementPort())
                .isEmpty();
        assertThat(warnings).singleElement().asString().contains("SWITCHBOARD_MANAGEMENT_PORT");
    }

    @Test
    void valuesAPlainReadingWouldGetWrongAreRefused() {
        assertThatThrownBy(() -> ConfigLoader.load(
                        Optional.empty(), Map.of("SWITCHBOARD_WEBHOOKS_ALLOWED_ADDRESSES", "10.1/16")))
                .hasMessageContaining("write all four parts");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_HOST", "localhost:9000")))
                .hasMessageStartingWith("SWITCHBOARD_HOST")
                .hasMessageContaining("without a port");
        assertThat(ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_HOST", "::1"))
                        .host())
                .isEqualTo("::1");
        assertThatThrownBy(
                        () -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_MANAGEMENT_HOST", "127.0.0.1")))
                .hasMessageStartingWith("SWITCHBOARD_MANAGEMENT_HOST")
                .hasMessageContaining("needs server.managementPort");
        assertThat(Durations.parse("36500d")).isEqualTo(Duration.ofDays(36_500));
        for (String absurd : List.of("36501d", "999999999d")) {
            assertThatThrownBy(() -> Durations.parse(absurd)).hasMessageContaining("at most 36500d");
        }
        assertThat(DatabaseUrl.parse("postgresql://app:a+b@db/sb").password()).isEqualTo("a+b");
        // The driver takes # and ; in a password parameter as part of it: so does the mask.
        for (String password : List.of("Ab#SECRETTAIL", "Cd;SECRETSEMI")) {
            assertThat(DatabaseUrl.parse("jdbc:postgresql://127.0.0.1/sb?user=app&password=" + password + "&ssl=false")
                            .toString())
                    .doesNotContain("SECRET")
                    .endsWith("&ssl=false");
        }
        // HikariCP's errors repeat the URL, masking a password parameter only up to its # or ;.
        DatabaseUrl semicolon = DatabaseUrl.parse("jdbc:postgresql://127.0.0.1:abc/sb?user=app&password=PWA;PWB#PWC");
        RuntimeException failed = new RuntimeException(
                "Failed for jdbcUrl=jdbc:postgresql://127.0.0.1:abc/sb?user=app&password=<masked>;PWB#PWC",
                new java.sql.SQLException("no driver for password=PWA;PWB#PWC"));
        RuntimeException hidden = semicolon.hiding(failed);
        assertThat(hidden.getMessage())
                .doesNotContain("PW")
                .contains("password=***")
                .contains("caused by SQLException: no driver");
        assertThat(hidden.getCause()).isNull();
        DatabaseUrl userInfo = DatabaseUrl.parse("postgresql://app:hunter2@db/sb");
        assertThat(userInfo.hiding(new RuntimeException("auth failed with hunter2"))
                        .getMessage())
                .isEqualTo("auth failed with ***");
        RuntimeException harmless = new RuntimeException("connection refused");
        assertThat(userInfo.hiding(harmless)).isSameAs(harmless);
        assertThatThrownBy(() -> DatabaseUrl.parse("jdbc:postgresql://app:hunter2@127.0.0.1:5432/sb"))
                .hasMessageContaining("takes no user:password@")
                .hasMessageNotContaining("hunter2");
        assertThatThrownBy(() -> DatabaseUrl.parse("postgresql://app:pw@db:99999/sb"))
                .hasMessageContaining("1 to 65535");
        assertThatThrownBy(() -> ConfigLoader.load(
                        Optional.empty(), Map.of("SWITCHBOARD_PUBLIC_URL", "https://sb.example:99999")))
                .hasMessageStartingWith("SWITCHBOARD_PUBLIC_URL")
                .hasMessageContaining("1 to 65535");
        for (String port : List.of("+18311", "١٨٣١١")) {
            assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_PORT", port)))
                    .hasMessageContaining("is not a whole number");
        }
        // Allowed, but said: it opens loopback, private and metadata addresses to every integration.
        List<String> warnings = new java.util.ArrayList<>();
        ConfigLoader.load(
                Optional.empty(), Map.of("SWITCHBOARD_WEBHOOKS_ALLOWED_ADDRESSES", "10.1.0.0/16,::/0"), warnings::add);
        assertThat(warnings)
                .singleElement()
                .asString()
                .contains("0:0:0:0:0:0:0:0/0")
                .contains("every integration");
        // 10.1.2.3/8 would open all of 10.0.0.0/8.
        assertThatThrownBy(() -> ConfigLoader.load(
                        Optional.empty(), Map.of("SWITCHBOARD_WEBHOOKS_ALLOWED_ADDRESSES", "10.1.2.3/8")))
                .hasMessageContaining("the range it would name is 10.0.0.0/8");
        assertThat(Cidr.parse("fd00:1::/32").toString()).isEqualTo("fd00:1:0:0:0:0:0:0/32");
        assertThatThrownBy(() -> Cidr.parse("fd00:1::1/64")).hasMessageContaining("fd00:1:0:0:0:0:0:0/64");
        // wait= is in whole seconds: 500ms refused every wait but 0.
        assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_EVENTS_MAX_WAIT", "500ms")))
                .hasMessageStartingWith("SWITCHBOARD_EVENTS_MAX_WAIT")
                .hasMessageContaining("whole seconds");
    }

    @Test
    void theAccessTokenListenReadsIsNotASettingAndDoesNotStopAServer() {
        // A developer exports it for `switchboard listen`, then starts a server from the same shell.
        Config config = ConfigLoader.load(Optional.empty(), Map.of("SWITCHBOARD_ACCESS_TOKEN", "sb_access_x"));
        assertThat(config.port())
                .isEqualTo(ConfigLoader.load(Optional.empty(), Map.of()).port());
    }
}
