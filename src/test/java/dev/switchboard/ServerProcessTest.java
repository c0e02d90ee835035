package dev.switchboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Api;
import dev.switchboard.testing.ServerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real server as an operator runs it: its own process on the embedded PostgreSQL in a data
 * directory. Killed with SIGKILL it leaves PostgreSQL running; the next start must cope, keep every
 * acknowledged write, and not print a new admin key.
 */
@Timeout(240)
class ServerProcessTest {
    private static final Pattern ADMIN_KEY = Pattern.compile("(sb_admin_[A-Za-z0-9_-]{43})");

    @TempDir
    Path dataDir;

    @Test
    void restartAfterSigkillKeepsDataAndTheGeneratedAdminKey() {
        Map<String, String> settings = Map.of("SWITCHBOARD_DATA_DIR", dataDir.toString());
        ServerProcess first = ServerProcess.start(settings);
        String adminKey = first.awaitOutput(ADMIN_KEY);
        first.awaitReady();
        Api admin = first.api(adminKey);
        admin.post("/api/v1/tenants", Map.of("id", "hotel")).expect(201);
        admin.post("/api/v1/collections", Map.of("name", "rooms")).expect(201);
        String recordId = admin.withHeader("Switchboard-Tenant", "hotel")
                .post("/api/v1/collections/rooms/records", Map.of("data", Map.of("number", 101)))
                .expect(201)
                .json()
                .get("id")
                .asText();

        first.kill(); // SIGKILL: the embedded PostgreSQL keeps running
        assertThat(Files.exists(dataDir.resolve("postgres/postmaster.pid"))).isTrue();

        try (ServerProcess second = ServerProcess.start(settings)) {
            second.awaitReady();
            Api again = second.api(adminKey).withHeader("Switchboard-Tenant", "hotel");
            assertThat(again.get("/api/v1/collections/rooms/records/" + recordId)
                            .expect(200)
                            .json()
                            .get("data")
                            .get("number")
                            .asInt())
                    .isEqualTo(101);
            assertThat(second.output()).doesNotContain("sb_admin_");
        } // SIGTERM: a clean stop also stops PostgreSQL
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> !Files.exists(dataDir.resolve("postgres/postmaster.pid")));
    }
}
