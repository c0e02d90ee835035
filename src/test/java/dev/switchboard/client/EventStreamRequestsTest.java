package dev.switchboard.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.TestServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Requests on the Java client's event stream against the real server: writes and reads answered as
 * futures, each write's response before the listener sees its event, refusals as the HTTP API's typed
 * errors, and requests that cannot be answered failing instead of hanging.
 */
@Timeout(120)
class EventStreamRequestsTest {
    private static final EventStream.Options OPTIONS = EventStream.Options.defaults()
            .withBackoff(new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1)))
            .withRequestTimeout(Duration.ofSeconds(20));

    @Test
    void recordsCreatedOverTheSocketAreAnsweredBeforeTheListenerSeesTheirEvents() throws Exception {
        try (TestServer server = TestServer.start()) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("*"));
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                    .build();
            Object lock = new Object();
            Map<Integer, CompletableFuture<RecordWrite>> writes = new ConcurrentHashMap<>();
            List<Long> seen = new CopyOnWriteArrayList<>();
            List<String> seenBeforeTheirResponse = new CopyOnWriteArrayList<>();
            EventStream.Listener listener = events -> {
                synchronized (lock) { // the test has recorded the future of every create it sent
                    for (Event event : events) {
                        // Events are thin (no data): the response that answered the write names its record.
                        boolean answered = writes.values().stream()
                                .anyMatch(write -> write.isDone()
                                        && !write.isCompletedExceptionally()
                                        && write.join().record().id().equals(event.subject())
                                        && write.join().seq() == event.seq());
                        if (!answered) {
                            seenBeforeTheirResponse.add(event.seq() + " " + event.type());
                        }
                        seen.add(event.seq());
                    }
                }
            };
            try (EventStream stream = client.eventStream(OPTIONS, new InMemoryCursorStore(), listener)) {
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> stream.state() == EventStream.State.LIVE);
                for (int n = 0; n < 20; n++) {
                    synchronized (lock) {
                        writes.put(n, stream.createRecord("rooms", Map.of("n", n), "room-" + n));
                    }
                }
                List<RecordWrite> created = new ArrayList<>();
                for (int n = 0; n < 20; n++) {
                    created.add(writes.get(n).get(20, TimeUnit.SECONDS));
                }
                Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> seen.size() >= 20);
                assertThat(seenBeforeTheirResponse).isEmpty();
                assertThat(seen)
                        .containsExactlyInAnyOrderElementsOf(
                                created.stream().map(RecordWrite::seq).toList());

                RecordWrite first = created.get(0);
                assertThat(first.replayed()).isFalse();
                assertThat(first.record().version()).isEqualTo(1);
                DataRecord read = stream.getRecord("rooms", first.record().id()).get(20, TimeUnit.SECONDS);
                assertThat(read.id()).isEqualTo(first.record().id());
                assertThat(read.data().path("n").asInt()).isZero();

                RecordWrite again =
                        stream.createRecord("rooms", Map.of("n", 0), "room-0").get(20, TimeUnit.SECONDS);
                assertThat(again.replayed()).isTrue();
                assertThat(again.record().id()).isEqualTo(first.record().id());

                RecordWrite updated = stream.updateRecord(
                                "rooms", first.record().id(), Map.of("n", 100), 1L)
                        .get(20, TimeUnit.SECONDS);
                assertThat(updated.record().version()).isEqualTo(2);
                assertThat(updated.seq()).isGreaterThan(first.seq());
                SocketResponse deleted = stream.request(
                                "records.delete",
                                Map.of(
                                        "collection",
                                        "rooms",
                                        "id",
                                        first.record().id()))
                        .get(20, TimeUnit.SECONDS);
                assertThat(deleted.status()).isEqualTo(204);
                assertThat(deleted.result()).isNull();
                assertThat(deleted.seq()).isPresent();
            }
        }
    }

    @Test
    void refusalsFailTheFutureWithTheHttpApisTypedErrors() throws Exception {
        try (TestServer server = TestServer.start()) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("*"));
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                    .build();
            try (EventStream stream = client.eventStream(OPTIONS, new InMemoryCursorStore(), events -> {})) {
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> stream.state() == EventStream.State.LIVE);
                String missing = client.records("rooms").create(Map.of("n", 1)).id();
                client.records("rooms").delete(missing);

                assertThat(cause(stream.getRecord("rooms", missing)))
                        .isInstanceOfSatisfying(ApiException.NotFound.class, e -> {
                            assertThat(e.status()).isEqualTo(404);
                            assertThat(e.code()).isEqualTo("not_found");
                        });

                DataRecord created = client.records("rooms").create(Map.of("n", 2));
                assertThat(cause(stream.updateRecord("rooms", created.id(), Map.of("n", 3), 7L)))
                        .isInstanceOfSatisfying(ApiException.Conflict.class, e -> {
                            assertThat(e.code()).isEqualTo("version_conflict");
                            assertThat(e.details().path("currentVersion").asLong())
                                    .isEqualTo(1);
                        });
                assertThat(client.records("rooms").get(created.id()).version()).isEqualTo(1);

                assertThat(cause(stream.request("records.explode", Map.of())))
                        .isInstanceOfSatisfying(ApiException.InvalidRequest.class, e -> {
                            assertThat(e.status()).isEqualTo(400);
                            assertThat(e.code()).isEqualTo("unknown_method");
                        });
            }
        }
    }

    @Test
    void requestsOutstandingWhenTheServerClosesTheSocketFailAndLaterOnesAreNotSent() throws Exception {
        try (TestServer server = TestServer.start()) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("*"));
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                    .build();
            EventStream stream = client.eventStream(OPTIONS, new InMemoryCursorStore(), events -> {});
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> stream.state() == EventStream.State.LIVE);
            DatabaseUrl db = server.database();
            List<CompletableFuture<RecordWrite>> held = new ArrayList<>();
            try (Connection locker = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
                locker.setAutoCommit(false);
                try (Statement sql = locker.createStatement()) {
                    // Creates wait for this lock, so they are still in flight when the socket closes.
                    sql.execute("LOCK TABLE records IN EXCLUSIVE MODE");
                }
                for (int n = 0; n < 3; n++) {
                    held.add(stream.createRecord("rooms", Map.of("n", n), "held-" + n));
                }
                try (Connection observer = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                        Statement sql = observer.createStatement()) {
                    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
                        try (var waiting = sql.executeQuery("SELECT count(*) FROM pg_locks WHERE NOT granted")) {
                            return waiting.next() && waiting.getLong(1) > 0; // the server is stuck on the lock
                        }
                    });
                }
                assertThat(held).noneMatch(CompletableFuture::isDone);

                server.admin
                        .post("/api/v1/connections/" + partner.connectionId() + "/disable", "")
                        .expect(200);
                for (CompletableFuture<RecordWrite> write : held) {
                    assertThat(cause(write))
                            .isInstanceOf(UnansweredRequestException.class)
                            .hasMessageContaining("may or may not have been performed");
                }
                assertThat(stream.awaitClosed(Duration.ofSeconds(10))).isTrue();
                assertThat(stream.closeCode()).isEqualTo(4001);
                locker.rollback();
            }

            assertThat(cause(stream.getRecord("rooms", "rec_x")))
                    .isInstanceOf(SwitchboardException.class)
                    .isNotInstanceOf(UnansweredRequestException.class)
                    .hasMessageContaining("CLOSED");
        }
    }

    @Test
    void aRequestWithoutAResponseInTimeFailsAndItsLateResponseIsDropped() throws Exception {
        try (TestServer server = TestServer.start()) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("*"));
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                    .build();
            EventStream.Options quick = OPTIONS.withRequestTimeout(Duration.ofMillis(500));
            try (EventStream stream = client.eventStream(quick, new InMemoryCursorStore(), events -> {})) {
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> stream.state() == EventStream.State.LIVE);
                DatabaseUrl db = server.database();
                CompletableFuture<RecordWrite> late;
                try (Connection locker = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
                    locker.setAutoCommit(false);
                    try (Statement sql = locker.createStatement()) {
                        sql.execute("LOCK TABLE records IN EXCLUSIVE MODE");
                    }
                    late = stream.createRecord("rooms", Map.of("n", 1), "late-1");
                    assertThat(cause(late))
                            .isInstanceOf(UnansweredRequestException.class)
                            .hasMessageContaining("within 500 ms");
                    locker.rollback();
                }
                // The create went through once the lock was gone; its late response changes nothing, and
                // the retry with the same key finds the first create's record.
                Awaitility.await()
                        .atMost(Duration.ofSeconds(10))
                        .until(() -> client.records("rooms").list().iterator().hasNext());
                assertThat(stream.state())
                        .as("the late response closed nothing")
                        .isEqualTo(EventStream.State.LIVE);
                RecordWrite retried =
                        stream.createRecord("rooms", Map.of("n", 1), "late-1").get(20, TimeUnit.SECONDS);
                assertThat(retried.replayed()).isTrue();
                assertThat(client.records("rooms").list()).hasSize(1);
                assertThat(stream.state()).isEqualTo(EventStream.State.LIVE);
            }
        }
    }

    @Test
    void aListenerMayWaitForAResponseWhileManyEventsAreQueuedBehindIt() throws Exception {
        // Each write and each read counts against the token's rate limit (200 per 30 s by default).
        try (TestServer server = TestServer.start(Map.of("SWITCHBOARD_RATE_LIMIT_REQUESTS", "1000"))) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("*"));
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                    .build();
            AtomicReference<EventStream> self = new AtomicReference<>();
            List<Long> versions = new CopyOnWriteArrayList<>();
            EventStream.Listener slowReader = events -> {
                Thread.sleep(20); // slower than the writes: event frames pile up behind each response
                for (Event event : events) {
                    versions.add(self.get()
                            .getRecord("rooms", event.subject())
                            .get(20, TimeUnit.SECONDS)
                            .version());
                }
            };
            try (EventStream stream = client.eventStream(OPTIONS, new InMemoryCursorStore(), slowReader)) {
                self.set(stream);
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> stream.state() == EventStream.State.LIVE);
                partner.writeRecords("rooms", 150, Map.of("a", 1));
                Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> versions.size() >= 150);
                assertThat(versions).hasSize(150).containsOnly(1L);
                assertThat(stream.connections()).isEqualTo(1);
            }
        }
    }

    private static Throwable cause(CompletableFuture<?> future) throws Exception {
        try {
            future.get(20, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("the future completed normally");
    }
}
