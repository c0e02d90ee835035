package dev.switchboard.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The rolling-restart scenario runs the shipped nginx file with only its addresses replaced. */
@Fast
class NginxConfigTest {
    @Test
    void theShippedFileGetsTheScenariosAddressesAndKeepsEverythingElse() throws IOException {
        String shipped = Files.readString(Nginx.CONFIG);
        String configured = Nginx.configure(shipped, 4567, List.of(9001, 9002, 9003));

        assertThat(configured)
                .contains("listen 127.0.0.1:4567;")
                .contains("server 127.0.0.1:9001 max_fails=1 fail_timeout=2s;")
                .contains("server 127.0.0.1:9002 max_fails=1 fail_timeout=2s;")
                .contains("server 127.0.0.1:9003 max_fails=1 fail_timeout=2s;")
                .doesNotContain("10.0.0.1")
                .doesNotContain("listen 80;");
        // Everything but the addresses is the shipped file's.
        assertThat(configured.replaceAll("(?m)^\\s*(server|listen) .*$", ""))
                .isEqualTo(shipped.replaceAll("(?m)^\\s*(server|listen) .*$", ""));
    }
}
