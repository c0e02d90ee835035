package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class EventFeedTest {
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        server.createCollection("reservations");
        server.createCollection("customers");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Api tenant(String id) {
        server.createTenant(id);
        return server.adminFor(id);
    }

    @Test
    void aNarrowReadLooksAtABoundedRunOfPositionsAndTheReaderReadsOn() {
        Api app = tenant("feed-narrow");
        // 50,000 events the reader does not ask for, then one it does.
        server.appendEvents("feed-narrow", "device.noise", 50000);
        app.post("/api/v1/events", Map.of("type", "device.command")).expect(201);

        long after = 0;
        int reads = 0;
        JsonNode found = null;
        while (found == null) {
            long started = System.nanoTime();
            JsonNode page = app.get("/api/v1/events?types=device.command&wait=5&after=" + after)
                    .expect(200)
                    .json();
            reads++;
            // short of the head with nothing to show: answered at once, not after the long poll's wait
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(4));
            assertThat(page.get("next").asLong()).isGreaterThan(after);
            if (!page.get("events").isEmpty()) {
                found = page.get("events").get(0);
            }
            after = page.get("next").asLong();
        }
        assertThat(found.get("seq").asLong()).isEqualTo(50_001);
        assertThat(reads).isEqualTo(3); // 20,000 positions, 20,000 more, then the rest up to the head
    }

    /** The wait is kept on the monotonic clock: the node's wall clock stepped back mid-wait does not stretch it. */
    @Test
    void aLongPollEndsWhenItsWaitIsOverWhateverTheWallClockDoes() throws Exception {
        AtomicReference<Duration> step = new AtomicReference<>(Duration.ZERO);
        InstantSource clock = () -> Instant.now().plus(step.get());
        DatabaseUrl database = TestDatabase.create();
        try (TestServer stepped = TestServer.start(database, Map.of(), clock);
                TestServer other = TestServer.start(database, Map.of(), InstantSource.system())) {
            stepped.createTenant("feed-stepped");
            Api admin = other.adminFor("feed-stepped");
            Api partner = stepped.api(stepped.partnerToken("feed-stepped"));
            var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
            long started = System.nanoTime();
            double before = stepped.feedReads();
            CompletableFuture<Api.Response> poll =
                    CompletableFuture.supplyAsync(() -> partner.get("/api/v1/events?types=never.sent&wait=5"), threads);
            stepped.awaitLongPollWaiting(before);
            step.set(Duration.ofMinutes(-10));
            // An event the poll does not ask for, committed on another node (whose commits wake every waiter:
            // this node does not know what they hold), wakes it, and it looks at how long it has left.
            admin.post("/api/v1/events", Map.of("type", "device.noise")).expect(201);
            assertThat(poll.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(12));
            threads.close();
        }
    }

    @Test
    void aConnectionMayHaveOnlySoManyLongPollsWaitingAtOnce() throws Exception {
        Api app = tenant("feed-polls");
        Api partner = server.api(server.partnerToken("feed-polls"));
        var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
        List<CompletableFuture<Api.Response>> waiting = new java.util.ArrayList<>();
        double before = server.feedReads();
        for (int i = 0; i < EventRoutes.LONG_POLLS_PER_CONNECTION; i++) {
            waiting.add(CompletableFuture.supplyAsync(
                    () -> partner.get("/api/v1/events?types=never.sent&wait=5"), threads));
        }
        // All of them waiting: each reads once, takes its slot, registers and reads again.
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .until(() -> server.feedReads() - before >= 2 * EventRoutes.LONG_POLLS_PER_CONNECTION);
        Api.Response refused = partner.get("/api/v1/events?types=never.sent&wait=5");
        assertThat(refused.status()).isEqualTo(429);
        assertThat(refused.errorCode()).isEqualTo("too_many_long_polls");
        assertThat(refused.header("Retry-After")).isEqualTo("1");
        // a read without wait, and the operator's polls, are not counted
        partner.get("/api/v1/events?types=never.sent").expect(200);
        CompletableFuture<Api.Response> operator =
                CompletableFuture.supplyAsync(() -> app.get("/api/v1/events?types=never.sent&wait=1"), threads);
        assertThat(operator.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
        for (CompletableFuture<Api.Response> poll : waiting) {
            assertThat(poll.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
        }
        partner.get("/api/v1/events?types=never.sent&wait=1").expect(200);
        threads.close();
    }

    /**
     * A client that hangs up on its long poll frees its place among the connection's long polls at once. The
     * server learns of a closed connection only when it reads or writes, and a waiting poll does neither:
     * eight abandoned polls held the connection's every place (429 to the next) and their sockets for the
     * whole wait.
     */
    @Test
    void aLongPollWhoseClientHangsUpFreesItsPlaceAtOnce() throws Exception {
        tenant("feed-abandoned");
        String token = server.partnerToken("feed-abandoned");
        List<java.net.Socket> sockets = new java.util.ArrayList<>();
        double before = server.feedReads();
        for (int i = 0; i < EventRoutes.LONG_POLLS_PER_CONNECTION; i++) {
            java.net.Socket socket =
                    new java.net.Socket("127.0.0.1", server.switchboard().port());
            socket.getOutputStream()
                    .write(("GET /api/v1/events?types=never.sent&wait=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                    + "Authorization: Bearer " + token + "\r\n\r\n")
                            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            sockets.add(socket);
        }
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .until(() -> server.feedReads() - before >= 2 * EventRoutes.LONG_POLLS_PER_CONNECTION);
        Api partner = server.api(token);
        assertThat(partner.get("/api/v1/events?types=never.sent&wait=1").status())
                .isEqualTo(429);

        for (java.net.Socket socket : sockets) {
            socket.close();
        }
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(5))
                .until(() ->
                        partner.get("/api/v1/events?types=never.sent&wait=1").status() == 200);
    }

    @Test
    void customEventsArePublishedWithTheAdminKeyAndReadInOrder() {
        Api app = tenant("feed-custom");
        JsonNode published = app.post(
                        "/api/v1/events",
                        Map.of("type", "device.command", "subject", "door-7", "data", Map.of("action", "open")))
                .expect(201)
                .json();
        assertThat(published.get("id").asText()).startsWith("evt_");
        assertThat(published.get("seq").asLong()).isEqualTo(1);
        app.post("/api/v1/events", Map.of("type", "device.command", "subject", "door-8"))
                .expect(201);

        JsonNode page = app.get("/api/v1/events").expect(200).json();
        assertThat(page.get("events")).extracting(e -> e.get("seq").asLong()).containsExactly(1L, 2L);
        assertThat(page.get("events").get(0).get("data").get("action").asText()).isEqualTo("open");
        assertThat(page.get("next").asLong()).isEqualTo(2);
        assertThat(app.get("/api/v1/events?after=2").json().get("events")).isEmpty();

        assertThat(app.post("/api/v1/events", Map.of("type", "reservations.created"))
                        .status())
                .isEqualTo(400);
        assertThat(app.post("/api/v1/events", Map.of("type", "connection.created"))
                        .status())
                .isEqualTo(400);
        // A collection's record types are reserved before it exists: published then, such an event would pass
        // for one of its records' events once it does, past integrations that may not read it.
        Api.Response early = app.post("/api/v1/events", Map.of("type", "invoices.created"));
        assertThat(early.status()).isEqualTo(400);
        assertThat(early.json().at("/error/message").asText())
                .isEqualTo("type: 'invoices.created' is the type of a record event of collection 'invoices' (whether"
                        + " or not it exists yet), reserved for events Switchboard produces itself: name the event"
                        + " otherwise, such as invoices.registered or app.invoices.created");
        app.post("/api/v1/events", Map.of("type", "invoices.paid")).expect(201);
        app.post("/api/v1/events", Map.of("type", "billing.invoices.created")).expect(201);
        assertThat(app.post("/api/v1/events", Map.of("type", "Not A Type")).status())
                .isEqualTo(400);
        String partner = server.partnerToken("feed-custom");
        assertThat(server.api(partner)
                        .post("/api/v1/events", Map.of("type", "device.command"))
                        .status())
                .isEqualTo(403);
    }

    /**
     * A publisher that retries after a timeout would otherwise append the event twice, and every partner
     * would receive it twice under two webhook-ids.
     */
    @Test
    void aPublishRetriedWithItsIdempotencyKeyAnswersTheFirstAndAppendsOnce() throws Exception {
        Api app = tenant("feed-idempotent");
        Api keyed = app.withHeader("Idempotency-Key", "door-7-open-1");
        Api.Response first = keyed.post(
                        "/api/v1/events", "{\"type\":\"device.command\",\"data\":{\"action\":\"open\",\"at\":1}}")
                .expect(201);
        // The same request in another order and spacing, and twenty more at once.
        List<CompletableFuture<Api.Response>> retries = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            retries.add(CompletableFuture.supplyAsync(() -> keyed.post(
                    "/api/v1/events",
                    "{ \"data\": {\"at\": 1, \"action\": \"open\"}, \"type\": \"device.command\" }")));
        }
        for (CompletableFuture<Api.Response> retry : retries) {
            Api.Response answer = retry.get(30, TimeUnit.SECONDS).expect(201);
            assertThat(answer.header("Idempotent-Replayed")).isEqualTo("true");
            assertThat(answer.json()).isEqualTo(first.json());
        }
        assertThat(first.header("Idempotent-Replayed")).isNull();
        assertThat(app.get("/api/v1/events").expect(200).json().get("events"))
                .extracting(e -> e.get("id").asText())
                .containsExactly(first.json().get("id").asText());

        Api.Response reused = keyed.post("/api/v1/events", Map.of("type", "device.command", "subject", "door-8"));
        assertThat(reused.status()).isEqualTo(422);
        assertThat(reused.errorCode()).isEqualTo("idempotency_key_reused");
        assertThat(keyed.post("/api/v1/events", Map.of("type", "device.command"))
                        .status())
                .as("no subject is another request than a subject")
                .isEqualTo(422);
        // Another tenant's key space is its own.
        tenant("feed-idempotent-2")
                .withHeader("Idempotency-Key", "door-7-open-1")
                .post("/api/v1/events", Map.of("type", "device.command"))
                .expect(201);
        assertThat(app.withHeader("Idempotency-Key", "k".repeat(256))
                        .post("/api/v1/events", Map.of("type", "a.b"))
                        .status())
                .isEqualTo(400);
        assertThat(app.get("/api/v1/events").expect(200).json().get("events")).hasSize(1);
    }

    @Test
    void theFeedShowsOnlyTheTypesTheIntegrationMayReceiveAndReadableCollections() {
        Api app = tenant("feed-filter");
        Api partner = Partner.on(
                        server,
                        "feed-filter",
                        List.of("reservations"),
                        List.of("*"),
                        List.of("reservations.*", "customers.*", "device.command"))
                .access();
        app.post("/api/v1/collections/reservations/records", Map.of("data", Map.of()))
                .expect(201);
        app.post("/api/v1/collections/customers/records", Map.of("data", Map.of()))
                .expect(201); // not readable
        app.post("/api/v1/events", Map.of("type", "device.command")).expect(201);
        app.post("/api/v1/events", Map.of("type", "device.status")).expect(201); // not receivable

        JsonNode page = partner.get("/api/v1/events").expect(200).json();
        assertThat(page.get("events"))
                .extracting(e -> e.get("type").asText())
                .containsExactly("reservations.created", "device.command");
        assertThat(page.get("next").asLong()).isEqualTo(4);

        JsonNode narrowed =
                partner.get("/api/v1/events?types=device.*").expect(200).json();
        assertThat(narrowed.get("events"))
                .extracting(e -> e.get("type").asText())
                .containsExactly("device.command");
        assertThat(partner.get("/api/v1/events?types=device.**").status()).isEqualTo(400);
        for (String empty : List.of(",,", "device.*,", ",device.*")) {
            Api.Response refused = partner.get("/api/v1/events?types=" + empty);
            assertThat(refused.status())
                    .as("an empty pattern narrows to nothing, not to everything: " + empty)
                    .isEqualTo(400);
        }
    }

    @Test
    void aTokenNeverSeesAnotherTenantsEvents() {
        Api a = tenant("feed-iso-a");
        tenant("feed-iso-b");
        a.post("/api/v1/events", Map.of("type", "device.command")).expect(201);
        Api partnerB = server.api(server.partnerToken("feed-iso-b"));
        assertThat(partnerB.get("/api/v1/events").json().get("events")).isEmpty();
    }

    @Test
    void aLongPollReturnsAsSoonAsAnEventCommits() throws Exception {
        Api app = tenant("feed-wait");
        Api partner = server.api(server.partnerToken("feed-wait"));
        double before = feedReads();
        long started = System.nanoTime();
        CompletableFuture<Api.Response> poll =
                CompletableFuture.supplyAsync(() -> partner.get("/api/v1/events?after=0&wait=20"));
        awaitWaiting(before);
        assertThat(poll).isNotDone();
        app.post("/api/v1/events", Map.of("type", "device.command")).expect(201);
        JsonNode page = poll.get(10, TimeUnit.SECONDS).expect(200).json();
        assertThat(page.get("events")).hasSize(1);
        // Woken by the commit, not by the 20 s timeout.
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
    }

    /** A partner that may receive reservations events only, as in the README's quick start. */
    private static Api reservationsPartner(String tenantId) {
        return Partner.on(server, tenantId, List.of("reservations"), List.of(), List.of("reservations.*"))
                .access();
    }

    private static double feedReads() {
        return server.feedReads();
    }

    private static void awaitWaiting(double before) {
        server.awaitLongPollWaiting(before);
    }

    @Test
    void aLongPollWhoseConnectionIsDisabledWhileItWaitsIsRefusedInsteadOfServedTheNextEvent() throws Exception {
        Api app = tenant("feed-revoked");
        Partner partner = Partner.on(server, "feed-revoked", List.of("*"), List.of(), List.of("*"));
        double before = feedReads();
        CompletableFuture<Api.Response> poll =
                CompletableFuture.supplyAsync(() -> partner.access().get("/api/v1/events?after=0&wait=20"));
        awaitWaiting(before);
        server.api(TestServer.ADMIN_KEY)
                .post("/api/v1/connections/" + partner.connectionId() + "/disable", "")
                .expect(200);
        app.post("/api/v1/events", Map.of("type", "device.command", "subject", "door-1"))
                .expect(201);

        Api.Response answer = poll.get(20, TimeUnit.SECONDS);
        assertThat(answer.status()).as(answer.body()).isEqualTo(401);
        assertThat(answer.body()).doesNotContain("door-1");

        // Disabled while it waits, with no event after: its wait ends in 401 too, not an empty 200, and at once,
        // not when the 20 s it asked for are over (holding one of the connection's long polls until then).
        Partner quiet = Partner.on(server, "feed-revoked", List.of("*"), List.of(), List.of("*"));
        long head = quiet.access().get("/api/v1/events").json().get("next").asLong();
        double waiting = feedReads();
        CompletableFuture<Api.Response> quietPoll =
                CompletableFuture.supplyAsync(() -> quiet.access().get("/api/v1/events?after=" + head + "&wait=20"));
        awaitWaiting(waiting);
        server.api(TestServer.ADMIN_KEY)
                .post("/api/v1/connections/" + quiet.connectionId() + "/disable", "")
                .expect(200);
        assertThat(quietPoll.get(5, TimeUnit.SECONDS).status()).isEqualTo(401);
    }

    /**
     * A long poll made with a console session re-checks the session at each wake-up without counting a
     * request: its wake-ups for events it does not take used to spend the session's rate limit, until the
     * poll (or the operator's next click) was refused with 429 in the middle of its wait.
     */
    @Test
    void aConsoleSessionsLongPollIsNotCountedAgainstItsRateLimitAtEachWakeUp() throws Exception {
        try (TestServer limited = TestServer.start(Map.of("SWITCHBOARD_RATE_LIMIT_REQUESTS", "20"))) {
            limited.createTenant("feed-console");
            Api console = dev.switchboard.testing.ConsoleSession.signIn(limited)
                    .api()
                    .withHeader("Switchboard-Tenant", "feed-console");
            Api app = limited.adminFor("feed-console");
            double before = limited.feedReads();
            CompletableFuture<Api.Response> poll =
                    CompletableFuture.supplyAsync(() -> console.get("/api/v1/events?after=0&types=doors.*&wait=20"));
            limited.awaitLongPollWaiting(before);
            for (int i = 0; i < 40; i++) {
                app.post("/api/v1/events", Map.of("type", "rooms.cleaned")).expect(201); // wakes it, not for it
            }
            app.post("/api/v1/events", Map.of("type", "doors.opened")).expect(201);

            Api.Response answer = poll.get(30, TimeUnit.SECONDS);
            assertThat(answer.status()).as(answer.body()).isEqualTo(200);
            assertThat(answer.json().get("events"))
                    .extracting(e -> e.get("type").asText())
                    .containsExactly("doors.opened");
        }
    }

    @Test
    void aFilteredLongPollSleepsThroughEventsItMayNotSeeUntilItsDeadline() throws Exception {
        Api app = tenant("feed-invisible");
        Api partner = reservationsPartner("feed-invisible");
        for (int i = 0; i < 100; i++) {
            app.post("/api/v1/events", Map.of("type", "device.command", "subject", "door-" + i))
                    .expect(201);
        }
        double before = feedReads();
        long started = System.nanoTime();
        CompletableFuture<Api.Response> poll =
                CompletableFuture.supplyAsync(() -> partner.get("/api/v1/events?after=0&wait=3"));
        awaitWaiting(before);
        app.post("/api/v1/events", Map.of("type", "device.command", "subject", "door-100"))
                .expect(201); // wakes it

        JsonNode page = poll.get(20, TimeUnit.SECONDS).expect(200).json();
        assertThat(page.get("events")).isEmpty();
        assertThat(page.get("next").asLong())
                .as("past every event it may not see")
                .isEqualTo(101);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(Duration.ofMillis(2900));
        // Before waiting, after registering, and once for the wake-up; the rest of the wait is asleep.
        assertThat(feedReads() - before).isLessThanOrEqualTo(4);
    }

    @Test
    void aFilteredLongPollReadsOncePerWakeUpAndReturnsTheFirstEventItMaySee() throws Exception {
        Api app = tenant("feed-invisible-live");
        Api partner = reservationsPartner("feed-invisible-live");
        double before = feedReads();
        CompletableFuture<Api.Response> poll =
                CompletableFuture.supplyAsync(() -> partner.get("/api/v1/events?after=0&wait=20"));
        awaitWaiting(before);
        for (int i = 0; i < 100; i++) {
            app.post("/api/v1/events", Map.of("type", "device.command", "subject", "door-" + i))
                    .expect(201);
        }
        String record = app.post("/api/v1/collections/reservations/records", Map.of("data", Map.of()))
                .expect(201)
                .json()
                .get("id")
                .asText();

        JsonNode page = poll.get(20, TimeUnit.SECONDS).expect(200).json();
        assertThat(page.get("events"))
                .extracting(e -> e.get("subject").asText())
                .containsExactly(record);
        assertThat(page.get("events").get(0).get("seq").asLong()).isEqualTo(101);
        assertThat(page.get("next").asLong()).isEqualTo(101);
        // The hidden events were written on this node, which knows their types: none woke it. The two reads
        // before it slept, and the one the record woke.
        assertThat(feedReads() - before).isLessThanOrEqualTo(3);
    }

    @Test
    void aLongPollWithNothingNewReturnsEmptyAfterTheWait() {
        Api app = tenant("feed-timeout");
        long started = System.nanoTime();
        JsonNode page = app.get("/api/v1/events?wait=1").expect(200).json();
        assertThat(Duration.ofNanos(System.nanoTime() - started))
                .as("answered once the wait was over, not at once")
                .isGreaterThanOrEqualTo(Duration.ofMillis(900));
        assertThat(page.get("events")).isEmpty();
        assertThat(page.get("next").asLong()).isZero();
        Api.Response tooLong = app.get("/api/v1/events?wait=3600");
        assertThat(tooLong.status()).isEqualTo(400);
        assertThat(tooLong.json().path("error").path("details").path("field").asText())
                .isEqualTo("wait");
    }

    @Test
    void aPositionAheadOfTheLogIsRefused() {
        Api app = tenant("feed-ahead");
        Api.Response r = app.get("/api/v1/events?after=5");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().get("error").get("message").asText()).startsWith("after");
        assertThat(app.get("/api/v1/events?after=-1").status()).isEqualTo(400);
        assertThat(app.get("/api/v1/events?after=abc").status()).isEqualTo(400);
        // Digits of other scripts (Arabic-Indic three, fullwidth one) and a plus sign are not positions.
        for (String after : List.of("%D9%A3", "%EF%BC%91", "%2B1")) {
            Api.Response other = app.get("/api/v1/events?after=" + after);
            assertThat(other.status()).as(after).isEqualTo(400);
            assertThat(other.json().at("/error/message").asText()).contains("is not a whole number");
        }
    }
}
