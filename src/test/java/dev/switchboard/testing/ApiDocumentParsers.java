package dev.switchboard.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The published parsers of AsyncAPI and OpenAPI documents, run with Node.js from src/test/api-documents,
 * where bin/test installs them with npm ci. A test using them is skipped, with the reason, where Node.js
 * or the parsers could not be installed.
 */
public final class ApiDocumentParsers {
    private static final Path DIR = Path.of("src/test/api-documents");

    private ApiDocumentParsers() {}

    /**
     * Runs {@code script} (validate-asyncapi.mjs or validate-openapi.mjs) on {@code document} and asserts
     * that it exits 0; returns what it printed (one JSON line per diagnostic, then a summary line).
     */
    public static String assertValid(String script, String npmPackage, JsonNode document) throws Exception {
        Optional<Path> node = Executables.onPath("node");
        Assumptions.assumeTrue(node.isPresent(), "needs Node.js on PATH (bin/test installs Debian's nodejs as root)");
        Assumptions.assumeTrue(
                Files.isDirectory(DIR.resolve("node_modules").resolve(npmPackage)),
                "needs " + npmPackage + " in " + DIR + "/node_modules, which bin/test installs with npm ci;"
                        + " it could not be installed here");
        Path file = Files.createTempFile("api-document", ".json");
        try {
            Files.writeString(file, Json.write(document));
            Process process = new ProcessBuilder(
                            node.get().toString(), script, file.toAbsolutePath().toString())
                    .directory(DIR.toFile())
                    .redirectErrorStream(true)
                    .start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).as(output).isZero();
            return output;
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
