package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A partner following {@code GET /api/v1/events} with {@code after}, at its own pace, checking what a
 * reader can check: every page continues at its position + 1 and {@code seq} rises by exactly one, or
 * the answer is 410 {@code position_expired}, after which it reads on from the oldest position it is
 * told (oldestSeq - 1), as a partner does once it has resynchronised its records. Anything else is a
 * gap: events passed over without the reader being told. It reads everything (its integration grants
 * every event type), so a page that is not full reaches the head and {@code next} is its last event.
 *
 * <p>{@link #follow} runs until {@link #finish}; then it reads on without pausing to the head.
 */
final class FeedReader {
    private final String name;
    private final Api api;
    private final int limit;
    private final boolean longPoll;
    private final Duration pause;
    private final int stallEvery;
    private final Duration stall;
    private volatile boolean finishing;

    private long position;
    private boolean resyncing;
    private long pages;
    private long events;
    private long resyncs;
    private long gapCount;
    private final AtomicLong expired = new AtomicLong();
    private final List<String> gaps = new ArrayList<>();
    private final List<String> unfounded = new ArrayList<>();

    private FeedReader(
            String name, Api api, int limit, boolean longPoll, Duration pause, int stallEvery, Duration stall) {
        this.name = name;
        this.api = api;
        this.limit = limit;
        this.longPoll = longPoll;
        this.pause = pause;
        this.stallEvery = stallEvery;
        this.stall = stall;
    }

    /** Keeps up: long polls (wait=1) with pages of {@code limit}. */
    static FeedReader following(String name, Api api, int limit) {
        return new FeedReader(name, api, limit, true, Duration.ZERO, 0, Duration.ZERO);
    }

    /** Reads pages of {@code limit}, {@code pause} apart: slower than busy writers, so it falls behind. */
    static FeedReader paced(String name, Api api, int limit, Duration pause) {
        return new FeedReader(name, api, limit, false, pause, 0, Duration.ZERO);
    }

    /** Reads pages of {@code limit} and stops for {@code stall} after every {@code every} pages. */
    static FeedReader stalling(String name, Api api, int limit, int every, Duration stall) {
        return new FeedReader(name, api, limit, false, Duration.ZERO, every, stall);
    }

    void follow() {
        while (true) {
            boolean draining = finishing;
            Api.Response r = api.get(
                    "/api/v1/events?limit=" + limit + "&after=" + position + (longPoll && !draining ? "&wait=1" : ""));
            pages++;
            if (r.status() == 410) {
                assertThat(r.errorCode()).as("%s: the 410's code", name).isEqualTo("position_expired");
                long oldest =
                        r.json().path("error").path("details").path("oldestSeq").asLong();
                if (oldest <= position + 1) {
                    unfounded.add(
                            name + ": 410 at position " + position + " although the oldest retained is " + oldest);
                }
                expired.incrementAndGet();
                resyncing = true;
                position = oldest - 1;
                continue;
            }
            JsonNode page = r.expect(200).json();
            long expected = position + 1;
            for (JsonNode e : page.get("events")) {
                long seq = e.get("seq").asLong();
                if (seq != expected) {
                    gap(name + ": after seq " + (expected - 1) + " came " + seq);
                }
                expected = seq + 1;
                events++;
            }
            long next = page.get("next").asLong();
            if (next != expected - 1) {
                gap(name + ": next " + next + " after reading up to " + (expected - 1));
            }
            position = next;
            if (resyncing) {
                resyncs++;
                resyncing = false;
            }
            if (draining) {
                if (page.get("events").isEmpty()) {
                    return;
                }
                continue;
            }
            if (!pause.isZero()) {
                RetentionUnderLoadTest.pause(pause);
            }
            if (stallEvery > 0 && pages % stallEvery == 0) {
                RetentionUnderLoadTest.pause(stall);
            }
        }
    }

    private void gap(String what) {
        gapCount++;
        if (gaps.size() < 20) {
            gaps.add(what);
        }
    }

    /** From now on reads without pausing, until a page comes back empty (the writers have stopped). */
    void finish() {
        finishing = true;
    }

    String name() {
        return name;
    }

    long position() {
        return position;
    }

    long pages() {
        return pages;
    }

    long events() {
        return events;
    }

    /** 410 position_expired answers. */
    long expired() {
        return expired.get();
    }

    /** Pages read on from the oldest position a 410 told of. */
    long resyncs() {
        return resyncs;
    }

    /** Times events were passed over without a 410. */
    long gapCount() {
        return gapCount;
    }

    /** The first 20 times events were passed over without a 410. */
    List<String> gaps() {
        return gaps;
    }

    /** 410s at a position whose next event was still retained. */
    List<String> unfounded() {
        return unfounded;
    }
}
