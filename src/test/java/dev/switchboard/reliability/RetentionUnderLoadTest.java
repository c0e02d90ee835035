package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.ReliabilityReport;
import dev.switchboard.testing.ServerProcess;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Retention cutting a tenant's log while writers race the cut and readers lag behind it. Writers create
 * records through a server in its own process (each create appends an event; under concurrent writers
 * event ids are made out of {@code seq} order); the production {@code Retention} prunes the same
 * PostgreSQL several times a second with a 2-second retention, as a second node's pruning pass would;
 * partner readers follow the feed, some keeping up, some too slow or stalling past the retention. Every
 * reader must see {@code seq} rise by exactly one from event to event and page to page, or get 410
 * {@code position_expired} and carry on from the oldest position it is told: never a silent gap. After
 * every cut, and at the end, the retained log must be an unbroken run of {@code seq} up to the head.
 */
@Tag("reliability")
@Timeout(180)
class RetentionUnderLoadTest {
    private static final String TENANT = "busy-lobby";
    private static final String COLLECTION = "rooms";
    private static final int WRITERS = 6;
    private static final Duration RETENTION = Duration.ofSeconds(2);
    private static final Duration PRUNE_EVERY = Duration.ofMillis(200);
    private static final Duration LOAD = Duration.ofSeconds(30);

    @Test
    void readersOvertakenByTheCutAreToldSoAndNeverSkipAnEventSilently() throws Exception {
        Instant began = Instant.now();
        DatabaseUrl database = TestDatabase.create();
        // The server's own pass runs once a minute with at least a minute's retention: 7 days here, so it
        // finds nothing to prune and the test's pass (same class, same SQL, same advisory lock) does the cutting.
        try (ServerProcess server = ServerProcess.start(Map.of(
                        "SWITCHBOARD_DATABASE_URL",
                        database.jdbcUrl(),
                        "SWITCHBOARD_ADMIN_KEY",
                        TestServer.ADMIN_KEY,
                        "SWITCHBOARD_RATE_LIMIT_REQUESTS",
                        "1000000"))
                .awaitReady()) {
            String token = partnerToken(server.api(TestServer.ADMIN_KEY));
            Map<String, Object> figures = new LinkedHashMap<>();
            Duration stall = RETENTION.plusSeconds(1);
            List<FeedReader> readers = List.of(
                    FeedReader.following("following-1", server.api(token), 100),
                    FeedReader.following("following-2", server.api(token), 100),
                    FeedReader.paced("slow-1", server.api(token), 10, Duration.ofMillis(100)),
                    FeedReader.paced("slow-2", server.api(token), 5, Duration.ofMillis(50)),
                    FeedReader.stalling("stalling-1", server.api(token), 50, 4, stall),
                    FeedReader.stalling("stalling-2", server.api(token), 20, 10, stall));
            List<FeedReader> stalling = readers.stream()
                    .filter(r -> r.name().startsWith("stalling"))
                    .toList();

            try (Pruner pruner = Pruner.start(database.jdbcUrl(), TENANT, RETENTION, PRUNE_EVERY);
                    ExecutorService readerThreads = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> following = new ArrayList<>();
                readers.forEach(r -> following.add(readerThreads.submit(() -> {
                    r.follow();
                    return null;
                })));
                Instant loadStarted = Instant.now();
                LoadWriters writers = new LoadWriters(WRITERS, COLLECTION, w -> server.api(token));
                try {
                    try (writers) {
                        // The load runs its time, and long enough for every stalling reader to be overtaken by the cut.
                        await("the load's time, a cut and every stalling reader overtaken")
                                .atMost(LOAD.plusSeconds(30))
                                .pollInterval(Duration.ofMillis(250))
                                .until(() -> Duration.between(loadStarted, Instant.now())
                                                        .compareTo(LOAD)
                                                >= 0
                                        && pruner.cuts() > 0
                                        && stalling.stream().allMatch(r -> r.expired() > 0));
                    }
                    // One last cut with the writers stopped, then every reader reads on to the head.
                    pruner.stop();
                } finally {
                    readers.forEach(FeedReader::finish); // however the load ended, so the readers end
                }
                for (Future<?> f : following) {
                    f.get(60, TimeUnit.SECONDS);
                }
                Pruner.Retained retained = pruner.retained();
                Duration ran = Duration.between(began, Instant.now());

                long pages = readers.stream().mapToLong(FeedReader::pages).sum();
                long expired = readers.stream().mapToLong(FeedReader::expired).sum();
                long resyncs = readers.stream().mapToLong(FeedReader::resyncs).sum();
                long gapCount = readers.stream().mapToLong(FeedReader::gapCount).sum();
                List<String> gaps =
                        readers.stream().flatMap(r -> r.gaps().stream()).toList();
                List<String> unfounded =
                        readers.stream().flatMap(r -> r.unfounded().stream()).toList();

                figures.put(
                        "Writers / readers (2 following, 2 slow, 2 stalling " + stall.toSeconds() + " s)",
                        WRITERS + " / " + readers.size());
                figures.put("Writes acknowledged", writers.acknowledged().size());
                figures.put("Events written (stream head)", retained.head());
                figures.put(
                        "Retention passes (every " + PRUNE_EVERY.toMillis() + " ms, retention " + RETENTION.toSeconds()
                                + " s)",
                        pruner.passes());
                figures.put("Cuts made (passes that deleted events)", pruner.cuts());
                figures.put(
                        "Events pruned (every stream / the tenant's)",
                        pruner.pruned() + " / " + (retained.oldest() - 1));
                figures.put(
                        "Adjacent events with ids in reverse millisecond order (id order ≠ seq order)",
                        pruner.inversions());
                figures.put(
                        "Cuts whose time fell across such an inversion (a hole if deleted by id)", pruner.straddled());
                figures.put("Pages read", pages);
                figures.put(
                        "Events read",
                        readers.stream().mapToLong(FeedReader::events).sum());
                figures.put("410 position_expired answered", expired);
                figures.put("Resyncs (read on from oldestSeq - 1)", resyncs);
                figures.put("410s to a reader that had lost nothing", unfounded.size());
                figures.put("Gaps seen by readers (silent skips)", gapCount);
                figures.put(
                        "Holes in the retained log (SQL, after every cut)",
                        pruner.holes().size());
                figures.put(
                        "Events within the retention deleted", pruner.tooEarly().size());
                figures.put(
                        "Retained at the end: oldest seq … head (rows)",
                        retained.oldest() + " … " + retained.head() + " (" + retained.rows() + ")");
                figures.put("Scenario time, server start to end (s)", ran.toSeconds());
                System.out.println("Retention under concurrent writers: " + figures);

                assertThat(gaps)
                        .as("a reader passed over events without a 410 (%d times)", gapCount)
                        .isEmpty();
                assertThat(pruner.holes())
                        .as("the retained log had a hole after a cut")
                        .isEmpty();
                assertThat(pruner.tooEarly())
                        .as("events within the retention were deleted")
                        .isEmpty();
                assertThat(unfounded)
                        .as("410s to readers whose next event was still there")
                        .isEmpty();
                assertThat(retained.rows())
                        .as("the retained log is contiguous up to the head")
                        .isEqualTo(retained.head() - retained.oldest() + 1);
                assertThat(retained.head())
                        .as("every acknowledged write has its event")
                        .isGreaterThanOrEqualTo(writers.acknowledged().size());
                assertThat(readers)
                        .as("every reader read on to the head")
                        .allMatch(r -> r.position() == retained.head());
                assertThat(pruner.pruned()).as("the cut overtook the log").isPositive();
                assertThat(resyncs)
                        .as("readers resynchronised after their 410s")
                        .isPositive();
                // The remaining log as the feed gives it, from just before the oldest retained event.
                assertThat(TenantLog.read(server.api(token), retained.oldest() - 1)
                                .seqs())
                        .as("the feed's retained log")
                        .hasSize((int) retained.rows())
                        .first()
                        .isEqualTo(retained.oldest());

                ReliabilityReport.record(
                        "Retention under concurrent writers",
                        "A server process takes record creates"
                                + " from " + WRITERS
                                + " concurrent writers into one tenant (each create appends an event; ids"
                                + " are made before the stream's counter is taken, so id order is not seq order). The production"
                                + " Retention prunes the same PostgreSQL every " + PRUNE_EVERY.toMillis()
                                + " ms with a "
                                + RETENTION.toSeconds()
                                + " s retention, as a second node's pass would (the server's own pass"
                                + " runs once a minute and refuses a retention under 1m), for " + LOAD.toSeconds()
                                + " s. Six"
                                + " partner readers follow the feed: two long-polling, two reading small pages slower than the"
                                + " writes, two stalling " + stall.toSeconds()
                                + " s every few pages so the cut overtakes them."
                                + " Every page must continue at position + 1 with seq rising by one, or be a 410 position_expired"
                                + " after which the reader reads on from oldestSeq - 1; after every cut, SQL checks that the"
                                + " retained log is an unbroken run of seq up to the head. \"Gaps\" and \"holes\" must be 0.",
                        figures);
                ReliabilityReport.hostilePartner(
                        "A reader that lags behind the retention while writers race the cut",
                        "Told every time: " + expired + " × 410 position_expired over " + pages + " pages, " + resyncs
                                + " resyncs from oldestSeq; " + gapCount + " silent gaps, "
                                + pruner.holes().size()
                                + " holes after " + pruner.cuts() + " cuts (" + (retained.oldest() - 1)
                                + " events pruned, "
                                + pruner.straddled() + " cuts across out-of-order ids)");
            }
        }
    }

    /** A partner integration reading everything, connected to a new tenant with a {@code rooms} collection: its access token. */
    private static String partnerToken(Api admin) {
        admin.post("/api/v1/collections", Map.of("name", COLLECTION)).expect(201);
        admin.post("/api/v1/tenants", Map.of("id", TENANT)).expect(201);
        return ConnectedPartner.create(admin, TENANT, "front desk").accessToken();
    }

    static void pause(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
