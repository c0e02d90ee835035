package dev.switchboard.events;

import dev.switchboard.events.ControlMessage.CollectionsChanged;
import dev.switchboard.events.ControlMessage.ConnectionChanged;
import dev.switchboard.events.ControlMessage.IntegrationChanged;
import dev.switchboard.events.ControlMessage.ManualMessageDue;
import dev.switchboard.events.ControlMessage.Resync;
import dev.switchboard.events.ControlMessage.WebhookChanged;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The NOTIFY payload of a {@link ControlMessage}: {@code webhook:<pk>}, {@code connection:<pk>},
 * {@code integration:<pk>}, {@code collections}, {@code webhook-message} or {@code resync}. These
 * are the payloads nodes have always sent, so nodes of different versions understand each other
 * during a rolling upgrade.
 */
final class ControlCodec {
    private static final Logger log = LoggerFactory.getLogger(ControlCodec.class);
    private static final String WEBHOOK = "webhook:";
    private static final String CONNECTION = "connection:";
    private static final String INTEGRATION = "integration:";
    private static final String COLLECTIONS = "collections";
    private static final String MANUAL_MESSAGE = "webhook-message";
    private static final String RESYNC = "resync";

    private ControlCodec() {}

    static String encode(ControlMessage message) {
        return switch (message) {
            case WebhookChanged m -> WEBHOOK + m.endpointPk();
            case ConnectionChanged m -> CONNECTION + m.connectionPk();
            case IntegrationChanged m -> INTEGRATION + m.integrationPk();
            case CollectionsChanged m -> COLLECTIONS;
            case ManualMessageDue m -> MANUAL_MESSAGE;
            case Resync m -> RESYNC;
        };
    }

    /**
     * The message a payload carries, or empty (logged) when it is not one this node knows: it runs on the
     * listener thread, which must go on listening whatever another node sent.
     */
    static Optional<ControlMessage> decode(String payload) {
        if (payload == null) {
            log.warn("Ignored a control message without a payload");
            return Optional.empty();
        }
        try {
            if (payload.startsWith(WEBHOOK)) {
                return Optional.of(new WebhookChanged(pk(payload, WEBHOOK)));
            } else if (payload.startsWith(CONNECTION)) {
                return Optional.of(new ConnectionChanged(pk(payload, CONNECTION)));
            } else if (payload.startsWith(INTEGRATION)) {
                return Optional.of(new IntegrationChanged(pk(payload, INTEGRATION)));
            }
        } catch (NumberFormatException e) {
            log.warn("Ignored a malformed control message '{}'", payload);
            return Optional.empty();
        }
        return switch (payload) {
            case COLLECTIONS -> Optional.of(new CollectionsChanged());
            case MANUAL_MESSAGE -> Optional.of(new ManualMessageDue());
            case RESYNC -> Optional.of(new Resync());
            default -> {
                log.warn("Ignored an unknown control message '{}'", payload);
                yield Optional.empty();
            }
        };
    }

    private static long pk(String payload, String prefix) {
        return Long.parseLong(payload.substring(prefix.length()));
    }
}
