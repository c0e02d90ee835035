package dev.switchboard.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import com.fasterxml.jackson.databind.JsonNode;
import com.standardwebhooks.Webhook;
import dev.switchboard.client.WebhookVerifier;
import dev.switchboard.testing.ListenProcess;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code switchboard listen} end to end, in its own process: a local receiver that verifies every
 * signature gets the tenant's events in order; the CLI killed with SIGKILL and started again forwards
 * exactly the events it missed, once each, signed with the same development secret.
 */
@Timeout(240)
class ListenTest {
    private static final Pattern SECRET = Pattern.compile("Signing secret: (whsec_\\S+)");
    static TestServer server;

    @TempDir
    Path configHome;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        server.createCollection("rooms");
        server.createCollection("notes", "eventFields", List.of("note", "price", "rooms", "none"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void forwardsSignedMessagesAndAfterAKillResumesWithExactlyTheMissedEvents() throws Exception {
        Partner partner = Partner.create(server, List.of("*"));
        try (Receiver receiver = new Receiver()) {
            String hooks = receiver.url("/hooks");
            ListenProcess first = listen(partner.accessToken(), hooks);
            String secret = first.await(SECRET);
            first.await(Pattern.compile("stream live"));
            partner.writeRecords("rooms", 100, Map.of("floor", 1));
            awaitSeqs(receiver, 100);
            assertThat(verifiedSeqs(receiver, secret)).containsExactlyElementsOf(range(1, 100));
            assertThat(first.output()).contains("rooms.created").contains("→ 200");

            // The receiver has accepted everything: once the cursor says so, kill the CLI outright.
            Path cursor = cursorFile();
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> Files.readString(cursor).equals("100"));
            first.kill();

            partner.writeRecords("rooms", 50, Map.of("floor", 2));
            receiver.clear();
            try (ListenProcess second = listen(partner.accessToken(), hooks)) {
                assertThat(second.await(SECRET))
                        .as("the development secret survives a restart")
                        .isEqualTo(secret);
                second.await(Pattern.compile("Resuming after seq 100"));
                awaitSeqs(receiver, 50);
                partner.writeRecords("rooms", 5, Map.of("floor", 3));
                awaitSeqs(receiver, 55);
                Thread.sleep(500); // nothing more arrives: no repeats trailing behind
                assertThat(verifiedSeqs(receiver, secret)).containsExactlyElementsOf(range(101, 155));
                int exit = second.interrupt();
                assertThat(exit).as("Ctrl-C (SIGINT) ends it").isIn(0, 130);
                assertThat(second.output()).contains("Stopped; the next run resumes after seq 155");
            }
        }
    }

    /**
     * Event data is kept as jsonb and the server sends the database's text of it; listen wrote it compact, so a
     * receiver verifying a body it had re-serialised passed against listen and failed in production.
     */
    @Test
    void aForwardedBodyHoldsTheEventDataAsTheServersOwnWebhookDoes() throws Exception {
        Partner partner = Partner.create(server, List.of("*"));
        try (Receiver receiver = new Receiver();
                ListenProcess listen = listen(partner.accessToken(), receiver.url("/hooks"))) {
            listen.await(Pattern.compile("stream live"));
            String id = partner.writeRecords(
                            "notes",
                            1,
                            Map.of(
                                    "note",
                                    "tab\tand\u001f, ü \"quoted\"",
                                    "price",
                                    new java.math.BigDecimal("1.10"),
                                    "rooms",
                                    List.of(1, Map.of("floor", -0.5), List.of()),
                                    "none",
                                    Map.of()))
                    .getFirst();
            awaitSeqs(receiver, 1);
            String stored;
            try (java.sql.Connection c = java.sql.DriverManager.getConnection(
                            server.database().jdbcUrl());
                    var select = c.prepareStatement("SELECT data::text FROM events WHERE subject = ?")) {
                select.setString(1, id);
                try (var rs = select.executeQuery()) {
                    rs.next();
                    stored = rs.getString(1);
                }
            }
            assertThat(stored).contains(": ").contains("\\u001f");
            assertThat(receiver.received().getFirst().body()).contains("\"data\":" + stored);
        }
    }

    /** A secret that cannot sign was taken, and every delivery then failed and was retried without end. */
    @Test
    void aKeptSigningSecretThatCannotSignStopsTheStart() throws Exception {
        Path secret = configHome.resolve("switchboard").resolve("listen-signing-secret");
        Files.createDirectories(secret.getParent());
        Files.writeString(secret, "3t1dR8UMnotWhsecPrefixed");
        Partner partner = Partner.create(server, List.of("*"));
        ListenProcess listen = listen(partner.accessToken(), "http://127.0.0.1:9/hooks");
        assertThat(listen.waitFor()).isEqualTo(1);
        assertThat(listen.output())
                .contains(secret.toString())
                .contains("cannot sign")
                .doesNotContain("Exception");
    }

    @Test
    void aReceiverThatFailsIsRetriedAndNothingIsSkipped() throws Exception {
        Partner partner = Partner.create(server, List.of("*"));
        try (Receiver receiver = new Receiver()) {
            AtomicInteger calls = new AtomicInteger();
            // The first three requests fail (500, 503, then no answer within the timeout), the rest succeed.
            receiver.answer(r -> switch (calls.incrementAndGet()) {
                case 1 -> Receiver.Reply.status(500);
                case 2 -> Receiver.Reply.status(503);
                case 3 -> Receiver.Reply.status(200).after(Duration.ofSeconds(3));
                default -> Receiver.Reply.status(200);
            });
            ListenProcess listen =
                    listen(partner.accessToken(), receiver.url("/hooks"), "--forward-timeout", "1", "--after", "0");
            try (listen) {
                String secret = listen.await(SECRET);
                partner.writeRecords("rooms", 3, Map.of("floor", 1));
                Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> accepted(receiver, calls) >= 3);
                List<Long> seqs = new ArrayList<>();
                List<Receiver.Received> received = receiver.received();
                // The failed attempts carried the same message, with the same webhook-id, until one succeeded.
                String firstId = received.get(0).header("webhook-id");
                assertThat(received.subList(0, 4))
                        .allSatisfy(r -> assertThat(r.header("webhook-id")).isEqualTo(firstId));
                for (Receiver.Received r : received.subList(3, received.size())) {
                    r.json().get("events").forEach(e -> seqs.add(e.get("seq").asLong()));
                }
                assertThat(seqs).containsExactly(1L, 2L, 3L);
                assertThat(listen.output()).contains("→ 500").contains("→ 503").contains("→ timeout");
                assertThat(verifiedSeqs(receiver, secret)).isNotEmpty();
            }
        }
    }

    /**
     * Stopped while the receiver worked on a batch, listen leaves its cursor before it, and the next run
     * sends the batch again: with the same webhook-id, so a receiver that skips the ids it processed (as
     * Standard Webhooks advises) does not process it twice.
     */
    @Test
    void aBatchSentAgainByTheNextRunKeepsItsWebhookId() throws Exception {
        Partner partner = Partner.create(server, List.of("*"));
        try (Receiver receiver = new Receiver()) {
            receiver.answer(r -> Receiver.Reply.status(204).after(Duration.ofSeconds(3)));
            try (ListenProcess first = listen(partner.accessToken(), receiver.url("/hooks"), "--after", "0")) {
                first.await(Pattern.compile("stream live"));
                partner.writeRecords("rooms", 1, Map.of("floor", 1));
                Awaitility.await()
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> !receiver.received().isEmpty());
                first.interrupt();
                assertThat(first.output()).contains("Stopped; the next run resumes after seq 0");
            }
            receiver.answer(r -> Receiver.Reply.status(204));
            try (ListenProcess second = listen(partner.accessToken(), receiver.url("/hooks"))) {
                Awaitility.await()
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> receiver.received().size() == 2);
                List<Receiver.Received> received = receiver.received();
                assertThat(received.get(1).body()).isEqualTo(received.get(0).body());
                assertThat(received.get(1).header("webhook-id"))
                        .isEqualTo(received.get(0).header("webhook-id"));
            }
        }
    }

    @Test
    void aForwardToOffThisMachineNeedsAllowExternalAndStartsNothing() {
        Partner partner = Partner.create(server, List.of("*"));
        ListenProcess listen = listen(partner.accessToken(), "http://192.0.2.10/hooks");
        assertThat(listen.waitFor()).isEqualTo(2);
        assertThat(listen.output()).contains("not a loopback address").contains("--allow-external");
        assertThat(configHome.resolve("switchboard")).doesNotExist();
    }

    @Test
    void theTokenComesFromTheEnvironmentSoNoOtherUserSeesItInTheProcessList() throws Exception {
        Partner partner = Partner.create(server, List.of("*"));
        try (Receiver receiver = new Receiver();
                ListenProcess listen = ListenProcess.start(
                        configHome,
                        Map.of("SWITCHBOARD_ACCESS_TOKEN", partner.accessToken()),
                        "--url",
                        server.baseUrl(),
                        "--forward-to",
                        receiver.url("/hooks"))) {
            String secret = listen.await(SECRET);
            listen.await(Pattern.compile("stream live"));
            // What `ps` shows every user of the machine.
            String commandLine = Files.readString(
                    Path.of("/proc", String.valueOf(listen.process().pid()), "cmdline"));
            assertThat(commandLine).contains("listen").doesNotContain(partner.accessToken());
            partner.writeRecords("rooms", 2, Map.of("floor", 1));
            awaitSeqs(receiver, 2);
            assertThat(verifiedSeqs(receiver, secret)).containsExactly(1L, 2L);
        }

        ListenProcess without =
                ListenProcess.start(configHome, "--url", server.baseUrl(), "--forward-to", "http://127.0.0.1:9/hooks");
        assertThat(without.waitFor()).isEqualTo(2);
        assertThat(without.output()).contains("no access token").contains("SWITCHBOARD_ACCESS_TOKEN");
    }

    @Test
    void sinceFindsItsPositionPastLongRunsOfEventsTheTokenMayNotSee() throws Exception {
        Partner partner = Partner.create(server, List.of("rooms.*"));
        // 25,000 events the integration may not receive: more than one read looks at.
        server.appendEvents(partner.tenant(), "device.noise", 25000);
        partner.writeRecords("rooms", 1, Map.of("n", 1)); // seq 25,001
        Thread.sleep(300);
        java.time.Instant since = java.time.Instant.now();
        Thread.sleep(300);
        partner.writeRecords("rooms", 1, Map.of("n", 2)); // seq 25,002, the first at or after since
        var client = dev.switchboard.client.SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                .build();
        assertThat(ListenCommand.positionSince(client, since)).isEqualTo(25_001);
    }

    @Test
    void aStartThePositionOrTimeoutMakeImpossibleIsAUsageErrorAndKeepsNothing() throws Exception {
        Partner partner = Partner.create(server, List.of("*"));
        ListenProcess ahead = listen(partner.accessToken(), "http://127.0.0.1:9/hooks", "--after", "99999");
        assertThat(ahead.waitFor()).isEqualTo(2);
        assertThat(ahead.output()).contains("--after");
        // The refused position was not kept: the next run does not resume after it.
        try (Stream<Path> files = Files.walk(configHome)) {
            assertThat(files.filter(Files::isRegularFile)
                            .map(f -> {
                                try {
                                    return Files.readString(f);
                                } catch (java.io.IOException e) {
                                    throw new java.io.UncheckedIOException(e);
                                }
                            })
                            .toList())
                    .noneMatch(content -> content.equals("99999"));
        }
        ListenProcess noTime = listen(partner.accessToken(), "http://127.0.0.1:9/hooks", "--forward-timeout", "0");
        assertThat(noTime.waitFor()).isEqualTo(2);
        assertThat(noTime.output()).contains("--forward-timeout");
        // Ages no clock reaches: a usage error naming --since, not a stack trace.
        for (String age : List.of("99999999999999999999s", "999999999999d")) {
            ListenProcess tooLong = listen(partner.accessToken(), "http://127.0.0.1:9/hooks", "--since", age);
            assertThat(tooLong.waitFor()).as(age).isEqualTo(2);
            assertThat(tooLong.output()).contains("--since: '" + age + "'").doesNotContain("Exception");
        }
    }

    @Test
    void anAfterOlderThanTheRetentionStartsAtTheOldestEventKeptAndSaysSo() throws Exception {
        Partner partner = Partner.create(server, List.of("*"));
        partner.writeRecords("rooms", 3, Map.of("floor", 1));
        partner.dropEventsUpTo(2);
        try (Receiver receiver = new Receiver();
                ListenProcess listen = listen(partner.accessToken(), receiver.url("/hooks"), "--after", "0")) {
            awaitSeqs(receiver, 1);
            assertThat(receiver.received().getFirst().json().at("/events/0/seq").asLong())
                    .isEqualTo(3);
            assertThat(listen.output()).contains("--after 0 is older than the server keeps events; starting after 2");
        }
    }

    /** A position saved by an earlier run, which the retention has passed since, is moved as --after's is. */
    @Test
    void aSavedPositionTheRetentionHasPassedResumesAtTheOldestEventKeptAndSaysSo() throws Exception {
        Partner partner = Partner.create(server, List.of("*"));
        partner.writeRecords("rooms", 1, Map.of("floor", 1));
        try (Receiver receiver = new Receiver()) {
            try (ListenProcess first = listen(partner.accessToken(), receiver.url("/hooks"), "--after", "0")) {
                awaitSeqs(receiver, 1);
                Awaitility.await()
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> Files.readString(cursorFile()).strip().equals("1"));
            }
            partner.writeRecords("rooms", 3, Map.of("floor", 2));
            partner.dropEventsUpTo(3);
            try (ListenProcess second = listen(partner.accessToken(), receiver.url("/hooks"))) {
                awaitSeqs(receiver, 2);
                assertThat(receiver.received()
                                .getLast()
                                .json()
                                .at("/events/0/seq")
                                .asLong())
                        .as("the event still kept, not skipped for live events")
                        .isEqualTo(4);
                assertThat(second.output())
                        .contains("the saved position 1 is older than the server keeps events; starting after 3");
            }
        }
    }

    @Test
    void typesTheServerRefusesAreAUsageError() {
        Partner partner = Partner.create(server, List.of("*"));
        ListenProcess listen = listen(partner.accessToken(), "http://127.0.0.1:9/hooks", "--types", "rooms created");
        assertThat(listen.waitFor()).isEqualTo(2);
        assertThat(listen.output()).contains("--types").contains("'rooms created' is not an event type pattern");
    }

    /** A run that ends before it starts (its --types refused) leaves the position the last run saved. */
    @Test
    void aRunWhoseTypesAreRefusedLeavesTheSavedPositionAsItWas() throws Exception {
        Partner partner = Partner.create(server, List.of("rooms.*"));
        partner.writeRecords("rooms", 3, Map.of("floor", 1));
        try (ListenProcess first = listen(partner.accessToken(), "http://127.0.0.1:9/hooks", "--after", "3")) {
            first.await(Pattern.compile("stream live"));
            first.interrupt();
        }
        Path cursor = cursorFile();
        assertThat(Files.readString(cursor)).isEqualTo("3");
        ListenProcess refused =
                listen(partner.accessToken(), "http://127.0.0.1:9/hooks", "--types", "devices.*", "--after", "1");
        assertThat(refused.waitFor()).isEqualTo(2);
        assertThat(refused.output()).contains("--types: the server refused them");
        assertThat(Files.readString(cursor)).isEqualTo("3");

        // With no position saved before, none is left behind: the next run starts as a first one would.
        Files.delete(cursor);
        ListenProcess first =
                listen(partner.accessToken(), "http://127.0.0.1:9/hooks", "--types", "devices.*", "--after", "1");
        assertThat(first.waitFor()).isEqualTo(2);
        assertThat(Files.exists(cursor)).isFalse();
    }

    @Test
    void theServerUrlWithOrWithoutATrailingSlashResumesFromOnePosition() {
        Partner partner = Partner.create(server, List.of("*"));
        try (ListenProcess first =
                listenTo(server.baseUrl() + "/", partner.accessToken(), "http://127.0.0.1:9/hooks", "--after", "0")) {
            first.await(Pattern.compile("stream live"));
            first.interrupt();
        }
        try (ListenProcess second = listen(partner.accessToken(), "http://127.0.0.1:9/hooks")) {
            second.await(Pattern.compile("Resuming after seq 0"));
            second.interrupt();
        }
    }

    @Test
    void aUrlWithCredentialsIsRefusedWithoutPrintingThem() {
        ListenProcess listen = listenTo("http://me:s3cret@127.0.0.1:1", "sb_access_x", "http://127.0.0.1:9/hooks");
        assertThat(listen.waitFor()).isEqualTo(2);
        assertThat(listen.output()).contains("--url must not carry credentials").doesNotContain("s3cret");
    }

    @Test
    void aServerThatIsNotThereIsNotBlamedOnTheToken() {
        ListenProcess listen = listenTo("http://127.0.0.1:1", "sb_access_x", "http://127.0.0.1:9/hooks");
        assertThat(listen.waitFor()).isEqualTo(1);
        assertThat(listen.output()).contains("cannot reach http://127.0.0.1:1").doesNotContain("token");
    }

    @Test
    void aUrlWithAPathIsNotBlamedOnTheToken() {
        Partner partner = Partner.create(server, List.of("*"));
        ListenProcess listen = listenTo(server.baseUrl() + "/api", partner.accessToken(), "http://127.0.0.1:9/hooks");
        assertThat(listen.waitFor()).isEqualTo(1);
        assertThat(listen.output())
                .contains("did not answer as a Switchboard server")
                .doesNotContain("token");
    }

    @Test
    void aWrongTokenEndsWithAClearMessage() {
        ListenProcess listen = listen("sb_access_not-a-token", "http://127.0.0.1:9/hooks");
        assertThat(listen.waitFor()).isEqualTo(1);
        assertThat(listen.output()).contains("refused the token").contains("401");
    }

    /** {@code switchboard listen} on this test's server with {@code token}, to {@code forwardTo}, then {@code more}. */
    private ListenProcess listen(String token, String forwardTo, String... more) {
        return listenTo(server.baseUrl(), token, forwardTo, more);
    }

    /** {@code switchboard listen} on the server at {@code url}. */
    private ListenProcess listenTo(String url, String token, String forwardTo, String... more) {
        List<String> args = new ArrayList<>(List.of("--url", url, "--token", token, "--forward-to", forwardTo));
        args.addAll(List.of(more));
        return ListenProcess.start(configHome, args.toArray(String[]::new));
    }

    private static int accepted(Receiver receiver, AtomicInteger calls) {
        return receiver.received().stream()
                .skip(3)
                .mapToInt(r -> r.json().get("events").size())
                .sum();
    }

    private Path cursorFile() throws Exception {
        try (var files = Files.list(configHome.resolve("switchboard/listen"))) {
            return files.filter(f -> f.toString().endsWith(".cursor"))
                    .findFirst()
                    .orElseThrow();
        }
    }

    private static void awaitSeqs(Receiver receiver, int count) {
        Awaitility.await()
                .atMost(Duration.ofSeconds(60))
                .until(() -> receiver.received().stream()
                                .mapToInt(r -> r.json().get("events").size())
                                .sum()
                        >= count);
    }

    /** The seqs received, in order, each message's signature verified by the reference library and by ours. */
    private static List<Long> verifiedSeqs(Receiver receiver, String secret) throws Exception {
        Webhook reference = new Webhook(secret);
        WebhookVerifier ours = WebhookVerifier.of(secret);
        List<Long> seqs = new ArrayList<>();
        for (Receiver.Received r : receiver.received()) {
            assertThatCode(() -> reference.verify(r.body(), r.headers())).doesNotThrowAnyException();
            ours.verify(r.body(), r.headers());
            JsonNode body = r.json();
            assertThat(body.get("tenantId").asText()).isNotBlank();
            assertThat(body.get("integrationId").asText()).startsWith("int_");
            body.get("events").forEach(e -> seqs.add(e.get("seq").asLong()));
        }
        return seqs;
    }

    private static List<Long> range(long from, long to) {
        return LongStream.rangeClosed(from, to).boxed().toList();
    }
}
