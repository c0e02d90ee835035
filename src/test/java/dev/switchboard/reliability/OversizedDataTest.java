package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.ReliabilityReport;
import dev.switchboard.testing.ServerProcess;
import dev.switchboard.testing.TestServer;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A partner fills its own tenant with records of 1 MB, then lists them with four concurrent
 * {@code limit=1000} requests, on a server process with a 256 MiB heap (a quarter of what
 * {@code bin/switchboard} gives it), while another tenant's partner keeps working. Pages must stop at
 * their byte bound, their cursors must continue through every record, and nothing may fail: not the
 * lists, not the other tenant's requests, not the server. The same partner then tries to make its
 * events as large, through a collection's eventFields.
 */
@Tag("reliability")
@Timeout(900)
class OversizedDataTest {
    private static final int RECORDS = 400;
    private static final int RECORD_CHARS = 1_000_000;
    private static final int READERS = 4;
    private static final int WRITERS = 4;
    private static final String HEAP = "-Xmx256m";
    private static final HttpClient METRICS = HttpClient.newHttpClient();
    private static final Pattern HEAP_USED =
            Pattern.compile("(?m)^jvm_memory_used_bytes\\{area=\"heap\",[^}]*}\\s+([0-9.eE+-]+)$");

    @TempDir
    Path dir;

    @Test
    void fourConcurrentFullLimitListsOfMegabyteRecordsAnswer200InShortPagesOnASmallHeap() throws Exception {
        Map<String, String> settings = Map.of(
                "SWITCHBOARD_ADMIN_KEY",
                TestServer.ADMIN_KEY,
                "SWITCHBOARD_DATA_DIR",
                dir.resolve("data").toString(),
                "SWITCHBOARD_RATE_LIMIT_REQUESTS",
                "1000000");
        try (ServerProcess server = ServerProcess.start(settings, List.of(HEAP)).awaitReady();
                ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
                ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor()) {
            Api admin = server.api(TestServer.ADMIN_KEY);
            admin.post("/api/v1/collections", Map.of("name", "docs", "eventFields", List.of("title")))
                    .expect(201);
            admin.post("/api/v1/collections", Map.of("name", "notes", "eventFields", List.of("title", "body")))
                    .expect(201);
            Api hoarder = server.api(partner(admin, "hoarder"));
            Api bystander = server.api(partner(admin, "bystander"));

            // The partner's writes: 1 MB of text that does not compress, as large as the body limit allows.
            long writeStart = System.nanoTime();
            List<String> ids = new ArrayList<>(java.util.Collections.nCopies(RECORDS, (String) null));
            AtomicInteger next = new AtomicInteger();
            List<Future<?>> writers = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                Random random = new Random(w);
                writers.add(threads.submit(() -> {
                    for (int i; (i = next.getAndIncrement()) < RECORDS; ) {
                        ids.set(
                                i,
                                hoarder.post(
                                                "/api/v1/collections/docs/records",
                                                Map.of(
                                                        "data",
                                                        Map.of(
                                                                "title",
                                                                "doc " + i,
                                                                "body",
                                                                noise(random, RECORD_CHARS))))
                                        .expect(201)
                                        .json()
                                        .get("id")
                                        .asText());
                    }
                    return null;
                }));
            }
            for (Future<?> f : writers) {
                f.get();
            }
            long writeSeconds = (System.nanoTime() - writeStart) / 1_000_000_000L;

            AtomicLong peakHeap = new AtomicLong();
            sampler.scheduleAtFixedRate(
                    () -> peakHeap.accumulateAndGet(heapUsed(server), Math::max), 0, 200, TimeUnit.MILLISECONDS);

            // Another tenant's partner keeps reading and writing small records through the attack.
            AtomicBoolean attacking = new AtomicBoolean(true);
            ConcurrentHashMap<Integer, AtomicInteger> bystanderStatuses = new ConcurrentHashMap<>();
            Future<?> bystanding = threads.submit(() -> {
                while (attacking.get()) {
                    int created = status(() ->
                            bystander.post("/api/v1/collections/docs/records", Map.of("data", Map.of("title", "t"))));
                    int listed = status(() -> bystander.get("/api/v1/collections/docs/records?limit=10"));
                    bystanderStatuses
                            .computeIfAbsent(created, s -> new AtomicInteger())
                            .incrementAndGet();
                    bystanderStatuses
                            .computeIfAbsent(listed, s -> new AtomicInteger())
                            .incrementAndGet();
                }
                return null;
            });

            long readStart = System.nanoTime();
            ConcurrentHashMap<Integer, AtomicInteger> listStatuses = new ConcurrentHashMap<>();
            ConcurrentLinkedQueue<Integer> pageSizes = new ConcurrentLinkedQueue<>();
            AtomicLong largestResponse = new AtomicLong();
            List<Future<List<String>>> readers = IntStream.range(0, READERS)
                    .mapToObj(r -> threads.submit(() -> {
                        List<String> seen = new ArrayList<>();
                        String cursor = null;
                        do {
                            String path = "/api/v1/collections/docs/records?limit=1000"
                                    + (cursor == null
                                            ? ""
                                            : "&cursor=" + URLEncoder.encode(cursor, StandardCharsets.UTF_8));
                            Api.Response page = answer(() -> hoarder.get(path));
                            listStatuses
                                    .computeIfAbsent(page == null ? 0 : page.status(), s -> new AtomicInteger())
                                    .incrementAndGet();
                            if (page == null || page.status() != 200) {
                                break;
                            }
                            largestResponse.accumulateAndGet(page.body().length(), Math::max);
                            JsonNode json = page.json();
                            json.get("records")
                                    .forEach(record -> seen.add(record.get("id").asText()));
                            pageSizes.add(json.get("records").size());
                            cursor = json.get("cursor").isNull()
                                    ? null
                                    : json.get("cursor").asText();
                        } while (cursor != null);
                        return seen;
                    }))
                    .toList();
            List<List<String>> seen = new ArrayList<>();
            for (Future<List<String>> reader : readers) {
                seen.add(reader.get());
            }
            long readSeconds = (System.nanoTime() - readStart) / 1_000_000_000L;
            attacking.set(false);
            bystanding.get();
            sampler.shutdown();

            // The same partner tries to put its megabytes into events instead: refused, nothing written.
            Api.Response bigEvent = answer(() -> hoarder.post(
                    "/api/v1/collections/notes/records",
                    Map.of("data", Map.of("title", "big", "body", noise(new Random(99), RECORD_CHARS)))));
            Api.Response notesPage = answer(() -> hoarder.get("/api/v1/collections/notes/records"));
            int notes = notesPage == null || notesPage.status() != 200
                    ? -1
                    : notesPage.json().get("records").size();
            int bigEventStatus = bigEvent == null ? 0 : bigEvent.status();
            String bigEventCode = bigEvent == null ? "" : bigEvent.errorCode();
            String bigEventField = bigEvent == null
                    ? ""
                    : bigEvent.json()
                            .path("error")
                            .path("details")
                            .path("field")
                            .asText();

            boolean alive = server.process().isAlive();
            boolean outOfMemory = server.output().contains("OutOfMemoryError");
            int lists =
                    listStatuses.values().stream().mapToInt(AtomicInteger::get).sum();
            int lists200 = listStatuses.getOrDefault(200, new AtomicInteger()).get();
            int bystanderRequests = bystanderStatuses.values().stream()
                    .mapToInt(AtomicInteger::get)
                    .sum();
            int bystanderFailed = bystanderStatuses.entrySet().stream()
                    .filter(e -> e.getKey() >= 300 || e.getKey() == 0)
                    .mapToInt(e -> e.getValue().get())
                    .sum();
            int largestPage =
                    pageSizes.stream().mapToInt(Integer::intValue).max().orElse(0);
            // Records come in id order, which concurrent writers do not follow: compare as sets, and check
            // that no record came twice.
            long completeReaders = seen.stream()
                    .filter(reader -> reader.size() == RECORDS
                            && new java.util.HashSet<>(reader).equals(new java.util.HashSet<>(ids)))
                    .count();

            ReliabilityReport.hostilePartner(
                    "Fill its tenant with " + RECORDS + " records of 1 MB, then " + READERS
                            + " concurrent GET …/records?limit=1000 paging to the end (server " + HEAP + ")",
                    lists200 + " of " + lists + " lists 200 in " + readSeconds + " s, at most " + largestPage
                            + " record per page, largest response " + mib(largestResponse.get()) + ", "
                            + completeReaders + " of " + READERS + " readers saw all " + RECORDS + " records once;"
                            + " peak heap used " + mib(peakHeap.get()) + " of 256 MiB, " + (outOfMemory ? "" : "no ")
                            + "OutOfMemoryError; another tenant's " + bystanderRequests + " requests meanwhile: "
                            + bystanderFailed + " failed (writes took " + writeSeconds + " s)");
            ReliabilityReport.hostilePartner(
                    "A record whose eventFields would copy 1 MB into its event",
                    bigEventStatus + " " + bigEventCode + " naming " + bigEventField
                            + " (events carry at most 64 KiB of data); " + notes + " records written");

            assertThat(listStatuses.keySet()).as("list statuses").containsOnly(200);
            for (List<String> reader : seen) {
                assertThat(reader)
                        .as("records one reader paged through")
                        .doesNotHaveDuplicates()
                        .containsExactlyInAnyOrderElementsOf(ids);
            }
            assertThat(largestPage).as("records on the largest page").isEqualTo(1);
            assertThat(bystanderFailed).as("the other tenant's failed requests").isZero();
            assertThat(alive).as("the server is still running").isTrue();
            assertThat(outOfMemory)
                    .as("OutOfMemoryError in the server's output")
                    .isFalse();
            assertThat(bigEventStatus).isEqualTo(422);
            assertThat(bigEventCode).isEqualTo("event_too_large");
            assertThat(bigEventField).isEqualTo("data.body");
            assertThat(notes).isZero();
        }
    }

    /** The response, or null when the server did not answer (it closed the connection, or died). */
    private static Api.Response answer(java.util.function.Supplier<Api.Response> request) {
        try {
            return request.get();
        } catch (IllegalStateException e) {
            return null;
        }
    }

    /** The response's status, 0 when there was no answer. */
    private static int status(java.util.function.Supplier<Api.Response> request) {
        Api.Response response = answer(request);
        return response == null ? 0 : response.status();
    }

    private static String partner(Api admin, String tenant) {
        admin.post("/api/v1/tenants", Map.of("id", tenant)).expect(201);
        return ConnectedPartner.create(admin, tenant, "partner of " + tenant).accessToken();
    }

    private static String noise(Random random, int length) {
        char[] text = new char[length];
        for (int i = 0; i < length; i++) {
            text[i] = (char) ('a' + random.nextInt(26));
        }
        return new String(text);
    }

    /** The server's heap in use now (every heap pool, from its /metrics), or 0 when it does not answer in time. */
    private static long heapUsed(ServerProcess server) {
        try {
            String metrics = METRICS.send(
                            HttpRequest.newBuilder(URI.create(server.baseUrl() + "/metrics"))
                                    .timeout(Duration.ofSeconds(2))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
            Matcher m = HEAP_USED.matcher(metrics);
            double used = 0;
            while (m.find()) {
                used += Double.parseDouble(m.group(1));
            }
            return (long) used;
        } catch (IOException | RuntimeException e) {
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    private static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / (1024.0 * 1024.0));
    }
}
