package dev.switchboard.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.store.ConsoleSessionStore.Link;
import dev.switchboard.support.Refusal;
import dev.switchboard.support.SecretBox;
import dev.switchboard.support.Tokens;
import dev.switchboard.testing.TestServer;
import dev.switchboard.webhooks.EndpointStore;
import dev.switchboard.webhooks.WebhookEndpoint;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * What a client key makes, it makes only while it is still the integration's key: a request
 * authenticated with a key that a rotation replaced meanwhile (its check came just before the rotation
 * committed, or its node had not heard of the rotation yet) must not leave a portal link or an enabled
 * lifecycle endpoint behind that the rotation's clean-up never saw, and neither must a portal session
 * the rotation ended (its lookup came just before). The stores check the key, or that the session
 * still exists, in the change's own transaction; here they are handed the replaced key's hash or the
 * ended session, as such a request would.
 */
@Timeout(60)
class RotatedClientKeyTest {

    @Test
    void aReplacedKeyMakesNoPortalLinkAndEnablesNoEndpointWhileTheCurrentKeyAndTheAdminKeyDo() throws Exception {
        try (TestServer server = TestServer.start()) {
            JsonNode created = server.createIntegration("leaky", List.of("*"), List.of(), List.of("*"));
            String id = created.get("id").asText();
            String oldKey = created.get("clientKey").asText();
            PGSimpleDataSource ds = new PGSimpleDataSource();
            ds.setUrl(server.database().jdbcUrl());
            ConsoleSessionStore sessions = new ConsoleSessionStore(ds, InstantSource.system(), new byte[32]);
            Set<Capability> capabilities = Set.of(Capability.manage_endpoints);
            Integration before =
                    new IntegrationStore(ds, new ControlChannel()).find(id).orElseThrow();
            // A portal session opened through a link the old key made: the rotation ends it.
            String oldSession = sessions.exchangeLink(
                            sessions.createLink(before, null, capabilities, Duration.ofHours(1), key(oldKey))
                                    .token(),
                            Duration.ofMinutes(30))
                    .session()
                    .id();
            String lifecycle = server.api(oldKey)
                    .post("/api/v1/webhooks", Map.of("url", "https://partner.example/tokens", "kind", "lifecycle"))
                    .expect(201)
                    .json()
                    .get("id")
                    .asText();
            String newKey = server.admin
                    .post("/api/v1/integrations/" + id + "/rotate-client-key", "")
                    .expect(200)
                    .json()
                    .get("clientKey")
                    .asText();
            Integration integration =
                    new IntegrationStore(ds, new ControlChannel()).find(id).orElseThrow();

            assertThatThrownBy(() ->
                            sessions.createLink(integration, null, capabilities, Duration.ofHours(1), key(oldKey)))
                    .isInstanceOf(Refusal.Unauthenticated.class)
                    .hasMessageContaining("rotated");
            assertThat(count(server, "SELECT count(*) FROM portal_links WHERE used_at IS NULL"))
                    .as("links written")
                    .isZero();
            Link current = sessions.createLink(integration, null, capabilities, Duration.ofHours(1), key(newKey));
            sessions.createLink(integration, null, capabilities, Duration.ofHours(1), null);
            assertThat(count(server, "SELECT count(*) FROM portal_links WHERE used_at IS NULL"))
                    .isEqualTo(2);

            EndpointStore endpoints = new EndpointStore(ds, new SecretBox(SecretBox.newKey()), new ControlChannel());
            WebhookEndpoint disabled = endpoints.find(lifecycle).orElseThrow();
            assertThat(disabled.state()).as("disabled by the rotation").isEqualTo(WebhookEndpoint.State.disabled);
            EndpointStore.Patch enable =
                    new EndpointStore.Patch(null, null, null, false, null, WebhookEndpoint.State.enabled);
            assertThatThrownBy(() -> endpoints.update(disabled, enable, key(oldKey)))
                    .isInstanceOf(Refusal.Unauthenticated.class);
            assertThatThrownBy(() -> endpoints.update(
                            disabled, enable, new IntegrationStore.ClientCredential.PortalSession(oldSession)))
                    .as("through the portal session the rotation ended")
                    .isInstanceOf(Refusal.Unauthenticated.class)
                    .hasMessageContaining("portal session has ended");
            assertThat(endpoints.find(lifecycle).orElseThrow().state()).isEqualTo(WebhookEndpoint.State.disabled);
            String newSession = sessions.exchangeLink(current.token(), Duration.ofMinutes(30))
                    .session()
                    .id();
            assertThat(endpoints
                            .update(disabled, enable, new IntegrationStore.ClientCredential.PortalSession(newSession))
                            .state())
                    .isEqualTo(WebhookEndpoint.State.enabled);
            assertThat(endpoints.update(disabled, enable, key(newKey)).state())
                    .isEqualTo(WebhookEndpoint.State.enabled);
        }
    }

    private static IntegrationStore.ClientCredential key(String clientKey) {
        return new IntegrationStore.ClientCredential.Key(Tokens.hash(clientKey));
    }

    private static long count(TestServer server, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(server.database().jdbcUrl());
                ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
