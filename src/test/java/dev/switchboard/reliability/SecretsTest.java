package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Tokens;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.RawHttp;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.Receiver.Reply;
import dev.switchboard.testing.ReliabilityReport;
import dev.switchboard.testing.ServerProcess;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Secrets: the admin key, client keys, access tokens, webhook signing secrets and the shared secrets
 * partners put in webhook URLs are never written to the logs, and never shown again after the response
 * that created them; tokens are compared in a way that cannot leak them through timing; and guessing
 * tokens is limited per client address without slowing anyone else.
 */
@Tag("reliability")
@Timeout(600)
class SecretsTest {
    private static final SecureRandom RANDOM = new SecureRandom();

    private static String random(String prefix) {
        byte[] bytes = new byte[24];
        RANDOM.nextBytes(bytes);
        return prefix + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** Every response seen, and the secrets it was allowed to show (those it had just created). */
    private record Seen(String what, String body, Set<String> created) {}

    /** Records every response of a run, so each can be checked for secrets afterwards. */
    private static final class Responses {
        final List<Seen> seen = new ArrayList<>();

        Api.Response record(String what, Api.Response response, String... created) {
            seen.add(new Seen(what, response.body(), Set.of(created)));
            return response;
        }
    }

    @Test
    void noSecretIsLoggedNorShownAgainAfterTheResponseThatCreatedIt() throws Exception {
        Set<String> secrets = new LinkedHashSet<>();
        Set<String> urlTokens = new LinkedHashSet<>();
        String adminKey = random("sb_admin_");
        byte[] sealingKey = new byte[32];
        RANDOM.nextBytes(sealingKey);
        String secretKey = Base64.getEncoder().encodeToString(sealingKey);
        secrets.add(adminKey);
        Responses responses = new Responses();
        int closedPort = ServerProcess.freePort();
        List<String> output = new ArrayList<>();

        try (Receiver receiver = new Receiver()) {
            receiver.answer(r -> switch (r.path()) {
                case "/fail" -> Reply.status(500).withBody("receiver failed");
                case "/slow" -> Reply.status(200).after(Duration.ofSeconds(3));
                case "/redirect" -> Reply.status(307).withHeader("Location", "ftp://127.0.0.1/next?token=" + r.query());
                default -> Reply.status(200);
            });
            try (ServerProcess server = ServerProcess.start(Map.of(
                    "SWITCHBOARD_DATABASE_URL", TestDatabase.create().jdbcUrl(),
                    "SWITCHBOARD_ADMIN_KEY", adminKey,
                    "SWITCHBOARD_SECRET_KEY", secretKey,
                    "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
                    "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS", "100ms",
                    "SWITCHBOARD_WEBHOOKS_TIMEOUT", "1s",
                    "SWITCHBOARD_RATE_LIMIT_REQUESTS", "40",
                    "SWITCHBOARD_RATE_LIMIT_AUTH_FAILURES", "5"))) {
                server.awaitReady();
                Api admin = server.api(adminKey);
                responses
                        .record("create collection", admin.post("/api/v1/collections", Map.of("name", "rooms")))
                        .expect(201);
                responses
                        .record("create tenant", admin.post("/api/v1/tenants", Map.of("id", "hotel")))
                        .expect(201);

                // An integration, its webhooks (every way a delivery can fail), a connection and its lifecycle.
                JsonNode integration = admin.post(
                                "/api/v1/integrations",
                                Map.of(
                                        "name",
                                        "Door keys",
                                        "permissions",
                                        Map.of("read", List.of("*"), "write", List.of("*")),
                                        "eventTypes",
                                        List.of("*")))
                        .json();
                String clientKey = integration.get("clientKey").asText();
                String integrationId = integration.get("id").asText();
                secrets.add(clientKey);
                Api client = server.api(clientKey);
                List<String> webhookIds = new ArrayList<>();
                for (String target : List.of("/ok", "/fail", "/slow", "/redirect", "closed", "lifecycle")) {
                    String urlToken = random("urltok");
                    urlTokens.add(urlToken);
                    String url = target.equals("closed")
                            ? "http://127.0.0.1:" + closedPort + "/x?token=" + urlToken
                            : receiver.url((target.equals("lifecycle") ? "/ok" : target) + "?token=" + urlToken);
                    Map<String, Object> body = new LinkedHashMap<>(Map.of("url", url));
                    if (target.equals("lifecycle")) {
                        body.put("kind", "lifecycle");
                    }
                    JsonNode webhook =
                            client.post("/api/v1/webhooks", body).expect(201).json();
                    secrets.add(webhook.get("secret").asText());
                    responses.seen.add(new Seen(
                            "create webhook",
                            webhook.toString(),
                            Set.of(webhook.get("secret").asText())));
                    webhookIds.add(webhook.get("id").asText());
                }
                String rotatedSecret = client.post("/api/v1/webhooks/" + webhookIds.getFirst() + "/rotate-secret", "")
                        .expect(200)
                        .json()
                        .get("secret")
                        .asText();
                secrets.add(rotatedSecret);
                JsonNode connection = admin.post(
                                "/api/v1/integrations/" + integrationId + "/connections", Map.of("tenantId", "hotel"))
                        .expect(201)
                        .json();
                String connectionId = connection.get("id").asText();
                String firstToken = connection.get("accessToken").asText();
                secrets.add(firstToken);
                String token = admin.post("/api/v1/connections/" + connectionId + "/rotate-token", "")
                        .expect(200)
                        .json()
                        .get("accessToken")
                        .asText();
                secrets.add(token);

                // Use every secret, and fail with each.
                Api partner = server.api(token);
                for (int i = 0; i < 3; i++) {
                    responses
                            .record(
                                    "create record",
                                    partner.post("/api/v1/collections/rooms/records", Map.of("data", Map.of("n", i))))
                            .expect(201);
                }
                client.post("/api/v1/webhooks/" + webhookIds.getFirst() + "/test", "")
                        .expect(202);
                responses
                        .record("old token", server.api(firstToken).get("/api/v1/events"))
                        .expect(401);
                admin.post("/api/v1/connections/" + connectionId + "/disable", "")
                        .expect(200);
                responses
                        .record("disabled token", partner.get("/api/v1/events"))
                        .expect(401);
                admin.post("/api/v1/connections/" + connectionId + "/enable", "")
                        .expect(200);
                responses.record("wrong kind", client.get("/api/v1/events")).expect(403);
                responses.record("wrong kind", partner.get("/api/v1/webhooks")).expect(403);
                responses.record("not admin", client.get("/api/v1/tenants")).expect(403);
                JsonNode second = admin.post(
                                "/api/v1/integrations",
                                Map.of(
                                        "name",
                                        "Other",
                                        "permissions",
                                        Map.of("read", List.of("*")),
                                        "eventTypes",
                                        List.of("*")))
                        .json();
                secrets.add(second.get("clientKey").asText());
                String secondToken = admin.post(
                                "/api/v1/integrations/" + second.get("id").asText() + "/connections",
                                Map.of("tenantId", "hotel"))
                        .json()
                        .get("accessToken")
                        .asText();
                secrets.add(secondToken);
                String secondConnection = server.api(adminKey)
                        .get("/api/v1/integrations/" + second.get("id").asText() + "/connections")
                        .json()
                        .get("connections")
                        .get(0)
                        .get("id")
                        .asText();
                responses
                        .record(
                                "read-only write",
                                server.api(secondToken)
                                        .post("/api/v1/collections/rooms/records", Map.of("data", Map.of())))
                        .expect(403);
                admin.delete("/api/v1/connections/" + secondConnection).expect(204);
                responses
                        .record("deleted token", server.api(secondToken).get("/api/v1/events"))
                        .expect(401);
                for (int i = 0; i < 45; i++) { // over the per-token limit: 429
                    partner.get("/api/v1/events?limit=1");
                }
                responses.record("rate limited", partner.get("/api/v1/events")).expect(429);
                List<String> guesses = new ArrayList<>();
                for (int i = 0; i < 8; i++) { // from another address, over the refused-token limit: 401s, then 429s
                    String guess = random(i % 2 == 0 ? "sb_access_" : "sb_client_");
                    guesses.add(guess);
                    RawHttp.Response r = RawHttp.send(
                            "127.0.0.1",
                            port(server),
                            InetAddress.getByName("127.0.0.3"),
                            new RawHttp.Request(
                                    "GET",
                                    "/api/v1/events",
                                    List.of(Map.entry("Authorization", "Bearer " + guess)),
                                    null,
                                    false),
                            Duration.ofSeconds(10));
                    responses.seen.add(new Seen("guess", r.text(), Set.of()));
                }
                secrets.addAll(guesses);

                // Read back everything there is to read.
                responses
                        .record("list integrations", admin.get("/api/v1/integrations"))
                        .expect(200);
                responses
                        .record("get integration", client.get("/api/v1/integrations/" + integrationId))
                        .expect(200);
                responses
                        .record("list connections", admin.get("/api/v1/integrations/" + integrationId + "/connections"))
                        .expect(200);
                responses
                        .record("get connection", admin.get("/api/v1/connections/" + connectionId))
                        .expect(200);
                responses
                        .record("list webhooks", client.get("/api/v1/webhooks"))
                        .expect(200);
                responses
                        .record("list all webhooks", admin.get("/api/v1/webhooks"))
                        .expect(200);
                responses
                        .record(
                                "events",
                                server.api(adminKey)
                                        .withHeader("Switchboard-Tenant", "hotel")
                                        .get("/api/v1/events"))
                        .expect(200);
                for (String id : webhookIds) {
                    String path = "/api/v1/webhooks/" + id;
                    responses.record("get webhook", client.get(path)).expect(200);
                    // Polled with the admin key: the client key is rate limited (40 requests per window here).
                    await().atMost(Duration.ofSeconds(60))
                            .until(() -> admin.get(path + "/messages?status=pending")
                                    .expect(200)
                                    .json()
                                    .get("messages")
                                    .isEmpty());
                    JsonNode messages = responses
                            .record("messages", client.get(path + "/messages"))
                            .expect(200)
                            .json();
                    for (JsonNode m : messages.get("messages")) {
                        responses
                                .record(
                                        "message",
                                        client.get(path + "/messages/"
                                                + m.get("id").asText()))
                                .expect(200);
                    }
                }
                responses
                        .record("metrics", Api.of(server.baseUrl(), null).get("/metrics"))
                        .expect(200);
                assertThat(receiver.received("/ok"))
                        .anySatisfy(r -> assertThat(r.body()).contains(token));
                output.add(server.output());
            }
        }

        // Starts that fail on configuration name the setting, never its value.
        String shortKey = random("").substring(0, 12);
        String badSecretKey = random("not-base64-");
        String dbPassword = random("dbpw");
        for (Map<String, String> settings : List.of(
                Map.of("SWITCHBOARD_ADMIN_KEY", shortKey),
                Map.of("SWITCHBOARD_SECRET_KEY", badSecretKey),
                Map.of(
                        "SWITCHBOARD_DATABASE_URL",
                        "postgresql://switchboard:" + dbPassword + "@127.0.0.1:" + closedPort + "/switchboard"))) {
            try (ServerProcess failing = ServerProcess.start(settings)) {
                assertThat(failing.process().waitFor(60, java.util.concurrent.TimeUnit.SECONDS))
                        .isTrue();
                output.add(failing.output());
            }
        }
        secrets.addAll(List.of(shortKey, badSecretKey, dbPassword, secretKey));

        // The checks: each secret (and its random part, without the prefix) in the logs, and in any response.
        Set<String> forms = new LinkedHashSet<>();
        for (String secret : secrets) {
            forms.add(secret);
            String randomPart = secret.replaceFirst("^(sb_admin_|sb_client_|sb_access_|whsec_)", "");
            if (randomPart.length() >= 16) {
                forms.add(randomPart);
            }
        }
        String logs = String.join("\n", output);
        java.nio.file.Files.writeString(java.nio.file.Path.of("target", "secrets-server-output.log"), logs);
        List<String> inLogs = new ArrayList<>();
        for (String form : forms) {
            if (logs.contains(form)) {
                inLogs.add(form);
            }
        }
        for (String urlToken : urlTokens) {
            if (logs.contains(urlToken)) {
                inLogs.add("webhook URL token " + urlToken);
            }
        }
        List<String> inResponses = new ArrayList<>();
        for (Seen s : responses.seen) {
            for (String form : forms) {
                if (s.body().contains(form) && s.created().stream().noneMatch(c -> c.contains(form))) {
                    inResponses.add(s.what() + " shows " + form);
                }
            }
        }
        ReliabilityReport.record(
                "Secrets: logs and responses",
                "A server process is run as an operator would, with"
                        + " every kind of secret created, used, rotated and refused: the admin key, client keys, access tokens"
                        + " (and their per-token and per-address limits), webhook signing secrets with failing, slow,"
                        + " redirecting and unreachable endpoints, shared secrets in webhook URLs, the sealing key; then"
                        + " three starts that fail on a bad setting. Everything the processes printed is searched for every"
                        + " secret, and every response for any secret other than the one it had just created.",
                figures(
                        "secrets and webhook URL tokens followed", secrets.size() + urlTokens.size(),
                        "log lines searched", logs.lines().count(),
                        "secrets found in the logs", inLogs.size(),
                        "responses checked", responses.seen.size(),
                        "secrets shown after the response that created them", inResponses.size()));
        assertThat(inLogs).as("secrets in the server's output").isEmpty();
        assertThat(inResponses).as("secrets in responses after their creation").isEmpty();
    }

    /**
     * Operators often give the database password in SWITCHBOARD_DATABASE_URL: in the user-info of a libpq
     * URL, as a {@code password} parameter of it, or of a JDBC URL. A server process started each way (and
     * one whose URL does not parse) prints nothing that contains it.
     */
    @Test
    void aDatabasePasswordInTheUrlIsNeverLogged() throws Exception {
        String jdbc = TestDatabase.create().jdbcUrl();
        String hostAndDatabase = jdbc.substring("jdbc:postgresql://".length(), jdbc.indexOf('?'));
        String inUserInfo = random("dbpw-userinfo-");
        String inParameter = random("dbpw-parameter-");
        String inJdbc = random("dbpw-jdbc-");
        String inBadUrl = random("dbpw-bad-");
        List<String> output = new ArrayList<>();
        int started = 0;
        // The test PostgreSQL asks for passwords: a role for each place the password is given in.
        for (String url : List.of(
                "postgresql://" + TestDatabase.superuser(inUserInfo) + ":" + inUserInfo + "@" + hostAndDatabase,
                "postgresql://" + TestDatabase.superuser(inParameter) + "@" + hostAndDatabase + "?password="
                        + inParameter,
                "jdbc:postgresql://" + hostAndDatabase + "?user=" + TestDatabase.superuser(inJdbc) + "&password="
                        + inJdbc)) {
            try (ServerProcess server = ServerProcess.start(
                    Map.of("SWITCHBOARD_DATABASE_URL", url, "SWITCHBOARD_ADMIN_KEY", random("sb_admin_")))) {
                server.awaitReady();
                started++;
                output.add(server.output());
            }
        }
        try (ServerProcess failing = ServerProcess.start(
                Map.of("SWITCHBOARD_DATABASE_URL", "postgresql://postgres:" + inBadUrl + " @" + hostAndDatabase))) {
            assertThat(failing.process().waitFor(60, java.util.concurrent.TimeUnit.SECONDS))
                    .isTrue();
            output.add(failing.output());
        }
        String logs = String.join("\n", output);
        List<String> found = new ArrayList<>();
        for (String password : List.of(inUserInfo, inParameter, inJdbc, inBadUrl)) {
            if (logs.contains(password)) {
                found.add(password);
            }
        }
        assertThat(logs).contains(" is ready on ").contains("SWITCHBOARD_DATABASE_URL");
        ReliabilityReport.hostilePartner(
                "Database password in SWITCHBOARD_DATABASE_URL (user-info, ?password= of a libpq"
                        + " URL, &password= of a JDBC URL, a URL that does not parse), looked for in the server's output",
                "4 passwords, " + started + " servers started and 1 refused, "
                        + logs.lines().count() + " lines searched: found " + found.size() + " times");
        assertThat(found).as("database passwords in the server's output").isEmpty();
    }

    /**
     * Why comparing tokens cannot leak them through timing: a presented token is hashed (SHA-256) before
     * anything compares it. Client keys and access tokens are found by their hash, in a unique index, so
     * the bytes compared are the digest's; a guess one character away from a real token has a digest
     * unrelated to the real one, so however early a byte-wise comparison stops, it tells the guesser
     * nothing about the token. The admin key's digest is compared with {@code MessageDigest.isEqual},
     * which takes the same time wherever the bytes differ. This checks what that argument rests on: the
     * database holds exactly the SHA-256 of each token and no token in clear anywhere, and near misses
     * are refused like any other guess.
     */
    @Test
    void tokensAreComparedByTheirSha256SoTimingCannotLeakThem() throws Exception {
        try (TestServer server = TestServer.start()) {
            server.createCollection("rooms");
            server.createTenant("hotel");
            List<String> clientKeys = new ArrayList<>();
            List<String> accessTokens = new ArrayList<>();
            List<String> signingSecrets = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                JsonNode integration = server.createIntegration("i" + i, List.of("*"), List.of("*"), List.of("*"));
                clientKeys.add(integration.get("clientKey").asText());
                JsonNode connection = server.connect(integration.get("id").asText(), "hotel");
                accessTokens.add(server.admin
                        .post("/api/v1/connections/" + connection.get("id").asText() + "/rotate-token", "")
                        .expect(200)
                        .json()
                        .get("accessToken")
                        .asText());
                signingSecrets.add(server.api(clientKeys.getLast())
                        .post("/api/v1/webhooks", Map.of("url", "https://partner.example/hooks", "kind", "lifecycle"))
                        .expect(201)
                        .json()
                        .get("secret")
                        .asText());
            }
            int storedAsSha256;
            int inClear = 0;
            try (Connection c = DriverManager.getConnection(server.database().jdbcUrl())) {
                storedAsSha256 = countMatching(
                                c,
                                "SELECT count(*) FROM integrations WHERE client_key_hash = sha256(convert_to(?,"
                                        + " 'UTF8')) AND length(client_key_hash) = 32",
                                clientKeys)
                        + countMatching(
                                c,
                                "SELECT count(*) FROM connections WHERE token_hash = sha256(convert_to(?, 'UTF8'))"
                                        + " AND length(token_hash) = 32",
                                accessTokens);
                List<String> all = new ArrayList<>(clientKeys);
                all.addAll(accessTokens);
                all.addAll(signingSecrets);
                all.add(TestServer.ADMIN_KEY);
                for (String table : tables(c)) {
                    for (String secret : all) {
                        String bare = secret.replaceFirst("^(sb_admin_|sb_client_|sb_access_|whsec_)", "");
                        try (PreparedStatement ps = c.prepareStatement(
                                "SELECT count(*) FROM " + table + " t" + " WHERE position(? in t::text) > 0")) {
                            ps.setString(1, bare);
                            try (ResultSet rs = ps.executeQuery()) {
                                rs.next();
                                inClear += rs.getInt(1);
                            }
                        }
                    }
                }
            }
            // Near misses: one character off at the end or just after the prefix, or another case.
            List<String> nearMisses = new ArrayList<>();
            for (String token : List.of(accessTokens.getFirst(), clientKeys.getFirst(), TestServer.ADMIN_KEY)) {
                int afterPrefix = token.indexOf('_', 3) + 1;
                nearMisses.add(token.substring(0, token.length() - 1) + (token.endsWith("A") ? "B" : "A"));
                nearMisses.add(token.substring(0, afterPrefix)
                        + (token.charAt(afterPrefix) == 'A' ? "B" : "A")
                        + token.substring(afterPrefix + 1));
                nearMisses.add(token.toUpperCase());
            }
            int refused = 0;
            List<String> accepted = new ArrayList<>();
            for (String guess : nearMisses) {
                int status = server.api(guess).get("/api/v1/webhooks").status();
                if (status == 401) {
                    refused++;
                } else {
                    accepted.add(guess + " → " + status);
                }
            }
            assertThat(Tokens.matches(accessTokens.getFirst(), Tokens.hash(accessTokens.getFirst())))
                    .isTrue();
            assertThat(HexFormat.of().formatHex(Tokens.hash("abc")))
                    .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"); // SHA-256 itself
            ReliabilityReport.record(
                    "Secrets: token comparison",
                    "Tokens are compared by their SHA-256: client keys and"
                            + " access tokens are looked up by digest in a unique index, the admin key's digest is compared with"
                            + " MessageDigest.isEqual, so no comparison ever runs over a token's own characters and timing"
                            + " cannot reveal a prefix. Checked against the database: each stored credential is exactly the"
                            + " SHA-256 of its token, no token or signing secret is stored in clear in any table, and near"
                            + " misses are refused like any other guess.",
                    figures(
                            "credentials checked", clientKeys.size() + accessTokens.size(),
                            "stored as exactly their SHA-256", storedAsSha256,
                            "tokens or signing secrets found in clear in the database", inClear,
                            "near-miss guesses", nearMisses.size(),
                            "near misses refused", refused));
            assertThat(storedAsSha256).isEqualTo(clientKeys.size() + accessTokens.size());
            assertThat(inClear).isZero();
            assertThat(accepted).as("near misses that were not refused").isEmpty();
        }
    }

    @Test
    void aLeakedClientKeyIsRefusedOnEveryNodeOnceRotatedAndCannotTakeTokensOverPlainHttp() throws Exception {
        try (TestServer a = TestServer.start(); // private addresses refused: the production default
                TestServer b = TestServer.start(a.database(), Map.of(), InstantSource.system())) {
            a.createTenant("hotel");
            JsonNode integration = a.createIntegration("leaky", List.of("*"), List.of("*"), List.of("*"));
            String id = integration.get("id").asText();
            String leaked = integration.get("clientKey").asText();
            a.connect(id, "hotel");

            // The thief wants the access tokens that lifecycle messages carry, read in transit.
            Api.Response overHttp = b.api(leaked)
                    .post("/api/v1/webhooks", Map.of("url", "http://thief.example/tokens", "kind", "lifecycle"));
            assertThat(overHttp.status()).isEqualTo(400);
            assertThat(overHttp.json().path("error").path("message").asText()).startsWith("url: ");
            ReliabilityReport.hostilePartner(
                    "A leaked client key registers a lifecycle endpoint on http:// to read access"
                            + " tokens in transit",
                    overHttp.status() + " " + overHttp.errorCode() + " naming url (https only for"
                            + " lifecycle endpoints unless private addresses are allowed); no endpoint created");

            // Both nodes have the key cached, as they would while it is in use.
            a.api(leaked).get("/api/v1/webhooks").expect(200);
            b.api(leaked).get("/api/v1/webhooks").expect(200);
            long started = System.nanoTime();
            a.admin
                    .post("/api/v1/integrations/" + id + "/rotate-client-key", "")
                    .expect(200);
            int onRotatingNode = a.api(leaked)
                    .post("/api/v1/webhooks", Map.of("url", "https://thief.example/tokens", "kind", "lifecycle"))
                    .status();
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> b.api(leaked)
                                    .post(
                                            "/api/v1/webhooks",
                                            Map.of("url", "https://thief.example/tokens", "kind", "lifecycle"))
                                    .status()
                            == 401);
            long otherNodeMillis = (System.nanoTime() - started) / 1_000_000;
            assertThat(onRotatingNode).isEqualTo(401);
            assertThat(a.admin
                            .get("/api/v1/webhooks?integrationId=" + id)
                            .json()
                            .get("webhooks"))
                    .isEmpty();
            ReliabilityReport.hostilePartner(
                    "A leaked client key keeps registering endpoints after the operator rotates" + " it (two nodes)",
                    "401 on the rotating node in its first request after the 200; 401 on the other" + " node within "
                            + otherNodeMillis + " ms of the rotation; no endpoint created");
        }
    }

    @Test
    void aClientKeyIsRateLimitedLikeAnAccessToken() {
        try (TestServer server = TestServer.start(
                Map.of("SWITCHBOARD_RATE_LIMIT_REQUESTS", "50", "SWITCHBOARD_RATE_LIMIT_WINDOW", "1m"))) {
            JsonNode flooding = server.createIntegration("flooding", List.of("*"), List.of(), List.of("*"));
            JsonNode other = server.createIntegration("other", List.of("*"), List.of(), List.of("*"));
            Api client = server.api(flooding.get("clientKey").asText());
            int sent = 1000;
            int ok = 0;
            int limited = 0;
            long retryAfter = -1;
            for (int i = 0; i < sent; i++) {
                Api.Response r = client.get("/api/v1/webhooks");
                if (r.status() == 200) {
                    ok++;
                } else if (r.status() == 429) {
                    limited++;
                    retryAfter = retryAfter < 0 ? Long.parseLong(r.header("Retry-After")) : retryAfter;
                }
            }
            int otherStatus = server.api(other.get("clientKey").asText())
                    .get("/api/v1/webhooks")
                    .status();
            assertThat(ok).isEqualTo(50);
            assertThat(limited).isEqualTo(sent - 50);
            assertThat(retryAfter).isBetween(1L, 60L);
            assertThat(otherStatus).isEqualTo(200);
            ReliabilityReport.hostilePartner(
                    "A client key sends requests as fast as it can (limit 50 per minute)",
                    sent + " sent: " + ok + " answered, " + limited + " refused 429 with Retry-After " + retryAfter
                            + " s; another integration's key answered " + otherStatus);
        }
    }

    @Test
    void guessingTokensIsLimitedPerAddressWithoutSlowingValidCallers() throws Exception {
        AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-11-20T12:00:00Z"));
        InstantSource clock = now::get;
        // The default limits: 20 refused tokens per address per minute.
        try (TestServer server = TestServer.start(TestDatabase.create(), Map.of(), clock)) {
            server.createTenant("hotel");
            String knownToken = server.partnerToken("hotel");
            String otherCallersToken = server.partnerToken("hotel");
            String newToken = server.partnerToken("hotel");
            int port = port(server.baseUrl());
            assertThat(call(port, "127.0.0.1", knownToken).status()).isEqualTo(200);

            int guesses = 2000;
            int unauthorized = 0;
            int limited = 0;
            int firstLimited = -1;
            long retryAfter = -1;
            int validCalls = 0;
            int validOk = 0;
            long started = System.nanoTime();
            for (int i = 1; i <= guesses; i++) {
                RawHttp.Response r = call(port, "127.0.0.1", "sb_access_" + UUID.randomUUID());
                if (r.status() == 401) {
                    unauthorized++;
                } else if (r.status() == 429) {
                    limited++;
                    if (firstLimited < 0) {
                        firstLimited = i;
                        retryAfter = Long.parseLong(r.header("Retry-After"));
                    }
                }
                if (i % 20 == 0) { // valid callers, interleaved: one at another address, one known at the same
                    validCalls += 2;
                    validOk += call(port, "127.0.0.2", otherCallersToken).status() == 200 ? 1 : 0;
                    validOk += call(port, "127.0.0.1", knownToken).status() == 200 ? 1 : 0;
                }
            }
            long millis = (System.nanoTime() - started) / 1_000_000;
            int blockedNewToken = call(port, "127.0.0.1", newToken).status();
            now.set(now.get().plus(Duration.ofMinutes(1)));
            int afterWindow = call(port, "127.0.0.1", newToken).status();

            Map<String, Object> figures = new LinkedHashMap<>();
            figures.put("wrong tokens sent from one address", guesses);
            figures.put("answered 401 (checked)", unauthorized);
            figures.put("answered 429 (not checked)", limited);
            figures.put("first 429 at guess", firstLimited);
            figures.put("Retry-After of the first 429", retryAfter + " s");
            figures.put("guesses checked per address per minute", unauthorized);
            figures.put(
                    "valid calls during the attack (other address, and a token known at the same address)", validCalls);
            figures.put("valid calls answered 200", validOk);
            figures.put(
                    "a token never used from the blocked address",
                    blockedNewToken + " until the window passes, then " + afterWindow);
            figures.put("duration of the attack", millis + " ms");
            ReliabilityReport.record(
                    "Secrets: guessing tokens",
                    "One client address sends wrong access tokens as fast as"
                            + " it can, with the default limits (20 refused tokens per address per minute), while valid callers"
                            + " keep calling in between: one at another address, one whose token had already authenticated from"
                            + " the attacking address. The clock is stepped to show the block lift after the window.",
                    figures);
            assertThat(unauthorized).isEqualTo(20);
            assertThat(firstLimited).isEqualTo(21);
            assertThat(limited).isEqualTo(guesses - 20);
            assertThat(retryAfter).isBetween(1L, 60L);
            assertThat(validOk).isEqualTo(validCalls);
            assertThat(blockedNewToken).isEqualTo(429);
            assertThat(afterWindow).isEqualTo(200);
        }
    }

    /** Figures in the order given: name, value, name, value, … */
    private static Map<String, Object> figures(Object... namesAndValues) {
        Map<String, Object> figures = new LinkedHashMap<>();
        for (int i = 0; i + 1 < namesAndValues.length; i += 2) {
            figures.put((String) namesAndValues[i], namesAndValues[i + 1]);
        }
        return figures;
    }

    private static RawHttp.Response call(int port, String from, String token) throws Exception {
        return RawHttp.send(
                "127.0.0.1",
                port,
                InetAddress.getByName(from),
                new RawHttp.Request(
                        "GET",
                        "/api/v1/events?limit=1",
                        List.of(Map.entry("Authorization", "Bearer " + token)),
                        null,
                        false),
                Duration.ofSeconds(10));
    }

    private static int port(ServerProcess server) {
        return port(server.baseUrl());
    }

    private static int port(String baseUrl) {
        return Integer.parseInt(baseUrl.substring(baseUrl.lastIndexOf(':') + 1));
    }

    private static int countMatching(Connection c, String sql, List<String> tokens) throws Exception {
        int n = 0;
        for (String token : tokens) {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setString(1, token);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    n += rs.getInt(1);
                }
            }
        }
        return n;
    }

    private static List<String> tables(Connection c) throws Exception {
        List<String> tables = new ArrayList<>();
        try (ResultSet rs =
                c.createStatement().executeQuery("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")) {
            while (rs.next()) {
                tables.add(rs.getString(1));
            }
        }
        return tables;
    }
}
