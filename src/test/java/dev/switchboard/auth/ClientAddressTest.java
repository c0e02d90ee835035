package dev.switchboard.auth;

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

    @Test
    void refusedSecretsFromOneSlash64ShareOneLimit() {
        FailedAuthLimiter limiter =
                new FailedAuthLimiter(2, java.time.Duration.ofMinutes(1), java.time.InstantSource.system());
        limiter.begin(ClientAddress.of("2001:db8::1"), "a").failed();
        limiter.begin(ClientAddress.of("2001:db8::2"), "b").failed();
        assertThat(limiter.begin(ClientAddress.of("2001:db8::3"), "some token").waitTime())
                .isPresent();
        assertThat(limiter.begin(ClientAddress.of("2001:db8:1::3"), "some token")
                        .waitTime())
                .isEmpty();
    }
}
