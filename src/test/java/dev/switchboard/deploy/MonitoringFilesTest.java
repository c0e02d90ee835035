package dev.switchboard.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.switchboard.support.Json;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.TestServer;
import dev.switchboard.testing.WsClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard and the Prometheus alerts in {@code deploy/} name only metrics a running server
 * exports. The server is driven first through everything the files watch (requests, a webhook endpoint
 * that delivers and one that fails, a WebSocket receiving events, the feed), since a metric with labels
 * appears in {@code /metrics} only once it has been used.
 */
class MonitoringFilesTest {
    static final Path DASHBOARD = Path.of("deploy/grafana/switchboard.json");
    static final Path ALERTS = Path.of("deploy/prometheus/alerts.yaml");
    /** A metric name in PromQL: the families Switchboard, HikariCP and the JVM export. */
    static final Pattern METRIC = Pattern.compile("\\b((?:switchboard|hikaricp|jvm|process)_[a-zA-Z0-9_]+)");

    static TestServer server;
    static Receiver healthy;
    static Receiver failing;
    static Set<String> exported;

    @BeforeAll
    static void driveTheServerThroughWhatTheFilesWatch() {
        server = TestServer.start(Map.of(
                "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
                "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS", "100ms,100ms",
                "SWITCHBOARD_WEBHOOKS_TIMEOUT", "1s",
                "SWITCHBOARD_WEBHOOKS_LEASE_TIME", "3s"));
        server.createCollection("rooms");
        healthy = new Receiver();
        failing = new Receiver();
        failing.answer(r -> Receiver.Reply.status(500));
        Partner partner = Partner.create(server, List.of("*"));
        partner.webhook(Map.of("url", healthy.url("/ok")));
        String failingId =
                partner.webhook(Map.of("url", failing.url("/fails"))).get("id").asText();
        try (WsClient socket = WsClient.connect(server, partner.accessToken(), "")) {
            socket.await("live"); // it follows the log from its head only from here on
            partner.writeRecords("rooms", 3, Map.of("state", "free"));
            socket.awaitEvents(3);
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> healthy.received().size() >= 1);
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> server.metric(
                                    "switchboard_webhooks_messages_failed_total\\{endpoint=\"" + failingId + "\"}")
                            >= 1);
            partner.access().get("/api/v1/events").expect(200);
            server.api(null).get("/api/v1/collections/rooms/records").expect(401);
            // The stream lag and error gauges are read from the database every 5 s.
            await().atMost(Duration.ofSeconds(40))
                    .until(() -> !Double.isNaN(server.metric("switchboard_webhooks_stream_lag\\{.*")));
            exported = names(server.api(null).get("/metrics").expect(200).body());
        }
    }

    @AfterAll
    static void stop() {
        healthy.close();
        failing.close();
        server.close();
    }

    @Test
    void everyMetricTheDashboardNamesIsExported() throws IOException {
        JsonNode dashboard = Json.MAPPER.readTree(Files.readString(DASHBOARD));
        List<String> expressions = new ArrayList<>();
        dashboard.findValues("expr").forEach(e -> expressions.add(e.asText()));
        assertThat(expressions).as("the dashboard's queries").hasSizeGreaterThan(10);
        assertThat(missing(expressions))
                .as("metrics the dashboard names that /metrics lacks")
                .isEmpty();
        for (JsonNode panel : dashboard.get("panels")) {
            if (!panel.path("type").asText().equals("row")) {
                assertThat(panel.path("targets").size())
                        .as(panel.path("title").asText())
                        .isPositive();
                assertThat(panel.path("datasource").path("uid").asText()).isEqualTo("${datasource}");
            }
        }
    }

    @Test
    void everyMetricTheAlertsNameIsExportedAndEveryAlertSaysWhatToDo() throws IOException {
        JsonNode rules = new ObjectMapper(new YAMLFactory()).readTree(ALERTS.toFile());
        List<String> expressions = new ArrayList<>();
        for (JsonNode group : rules.get("groups")) {
            for (JsonNode rule : group.get("rules")) {
                String name = rule.path("alert").asText();
                assertThat(name).isNotBlank();
                assertThat(rule.path("expr").asText()).as(name).isNotBlank();
                assertThat(rule.path("labels").path("severity").asText())
                        .as(name)
                        .isIn("critical", "warning");
                assertThat(rule.path("annotations").path("summary").asText())
                        .as(name)
                        .isNotBlank();
                assertThat(rule.path("annotations").path("description").asText())
                        .as(name)
                        .isNotBlank();
                expressions.add(rule.get("expr").asText());
            }
        }
        assertThat(expressions).hasSizeGreaterThanOrEqualTo(4);
        assertThat(missing(expressions))
                .as("metrics the alerts name that /metrics lacks")
                .isEmpty();
    }

    private static Set<String> missing(List<String> expressions) {
        Set<String> missing = new TreeSet<>();
        for (String expr : expressions) {
            Matcher m = METRIC.matcher(expr);
            while (m.find()) {
                if (!exported.contains(m.group(1))) {
                    missing.add(m.group(1));
                }
            }
        }
        return missing;
    }

    /** The names of the samples in a Prometheus text scrape (histograms' _bucket, _count, _sum included). */
    static Set<String> names(String scrape) {
        Set<String> names = new TreeSet<>();
        for (String line : scrape.split("\n")) {
            if (!line.isEmpty() && !line.startsWith("#")) {
                names.add(line.split("[{ ]", 2)[0]);
            }
        }
        return names;
    }
}
