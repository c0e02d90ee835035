package dev.switchboard.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.store.ConsoleSessionStore.Link;
import dev.switchboard.store.ConsoleSessionStore.Opened;
import dev.switchboard.support.Refusal;
import dev.switchboard.support.Tokens;
import dev.switchboard.testing.TestServer;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Changing the admin key after a leak ends what the old key made: operator sessions, and the portal
 * links (with the sessions opened through them) it made for integrations, which could otherwise register
 * a lifecycle endpoint for up to a day and collect the access tokens the operator re-issues. What an
 * integration's client key made is its key's to end. Two stores stand for nodes started with the old and
 * the new admin key.
 */
@Timeout(60)
class ChangedAdminKeyTest {
    private static final Duration IDLE = Duration.ofMinutes(30);

    @Test
    void linksAndSessionsTheOldAdminKeyMadeEndAndThoseOfTheClientKeyStay() {
        try (TestServer server = TestServer.start()) {
            JsonNode created = server.createIntegration("portal", List.of("*"), List.of(), List.of("*"));
            PGSimpleDataSource ds = new PGSimpleDataSource();
            ds.setUrl(server.database().jdbcUrl());
            byte[] oldMac = new byte[32];
            byte[] newMac = new byte[32];
            Arrays.fill(newMac, (byte) 1);
            ConsoleSessionStore oldKey = new ConsoleSessionStore(ds, InstantSource.system(), oldMac);
            ConsoleSessionStore newKey = new ConsoleSessionStore(ds, InstantSource.system(), newMac);
            Integration integration = new IntegrationStore(ds, new ControlChannel())
                    .find(created.get("id").asText())
                    .orElseThrow();
            Set<Capability> capabilities = Set.of(Capability.manage_endpoints);
            var clientKey = new IntegrationStore.ClientCredential.Key(
                    Tokens.hash(created.get("clientKey").asText()));

            Link unusedAdminLink = oldKey.createLink(integration, null, capabilities, Duration.ofHours(1), null);
            Opened adminLinkSession = oldKey.exchangeLink(
                    oldKey.createLink(integration, null, capabilities, Duration.ofHours(1), null)
                            .token(),
                    IDLE);
            Opened clientLinkSession = oldKey.exchangeLink(
                    oldKey.createLink(integration, null, capabilities, Duration.ofHours(1), clientKey)
                            .token(),
                    IDLE);
            Link unusedClientLink = oldKey.createLink(integration, null, capabilities, Duration.ofHours(1), clientKey);
            Opened operator = oldKey.openOperator(IDLE);

            assertThatThrownBy(() -> newKey.exchangeLink(unusedAdminLink.token(), IDLE))
                    .isInstanceOf(Refusal.Gone.class)
                    .hasMessageContaining("admin key that has since been changed");
            assertThat(newKey.touch(Tokens.hash(adminLinkSession.cookie()), IDLE))
                    .as("a portal session through a link the old admin key made")
                    .isEmpty();
            assertThat(newKey.touch(Tokens.hash(operator.cookie()), IDLE)).isEmpty();
            assertThat(newKey.live(Set.of(
                            adminLinkSession.session().id(),
                            clientLinkSession.session().id())))
                    .containsExactly(clientLinkSession.session().id());

            assertThat(newKey.touch(Tokens.hash(clientLinkSession.cookie()), IDLE))
                    .as("a portal session through a link the client key made")
                    .isPresent();
            assertThat(newKey.exchangeLink(unusedClientLink.token(), IDLE)
                            .session()
                            .integrationId())
                    .isEqualTo(integration.id());
            assertThat(oldKey.touch(Tokens.hash(adminLinkSession.cookie()), IDLE))
                    .as("on a node still started with the old key")
                    .isPresent();
        }
    }
}
