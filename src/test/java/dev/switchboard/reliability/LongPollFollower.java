package dev.switchboard.reliability;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A partner following the feed with long polls ({@code wait=5}) through whatever {@code api} points at
 * (a proxy), as a partner does: on any answer but 200, or none, it waits a little and asks again from
 * the same position. It keeps every event's seq and counts every other answer.
 */
final class LongPollFollower implements AutoCloseable {
    private final Api api;
    private final List<Long> seqs = new CopyOnWriteArrayList<>();
    private final Map<Integer, Integer> otherAnswers = new TreeMap<>();
    private final AtomicInteger cutOff = new AtomicInteger();
    private final AtomicInteger polls = new AtomicInteger();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long position;

    LongPollFollower(Api api) {
        this.api = api;
        this.thread = Thread.ofVirtual().start(this::follow);
    }

    private void follow() {
        while (running) {
            try {
                Api.Response r = api.get("/api/v1/events?limit=200&wait=5&after=" + position);
                polls.incrementAndGet();
                if (r.status() != 200) {
                    synchronized (otherAnswers) {
                        otherAnswers.merge(r.status(), 1, Integer::sum);
                    }
                    RetentionUnderLoadTest.pause(Duration.ofMillis(100));
                    continue;
                }
                JsonNode page = r.json();
                page.get("events").forEach(e -> seqs.add(e.get("seq").asLong()));
                position = page.get("next").asLong();
            } catch (IllegalStateException e) {
                cutOff.incrementAndGet(); // no answer at all
                RetentionUnderLoadTest.pause(Duration.ofMillis(100));
            }
        }
    }

    /** Waits until it has read up to {@code seq}, then stops. */
    void finishAt(long seq) {
        await().atMost(Duration.ofSeconds(60)).until(() -> position >= seq);
        close();
    }

    List<Long> seqs() {
        return List.copyOf(seqs);
    }

    /** Answers other than 200, by status. */
    Map<Integer, Integer> otherAnswers() {
        synchronized (otherAnswers) {
            return Map.copyOf(otherAnswers);
        }
    }

    /** Polls that got no answer (the connection failed). */
    int cutOff() {
        return cutOff.get();
    }

    int polls() {
        return polls.get();
    }

    @Override
    public void close() {
        running = false;
        try {
            thread.join(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
