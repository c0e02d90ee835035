package dev.switchboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The packages read in one direction, the way data flows: a package may import only packages on a
 * lower layer, never one beside it or above it, so there is no cycle and each layer can be read
 * without the ones above. ARCHITECTURE.md describes the same order.
 */
@Fast
class PackageLayersTest {
    private static final Path SOURCES = Path.of("src/main/java/dev/switchboard");
    private static final Map<String, Integer> LAYERS = Map.ofEntries(
            Map.entry("config", 0),
            Map.entry("support", 0),
            Map.entry("db", 1),
            Map.entry("events", 2),
            Map.entry("store", 3),
            Map.entry("auth", 4),
            Map.entry("web", 4),
            Map.entry("webhooks", 5),
            Map.entry("websockets", 5),
            Map.entry("api", 6),
            Map.entry("console", 6), // the operator console and partner portal: sessions, pages
            Map.entry("cli", 6), // switchboard listen: reuses the webhooks' body and signature
            Map.entry("client", 0), // the Java client (client/), compiled in: it imports nothing of the server
            Map.entry("", 7)); // the composition root and Main
    private static final Pattern IMPORT =
            Pattern.compile("^import (?:static )?dev\\.switchboard\\.(?:([a-z]+)\\.)?[A-Z]", Pattern.MULTILINE);

    @Test
    void everyPackageImportsOnlyPackagesOnALowerLayer() throws IOException {
        List<String> violations = new ArrayList<>();
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String from = SOURCES.relativize(file.getParent()).toString().replace('/', '.');
                assertThat(LAYERS)
                        .as("the layer of package '%s' (add it to LAYERS and ARCHITECTURE.md)", from)
                        .containsKey(from);
                Matcher m = IMPORT.matcher(Files.readString(file));
                while (m.find()) {
                    String to = m.group(1) == null ? "" : m.group(1);
                    if (!to.equals(from) && LAYERS.get(to) >= LAYERS.get(from)) {
                        violations.add(SOURCES.relativize(file) + " imports " + (to.isEmpty() ? "the root" : to));
                    }
                }
            }
        }
        assertThat(violations)
                .as("imports of a package on the same or a higher layer")
                .isEmpty();
    }
}
