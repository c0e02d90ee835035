package dev.switchboard.support;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import org.junit.jupiter.api.Test;

@Fast
class ClientAddressTest {
    @Test
    void anIpv6AddressCountsAsItsSlash64AndAnIpv4OneAsItself() {
        assertThat(ClientAddress.of("2001:db8:0:7:0:0:0:1"))
                .isEqualTo(ClientAddress.of("2001:db8::7:ffff:1:2:3"))
                .isEqualTo(ClientAddress.of("[2001:db8:0:7::9]"))
                .isNotEqualTo(ClientAddress.of("2001:db8:0:8::1"));
        assertThat(ClientAddress.of("203.0.113.7")).isEqualTo("203.0.113.7");
        assertThat(ClientAddress.of("::ffff:203.0.113.7")).isEqualTo("203.0.113.7");
    }
}
