package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import org.junit.jupiter.api.Test;

/** A node stops accepting connections before its open files run out, keeping some for its own. */
@Fast
class InboundConnectionsTest {
    @Test
    void allButAThousandOpenFilesOrHalfOfASmallLimitAreForInboundConnections() {
        assertThat(HttpApi.inboundConnectionLimit(20_000)).isEqualTo(18_976);
        assertThat(HttpApi.inboundConnectionLimit(1_048_576)).isEqualTo(1_047_552);
        assertThat(HttpApi.inboundConnectionLimit(1_024)).isEqualTo(512);
        assertThat(HttpApi.inboundConnectionLimit(Long.MAX_VALUE)).isEqualTo(Integer.MAX_VALUE);
    }
}
