package dev.switchboard.console;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import org.junit.jupiter.api.Test;

/** The console's files are read once and kept; the names anyone may ask for are not. */
@Fast
class ConsoleAssetsTest {
    @Test
    void onlyFilesThatExistAreKept() {
        ConsolePages pages = new ConsolePages("'none'");
        for (int i = 0; i < 1_000; i++) {
            assertThat(pages.find("missing-" + i + ".js")).isEmpty();
            assertThat(pages.find("../" + i + "/etc/passwd")).isEmpty();
        }
        assertThat(pages.kept()).isZero();

        ConsolePages.Asset app = pages.find("app.js").orElseThrow();
        assertThat(app.type()).startsWith("text/javascript");
        assertThat(pages.find("app.js").orElseThrow()).isSameAs(app);
        assertThat(pages.kept()).isEqualTo(1);
    }
}
