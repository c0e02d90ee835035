package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.Receiver;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What a receiver following one webhook stream saw: repeats by webhook-id and by event, and whether
 * messages went backwards (a re-sent message may; a new one must not).
 */
record Deliveries(
        int distinctEvents,
        int repeatedMessages,
        int eventsDeliveredTwice,
        int eventsSentTwiceOutsideARepeatedMessage,
        int outOfOrder) {
    /**
     * Waits until the receiver has every event of {@code log}, checks that no message went backwards
     * and that the only repeats are whole messages sent again: at most the one in flight at each of
     * {@code deaths} node deaths, plus one for each attempt the server recorded as failed. Adds the figures.
     */
    static Deliveries verify(
            Receiver receiver, TenantLog log, Api admin, String webhook, int deaths, Map<String, Object> figures) {
        await().atMost(Duration.ofSeconds(90)).until(() -> seqs(receiver).containsAll(log.seqs()));
        Deliveries d = of(receiver);
        int failedAttempts = failedAttempts(admin, webhook);
        figures.put("Events delivered by webhook", d.distinctEvents());
        figures.put("Events never delivered (lost)", log.size() - d.distinctEvents());
        figures.put("Messages sent more than once (same webhook-id)", d.repeatedMessages());
        figures.put("Recorded failed attempts (timeouts under load), which also re-send", failedAttempts);
        figures.put("Events delivered twice", d.eventsDeliveredTwice());
        assertThat(d.outOfOrder())
                .as("messages that went backwards other than a re-sent one")
                .isZero();
        assertThat(d.eventsSentTwiceOutsideARepeatedMessage()).isZero();
        assertThat(d.repeatedMessages())
                .as(
                        "messages re-sent: the one in flight at each node death, and retries after recorded failed attempts")
                .isLessThanOrEqualTo(deaths + failedAttempts);
        return d;
    }

    private static Deliveries of(Receiver receiver) {
        Map<String, Integer> messages = new HashMap<>();
        Map<Long, Integer> events = new HashMap<>();
        Set<Long> inRepeatedMessages = new HashSet<>();
        long highest = 0;
        int outOfOrder = 0;
        for (Receiver.Received r : receiver.received()) {
            String id = r.header("webhook-id");
            boolean repeat = messages.merge(id, 1, Integer::sum) > 1;
            for (JsonNode e : r.json().get("events")) {
                long seq = e.get("seq").asLong();
                events.merge(seq, 1, Integer::sum);
                if (repeat) {
                    inRepeatedMessages.add(seq);
                }
            }
            long first = r.json().get("events").get(0).get("seq").asLong();
            if (!repeat && first <= highest) {
                outOfOrder++;
            }
            highest = Math.max(
                    highest,
                    r.json()
                            .get("events")
                            .get(r.json().get("events").size() - 1)
                            .get("seq")
                            .asLong());
        }
        int twice = (int) events.values().stream().filter(n -> n > 1).count();
        int outside = (int) events.entrySet().stream()
                .filter(e -> e.getValue() > 1)
                .filter(e -> !inRepeatedMessages.contains(e.getKey()))
                .count();
        return new Deliveries(
                events.size(),
                (int) messages.values().stream().filter(n -> n > 1).count(),
                twice,
                outside,
                outOfOrder);
    }

    /** The seqs of every event the receiver got. */
    private static Set<Long> seqs(Receiver receiver) {
        Set<Long> seqs = new HashSet<>();
        receiver.received()
                .forEach(r -> r.json()
                        .get("events")
                        .forEach(e -> seqs.add(e.get("seq").asLong())));
        return seqs;
    }

    /** Attempts the server recorded as failed (a timeout under load, say): each re-sends its message. */
    private static int failedAttempts(Api admin, String webhook) {
        int failed = 0;
        String cursor = "";
        while (true) {
            JsonNode page = admin.get("/api/v1/webhooks/" + webhook + "/messages?limit=500" + cursor)
                    .expect(200)
                    .json();
            for (JsonNode m : page.get("messages")) {
                for (JsonNode a : m.get("attempts")) {
                    failed += a.get("outcome").asText().equals("delivered") ? 0 : 1;
                }
            }
            if (page.get("cursor").isNull()) {
                return failed;
            }
            cursor = "&cursor=" + page.get("cursor").asText();
        }
    }
}
