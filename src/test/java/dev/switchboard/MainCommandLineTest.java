package dev.switchboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.Version;
import dev.switchboard.testing.Fast;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The launcher's command line: what it prints and the status it exits with. An unknown command or
 * option gets a short usage and status 2, and returns at once: nothing was started.
 */
@Fast
class MainCommandLineTest {
    private record Run(int status, String out, String err) {}

    private static Run run(String... args) {
        CommandLine cli = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int status = cli.execute(args);
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void versionIsTheProjectVersionEverywhere() throws Exception {
        Matcher m = Pattern.compile("<artifactId>switchboard</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(Files.readString(Path.of("pom.xml")));
        assertThat(m.find()).isTrue();
        assertThat(Version.current()).isEqualTo(m.group(1));
        assertThat(run("--version")).isEqualTo(new Run(0, "switchboard " + m.group(1) + "\n", ""));
        assertThat(run("listen", "--version").out()).isEqualTo("switchboard " + m.group(1) + "\n");
        assertThat(run("serve", "--version").out()).isEqualTo("switchboard " + m.group(1) + "\n");
    }

    @Test
    void helpDescribesEachCommand() {
        Run top = run("--help");
        assertThat(top.status()).isZero();
        assertThat(top.out()).contains("serve").contains("listen").contains("Without a command, starts a server");
        Run listen = run("listen", "--help");
        assertThat(listen.status()).isZero();
        assertThat(listen.out())
                .contains("--url")
                .contains("--token")
                .contains("--forward-to")
                .contains("--types")
                .contains("--after")
                .contains("--since")
                .contains("--print-json")
                .contains("--allow-external");
        assertThat(run("serve", "--help").out()).contains("SWITCHBOARD_");
    }

    @Test
    void anUnknownCommandOrOptionGetsAShortUsageAndStatus2() {
        for (String[] args : new String[][] {
            {"bogus"}, {"--bogus"}, {"serve", "--port", "1"}, {"listen", "--nope"}, {"listen", "--url", "http://x"}
        }) {
            Run r = run(args);
            assertThat(r.status()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.out()).as(String.join(" ", args)).isEmpty();
            assertThat(r.err()).contains("Try 'switchboard").contains("--help'");
            assertThat(r.err().lines().count()).as("short: " + r.err()).isLessThanOrEqualTo(8);
        }
        assertThat(run("bogus").err()).startsWith("switchboard: unknown command 'bogus' (commands: serve, listen)");
        assertThat(run("listen", "--url", "http://x").err()).contains("--token").contains("--forward-to");
    }

    @Test
    void listenRefusesAMalformedStartBeforeDoingAnything() {
        Run both = run(
                "listen",
                "--url",
                "http://127.0.0.1:9",
                "--token",
                "t",
                "--forward-to",
                "http://127.0.0.1:9/",
                "--after",
                "3",
                "--since",
                "5m");
        assertThat(both.status()).isEqualTo(2);
        assertThat(both.err()).contains("mutually exclusive");
        Run scheme = run("listen", "--url", "http://127.0.0.1:9", "--token", "t", "--forward-to", "ftp://127.0.0.1/");
        assertThat(scheme.status()).isEqualTo(2);
        assertThat(scheme.err()).contains("http:// or https://");
    }
}
