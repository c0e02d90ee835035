package dev.switchboard.support;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

@Fast
class VersionTest {
    @Test
    void theVersionIsThePomsAsMavenWroteItIntoTheBuild() throws IOException {
        String pom = Files.readString(Path.of("pom.xml"));
        Matcher project = Pattern.compile("<artifactId>switchboard</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(pom);
        assertThat(project.find()).as("the project's version in pom.xml").isTrue();
        assertThat(Version.current()).isEqualTo(project.group(1));
    }
}
