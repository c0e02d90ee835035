package dev.switchboard.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.switchboard.support.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The last result of each reliability scenario, kept in {@code docs/reliability.json} and rendered to
 * {@code docs/reliability.md} every time a scenario records one, so the document always shows the
 * latest run of every scenario (and when it ran).
 */
public final class ReliabilityReport {
    private static final Path JSON = Path.of("docs", "reliability.json");
    private static final Path MARKDOWN = Path.of("docs", "reliability.md");

    private static final String HOSTILE_PARTNER = "Hostile partner";

    private ReliabilityReport() {}

    /** Records a scenario's figures (name → value, in the order given) and what they show. */
    public static synchronized void record(String scenario, String summary, Map<String, Object> figures) {
        try {
            ObjectNode all = Files.exists(JSON)
                    ? (ObjectNode) Json.read(Files.readString(JSON))
                    : Json.MAPPER.createObjectNode();
            ObjectNode entry = all.putObject(scenario);
            entry.put("ranAt", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
            entry.put("summary", summary);
            entry.set("figures", Json.MAPPER.valueToTree(new LinkedHashMap<>(figures)));
            Files.createDirectories(JSON.getParent());
            Files.writeString(JSON, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(all) + "\n");
            Files.writeString(MARKDOWN, render(all));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Records one attack's result as a row of the "Hostile partner" table, keeping the rows other
     * scenarios recorded: each attack is run by the scenario it belongs to.
     */
    public static synchronized void hostilePartner(String attack, String result) {
        try {
            ObjectNode all = Files.exists(JSON)
                    ? (ObjectNode) Json.read(Files.readString(JSON))
                    : Json.MAPPER.createObjectNode();
            Map<String, Object> rows = new LinkedHashMap<>();
            JsonNode previous = all.path(HOSTILE_PARTNER).path("figures");
            previous.properties()
                    .forEach(row -> rows.put(row.getKey(), row.getValue().asText()));
            rows.put(attack, result);
            record(HOSTILE_PARTNER, """
                    What a careless or hostile partner (an access token, a client key, or a page in a visitor's \
                    browser) can try, and what Switchboard does. Each row is recorded by the scenario that \
                    runs the attack against a real server.""", rows);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String render(JsonNode all) {
        StringBuilder md = new StringBuilder("""
                # Reliability: the last result of each scenario

                Written by `bin/reliability` (the scenarios are the tests tagged `reliability` under
                `src/test/java/dev/switchboard/reliability`); every run of a scenario replaces its entry.
                Each runs on loopback only, bounded in time, against real PostgreSQL, a real HTTP receiver and
                real WebSocket clients. "Lost" must be 0 everywhere.

                """);
        Iterator<Map.Entry<String, JsonNode>> scenarios = all.properties().iterator();
        while (scenarios.hasNext()) {
            Map.Entry<String, JsonNode> s = scenarios.next();
            md.append("## ")
                    .append(s.getKey())
                    .append("\n\n")
                    .append(s.getValue().get("summary").asText())
                    .append("\n\n")
                    .append("| | |\n|---|---|\n");
            s.getValue()
                    .get("figures")
                    .properties()
                    .forEach(f -> md.append("| ")
                            .append(f.getKey())
                            .append(" | ")
                            .append(
                                    f.getValue().isTextual()
                                            ? f.getValue().asText()
                                            : f.getValue().toString())
                            .append(" |\n"));
            md.append("\n_Last run: ")
                    .append(s.getValue().get("ranAt").asText())
                    .append("_\n\n");
        }
        return md.toString();
    }
}
