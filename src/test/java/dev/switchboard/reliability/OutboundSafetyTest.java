package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.CapturedLogs;
import dev.switchboard.testing.FaultyReceiver;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.ReliabilityReport;
import dev.switchboard.testing.TestServer;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Server-side request forgery, tried every way we know: at registration, through redirects, and
 * through a name that resolves to a refused address only when the connection is made. Every attempt is
 * refused and logged, and nothing reaches a refused address.
 */
@Tag("reliability")
@Timeout(300)
class OutboundSafetyTest {
    /** Addresses webhooks must never reach, in every spelling we know of. */
    private static final List<String> BYPASSES = List.of(
            "http://127.0.0.1/",
            "http://127.0.0.2/",
            "http://127.1/",
            "http://0177.0.0.1/",
            "http://017700000001/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0x7f.0.0.1/",
            "http://0/",
            "http://0.0.0.0/",
            "http://[::]/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:2]/",
            "http://[0:0:0:0:0:ffff:127.0.0.2]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:7f00:1::]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://[fe80::1]/",
            "http://[fd00:ec2::254]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://169.254.170.2/v2/credentials",
            "http://100.100.100.200/latest/meta-data/",
            "http://10.0.0.1/",
            "http://172.16.0.1/",
            "http://192.168.0.1/",
            "http://100.64.0.1/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://localhost/",
            "http://LOCALHOST./",
            "http://app.localhost/",
            "http://user@169.254.169.254/",
            "http://169.254.169.254#@example.com/",
            "gopher://example.com/",
            "file:///etc/passwd",
            "http://[fe80::1%25eth0]/",
            "http://[::ffff:0:7f00:1]/",
            "http://[::ffff:0:a9fe:a9fe]/",
            "http://[::ffff:0:a00:1]/",
            "http://[64:ff9b::7f00:1]/");

    /** IPv4-translated (RFC 2765, ::ffff:0:0:0/96) and NAT64 spellings, recorded as their own row. */
    private static final List<String> TRANSLATED = BYPASSES.stream()
            .filter(u -> u.contains("[::ffff:0:") || u.contains("[64:ff9b::"))
            .toList();

    private static final Map<String, String> GUARDED = Map.of(
            "SWITCHBOARD_WEBHOOKS_ALLOWED_ADDRESSES", "127.0.0.1/32", // only the test receiver itself
            "SWITCHBOARD_WEBHOOKS_TIMEOUT", "1s",
            "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS", "",
            "SWITCHBOARD_WEBHOOKS_LEASE_TIME", "3s");

    @Test
    void everyKnownBypassIsRefusedAtRegistrationOnRedirectAndAtConnectTimeAndLogged() throws Exception {
        Map<String, Object> figures = new LinkedHashMap<>();
        try (FaultyReceiver receiver = new FaultyReceiver();
                CapturedLogs logs = new CapturedLogs();
                TestServer server = TestServer.start(GUARDED)) {
            server.createCollection("rooms");
            String tenant = server.createTenant("ssrf");
            JsonNode integration = server.createIntegration("probe", List.of("*"), List.of("*"), List.of("*"));
            Api client = server.api(integration.get("clientKey").asText());
            Api writer = server.api(server.connect(integration.get("id").asText(), tenant)
                    .get("accessToken")
                    .asText());

            // Every target behind a redirect from the allowed receiver, except the ones that mean the receiver's own
            // allowed address (127.0.0.1 in any spelling, localhost) and ones no Location can carry.
            List<String> targets = BYPASSES.stream()
                    .filter(u -> u.startsWith("http://")
                            && !u.contains("#")
                            && !u.contains("localhost")
                            && !u.contains("LOCALHOST")
                            && !u.contains("127.0.0.1"))
                    .toList();
            List<String> webhooks = new ArrayList<>();
            for (int i = 0; i < targets.size(); i += 19) {
                List<String> batch = targets.subList(i, Math.min(targets.size(), i + 19));
                List<String> ids = new ArrayList<>();
                for (String target : batch) {
                    ids.add(client.post("/api/v1/webhooks", Map.of("url", receiver.redirectTo(target)))
                            .expect(201)
                            .json()
                            .get("id")
                            .asText());
                }
                writer.post("/api/v1/collections/rooms/records", Map.of("data", Map.of()))
                        .expect(201);
                for (String id : ids) {
                    JsonNode attempt = await().atMost(Duration.ofSeconds(30))
                            .until(
                                    () -> client.get("/api/v1/webhooks/" + id + "/messages")
                                            .json()
                                            .get("messages"),
                                    m -> m.size() == 1
                                            && m.get(0).get("status").asText().equals("failed"))
                            .get(0)
                            .get("attempts")
                            .get(0);
                    assertThat(attempt.get("outcome").asText()).isEqualTo("redirect_error");
                    assertThat(attempt.get("error").asText()).contains("may not call");
                    client.delete("/api/v1/webhooks/" + id).expect(204);
                }
                webhooks.addAll(ids);
            }
            long loggedRedirects = logs.lines().stream()
                    .filter(l -> l.contains("redirect_error"))
                    .count();
            assertThat(loggedRedirects).as("each refused redirect is logged").isGreaterThanOrEqualTo(targets.size());
            figures.put("Bypass targets tried behind a 307", targets.size());
            figures.put("Followed", 0);
            figures.put("Refusals logged", loggedRedirects);
        }

        // With no allowance at all: every spelling is refused at registration; and a name that resolves to
        // a refused address is accepted (a name is not an address) but refused when the connection is made,
        // on the addresses it resolves to then.
        String host = InetAddress.getLocalHost().getHostName();
        try (FaultyReceiver receiver = new FaultyReceiver();
                CapturedLogs logs = new CapturedLogs();
                TestServer server = TestServer.start(Map.of(
                        "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS",
                        "",
                        "SWITCHBOARD_WEBHOOKS_TIMEOUT",
                        "1s",
                        "SWITCHBOARD_WEBHOOKS_LEASE_TIME",
                        "3s"))) {
            server.createCollection("rooms");
            String tenant = server.createTenant("rebind");
            JsonNode integration = server.createIntegration("probe", List.of("*"), List.of("*"), List.of("*"));
            Api client = server.api(integration.get("clientKey").asText());
            Api writer = server.api(server.connect(integration.get("id").asText(), tenant)
                    .get("accessToken")
                    .asText());
            List<String> accepted = new ArrayList<>();
            for (String url : BYPASSES) {
                Api.Response r = client.post("/api/v1/webhooks", Map.of("url", url));
                if (r.status() != 400) {
                    accepted.add(url + " → " + r.status());
                }
            }
            assertThat(accepted).as("bypass URLs accepted at registration").isEmpty();
            ReliabilityReport.hostilePartner(
                    "Webhook URL naming loopback, metadata or a private address in IPv4-translated"
                            + " (::ffff:0:a.b.c.d) or NAT64 (64:ff9b::/96) form, directly and behind a 307",
                    TRANSLATED.size()
                            + " URLs: " + TRANSLATED.size() + " refused at registration (400), " + TRANSLATED.size()
                            + " refused behind a 307 (redirect_error), 0 requests made");
            figures.put("Bypass URLs tried at registration", BYPASSES.size());
            figures.put("Accepted at registration", accepted.size());

            if (!InetAddress.getByName(host).isLoopbackAddress()) {
                figures.put(
                        "A name resolving to loopback at connect time",
                        "not tried: " + host + " does not resolve to loopback here");
            } else {
                String url = "http://" + host + ":" + receiver.url("/").split(":")[2];
                String id = client.post("/api/v1/webhooks", Map.of("url", url))
                        .expect(201)
                        .json()
                        .get("id")
                        .asText();
                writer.post("/api/v1/collections/rooms/records", Map.of("data", Map.of()))
                        .expect(201);
                JsonNode attempt = await().atMost(Duration.ofSeconds(30))
                        .until(
                                () -> client.get("/api/v1/webhooks/" + id + "/messages")
                                        .json()
                                        .get("messages"),
                                m -> m.size() == 1
                                        && m.get(0).get("status").asText().equals("failed"))
                        .get(0)
                        .get("attempts")
                        .get(0);
                assertThat(attempt.get("outcome").asText()).isEqualTo("blocked_address");
                assertThat(receiver.arrivals("/")).isEmpty();
                assertThat(logs.lines()).anyMatch(l -> l.contains("Webhook call refused") && l.contains(host));
                figures.put(
                        "A name resolving to loopback at connect time",
                        "refused (" + attempt.get("outcome").asText() + "), logged, nothing received");
            }
        }
        // The redirect phase above ran before this one; the row above states both, so both must have held.
        ReliabilityReport.record(
                "Outbound safety (SSRF)",
                "Every known way to make a webhook call an internal address:"
                        + " IP literals in decimal, octal, hex and short forms, 0.0.0.0, IPv6 unspecified and loopback, IPv4-mapped,"
                        + " IPv4-translated, IPv4-compatible, NAT64, 6to4 and Teredo forms, link-local with a zone, cloud metadata addresses, private"
                        + " and shared ranges, localhost names, credentials and fragments in the URL, other schemes; then the same"
                        + " targets behind a 307 from an allowed receiver, and a name that resolves to loopback only when the"
                        + " connection is made.",
                figures);
    }

    /**
     * Whoever creates collections names a meta-schema, an embedded resource's meta-schema, or a base URI
     * that a reference resolves against, all on a server of theirs: the schema library must load none of
     * them, and the creation is refused naming the field.
     */
    @Test
    void aCollectionSchemaCannotMakeTheServerFetchAUrl() {
        try (Receiver attacker = new Receiver();
                TestServer server = TestServer.start()) {
            attacker.answer(r -> Receiver.Reply.status(200)
                    .withHeader("Content-Type", "application/json")
                    .withBody("{\"type\": \"object\"}"));
            List<Map<String, Object>> schemas = List.of(
                    Map.of("$schema", attacker.url("/meta")),
                    Map.of("$schema", attacker.url("/meta#")),
                    Map.of(
                            "$schema",
                            "https://json-schema.org/draft/2020-12/schema/../../../"
                                    + attacker.url("/x").substring(7)),
                    Map.of(
                            "$defs",
                            Map.of("inner", Map.of("$id", attacker.url("/inner"), "$schema", attacker.url("/meta")))),
                    Map.of(
                            "$id",
                            attacker.url("/base"),
                            "properties",
                            Map.of("room", Map.of("$id", attacker.url("/room"), "$ref", "#/$defs/missing"))),
                    Map.of("$ref", attacker.url("/ref")),
                    Map.of("properties", Map.of("a", Map.of("$dynamicRef", attacker.url("/dyn")))));
            List<String> fields = new ArrayList<>();
            for (int i = 0; i < schemas.size(); i++) {
                Api.Response r = server.admin.post(
                        "/api/v1/collections", Map.of("name", "fetch_" + i, "schema", schemas.get(i)));
                assertThat(r.status()).as(schemas.get(i).toString()).isEqualTo(400);
                fields.add(r.json().get("error").get("details").get("field").asText());
            }
            assertThat(fields).allMatch(f -> f.startsWith("schema"));
            assertThat(attacker.received())
                    .as("requests that reached the attacker's server")
                    .isEmpty();
            ReliabilityReport.hostilePartner(
                    "Collection schema naming an attacker's URL as $schema (also in an embedded"
                            + " resource), as a base $id a reference resolves against, or as $ref / $dynamicRef",
                    schemas.size()
                            + " schemas: " + schemas.size() + " refused with 400 naming the field ("
                            + String.join(", ", new java.util.TreeSet<>(fields)) + "), 0 requests reached the URL");
        }
    }
}
