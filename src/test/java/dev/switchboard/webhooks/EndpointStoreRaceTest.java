package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.events.ControlChannel;
import dev.switchboard.support.Refusal;
import dev.switchboard.support.SecretBox;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A webhook endpoint deleted between a request's lookup of it and its change (a PATCH or a secret
 * rotation racing a DELETE) is answered as missing, 404, as if the lookup had come after the delete.
 */
@Timeout(60)
class EndpointStoreRaceTest {

    @Test
    void changingAnEndpointDeletedSinceItWasLookedUpIsRefusedAsNotFound() {
        try (TestServer server = TestServer.start()) {
            server.createTenant("inn");
            String id = Partner.on(server, "inn", List.of("*"), List.of("*"), List.of("*"))
                    .webhook(Map.of("url", "https://partner.example/hooks"))
                    .get("id")
                    .asText();
            PGSimpleDataSource ds = new PGSimpleDataSource();
            ds.setUrl(server.database().jdbcUrl());
            EndpointStore store = new EndpointStore(ds, new SecretBox(SecretBox.newKey()), new ControlChannel());
            WebhookEndpoint lookedUp = store.find(id).orElseThrow();

            server.admin.delete("/api/v1/webhooks/" + id).expect(204);

            assertThatThrownBy(() ->
                            store.update(lookedUp, new EndpointStore.Patch(null, null, 5, false, null, null), null))
                    .isInstanceOf(Refusal.NotFound.class)
                    .hasMessageContaining(id);
            assertThatThrownBy(() -> store.rotateSecret(lookedUp, Duration.ofHours(1)))
                    .isInstanceOf(Refusal.NotFound.class)
                    .hasMessageContaining(id);
            assertThat(store.find(id)).isEmpty();
        }
    }
}
