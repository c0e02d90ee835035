package dev.switchboard.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The webhook benchmark's medians, targets and limits, from figures made up for the purpose. */
@Fast
class WebhookReportTest {
    private static final Machine MACHINE = new Machine("a CPU", 2, 1024, "Linux", "a JDK", "17", Map.of(), 500);
    private static final CpuMeter.Usage BUSY = new CpuMeter.Usage(0.3, 0.9, 0.7, 0.05, 1.95);
    private static final CpuMeter.Usage IDLE = new CpuMeter.Usage(0.1, 0.2, 0.1, 0.0, 0.4);

    @Test
    void aMedianIsTheMiddleTrialOrTheMeanOfTheTwoMiddleOnes() {
        assertThat(Medians.median(new double[] {9, 1, 5})).isEqualTo(5);
        assertThat(Medians.median(new double[] {4, 1, 2, 9})).isEqualTo(3);
        assertThat(Medians.median(new double[] {})).isNaN();
    }

    @Test
    void drainedTargetsAreHeldToTheMedianTrial() {
        // 1,000 messages in 1, 2 and 4 s against a raw ceiling of 2,000 requests/s: ratios 0.5, 0.25, 0.125.
        WebhookResult.Drained d = new WebhookResult.Drained(
                "16 tenants × 1 endpoint", 16, 1, 1, 62, List.of(trial(1, 1), trial(1, 2), trial(1, 4)));
        assertThat(d.median(WebhookResult.Throughput::messageRatio)).isEqualTo(0.25);
        assertThat(d.ratioMet()).isFalse();
        // 1.6 cores of server and PostgreSQL for 500 messages/s: 3,200 µs each.
        assertThat(d.median(WebhookResult.Throughput::cpuMicrosPerMessage)).isEqualTo(3200);
        assertThat(d.cpuMet()).isFalse();
        assertThat(d.medianTrial().seconds()).isEqualTo(2);

        WebhookResult.Drained fast =
                new WebhookResult.Drained("16 tenants × 1 endpoint", 16, 1, 1, 62, List.of(trial(1, 0.25)));
        assertThat(fast.ratioMet()).isTrue();
    }

    @Test
    void liveRunsKeepUpOnlyWhenTheyDeliverWhatWasOffered() {
        WebhookResult.Live keepsUp = new WebhookResult.Live(20, 50, List.of(latency(20, 30, 990, 0)));
        assertThat(keepsUp.offeredMessagesPerSecond()).isEqualTo(1000);
        assertThat(keepsUp.p99TargetMillis()).isEqualTo(50);
        assertThat(keepsUp.met()).isTrue();

        WebhookResult.Live slow = new WebhookResult.Live(20, 50, List.of(latency(20, 60, 1000, 0)));
        assertThat(slow.met()).isFalse();
        WebhookResult.Live behind = new WebhookResult.Live(100, 50, List.of(latency(100, 40, 3000, 0)));
        assertThat(behind.p99TargetMillis()).isEqualTo(250);
        assertThat(behind.keepsUp()).isFalse();
        WebhookResult.Live refused = new WebhookResult.Live(20, 50, List.of(latency(20, 30, 1000, 3)));
        assertThat(refused.met()).isFalse();
    }

    @Test
    void fairnessComparesTheMedianP99sAndNeedsEveryEventOfEveryTrial() {
        List<WebhookResult.Latency> alone = List.of(b("alone", 200, 4.5), b("alone", 200, 11), b("alone", 200, 12));
        List<WebhookResult.Latency> beside =
                List.of(b("beside", 200, 6.1), b("beside", 200, 13), b("beside", 200, 12.5));
        WebhookResult.Fairness fair = new WebhookResult.Fairness(64, 32, 80, 4900, 200, alone, beside, 32);
        assertThat(fair.alone().p99Millis()).isEqualTo(11);
        assertThat(fair.beside().p99Millis()).isEqualTo(12.5);
        assertThat(fair.met())
                .as("12.5 ms beside against 11 alone, the one fast trial alone aside")
                .isTrue();

        List<WebhookResult.Latency> oneShort =
                List.of(b("beside", 200, 6.1), b("beside", 150, 13), b("beside", 200, 12.5));
        assertThat(new WebhookResult.Fairness(64, 32, 80, 4900, 200, alone, oneShort, 32).met())
                .as("a trial that lost events")
                .isFalse();
        List<WebhookResult.Latency> slow = List.of(b("beside", 200, 14), b("beside", 200, 13.5), b("beside", 200, 20));
        assertThat(new WebhookResult.Fairness(64, 32, 80, 4900, 200, alone, slow, 32).met())
                .as("14 ms beside against 11 alone")
                .isFalse();
    }

    private static WebhookResult.Latency b(String beside, long events, double p99) {
        return new WebhookResult.Latency(10, beside, events, 3, p99, p99 + 1, 10, 0, IDLE);
    }

    @Test
    void theTableNamesEveryFigureWithItsResultAndWhatLimitsIt(@TempDir Path dir) throws Exception {
        WebhookResult.Drained batch1 =
                new WebhookResult.Drained("16 tenants × 1 endpoint", 16, 1, 1, 62, List.of(trial(1, 2)));
        WebhookResult.Drained batch100 =
                new WebhookResult.Drained("16 tenants × 1 endpoint", 16, 1, 100, 62, List.of(trial(100, 0.01)));
        WebhookResult.Fanout fanout = new WebhookResult.Fanout(
                50,
                new WebhookResult.Drained("1 tenant × 50 endpoints", 1, 50, 1, 20, List.of(trial(1, 1))),
                List.of(new WebhookResult.Live(20, 50, List.of(latency(20, 30, 1000, 0)))));
        WebhookResult result = new WebhookResult(
                MACHINE,
                "abc",
                "a Node HTTP server",
                Instant.EPOCH,
                16,
                16,
                20,
                List.of(),
                null,
                1,
                List.of(batch1, batch100),
                fanout,
                List.of(new WebhookResult.Retried(
                        new WebhookResult.Drained(
                                "1 tenant × 1 endpoint, first delivery", 1, 1, 1, 1000, List.of(trial(1, 1))),
                        new WebhookResult.Drained(
                                "1 tenant × 1 endpoint, failed and retried", 1, 1, 1, 1000, List.of(trial(1, 4))))),
                null,
                new WebhookResult.Fairness(
                        64,
                        32,
                        80,
                        4900,
                        200,
                        List.of(b("alone", 200, 4.5), b("alone", 200, 11), b("alone", 200, 12)),
                        List.of(b("beside A", 200, 6.1), b("beside A", 200, 13), b("beside A", 200, 12.5)),
                        32));
        WebhookReport report = new WebhookReport(result);
        report.write(dir.resolve("webhooks.md"), dir.resolve("webhooks.json"));
        String markdown = Files.readString(dir.resolve("webhooks.md"));
        assertThat(markdown)
                .contains("| Figure | Switchboard | Raw ceiling | Ratio | Target | Result | What limits it |")
                .contains("| ≥ 62,000 events/s | **met** |")
                .contains("## Fan-out: 1 tenant × 50 endpoints")
                .contains("- 1 tenant × 1 endpoint, failed and retried: retried 250 messages/s (0.13 of its raw"
                        + " ceiling), first delivery 1,000 messages/s.")
                .contains("| 1 tenant × 1 endpoint, failed and retried | 1 | 1 | 1,000 | 1,000 | 4.00 |")
                .contains("| beside A | 2 | 200 / 200 | 3.0 | 13.0 | 14.0 |")
                .contains("Median p99: 11.0 ms alone, 12.5 ms beside A. Target: every event of B's arrives and its"
                        + " median p99 beside A is within 20 % of its median p99 alone: **met**.")
                .doesNotContain("## End-to-end latency"); // no latency phase ran
        assertThat(Files.readString(dir.resolve("webhooks.json"))).contains("\"fanout\"");
        String text = report.text();
        assertThat(text)
                .contains("Machine: a CPU, 2 cores")
                .contains("`maxBatchSize` 1, 1,000 events drained: 500 messages/s; raw ceiling 2,000 requests/s;"
                        + " ratio 0.25; target ≥ 0.5 of raw: MISSED")
                .contains("≤ 250 µs: MISSED")
                .contains("≥ 62,000 events/s: MET")
                .contains("Fan-out live, 20 events/s × 50 endpoints (1,000 messages/s offered)")
                .contains("p99 < 50 ms and keeps up: MET")
                .contains("Integration B at 10 events/s alone (the trial of median p99 of 3): p50 3.0 ms, p99 11.0 ms");
        assertThat(text.lines().filter(l -> l.startsWith("    limited by: ")).count())
                .isEqualTo(5);
        assertThat(text).contains("limited by: the 2 cores, 98 % busy (server 0.90, PostgreSQL 0.70");
    }

    @Test
    void aFigureIsLimitedByTheCoresWhenNearlyAllAreBusyOrByPostgresHoldingOneWholeCore() {
        assertThat(WebhookReport.limit(BUSY, 2, "round trips")).startsWith("the 2 cores, 98 % busy");
        assertThat(WebhookReport.limit(IDLE, 2, "round trips")).startsWith("round trips (0.40 of 2 cores busy");
        assertThat(WebhookReport.limit(new CpuMeter.Usage(0.05, 0.08, 0.99, 0.02, 1.14), 2, "round trips"))
                .startsWith("PostgreSQL, at 0.99 cores: about one connection busy");
    }

    /** 1,000 events at batch size {@code batch} delivered in {@code seconds}; raw ceiling 2,000 requests/s. */
    private static WebhookResult.Throughput trial(int batch, double seconds) {
        int requests = 1000 / batch;
        return new WebhookResult.Throughput(
                batch, 1000, 1000, seconds, 1000 / seconds, requests, 2000.0 * batch, 2000, IDLE, BUSY);
    }

    private static WebhookResult.Latency latency(int rate, double p99, double delivered, int refused) {
        return new WebhookResult.Latency(rate, "50 endpoints", 1000, 5, p99, p99 * 2, delivered, refused, BUSY);
    }
}
