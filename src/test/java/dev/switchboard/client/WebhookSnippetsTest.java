package dev.switchboard.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import dev.switchboard.testing.Executables;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.assertj.core.api.Assumptions;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The verification snippets of docs/webhook-verification.md, as printed there, accept a message the
 * server signed and refuse it once its body or signature is changed; so does the Java client.
 */
@Timeout(120)
class WebhookSnippetsTest {
    private static final Path DOC = Path.of("docs/webhook-verification.md");
    static TestServer server;
    static Receiver receiver;
    static String secret;
    static Receiver.Received message;

    @TempDir
    Path dir;

    @BeforeAll
    static void receiveASignedMessage() {
        server = TestServer.start(Map.of("SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true"));
        server.createCollection("rooms", "eventFields", List.of("guest"));
        receiver = new Receiver();
        Partner partner = Partner.create(server, List.of("*"));
        secret = partner.webhook(Map.of("url", receiver.url("/hooks")))
                .get("secret")
                .asText();
        // Characters beyond ASCII: the signature covers the raw UTF-8 bytes.
        partner.writeRecords("rooms", 1, Map.of("guest", "Zoë Ångström ☃"));
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> !receiver.received("/hooks").isEmpty());
        message = receiver.received("/hooks").get(0);
    }

    @AfterAll
    static void stop() {
        receiver.close();
        server.close();
    }

    @Test
    void theJavaClientVerifiesTheServersMessage() throws Exception {
        assertThat(message.body()).contains("Zoë Ångström ☃");
        WebhookVerifier.of(secret).verify(message.body(), message.headers());
    }

    @Test
    void theNodeSnippetVerifiesTheServersMessage() throws Exception {
        Assumptions.assumeThat(Executables.onPath("node").isPresent())
                .as("Node.js is not installed (bin/test installs Debian's nodejs when it runs as root)")
                .isTrue();
        Files.writeString(dir.resolve("verify.js"), snippet("js"));
        Files.writeString(dir.resolve("run.js"), """
                const fs = require('node:fs');
                const { verifyWebhook } = require('./verify.js');
                const [bodyFile, headersFile, secret] = process.argv.slice(2);
                try {
                  verifyWebhook(secret, JSON.parse(fs.readFileSync(headersFile, 'utf8')), fs.readFileSync(bodyFile));
                  console.log('verified');
                } catch (e) {
                  console.log('refused: ' + e.message);
                  process.exit(1);
                }
                """);
        assertVerifies("node", "run.js");
    }

    @Test
    void thePythonSnippetVerifiesTheServersMessage() throws Exception {
        Assumptions.assumeThat(Executables.onPath("python3").isPresent())
                .as("python3 is not installed")
                .isTrue();
        Files.writeString(dir.resolve("run.py"), snippet("python") + """

                        import json, sys
                        body_file, headers_file, secret = sys.argv[1:4]
                        try:
                            verify_webhook(secret, json.load(open(headers_file)), open(body_file, "rb").read())
                            print("verified")
                        except ValueError as e:
                            print("refused: " + str(e))
                            sys.exit(1)
                        """);
        assertVerifies("python3", "run.py");
    }

    @Test
    void theGoSnippetVerifiesTheServersMessage() throws Exception {
        Assumptions.assumeThat(Executables.onPath("go").isPresent())
                .as("Go is not installed (no Go toolchain is needed to build Switchboard)")
                .isTrue();
        Files.createDirectories(dir.resolve("webhooks"));
        Files.writeString(dir.resolve("webhooks/verify.go"), snippet("go"));
        Files.writeString(dir.resolve("go.mod"), "module verify\n\ngo 1.19\n");
        Files.writeString(dir.resolve("main.go"), """
                package main

                import (
                	"encoding/json"
                	"fmt"
                	"net/http"
                	"os"
                	"time"

                	"verify/webhooks"
                )

                func main() {
                	body, _ := os.ReadFile(os.Args[1])
                	raw, _ := os.ReadFile(os.Args[2])
                	var headers map[string]string
                	json.Unmarshal(raw, &headers)
                	h := http.Header{}
                	for k, v := range headers {
                		h.Set(k, v)
                	}
                	if err := webhooks.Verify(os.Args[3], h, body, 5*time.Minute); err != nil {
                		fmt.Println("refused: " + err.Error())
                		os.Exit(1)
                	}
                	fmt.Println("verified")
                }
                """);
        Files.writeString(dir.resolve("run.sh"), "exec go run . \"$@\"\n");
        assertVerifies("sh", "run.sh");
    }

    /** The message verifies; with one byte of its body changed, or another secret, it does not. */
    private void assertVerifies(String interpreter, String script) throws Exception {
        Map<String, String> headers = new LinkedHashMap<>();
        for (String name : List.of("webhook-id", "webhook-timestamp", "webhook-signature")) {
            headers.put(name, message.header(name));
        }
        Files.writeString(dir.resolve("headers.json"), Json.write(headers));
        byte[] body = message.body().getBytes(StandardCharsets.UTF_8);
        Files.write(dir.resolve("body"), body);
        assertThat(run(interpreter, script, secret)).isEqualTo("verified");

        byte[] changed = body.clone();
        changed[changed.length - 2] ^= 1;
        Files.write(dir.resolve("body"), changed);
        assertThat(run(interpreter, script, secret)).startsWith("refused: no signature matches");

        Files.write(dir.resolve("body"), body);
        assertThat(run(interpreter, script, dev.switchboard.webhooks.Signer.newSecret()))
                .startsWith("refused: no signature matches");
        JsonNode parsed = Json.read(message.body());
        assertThat(parsed.get("events").get(0).get("type").asText()).isEqualTo("rooms.created");
    }

    private String run(String interpreter, String script, String key) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(
                        interpreter,
                        dir.resolve(script).toString(),
                        dir.resolve("body").toString(),
                        dir.resolve("headers.json").toString(),
                        key)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    /** The first fenced block of {@code language} in the doc, exactly as printed. */
    private static String snippet(String language) throws IOException {
        Matcher m = Pattern.compile("```" + language + "\\n(.*?)```", Pattern.DOTALL)
                .matcher(Files.readString(DOC));
        assertThat(m.find()).as("a ```%s block in %s", language, DOC).isTrue();
        return m.group(1);
    }
}
