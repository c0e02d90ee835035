package dev.switchboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.config.Config;
import dev.switchboard.config.ConfigLoader;
import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestDatabase;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * With no {@code SWITCHBOARD_ADMIN_KEY}, the first start generates the admin key and shows it once, when
 * the node is ready; a start that fails first (its port taken) shows none and keeps none, so the next
 * start shows the key that works.
 */
@Timeout(120)
class GeneratedAdminKeyTest {

    @Test
    void aStartThatFailsShowsNoKeyAndTheNextShowsOneThatWorks() throws Exception {
        DatabaseUrl database = TestDatabase.create();
        List<String> shown = new ArrayList<>();
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Switchboard failing =
                    new Switchboard(config(database, taken.getLocalPort()), InstantSource.system(), shown::add);
            assertThatThrownBy(failing::start).isInstanceOf(RuntimeException.class);
        }
        assertThat(shown).isEmpty();

        Switchboard node = new Switchboard(config(database, 0), InstantSource.system(), shown::add).start();
        try {
            assertThat(shown).hasSize(1);
            String base = "http://127.0.0.1:" + node.port();
            assertThat(Api.of(base, shown.getFirst()).get("/api/v1/tenants").status())
                    .isEqualTo(200);
            assertThat(Api.of(base, "sb_admin_not-the-key")
                            .get("/api/v1/tenants")
                            .status())
                    .isEqualTo(401);
        } finally {
            node.stop(java.time.Duration.ZERO);
        }

        // Later starts find the key's hash and show nothing; the key shown still works.
        Switchboard again = new Switchboard(config(database, 0), InstantSource.system(), shown::add).start();
        try {
            assertThat(shown).hasSize(1);
            assertThat(Api.of("http://127.0.0.1:" + again.port(), shown.getFirst())
                            .get("/api/v1/tenants")
                            .status())
                    .isEqualTo(200);
        } finally {
            again.stop(java.time.Duration.ZERO);
        }
    }

    /**
     * The generated key was shown in a log, which may be kept for years: once the nodes have a key of
     * their own, it works on no node, and a node started without the setting says so instead of starting.
     */
    @Test
    void onceANodeStartsWithAConfiguredKeyTheGeneratedOneNeverWorksAgain() throws Exception {
        DatabaseUrl database = TestDatabase.create();
        List<String> shown = new ArrayList<>();
        new Switchboard(config(database, 0), InstantSource.system(), shown::add)
                .start()
                .stop(java.time.Duration.ZERO);
        assertThat(shown).hasSize(1);

        String configured = "sb_admin_configured-key-0000000000000";
        Switchboard withKey = new Switchboard(
                        config(database, 0, Map.of("SWITCHBOARD_ADMIN_KEY", configured)),
                        InstantSource.system(),
                        shown::add)
                .start();
        try {
            String base = "http://127.0.0.1:" + withKey.port();
            assertThat(Api.of(base, configured).get("/api/v1/tenants").status()).isEqualTo(200);
            assertThat(Api.of(base, shown.getFirst()).get("/api/v1/tenants").status())
                    .isEqualTo(401);
        } finally {
            withKey.stop(java.time.Duration.ZERO);
        }

        assertThatThrownBy(() -> new Switchboard(config(database, 0), InstantSource.system(), shown::add).start())
                .hasMessageContaining("SWITCHBOARD_ADMIN_KEY")
                .hasMessageContaining("configured admin key");
        assertThat(shown).as("no new key generated").hasSize(1);
    }

    private static Config config(DatabaseUrl database, int port) {
        return config(database, port, Map.of());
    }

    private static Config config(DatabaseUrl database, int port, Map<String, String> more) {
        Map<String, String> env = new java.util.HashMap<>(Map.of(
                "SWITCHBOARD_DATABASE_URL",
                database.jdbcUrl(),
                "SWITCHBOARD_HOST",
                "127.0.0.1",
                "SWITCHBOARD_PORT",
                Integer.toString(port),
                "SWITCHBOARD_DATABASE_POOL_SIZE",
                "4"));
        env.putAll(more);
        return ConfigLoader.load(Optional.<Path>empty(), env);
    }
}
