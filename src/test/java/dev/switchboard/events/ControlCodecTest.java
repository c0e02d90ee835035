package dev.switchboard.events;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.events.ControlMessage.CollectionsChanged;
import dev.switchboard.events.ControlMessage.ConnectionChanged;
import dev.switchboard.events.ControlMessage.IntegrationChanged;
import dev.switchboard.events.ControlMessage.ManualMessageDue;
import dev.switchboard.events.ControlMessage.Resync;
import dev.switchboard.events.ControlMessage.WebhookChanged;
import dev.switchboard.testing.Fast;
import java.util.List;
import org.junit.jupiter.api.Test;

@Fast
class ControlCodecTest {
    @Test
    void everyMessageTravelsAsThePayloadNodesHaveAlwaysSent() {
        // Nodes of the previous version read these during a rolling upgrade: the payloads must not change.
        assertThat(ControlCodec.encode(new WebhookChanged(12))).isEqualTo("webhook:12");
        assertThat(ControlCodec.encode(new ConnectionChanged(7))).isEqualTo("connection:7");
        assertThat(ControlCodec.encode(new IntegrationChanged(3))).isEqualTo("integration:3");
        assertThat(ControlCodec.encode(new CollectionsChanged())).isEqualTo("collections");
        assertThat(ControlCodec.encode(new ManualMessageDue())).isEqualTo("webhook-message");
        assertThat(ControlCodec.encode(new Resync())).isEqualTo("resync");
    }

    @Test
    void everyMessageDecodesToWhatWasEncoded() {
        List<ControlMessage> all = List.of(
                new WebhookChanged(Long.MAX_VALUE),
                new ConnectionChanged(1),
                new IntegrationChanged(42),
                new CollectionsChanged(),
                new ManualMessageDue(),
                new Resync());
        for (ControlMessage message : all) {
            assertThat(ControlCodec.decode(ControlCodec.encode(message)))
                    .as(message.toString())
                    .contains(message);
        }
    }

    @Test
    void anUnknownOrMalformedPayloadIsIgnoredNotThrown() {
        for (String payload : new String[] {
            "",
            "webhooks",
            "connection",
            "connection:",
            "connection:abc",
            "webhook:12x",
            "integration:99999999999999999999",
            "Collections",
            "resync ",
            "\u0000",
            null
        }) {
            assertThat(ControlCodec.decode(payload)).as("'%s'", payload).isEmpty();
        }
    }
}
