package dev.switchboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The test layers stay honest without anyone remembering them: a test class that starts nothing (no
 * database, server or browser) is {@link Fast}, so {@code bin/test --fast} runs it, and one that does is
 * not; a class that drives a browser is tagged {@code browser}, so it is skipped where none is installed.
 * {@code FastGuard} catches, at run time, what this reading of the sources cannot see (a helper that
 * starts a database for the test).
 */
@Fast
class TestLayersTest {
    private static final Path TESTS = Path.of("src/test/java/dev/switchboard");
    /** What makes a test slow: each of these starts a database, a server or a browser. */
    private static final Pattern STARTS_SOMETHING = Pattern.compile(
            "\\b(TestDatabase|TestServer|ServerProcess|EmbeddedDatabase|ExternalPostgres|HeadlessChromium)\\b|Database\\.open");

    private static final Pattern FAST = Pattern.compile("(?m)^@(dev\\.switchboard\\.testing\\.)?Fast\\b");
    private static final Pattern BROWSER = Pattern.compile("(?m)^@(dev\\.switchboard\\.testing\\.)?Browser\\b");

    @Test
    void aTestClassIsFastExactlyWhenItStartsNoDatabaseServerOrBrowser() throws IOException {
        List<String> wrong = new ArrayList<>();
        for (Path file : testClasses()) {
            String source = Files.readString(file);
            boolean startsSomething = STARTS_SOMETHING.matcher(source).find();
            boolean fast = FAST.matcher(source).find();
            if (startsSomething && fast) {
                wrong.add(TESTS.relativize(file) + " is @Fast but starts a database, server or browser");
            } else if (!startsSomething
                    && !fast
                    && !source.contains("@Tag(\"reliability\")")
                    && !source.contains("@Tag(\"dist\")")) {
                wrong.add(TESTS.relativize(file) + " starts nothing: annotate it @Fast so bin/test --fast runs it");
            }
        }
        assertThat(wrong).isEmpty();
    }

    @Test
    void everyTestThatDrivesABrowserIsTaggedSoItCanBeSkipped() throws IOException {
        List<String> untagged = new ArrayList<>();
        for (Path file : testClasses()) {
            String source = Files.readString(file);
            if (source.contains("HeadlessChromium") && !BROWSER.matcher(source).find()) {
                untagged.add(TESTS.relativize(file) + " uses HeadlessChromium without @Browser");
            }
        }
        assertThat(untagged).isEmpty();
    }

    private static List<Path> testClasses() throws IOException {
        try (Stream<Path> files = Files.walk(TESTS)) {
            // This class names what it looks for, so it leaves itself out.
            List<Path> found = files.filter(f -> f.getFileName().toString().endsWith("Test.java"))
                    .filter(f -> !f.getFileName().toString().equals("TestLayersTest.java"))
                    .sorted()
                    .toList();
            assertThat(found).as("test sources under " + TESTS.toAbsolutePath()).isNotEmpty();
            return found;
        }
    }
}
