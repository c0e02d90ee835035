package dev.switchboard.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Partner;
import dev.switchboard.testing.TestServer;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java client's event stream against the real server: resume from a file cursor across a server
 * restart and across a restart of the client, with nothing lost or repeated; a listener that throws gets
 * its batch again; a close that means "do not reconnect" ends the stream.
 */
@Timeout(180)
class EventStreamTest {
    private static final Backoff FAST = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1));

    @TempDir
    Path dir;

    private static EventStream.Options options() {
        return EventStream.Options.defaults().withBackoff(FAST);
    }

    /**
     * A saved position the retention has passed: by default the stream says so and goes on with live events;
     * asked to, it goes on from the oldest event kept, so a client that forwards events skips none of them.
     */
    @Test
    void aPositionPastTheRetentionGoesOnLiveOrFromTheOldestEventKept() throws Exception {
        TestServer server = TestServer.start();
        try (server) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("*"));
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                    .build();
            partner.writeRecords("rooms", 5, Map.of("a", 1));
            partner.dropEventsUpTo(3);

            List<Long> fromOldest = new CopyOnWriteArrayList<>();
            List<Long> failedAt = new CopyOnWriteArrayList<>();
            InMemoryCursorStore oldestCursor = new InMemoryCursorStore(1);
            try (EventStream stream =
                    client.eventStream(options().withResumeAtOldestKept(), oldestCursor, new EventStream.Listener() {
                        @Override
                        public void onEvents(List<Event> events) {
                            events.forEach(e -> fromOldest.add(e.seq()));
                        }

                        @Override
                        public void onResumeFailed(com.fasterxml.jackson.databind.JsonNode message) {
                            failedAt.add(message.path("oldestSeq").asLong());
                        }
                    })) {
                awaitCount(fromOldest, 2);
                assertThat(fromOldest).containsExactly(4L, 5L);
                assertThat(failedAt).containsExactly(4L);
                Awaitility.await()
                        .atMost(Duration.ofSeconds(10))
                        .until(() -> oldestCursor.load().equals(OptionalLong.of(5)));
                assertThat(stream.connections()).isEqualTo(2);
            }

            List<Long> live = new CopyOnWriteArrayList<>();
            InMemoryCursorStore liveCursor = new InMemoryCursorStore(1);
            try (EventStream stream =
                    client.eventStream(options(), liveCursor, events -> events.forEach(e -> live.add(e.seq())))) {
                Awaitility.await()
                        .atMost(Duration.ofSeconds(10))
                        .until(() -> liveCursor.load().equals(OptionalLong.of(5)));
                partner.writeRecords("rooms", 1, Map.of("a", 2));
                awaitCount(live, 1);
                assertThat(live).containsExactly(6L);
                assertThat(stream.connections()).isEqualTo(1);
            }
        }
    }

    @Test
    void resumesAcrossAServerRestartAndAClientRestartWithNothingLostOrRepeated() {
        TestServer server = TestServer.start();
        server.createCollection("rooms");
        Partner partner = Partner.create(server, List.of("*"));
        int port = URI.create(server.baseUrl()).getPort();
        SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                .build();
        FileCursorStore cursor = new FileCursorStore(dir.resolve("cursor"));
        cursor.save(0);
        List<Long> seqs = new CopyOnWriteArrayList<>();
        List<EventStream.State> states = new CopyOnWriteArrayList<>();
        EventStream.Listener listener = new EventStream.Listener() {
            @Override
            public void onEvents(List<Event> events) {
                events.forEach(e -> seqs.add(e.seq()));
            }

            @Override
            public void onStateChange(EventStream.State state) {
                states.add(state);
            }
        };
        EventStream stream = client.eventStream(options(), cursor, listener);
        TestServer restarted = null;
        try {
            partner.writeRecords("rooms", 30, Map.of("a", 1));
            awaitCount(seqs, 30);

            server.close(); // closes sockets with 1012 server_restarting
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> stream.state() == EventStream.State.RECONNECTING);
            restarted = TestServer.start(
                    server.database(), Map.of("SWITCHBOARD_PORT", Integer.toString(port)), InstantSource.system());
            Partner again = new Partner(
                    restarted,
                    partner.tenant(),
                    partner.integrationId(),
                    partner.connectionId(),
                    null,
                    restarted.api(partner.accessToken()));
            again.writeRecords("rooms", 20, Map.of("a", 2));
            awaitCount(seqs, 50);
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> cursor.load().getAsLong() == 50);
            stream.close();
            assertThat(stream.state()).isEqualTo(EventStream.State.CLOSED);
            assertThat(stream.connections()).isGreaterThanOrEqualTo(2);
            assertThat(states)
                    .containsSubsequence(
                            EventStream.State.LIVE,
                            EventStream.State.RECONNECTING,
                            EventStream.State.LIVE,
                            EventStream.State.CLOSED);

            // The client itself restarts: a new stream on the same cursor file gets exactly what it missed.
            again.writeRecords("rooms", 10, Map.of("a", 3));
            try (EventStream second =
                    client.eventStream(options(), new FileCursorStore(dir.resolve("cursor")), listener)) {
                awaitCount(seqs, 60);
                again.writeRecords("rooms", 5, Map.of("a", 4));
                awaitCount(seqs, 65);
            }
            assertThat(seqs).containsExactlyElementsOf(range(1, 65));
        } finally {
            stream.close();
            if (restarted != null) {
                restarted.close();
            }
            server.close();
        }
    }

    @Test
    void aListenerThatThrowsGetsTheSameBatchAgainAndTheCursorWaitsForIt() {
        try (TestServer server = TestServer.start()) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("*"));
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                    .build();
            InMemoryCursorStore cursor = new InMemoryCursorStore(0);
            List<Long> seqs = new CopyOnWriteArrayList<>();
            AtomicBoolean failed = new AtomicBoolean();
            AtomicBoolean asserted = new AtomicBoolean();
            try (EventStream stream = client.eventStream(options(), cursor, events -> {
                if (events.stream().anyMatch(e -> e.seq() == 3) && failed.compareAndSet(false, true)) {
                    assertThat(cursor.load().getAsLong()).isLessThan(3);
                    throw new IllegalStateException("the partner's database is down");
                }
                // An Error from the listener's code (a failed assertion) used to end the stream's thread silently.
                if (events.stream().anyMatch(e -> e.seq() == 5) && asserted.compareAndSet(false, true)) {
                    throw new AssertionError("the partner's check failed");
                }
                events.forEach(e -> seqs.add(e.seq()));
            })) {
                partner.writeRecords("rooms", 5, Map.of("a", 1));
                awaitCount(seqs, 5);
                assertThat(failed).isTrue();
                assertThat(asserted).isTrue();
                assertThat(seqs).containsExactly(1L, 2L, 3L, 4L, 5L);
                assertThat(stream.connections()).isGreaterThanOrEqualTo(3);
            }
        }
    }

    @Test
    void eventTypesNarrowWhatTheListenerGetsWhileTheCursorPassesEverything() {
        try (TestServer server = TestServer.start()) {
            server.createCollection("rooms");
            server.createCollection("desks");
            Partner partner = Partner.create(server, List.of("*"));
            partner.writeRecords("desks", 2, Map.of("a", 1)); // replayed: filtered on the client as well
            partner.writeRecords("rooms", 1, Map.of("a", 1));
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                    .build();
            InMemoryCursorStore cursor = new InMemoryCursorStore(0);
            List<Event> received = new CopyOnWriteArrayList<>();
            try (EventStream stream =
                    client.eventStream(options().withEventTypes(List.of("rooms.*")), cursor, received::addAll)) {
                partner.writeRecords("desks", 3, Map.of("a", 2));
                partner.writeRecords("rooms", 2, Map.of("a", 2));
                Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> received.size() >= 3);
                Awaitility.await()
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> cursor.load().getAsLong() == 8);
                assertThat(received).extracting(Event::type).containsOnly("rooms.created");
                assertThat(received).extracting(Event::seq).containsExactly(3L, 7L, 8L);
            }
        }
    }

    @Test
    void aSubscriptionTheServerRefusesEndsTheStreamWithItsReason() throws Exception {
        try (TestServer server = TestServer.start()) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("rooms.*"));
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                    .build();
            // Left open, each stream received nothing it asked for and said nothing about why.
            Map<String, String> refusals = Map.of(
                    "rooms created", "invalid_field: eventTypes[0]: 'rooms created' is not an event type pattern",
                    "desks.*", "empty_subscription: eventTypes: none of [desks.*] is within what this socket");
            for (Map.Entry<String, String> refusal : refusals.entrySet()) {
                String pattern = refusal.getKey();
                EventStream stream = client.eventStream(
                        options().withEventTypes(List.of(pattern)), new InMemoryCursorStore(), events -> {});
                assertThat(stream.awaitClosed(Duration.ofSeconds(10)))
                        .as(pattern)
                        .isTrue();
                assertThat(stream.closeCode()).isEqualTo(400);
                assertThat(stream.closeReason()).startsWith("subscription refused: " + refusal.getValue());
                assertThat(stream.connections()).as("never reconnected").isEqualTo(1);
            }
        }
    }

    @Test
    void aDisabledConnectionEndsTheStreamWithoutReconnecting() throws Exception {
        try (TestServer server = TestServer.start()) {
            Partner partner = Partner.create(server, List.of("*"));
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                    .build();
            int[] closed = {0};
            EventStream stream = client.eventStream(options(), new InMemoryCursorStore(), new EventStream.Listener() {
                @Override
                public void onEvents(List<Event> events) {}

                @Override
                public void onClosed(int code, String reason) {
                    closed[0] = code;
                }
            });
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> stream.state() == EventStream.State.LIVE);
            server.admin
                    .post("/api/v1/connections/" + partner.connectionId() + "/disable", "")
                    .expect(200);
            assertThat(stream.awaitClosed(Duration.ofSeconds(10))).isTrue();
            assertThat(stream.closeCode()).isEqualTo(4001);
            assertThat(closed[0]).isEqualTo(4001);
            assertThat(stream.connections()).isEqualTo(1);
        }
    }

    @Test
    void aSubscriptionTheServerRefusesLeavesTheSavedPositionWhereItWas() throws Exception {
        try (TestServer server = TestServer.start()) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("rooms.*"));
            partner.writeRecords("rooms", 3, Map.of("a", 1)); // replayed while the subscribe is on its way
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                    .build();
            InMemoryCursorStore cursor = new InMemoryCursorStore(0);
            EventStream stream = client.eventStream(options().withEventTypes(List.of("desks.*")), cursor, events -> {});
            assertThat(stream.awaitClosed(Duration.ofSeconds(10))).isTrue();
            assertThat(stream.closeCode()).isEqualTo(400);
            // The next run, with the types corrected, must still get the events this one dropped.
            assertThat(cursor.load()).hasValue(0);
        }
    }

    @Test
    void aListenerThatKeepsFailingIsReconnectedToLessAndLessOften() throws Exception {
        try (TestServer server = TestServer.start()) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("*"));
            partner.writeRecords("rooms", 1, Map.of("a", 1));
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                    .build();
            // Waits of up to 100 ms, doubling to 1 s: starting over at every connection, 4 s held about
            // 80 of them; growing, about 8.
            try (EventStream stream = client.eventStream(options(), new InMemoryCursorStore(0), events -> {
                throw new IllegalStateException("the partner cannot handle this event");
            })) {
                Thread.sleep(4_000);
                assertThat(stream.connections()).isBetween(2L, 20L);
            }
        }
    }

    @Test
    void aCursorStoreThatFailsToLoadIsRetriedLikeALostConnection() throws Exception {
        try (TestServer server = TestServer.start()) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("*"));
            partner.writeRecords("rooms", 2, Map.of("a", 1));
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                    .build();
            InMemoryCursorStore saved = new InMemoryCursorStore(0);
            AtomicInteger loads = new AtomicInteger();
            CursorStore flaky = new CursorStore() {
                @Override
                public OptionalLong load() {
                    if (loads.incrementAndGet() <= 2) {
                        throw new IllegalStateException("the cursor table is unreachable");
                    }
                    return saved.load();
                }

                @Override
                public void save(long seq) {
                    saved.save(seq);
                }
            };
            List<Throwable> errors = new CopyOnWriteArrayList<>();
            List<Long> seqs = new CopyOnWriteArrayList<>();
            try (EventStream stream = client.eventStream(options(), flaky, new EventStream.Listener() {
                @Override
                public void onEvents(List<Event> events) {
                    events.forEach(e -> seqs.add(e.seq()));
                }

                @Override
                public void onError(Throwable error) {
                    errors.add(error);
                }
            })) {
                awaitCount(seqs, 2);
                assertThat(seqs).containsExactly(1L, 2L);
                assertThat(stream.state()).isEqualTo(EventStream.State.LIVE);
                assertThat(errors).hasSize(2).allMatch(e -> e.getMessage().contains("unreachable"));
            }
        }
    }

    @Test
    void aRefusedTokenEndsTheStream() throws Exception {
        try (TestServer server = TestServer.start()) {
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), "sb_access_nope")
                    .build();
            EventStream stream = client.eventStream(options(), new InMemoryCursorStore(), events -> {});
            assertThat(stream.awaitClosed(Duration.ofSeconds(10))).isTrue();
            assertThat(stream.closeCode()).isEqualTo(401);
        }
    }

    /**
     * A refused handshake that is not final says its status (a wrong URL's 404 reads as one, not as a bare
     * exception), and one refused with a Retry-After (429) waits that long instead of its shorter backoff.
     */
    @Test
    void aRefusedHandshakeIsNamedAndItsRetryAfterWaitedFor() throws Exception {
        try (TestServer server = TestServer.start(Map.of(
                "SWITCHBOARD_RATE_LIMIT_REQUESTS", "2",
                "SWITCHBOARD_RATE_LIMIT_WINDOW", "4s"))) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("*"));
            List<Throwable> errors = new CopyOnWriteArrayList<>();
            EventStream.Listener listener = new EventStream.Listener() {
                @Override
                public void onEvents(List<Event> events) {}

                @Override
                public void onError(Throwable error) {
                    errors.add(error);
                }
            };
            SwitchboardClient wrongUrl = SwitchboardClient.builder(
                            server.baseUrl() + "/nothing-here", partner.accessToken())
                    .build();
            try (EventStream stream = wrongUrl.eventStream(options(), new InMemoryCursorStore(), listener)) {
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !errors.isEmpty());
                assertThat(errors.getFirst()).hasMessageContaining("HTTP 404");
                assertThat(stream.state()).isNotEqualTo(EventStream.State.CLOSED);
            }

            errors.clear();
            partner.writeRecords("rooms", 2, Map.of("a", 1)); // the token's two requests of the window
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                    .build();
            long started = System.nanoTime();
            try (EventStream stream = client.eventStream(options(), new InMemoryCursorStore(), listener)) {
                Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> stream.state() == EventStream.State.LIVE);
                assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThan(Duration.ofSeconds(1));
                // Backing off at most 1 s (FAST), it asked about as often as the window lasted in seconds.
                assertThat(errors)
                        .isNotEmpty()
                        .hasSizeLessThanOrEqualTo(2)
                        .allSatisfy(e -> assertThat(e).hasMessageContaining("HTTP 429"));
            }
        }
    }

    private static void awaitCount(List<Long> seqs, int count) {
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> seqs.size() >= count);
    }

    private static List<Long> range(long from, long to) {
        return LongStream.rangeClosed(from, to).boxed().toList();
    }
}
