package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.support.Ids;
import dev.switchboard.testing.CapturedLogs;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.Receiver.Reply;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.Webhooks;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A webhook stream never sticks: a node that lost a stream's lease (it paused longer than the lease)
 * changes nothing there when it comes back, a stream left pointing at a finished message moves past
 * it, and a worker error holds the stream back with a growing wait that the endpoint shows.
 */
@Timeout(90)
class WebhookStreamLeaseTest {
    private static final Map<String, String> SETTINGS = Map.of(
            "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
            "SWITCHBOARD_WEBHOOKS_TIMEOUT", "1s",
            "SWITCHBOARD_WEBHOOKS_LEASE_TIME", "3s",
            "SWITCHBOARD_RATE_LIMIT_REQUESTS", "100000");

    @Test
    void aNodeThatLostTheLeaseCannotFinishTheNewHoldersMessageAndTheStreamKeepsMoving() throws SQLException {
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(SETTINGS)) {
            answerFirstWith503(receiver);
            // A retry far off: the stream surely waits, unleased, while the stale node writes; then it is made due.
            Fixture f = Fixture.create(server, receiver, List.of("1m", "1m"));
            f.sendEvent();
            Current waiting = f.awaitRetryWaiting();

            // The outcome of an old attempt, recorded by a node that paused past its lease: first as
            // delivered, then as abandoned. Neither may touch the message the stream is retrying.
            MessageLog paused = new MessageLog(
                    dataSource(server.database()),
                    "node_paused",
                    Duration.ofSeconds(3),
                    Duration.ofDays(1),
                    new ControlChannel(),
                    null); // reads no log: it only records
            Attempt ok = new Attempt(Attempt.Outcome.delivered, 200, null, "", Optional.empty(), Instant.now(), 5);
            try (Connection c = DriverManager.getConnection(server.database().jdbcUrl())) {
                MessageLog.Step delivered = new MessageLog.Step(
                        waiting.streamPk(),
                        waiting.pending().endpointPk(),
                        new MessageLog.Done(waiting.pending(), ok),
                        new MessageLog.Next(Ids.newUuid(), "hotel", 2, 2, 1, null, "{}", null, null));
                assertThat(paused.steps(c, List.of(delivered)))
                        .as("a delivery step of the node that lost the lease")
                        .containsExactly(new MessageLog.Stepped(false, null));
            }
            assertThat(paused.recordStream(waiting.streamPk(), waiting.pending(), ok, new Decision.Delivered())
                            .streamHeld())
                    .isFalse();
            Attempt failed =
                    new Attempt(Attempt.Outcome.http_error, 500, "HTTP 500", "", Optional.empty(), Instant.now(), 5);
            assertThat(paused.recordStream(waiting.streamPk(), waiting.pending(), failed, new Decision.Abandoned())
                            .streamHeld())
                    .isFalse();
            try (Connection c = DriverManager.getConnection(server.database().jdbcUrl());
                    ResultSet rs = c.createStatement()
                            .executeQuery("SELECT status, attempts,"
                                    + " (SELECT count(*) FROM webhook_attempts WHERE message_pk = m.pk)"
                                    + " FROM webhook_messages m WHERE pk = "
                                    + waiting.pending().pk())) {
                rs.next();
                assertThat(rs.getString(1))
                        .as("the message the stream is retrying")
                        .isEqualTo("pending");
                assertThat(rs.getInt(2)).as("attempts on it").isEqualTo(1);
                assertThat(rs.getInt(3)).as("attempt rows").isEqualTo(1);
            }
            JsonNode endpoint = f.endpoint();
            assertThat(endpoint.get("state").asText())
                    .as("the stale failure changed no health")
                    .isEqualTo("failing");

            f.sendEvent();
            Webhooks.makeDue(server.database());
            await("the retry, then the next event")
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> f.sentSeqs(receiver).size() >= 3);
            assertThat(f.sentSeqs(receiver))
                    .as("the 503, its retry, the next event")
                    .containsExactly(1L, 1L, 2L);
        }
    }

    @Test
    void aStreamLeftPointingAtAFinishedMessageMovesPastItInsteadOfClaimingItOverAndOver() throws SQLException {
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(SETTINGS);
                CapturedLogs logs = new CapturedLogs()) {
            answerFirstWith503(receiver);
            Fixture f = Fixture.create(server, receiver, List.of("1m"));
            f.sendEvent();
            Current waiting = f.awaitRetryWaiting();
            // What an unguarded late write left behind in a database from before the lease guard.
            f.changeMessage(waiting, "status = 'delivered', finished_at = now()");
            f.sendEvent();
            Webhooks.makeDue(server.database());
            await("the next event delivered")
                    .atMost(Duration.ofSeconds(15))
                    .until(() -> f.sentSeqs(receiver).contains(2L));
            assertThat(f.sentSeqs(receiver))
                    .as("the finished message is not sent again")
                    .containsExactly(1L, 2L);
            assertThat(logs.lines().stream()
                            .filter(l -> l.contains("no longer pending"))
                            .count())
                    .isEqualTo(1);
        }
    }

    @Test
    void aMessageWhoseEventsTheFilterNowRefusesIsDroppedAndTheStreamMovesOn() throws SQLException {
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(SETTINGS);
                CapturedLogs logs = new CapturedLogs()) {
            answerFirstWith503(receiver);
            Fixture f = Fixture.create(server, receiver, List.of("1m"));
            f.sendEvent();
            Current waiting = f.awaitRetryWaiting();
            // As a crash leaves it: the message written before its first attempt (no body kept, no attempt).
            f.changeMessage(waiting, "body = NULL, attempts = 0");
            // The endpoint now wants other events: the message's range holds none it would send.
            server.admin
                    .patch("/api/v1/webhooks/" + f.webhookId(), Map.of("eventTypes", List.of("door.*")))
                    .expect(200);
            server.adminFor("inn")
                    .post("/api/v1/events", Map.of("type", "door.opened"))
                    .expect(201);
            Webhooks.makeDue(server.database());
            await("the next event delivered")
                    .atMost(Duration.ofSeconds(15))
                    .until(() -> f.sentSeqs(receiver).contains(2L));
            assertThat(f.sentSeqs(receiver))
                    .as("the first attempt (503), then the event the filter takes")
                    .containsExactly(1L, 2L);
            assertThat(server.admin
                            .get("/api/v1/webhooks/" + f.webhookId() + "/messages?status=pending")
                            .expect(200)
                            .json()
                            .get("messages"))
                    .as("pending messages")
                    .isEmpty();
            assertThat(logs.lines().stream().filter(l -> l.contains("no event its filter")))
                    .hasSize(1);
            assertThat(streamErrors(server.database())).as("worker errors").isZero();
        }
    }

    @Test
    void aWorkerErrorHoldsTheStreamBackWithAGrowingWaitThatTheEndpointAndMetricsShow() throws SQLException {
        DatabaseUrl database = TestDatabase.create();
        try (Receiver receiver = new Receiver()) {
            Fixture f;
            try (TestServer permissive = TestServer.start(database, SETTINGS, InstantSource.system())) {
                f = Fixture.create(permissive, receiver, List.of("1s"));
            }
            // The same stored URL (loopback), on a server whose settings now refuse it: every run of the
            // stream's worker fails before it sends anything.
            Map<String, String> strict = new HashMap<>(SETTINGS);
            strict.remove("SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES");
            try (CapturedLogs logs = new CapturedLogs();
                    TestServer server = TestServer.start(database, strict, InstantSource.system())) {
                f = f.on(server);
                f.sendEvent();
                await("a worker error").atMost(Duration.ofSeconds(15)).until(() -> streamErrors(database) >= 1);
                Webhooks.makeDue(database); // the first back-off; the second one's length is checked below
                await("two worker errors").atMost(Duration.ofSeconds(15)).until(() -> streamErrors(database) >= 2);
                long failedRuns = logs.lines().stream()
                        .filter(l -> l.contains("Delivering webhook"))
                        .count();
                assertThat(failedRuns)
                        .as("runs of the worker that failed (not a busy loop)")
                        .isBetween(2L, 3L);
                try (Connection c = DriverManager.getConnection(database.jdbcUrl());
                        ResultSet rs = c.createStatement()
                                .executeQuery(
                                        "SELECT errors,"
                                                + " (extract(epoch FROM next_attempt_at - last_error_at) * 1000)::bigint, last_error FROM webhook_streams")) {
                    rs.next();
                    assertThat(rs.getLong(2))
                            .as("the wait after error " + rs.getInt(1))
                            .isEqualTo(1000L << (rs.getInt(1) - 1));
                    assertThat(rs.getString(3)).contains("url: must not point at a loopback address");
                }
                JsonNode endpoint = f.endpoint();
                assertThat(endpoint.get("streamsInError").asInt()).isEqualTo(1);
                assertThat(endpoint.get("lastStreamError").asText()).contains("loopback address");
                assertThat(endpoint.get("lastStreamErrorAt").isNull()).isFalse();
                String tag = "\\{endpoint=\"" + f.webhookId() + "\",?\\}";
                assertThat(server.metric("switchboard_webhooks_stream_errors_total" + tag))
                        .isGreaterThanOrEqualTo(2);
                assertThat(server.metric("switchboard_webhooks_streams_in_error" + tag))
                        .isEqualTo(1);
                assertThat(receiver.received()).isEmpty();
            }
            // Allowed again: the stream is claimed when its wait is over (now), delivers, and is no longer in error.
            Webhooks.makeDue(database);
            try (TestServer server = TestServer.start(database, SETTINGS, InstantSource.system())) {
                Fixture recovered = f.on(server);
                await("delivered after the wait")
                        .atMost(Duration.ofSeconds(20))
                        .until(() -> recovered.sentSeqs(receiver).equals(List.of(1L)));
                await().atMost(Duration.ofSeconds(5))
                        .until(() -> recovered.endpoint().get("streamsInError").asInt() == 0);
                assertThat(recovered.endpoint().get("lastStreamError").asText()).contains("loopback address");
            }
        }
    }

    /**
     * Steps of many streams are written in one statement: one waiting for a row another transaction held
     * (a connection's delete, taking a million messages with it, held them 40 s) held up every stream of the
     * node for as long. Now it waits at most a couple of seconds; the others are written without it, and its
     * stream sends again once the row is free.
     */
    @Test
    void aStepWaitingForALockedRowHoldsUpOtherStreamsSecondsNotAsLongAsTheLock() throws Exception {
        DatabaseUrl database = TestDatabase.create();
        CountDownLatch locked = new CountDownLatch(1);
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(database, SETTINGS, InstantSource.system())) {
            receiver.answer(r -> {
                if (r.path().equals("/slow")) {
                    try {
                        locked.await(900, TimeUnit.MILLISECONDS); // within the webhook timeout (1 s)
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return Reply.status(200);
            });
            for (String inn : List.of("slow-inn", "fast-inn")) {
                server.createTenant(inn);
                Partner.on(server, inn, List.of("*"), List.of("*"), List.of("*"))
                        .webhook(Map.of(
                                "url", receiver.url(inn.equals("slow-inn") ? "/slow" : "/fast"), "maxBatchSize", 1));
            }
            Runnable fastEvent = () -> server.adminFor("fast-inn")
                    .post("/api/v1/events", Map.of("type", "device.command"))
                    .expect(201);
            fastEvent.run();
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> receiver.received("/fast").size() == 1);

            server.adminFor("slow-inn")
                    .post("/api/v1/events", Map.of("type", "device.command"))
                    .expect(201);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> !receiver.received("/slow").isEmpty());
            try (Connection holder = DriverManager.getConnection(database.jdbcUrl())) {
                holder.setAutoCommit(false);
                try (var s = holder.createStatement()) {
                    s.executeQuery("SELECT pk FROM webhook_messages WHERE tenant_id = 'slow-inn' AND status = 'pending'"
                                    + " FOR UPDATE")
                            .close();
                }
                locked.countDown(); // the slow stream's step now waits for the row this transaction holds

                // Each of the fast stream's events is sent once the step of the one before is written.
                for (int sent = 2; sent <= 3; sent++) {
                    fastEvent.run();
                    int expected = sent;
                    await("the fast stream's event " + sent + " while the slow stream's row is held")
                            .atMost(Duration.ofSeconds(10))
                            .until(() -> receiver.received("/fast").size() == expected);
                }
                holder.commit();
            }
            await("the slow stream's event, once its row is free")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> server
                            .admin
                            .get("/api/v1/webhooks?limit=100")
                            .expect(200)
                            .json()
                            .get("webhooks")
                            .findValues("streamsInError")
                            .stream()
                            .allMatch(n -> n.asInt() == 0));
            assertThat(receiver.received("/slow")).isNotEmpty();
        }
    }

    /**
     * A worker error that is the server's (here a database error) is shown to the endpoint's integration in
     * words of its own: the error's text, a database's with its process ids and values, stays in the log.
     */
    @Test
    void aWorkerErrorOfTheServersIsShownWithoutItsText() throws SQLException {
        DatabaseUrl database = TestDatabase.create();
        try (Receiver receiver = new Receiver();
                CapturedLogs logs = new CapturedLogs();
                TestServer server = TestServer.start(database, SETTINGS, InstantSource.system())) {
            receiver.answer(request -> Reply.status(500));
            Fixture f = Fixture.create(server, receiver, List.of("1s"));
            try (Connection c = DriverManager.getConnection(database.jdbcUrl());
                    var s = c.createStatement()) {
                s.execute("CREATE FUNCTION refuse_attempts() RETURNS trigger LANGUAGE plpgsql AS $$"
                        + " BEGIN RAISE EXCEPTION 'internal detail 4711 of table webhook_attempts'; END $$");
                s.execute("CREATE TRIGGER refuse_attempts BEFORE INSERT ON webhook_attempts"
                        + " FOR EACH ROW EXECUTE FUNCTION refuse_attempts()");
            }
            f.sendEvent();
            await("a worker error").atMost(Duration.ofSeconds(15)).until(() -> streamErrors(database) >= 1);
            JsonNode endpoint = f.endpoint();
            assertThat(endpoint.get("streamsInError").asInt()).isEqualTo(1);
            assertThat(endpoint.get("lastStreamError").asText())
                    .startsWith("an error of the server's, not the endpoint's")
                    .doesNotContain("4711");
            // Logged with the error itself, whose text the log has.
            assertThat(logs.lines()).anyMatch(l -> l.startsWith("ERROR") && l.contains("Delivering webhook"));
        }
    }

    /**
     * A lifecycle message is its first event, whose access token it carries. Rebuilt from the log after a
     * crash, with the endpoint's event types changed meanwhile so that its first event no longer passes,
     * it used to take the first event of its range that does (one passed over when the message was made)
     * and send it with the first event's token: a {@code connection.disabled} carrying an access token.
     * Such a message is now dropped, as an events message whose events all fail the filter is.
     */
    @Test
    void aLifecycleMessageWhoseFirstEventTheFilterNowRefusesIsDroppedNotSentWithAnotherEvent() throws SQLException {
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(SETTINGS)) {
            answerFirstWith503(receiver);
            server.createTenant("inn");
            String integrationId = server.createIntegration("Keys", List.of("*"), List.of("*"), List.of("*"))
                    .get("id")
                    .asText();
            dev.switchboard.testing.Api client = server.api(server.admin
                    .post("/api/v1/integrations/" + integrationId + "/rotate-client-key", "")
                    .expect(200)
                    .json()
                    .get("clientKey")
                    .asText());
            String webhookId = client.post(
                            "/api/v1/webhooks",
                            Map.of(
                                    "url", receiver.url("/lifecycle"),
                                    "kind", "lifecycle",
                                    "eventTypes", List.of("connection.created"),
                                    "retryDelays", List.of("1m")))
                    .expect(201)
                    .json()
                    .get("id")
                    .asText();
            // Both events are written before the stream reads: its first message is the creation, its range
            // going on over the disabling, which the endpoint did not want.
            client.patch("/api/v1/webhooks/" + webhookId, Map.of("state", "disabled"))
                    .expect(200);
            String connectionId = server.connect(integrationId, "inn").get("id").asText();
            server.admin
                    .post("/api/v1/connections/" + connectionId + "/disable", "")
                    .expect(200);
            client.patch("/api/v1/webhooks/" + webhookId, Map.of("state", "enabled"))
                    .expect(200);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> receiver.received().size() == 1);
            Fixture f = new Fixture(server, webhookId);
            f.changeMessage(f.awaitRetryWaiting(), "body = NULL, attempts = 0"); // as a crash leaves it
            client.patch("/api/v1/webhooks/" + webhookId, Map.of("eventTypes", List.of("connection.disabled")))
                    .expect(200);
            server.admin
                    .post("/api/v1/connections/" + connectionId + "/enable", "")
                    .expect(200);
            server.admin
                    .post("/api/v1/connections/" + connectionId + "/disable", "")
                    .expect(200);
            Webhooks.makeDue(server.database());

            await("the next disabling delivered")
                    .atMost(Duration.ofSeconds(15))
                    .until(() -> receiver.received().size() >= 2);
            List<JsonNode> sent =
                    receiver.received().stream().map(Receiver.Received::json).toList();
            assertThat(sent)
                    .extracting(m -> m.get("type").asText() + (m.get("data").has("accessToken") ? " with a token" : ""))
                    .as("the creation (503), then the disabling written after the change")
                    .containsExactly("connection.created with a token", "connection.disabled");
            assertThat(receiver.received().get(1).header("webhook-id"))
                    .as("a message of its own")
                    .isNotEqualTo(receiver.received().getFirst().header("webhook-id"));
        }
    }

    /**
     * A claim never takes a stream that a worker of the claiming node still runs. Its lease may have run
     * out (the worker paused, or gave the lease up and is on its way out): a claim renewing it under the
     * worker either let a stale worker go on from an old position, re-sending what another node had sent
     * meanwhile, or started no worker and left the stream leased to no one until the lease ran out.
     */
    @Test
    void aClaimLeavesAloneTheStreamsTheNodesWorkersStillRun() throws SQLException {
        DatabaseUrl database = TestDatabase.create();
        Current waiting;
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(database, SETTINGS, InstantSource.system())) {
            answerFirstWith503(receiver);
            Fixture f = Fixture.create(server, receiver, List.of("1m"));
            f.sendEvent();
            waiting = f.awaitRetryWaiting();
        }
        Webhooks.makeDue(database); // claimable, and no node is left to claim it first
        StreamLeases leases = new StreamLeases(dataSource(database), "node_claiming", Duration.ofSeconds(3));
        StreamLeases.Room room = new StreamLeases.Room(8, Map.of(), 8, Map.of(), 8, 1);

        assertThat(leases.claim(StreamLeases.Scope.all(), room, List.of(waiting.streamPk())))
                .as("claimed while this node's worker runs it")
                .isEmpty();
        assertThat(leases.claim(StreamLeases.Scope.all(), room, List.of()))
                .extracting(StreamLeases.Claimed::pk)
                .as("claimed once it does not")
                .containsExactly(waiting.streamPk());
    }

    private static void answerFirstWith503(Receiver receiver) {
        AtomicInteger requests = new AtomicInteger();
        receiver.answer(r -> requests.incrementAndGet() == 1 ? Reply.status(503) : Reply.status(200));
    }

    private static int streamErrors(DatabaseUrl database) throws SQLException {
        try (Connection c = DriverManager.getConnection(database.jdbcUrl());
                ResultSet rs =
                        c.createStatement().executeQuery("SELECT coalesce(max(errors), 0) FROM webhook_streams")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static PGSimpleDataSource dataSource(DatabaseUrl database) {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(database.jdbcUrl());
        return ds;
    }

    /** The stream's current message, as the node that held it last saw it. */
    private record Current(long streamPk, MessageLog.Pending pending) {}

    /** A tenant whose events one endpoint (maxBatchSize 1) follows, on a server. */
    private record Fixture(TestServer server, String webhookId) {
        static Fixture create(TestServer server, Receiver receiver, List<String> retryDelays) {
            server.createTenant("inn");
            String id = Partner.on(server, "inn", List.of("*"), List.of("*"), List.of("*"))
                    .webhook(Map.of("url", receiver.url("/hooks"), "maxBatchSize", 1, "retryDelays", retryDelays))
                    .get("id")
                    .asText();
            return new Fixture(server, id);
        }

        Fixture on(TestServer other) {
            return new Fixture(other, webhookId);
        }

        void sendEvent() {
            server.adminFor("inn")
                    .post("/api/v1/events", Map.of("type", "device.command"))
                    .expect(201);
        }

        JsonNode endpoint() {
            return server.admin.get("/api/v1/webhooks/" + webhookId).expect(200).json();
        }

        /** The seq of every request the receiver got, in arrival order. */
        List<Long> sentSeqs(Receiver receiver) {
            return receiver.received().stream()
                    .map(r -> r.json().get("events").get(0).get("seq").asLong())
                    .toList();
        }

        /** Sets {@code assignments} on the waiting stream's message, as another writer (or a crash) leaves it. */
        void changeMessage(Current waiting, String assignments) throws SQLException {
            try (Connection c = DriverManager.getConnection(server.database().jdbcUrl())) {
                c.createStatement()
                        .executeUpdate("UPDATE webhook_messages SET " + assignments + " WHERE pk = "
                                + waiting.pending().pk());
            }
        }

        /** Waits until the first attempt failed and the stream is released until its retry, and reads its message. */
        Current awaitRetryWaiting() throws SQLException {
            String sql = "SELECT ws.pk, m.pk, m.id, m.endpoint_pk, m.body, m.attempts, m.round_start, m.last_seq"
                    + " FROM webhook_streams ws JOIN webhook_messages m ON m.id = ws.message_id"
                    + " WHERE ws.leased_by IS NULL AND ws.next_attempt_at > now() AND m.attempts = 1";
            try (Connection c = DriverManager.getConnection(server.database().jdbcUrl())) {
                return await().atMost(Duration.ofSeconds(10))
                        .until(
                                () -> {
                                    try (ResultSet rs = c.createStatement().executeQuery(sql)) {
                                        return rs.next()
                                                ? new Current(
                                                        rs.getLong(1),
                                                        new MessageLog.Pending(
                                                                rs.getLong(2),
                                                                rs.getObject(3, UUID.class),
                                                                rs.getLong(4),
                                                                rs.getString(5),
                                                                0,
                                                                rs.getInt(7),
                                                                rs.getLong(8),
                                                                null,
                                                                null))
                                                : null;
                                    }
                                },
                                java.util.Objects::nonNull);
            }
        }
    }
}
