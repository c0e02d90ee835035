package dev.switchboard.api;

import dev.switchboard.auth.Authenticator;
import dev.switchboard.store.Integration;
import dev.switchboard.store.IntegrationStore;
import dev.switchboard.support.Refusal;
import java.util.function.Supplier;

/**
 * The integration a request that creates something for an integration acts for: the admin key names
 * it in {@code integrationId}; a client key acts for its own (naming another is refused).
 */
final class ActingIntegration {
    private ActingIntegration() {}

    /**
     * @param what what the request creates, for the refusal (e.g. "webhooks")
     * @param forAccessToken the refusal of a connection's access token, which acts for no integration
     */
    static Integration of(
            Authenticator.Principal principal,
            JsonBody body,
            IntegrationStore integrations,
            String what,
            Supplier<Refusal> forAccessToken) {
        return switch (principal) {
            case Authenticator.Admin admin -> {
                String id = body.requiredString("integrationId", 64);
                yield integrations
                        .find(id)
                        .orElseThrow(() -> new Refusal.InvalidField("integrationId", "no integration '" + id + "'"));
            }
            case Authenticator.Client client -> {
                String id = body.string("integrationId", 64);
                if (id != null && !id.equals(client.integration().id())) {
                    throw new Refusal.InvalidField(
                            "integrationId", "a client key creates " + what + " for its own integration only");
                }
                yield client.integration();
            }
            case Authenticator.Access access -> throw forAccessToken.get();
        };
    }
}
