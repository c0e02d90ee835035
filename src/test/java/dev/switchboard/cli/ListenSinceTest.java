package dev.switchboard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.client.SwitchboardClient;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.TestServer;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code listen --since}: the position found is just before the first event at or after the given time. */
@Timeout(120)
class ListenSinceTest {
    @Test
    void findsThePositionBeforeTheFirstEventSinceATime() throws Exception {
        try (TestServer server = TestServer.start()) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("*"));
            SwitchboardClient client = SwitchboardClient.builder(server.baseUrl(), partner.accessToken())
                    .build();
            Instant beforeAll = Instant.now().minusSeconds(60);
            partner.writeRecords("rooms", 37, Map.of("a", 1));
            Thread.sleep(1100);
            Instant between = Instant.now();
            Thread.sleep(100);
            partner.writeRecords("rooms", 4, Map.of("a", 2));
            Thread.sleep(100);
            Instant afterAll = Instant.now();

            assertThat(ListenCommand.positionSince(client, beforeAll)).isZero();
            assertThat(ListenCommand.positionSince(client, between)).isEqualTo(37);
            assertThat(ListenCommand.positionSince(client, afterAll)).isEqualTo(41);
        }
    }
}
