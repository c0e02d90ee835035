package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import dev.switchboard.testing.RawHttp;
import dev.switchboard.testing.TestServer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Requests that are not valid HTTP, or whose bodies are not UTF-8 JSON, still get the error JSON with a Request-Id. */
class MalformedRequestsTest {
    static TestServer server;
    static String token;
    static int port;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        server.createCollection("reservations");
        server.createTenant("hotel-1");
        token = server.partnerToken("hotel-1");
        port = server.switchboard().port();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static RawHttp.Response send(
            String method, String target, List<Map.Entry<String, String>> headers, byte[] body) throws Exception {
        return RawHttp.send(
                "127.0.0.1", port, new RawHttp.Request(method, target, headers, body, false), Duration.ofSeconds(10));
    }

    private static JsonNode error(RawHttp.Response response, int status, String code) {
        assertThat(response.status()).isEqualTo(status);
        assertThat(response.header("Content-Type")).startsWith("application/json");
        assertThat(response.header("X-Content-Type-Options")).isEqualTo("nosniff");
        JsonNode error = Json.read(response.text()).get("error");
        assertThat(error.get("code").asText()).isEqualTo(code);
        assertThat(error.get("requestId").asText()).startsWith("req_").isEqualTo(response.header("Request-Id"));
        return error;
    }

    /**
     * A lenient reading dropped a parameter whose %-escape was malformed ({@code ?types=x%} listed every
     * type; a write with {@code ?%ZZ=1} was made), and the WebSocket handshake's reading answered 500.
     */
    @Test
    void aQueryStringThatCannotBeReadAsSentIsRefusedOnEveryRouteAndTheHandshake() throws Exception {
        var auth = Map.entry("Authorization", "Bearer " + token);
        for (String target : List.of(
                "/api/v1/events?types=reservations.created%",
                "/api/v1/events?after=%ZZ",
                "/api/v1/collections/reservations/records?ids=%FF",
                "/api/v1/collections/reservations/records?cursor=%C3%28")) {
            JsonNode refused = error(send("GET", target, List.of(auth), null), 400, "invalid_query");
            assertThat(refused.get("message").asText()).as(target).startsWith("the query string");
        }
        byte[] body = "{\"data\":{}}".getBytes(StandardCharsets.UTF_8);
        error(
                send(
                        "POST",
                        "/api/v1/collections/reservations/records?%ZZ=1",
                        List.of(auth, Map.entry("Content-Type", "application/json")),
                        body),
                400,
                "invalid_query");
        assertThat(server.api(token)
                        .get("/api/v1/collections/reservations/records")
                        .expect(200)
                        .json()
                        .get("records"))
                .as("nothing was written")
                .isEmpty();

        var handshake = List.of(
                auth,
                Map.entry("Connection", "Upgrade"),
                Map.entry("Upgrade", "websocket"),
                Map.entry("Sec-WebSocket-Version", "13"),
                Map.entry("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="));
        for (String target : List.of("/api/v1/ws?after=%ZZ", "/api/v1/ws?after=5%", "/api/v1/ws?x=%FF")) {
            error(send("GET", target, handshake, null), 400, "invalid_query");
        }
        // Escapes that are right are read as ever, a %25 as a %.
        server.api(token).get("/api/v1/events?types=reservations.%2A&after=0").expect(200);
    }

    @Test
    void requestsThatAreNotValidHttpGetTheErrorJsonWithARequestId() throws Exception {
        var auth = Map.entry("Authorization", "Bearer " + token);
        error(
                send("GET", "/api/v1/events", List.of(auth, Map.entry("If-Match", "a\u0000b")), null),
                400,
                "malformed_request");
        // Jetty's own page stays empty for methods other than GET, POST and HEAD: here it is the same JSON.
        error(
                send(
                        "PATCH",
                        "/api/v1/collections/reservations/records/x",
                        List.of(auth, Map.entry("If-Match", "\u0001")),
                        "{}".getBytes(StandardCharsets.UTF_8)),
                400,
                "malformed_request");
        error(send("GET", "/api/v1/collections/%zz/records", List.of(auth), null), 400, "malformed_request");
        error(send("GET", "/api/v1/events?x=" + "a".repeat(20_000), List.of(auth), null), 414, "uri_too_long");
        error(
                send("GET", "/api/v1/events", List.of(auth, Map.entry("Idempotency-Key", "a".repeat(20_000))), null),
                431,
                "headers_too_large");
    }

    /** Jackson let the NumberFormatException of such an exponent through: 500, and a stack trace logged for anyone's request. */
    @Test
    void aNumberWhoseExponentCannotBeReadIsMalformedJsonEvenBeforeSignIn() throws Exception {
        var json = Map.entry("Content-Type", "application/json");
        var auth = Map.entry("Authorization", "Bearer " + token);
        for (String number : List.of("1e99999999999", "1e-2147483649")) {
            JsonNode refused = error(
                    send(
                            "POST",
                            "/api/v1/collections/reservations/records",
                            List.of(auth, json),
                            ("{\"data\":{\"x\":" + number + "}}").getBytes(StandardCharsets.UTF_8)),
                    400,
                    "invalid_json");
            assertThat(refused.get("message").asText())
                    .isEqualTo("the request body is not valid JSON: a number's exponent is too large to be read");
            error(
                    send(
                            "POST",
                            "/console/api/session",
                            List.of(json),
                            ("{\"adminKey\":" + number + "}").getBytes(StandardCharsets.UTF_8)),
                    400,
                    "invalid_json");
        }
        assertThat(server.api(token)
                        .get("/api/v1/collections/reservations/records")
                        .expect(200)
                        .json()
                        .get("records"))
                .noneMatch(r -> r.path("data").has("x"));
    }

    /** A route that takes no body takes JSON's white space or {@code {}}; control and Unicode spaces are not that. */
    @Test
    void aBodyOfOtherWhiteSpaceOnARouteThatTakesNoneIsRefusedAndChangesNothing() throws Exception {
        var auth = Map.entry("Authorization", "Bearer " + token);
        String id = server.api(token)
                .post("/api/v1/collections/reservations/records", Map.of("data", Map.of("n", 1)))
                .expect(201)
                .json()
                .get("id")
                .asText();
        String record = "/api/v1/collections/reservations/records/" + id;
        for (String body : List.of("\u001f\u001c", "\u3000\u2009", "\u2028")) {
            error(send("DELETE", record, List.of(auth), body.getBytes(StandardCharsets.UTF_8)), 400, "invalid_json");
        }
        server.api(token).get(record).expect(200);
        assertThat(send("DELETE", record, List.of(auth), " \t\r\n".getBytes(StandardCharsets.UTF_8))
                        .status())
                .isEqualTo(204);
    }

    @Test
    void aBodyIsReadAsUtf8WhateverCharsetItClaimsAndBytesThatAreNotUtf8AreRefused() throws Exception {
        var auth = Map.entry("Authorization", "Bearer " + token);
        String records = "/api/v1/collections/reservations/records";
        byte[] valid = "{\"data\":{\"guest\":\"Zoë\"}}".getBytes(StandardCharsets.UTF_8);
        for (String charset : List.of("nonexistent", "\u00ff", "utf-16")) {
            RawHttp.Response created = send(
                    "POST",
                    records,
                    List.of(auth, Map.entry("Content-Type", "application/json; charset=" + charset)),
                    valid);
            assertThat(created.status()).as(charset).isEqualTo(201);
            assertThat(Json.read(created.text()).get("data").get("guest").asText())
                    .isEqualTo("Zoë");
        }
        int before = server.api(token).get(records).json().get("records").size();
        byte[] notUtf8 = {
            '{', '"', 'd', 'a', 't', 'a', '"', ':', '{', '"', 'x', '"', ':', '"', (byte) 0xFF, '"', '}', '}'
        };
        JsonNode refused = error(
                send("POST", records, List.of(auth, Map.entry("Content-Type", "application/json")), notUtf8),
                400,
                "invalid_json");
        assertThat(refused.get("message").asText()).contains("UTF-8");
        // UTF-16 and UTF-32, which Jackson would take by guessing from the first bytes, are not UTF-8 either;
        // a UTF-8 byte order mark is dropped.
        for (Charset other :
                List.of(StandardCharsets.UTF_16LE, StandardCharsets.UTF_16BE, Charset.forName("UTF-32BE"))) {
            JsonNode notUtf8Either = error(
                    send(
                            "POST",
                            records,
                            List.of(auth, Map.entry("Content-Type", "application/json")),
                            "{\"data\":{\"guest\":\"Zo\"}}".getBytes(other)),
                    400,
                    "invalid_json");
            assertThat(notUtf8Either.get("message").asText()).as(other.name()).contains("UTF-8");
        }
        byte[] withMark = new byte[valid.length + 3];
        withMark[0] = (byte) 0xEF;
        withMark[1] = (byte) 0xBB;
        withMark[2] = (byte) 0xBF;
        System.arraycopy(valid, 0, withMark, 3, valid.length);
        assertThat(send("POST", records, List.of(auth, Map.entry("Content-Type", "application/json")), withMark)
                        .status())
                .isEqualTo(201);
        before++;
        // An overlong encoding of NUL (which a lenient decoder turns into NUL) is not UTF-8.
        byte[] overlongNul = {
            '{',
            '"',
            'd',
            'a',
            't',
            'a',
            '"',
            ':',
            '{',
            '"',
            'x',
            '"',
            ':',
            '"',
            (byte) 0xC0,
            (byte) 0x80,
            '"',
            '}',
            '}'
        };
        assertThat(error(
                                send(
                                        "POST",
                                        records,
                                        List.of(auth, Map.entry("Content-Type", "application/json")),
                                        overlongNul),
                                400,
                                "invalid_json")
                        .get("message")
                        .asText())
                .contains("UTF-8");
        assertThat(server.api(token).get(records).json().get("records")).hasSize(before);
    }

    /** Refused by the HTTP parser, whose warning for each one any client could use to fill the log. */
    @Test
    void aRequestWithTwoHostHeadersIsRefusedWithoutALogLine() throws Exception {
        try (dev.switchboard.testing.CapturedLogs logs = new dev.switchboard.testing.CapturedLogs();
                java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream()
                    .write("GET /api/v1/tenants HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
            RawHttp.Response refused = RawHttp.read(socket.getInputStream());
            assertThat(refused.status()).isEqualTo(400);
            assertThat(logs.lines()).noneMatch(line -> line.contains("HttpParser"));
        }
    }

    /**
     * A length declared past the limit is refused before the body is sent: no "100 Continue" invites it,
     * and nothing is buffered for a request that is refused anyway.
     */
    @Test
    void aBodyDeclaredPastTheLimitIsRefusedBeforeAByteOfItIsSent() throws Exception {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            String head = "POST /api/v1/collections/reservations/records HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Authorization: Bearer " + token + "\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 10000000000\r\nExpect: 100-continue\r\n\r\n";
            socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            var in = new java.io.BufferedReader(
                    new java.io.InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            assertThat(in.readLine()).startsWith("HTTP/1.1 413");
        }
    }

    /**
     * Most clients write their whole body before they read: one over the limit, declared or chunked, still reads
     * its 413, and its connection stays open. Closed while the client was still writing, the connection would be
     * reset, and the reset can lose the answer already sent ("connection reset", "no response").
     */
    @Test
    void aClientThatWritesAllOfAnOversizedBodyBeforeReadingGetsThe413AndKeepsItsConnection() throws Exception {
        byte[] oversized = new byte[3 * 1024 * 1024];
        java.util.Arrays.fill(oversized, (byte) ' ');
        String records = "/api/v1/collections/reservations/records";
        String auth = "Host: 127.0.0.1\r\nAuthorization: Bearer " + token + "\r\n";
        for (boolean chunked : List.of(false, true)) {
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
                socket.setSoTimeout(10_000);
                var out = socket.getOutputStream();
                out.write(("POST " + records + " HTTP/1.1\r\n" + auth + "Content-Type: application/json\r\n"
                                + (chunked
                                        ? "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(oversized.length)
                                                + "\r\n"
                                        : "Content-Length: " + oversized.length + "\r\n\r\n"))
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(oversized);
                out.write((chunked ? "\r\n0\r\n\r\n" : "").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                error(RawHttp.read(socket.getInputStream()), 413, "body_too_large");
                out.write(("GET " + records + " HTTP/1.1\r\n" + auth + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                assertThat(RawHttp.read(socket.getInputStream()).status())
                        .as(chunked ? "chunked" : "with Content-Length")
                        .isEqualTo(200);
            }
        }
    }

    @Test
    void aCompressedBodyIsRefusedNamingContentEncoding() throws Exception {
        var auth = Map.entry("Authorization", "Bearer " + token);
        String records = "/api/v1/collections/reservations/records";
        int before = server.api(token).get(records).json().get("records").size();
        var gzipped = new java.io.ByteArrayOutputStream();
        try (var gzip = new java.util.zip.GZIPOutputStream(gzipped)) {
            gzip.write("{\"data\":{\"guest\":\"Ana\"}}".getBytes(StandardCharsets.UTF_8));
        }
        JsonNode refused = error(
                send(
                        "POST",
                        records,
                        List.of(
                                auth,
                                Map.entry("Content-Type", "application/json"),
                                Map.entry("Content-Encoding", "gzip")),
                        gzipped.toByteArray()),
                400,
                "invalid_header");
        // It was parsed as JSON and refused for a control character (the gzip magic number).
        assertThat(refused.get("message").asText()).startsWith("Content-Encoding:");
        RawHttp.Response identity = send(
                "POST",
                records,
                List.of(auth, Map.entry("Content-Type", "application/json"), Map.entry("Content-Encoding", "identity")),
                "{\"data\":{\"guest\":\"Ana\"}}".getBytes(StandardCharsets.UTF_8));
        assertThat(identity.status()).isEqualTo(201);
        assertThat(server.api(token).get(records).json().get("records")).hasSize(before + 1);
    }

    @Test
    void retryingAllFailedMessagesReadsItsOptionalBodyAsUtf8WhateverCharsetItClaims() throws Exception {
        JsonNode integration = server.createIntegration("charsets", List.of("*"), List.of("*"), List.of("*"));
        server.connect(integration.get("id").asText(), "hotel-1"); // a bulk retry names only a tenant it follows
        String clientKey = integration.get("clientKey").asText();
        String webhook = server.api(clientKey)
                .post("/api/v1/webhooks", Map.of("url", "https://hooks.partner.example/switchboard"))
                .expect(201)
                .json()
                .get("id")
                .asText();
        var auth = Map.entry("Authorization", "Bearer " + clientKey);
        for (String body : List.of("", "{\"tenantId\":\"hotel-1\"}")) {
            RawHttp.Response retried = send(
                    "POST",
                    "/api/v1/webhooks/" + webhook + "/messages/retry",
                    List.of(auth, Map.entry("Content-Type", "application/json; charset=nonexistent")),
                    body.getBytes(StandardCharsets.UTF_8));
            assertThat(retried.status()).as(body).isEqualTo(202);
            assertThat(Json.read(retried.text()).get("retried").asInt()).isZero();
        }
    }

    @Test
    void aBodyOverTheLimitOnARouteThatTakesNoBodyChangesNothing() throws Exception {
        JsonNode integration = server.createIntegration("oversized", List.of("*"), List.of("*"), List.of("*"));
        String connection = server.connect(integration.get("id").asText(), "hotel-1")
                .get("id")
                .asText();
        var auth = Map.entry("Authorization", "Bearer " + TestServer.ADMIN_KEY);
        byte[] oversized = new byte[1024 * 1024 + 1024];
        java.util.Arrays.fill(oversized, (byte) ' ');
        for (boolean chunked : List.of(false, true)) {
            RawHttp.Response refused = RawHttp.send(
                    "127.0.0.1",
                    port,
                    new RawHttp.Request(
                            "DELETE", "/api/v1/connections/" + connection, List.of(auth), oversized, chunked),
                    Duration.ofSeconds(10));
            error(refused, 413, "body_too_large");
            assertThat(server.admin.get("/api/v1/connections/" + connection).status())
                    .as(chunked ? "chunked" : "with Content-Length")
                    .isEqualTo(200);
        }
    }
}
