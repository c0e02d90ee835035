package dev.switchboard.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.testing.Api;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A tenant's whole event log as the feed returns it, read after the load: what every reader must have received. */
record TenantLog(List<JsonNode> events) {
    /** Pages through {@code GET /api/v1/events} from the start; {@code api} acts for the tenant. */
    static TenantLog read(Api api) {
        return read(api, 0);
    }

    /** Pages through the feed from {@code after} (just before the oldest retained event, once retention has cut). */
    static TenantLog read(Api api, long after) {
        List<JsonNode> events = new ArrayList<>();
        while (true) {
            JsonNode page = api.get("/api/v1/events?limit=1000&after=" + after)
                    .expect(200)
                    .json();
            page.get("events").forEach(events::add);
            if (page.get("events").isEmpty()) {
                return new TenantLog(List.copyOf(events));
            }
            after = page.get("next").asLong();
        }
    }

    int size() {
        return events.size();
    }

    /** The events' seqs in log order. */
    List<Long> seqs() {
        return events.stream().map(e -> e.get("seq").asLong()).toList();
    }

    private Set<String> subjects() {
        Set<String> subjects = new HashSet<>();
        events.forEach(e -> subjects.add(e.get("subject").asText()));
        return subjects;
    }

    /** Checks that every write {@code writers} had acknowledged has its event in the log, and adds the figures. */
    void verifyHolds(LoadWriters writers, Map<String, Object> figures) {
        Set<String> logged = subjects();
        List<String> missing = writers.acknowledged().stream()
                .filter(id -> !logged.contains(id))
                .toList();
        figures.put("Writes acknowledged", writers.acknowledged().size());
        figures.put("Write attempts cut off or refused while a server was down", writers.unanswered());
        figures.put("Events in the log", size());
        figures.put("Acknowledged writes missing from the log (lost)", missing.size());
        assertThat(missing).as("acknowledged writes missing from the log").isEmpty();
    }
}
