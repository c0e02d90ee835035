package dev.switchboard.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The rolling-restart scenario runs the shipped nginx file with only its addresses replaced, and both
 * shipped files let a body over Switchboard's limit through to it.
 */
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
                .doesNotContain("listen 80;")
                .doesNotContain("access_log");
        // Everything but the addresses and the access log is the shipped file's.
        assertThat(configured.replaceAll("(?m)^\\s*(server|listen) .*$", ""))
                .isEqualTo(shipped.replaceAll("(?m)^\\s*(server|listen) .*$", "")
                        .replaceAll("(?m)^\\s*access_log .*\n", ""));
    }

    /** A socket's token may come in its query (?access_token=): neither shipped file logs a query. */
    @Test
    void neitherShippedFileLogsAQueryString() throws IOException {
        for (Path file : List.of(Nginx.CONFIG, Path.of("deploy", "nginx", "compose.conf"))) {
            String text = Files.readString(file);
            Matcher format = Pattern.compile("log_format switchboard_no_query ((?:'[^']*'\\s*)+);")
                    .matcher(text);
            assertThat(format.find()).as(file + " defines its log format").isTrue();
            assertThat(format.group(1))
                    .as(file.toString())
                    .contains("$uri")
                    .doesNotContain("$request ")
                    .doesNotContain("$request\"")
                    .doesNotContain("$request_uri")
                    .doesNotContain("$args")
                    .doesNotContain("$query_string");
            assertThat(text).as(file.toString()).contains("access_log /var/log/nginx/access.log switchboard_no_query;");
        }
    }

    @Test
    void bothShippedFilesLetABodyOverTheServersLimitReachTheServer() throws IOException {
        long serverLimit = 1024 * 1024; // server.maxBodySize's default
        for (Path file : List.of(Nginx.CONFIG, Path.of("deploy", "nginx", "compose.conf"))) {
            // At or under the server's limit, nginx answers a larger body with its own HTML page, not the JSON 413.
            Matcher size = Pattern.compile("client_max_body_size (\\d+)m;").matcher(Files.readString(file));
            assertThat(size.find()).as(file + " sets client_max_body_size").isTrue();
            assertThat(Long.parseLong(size.group(1)) * 1024 * 1024)
                    .as(file.toString())
                    .isGreaterThan(serverLimit);
        }
    }
}
