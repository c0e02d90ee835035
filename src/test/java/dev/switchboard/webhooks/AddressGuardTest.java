package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.testing.Fast;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Fast
class AddressGuardTest {
    @ParameterizedTest
    @ValueSource(
            strings = {
                "127.0.0.1",
                "127.255.0.9",
                "0.0.0.0",
                "0.1.2.3",
                "10.0.0.1",
                "172.16.0.1",
                "172.31.255.255",
                "192.168.1.1",
                "100.64.0.1",
                "169.254.169.254",
                "192.0.0.8",
                "192.0.2.1",
                "198.18.0.1",
                "224.0.0.1",
                "255.255.255.255",
                "240.0.0.1",
                "::1",
                "::",
                "fe80::1",
                "fc00::1",
                "fd00:ec2::254",
                "ff02::1",
                "::ffff:127.0.0.1",
                "::ffff:10.0.0.1",
                "::ffff:169.254.169.254",
                "::127.0.0.1",
                "64:ff9b::7f00:1",
                "64:ff9b::a9fe:a9fe",
                "64:ff9b:1::1",
                "2002:7f00:1::",
                "2002:0a00:0001::",
                "2001:0:4136:e378::1",
                "2001:db8::1",
                "fec0::1"
            })
    void refusesPrivateLoopbackLinkLocalMetadataAndEmbeddedForms(String address) throws UnknownHostException {
        assertThat(AddressGuard.refusal(InetAddress.getByName(address)))
                .as(address)
                .isPresent();
    }

    /**
     * IPv4-translated (::ffff:0:a.b.c.d, RFC 2765) is a different /96 from IPv4-mapped (::ffff:a.b.c.d),
     * and Java keeps it as an IPv6 address; NAT64 (64:ff9b::/96) too. Each is refused whatever it embeds,
     * and so is an IPv4-mapped address that arrives as an IPv6 address (as a resolver may hand it over).
     */
    @ParameterizedTest
    @ValueSource(
            strings = {
                "::ffff:0:7f00:1",
                "::ffff:0:127.0.0.1",
                "::ffff:0:a9fe:a9fe",
                "::ffff:0:a00:1",
                "::ffff:0:808:808",
                "64:ff9b::808:808",
                "64:ff9b::10.0.0.1",
                "::ffff:7f00:1",
                "::ffff:808:808"
            })
    void refusesIpv4TranslatedMappedAndNat64FormsWhateverTheyEmbed(String text) throws UnknownHostException {
        byte[] bytes = InetAddress.getByName(text).getAddress();
        if (bytes.length
                == 4) { // Java turned an IPv4-mapped address into IPv4: build the IPv6 form a resolver may give
            bytes = new byte[] {
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, bytes[0], bytes[1], bytes[2], bytes[3]
            };
        }
        InetAddress v6 = java.net.Inet6Address.getByAddress(null, bytes, -1);
        assertThat(AddressGuard.refusal(v6)).as(text).isPresent();
    }

    @ParameterizedTest
    @ValueSource(strings = {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "2a00:1450::1"})
    void allowsPublicAddresses(String address) throws UnknownHostException {
        assertThat(AddressGuard.refusal(InetAddress.getByName(address)))
                .as(address)
                .isEmpty();
    }

    @Test
    void theResolverHandsOnlyAllowedAddressesAndRefusesWhenNoneIs() throws Exception {
        GuardedResolver resolver = new GuardedResolver(new AddressPolicy(false, java.util.List.of()));
        InetAddress rebound = InetAddress.getByName("169.254.169.254");
        InetAddress fine = InetAddress.getByName("93.184.216.34");
        assertThat(resolver.allowed("example.test", 443, new InetAddress[] {rebound, fine}))
                .extracting(a -> a.getAddress().getHostAddress())
                .containsExactly("93.184.216.34");
        assertThatThrownBy(() -> resolver.allowed("rebind.test", 80, new InetAddress[] {rebound}))
                .isInstanceOf(GuardedResolver.BlockedAddressException.class)
                .hasMessageContaining("rebind.test")
                .hasMessageContaining("169.254.169.254");
        assertThat(new GuardedResolver(new AddressPolicy(true, java.util.List.of()))
                        .allowed("dev.test", 80, new InetAddress[] {rebound}))
                .hasSize(1);
    }

    /** A partner's host that resolves to refused addresses is named in the log once, not at every connection. */
    @Test
    void aRefusedHostIsLoggedOncePerPeriodNotPerCall() throws Exception {
        GuardedResolver resolver = new GuardedResolver(new AddressPolicy(false, java.util.List.of()));
        InetAddress metadata = InetAddress.getByName("169.254.169.254");
        InetAddress fine = InetAddress.getByName("93.184.216.34");
        String host = "mixed-" + System.nanoTime() + ".test";
        try (dev.switchboard.testing.CapturedLogs logs = new dev.switchboard.testing.CapturedLogs()) {
            for (int i = 0; i < 5; i++) {
                assertThat(resolver.allowed(host, 443, new InetAddress[] {metadata, fine}))
                        .hasSize(1);
                assertThatThrownBy(() -> resolver.allowed("only-" + host, 443, new InetAddress[] {metadata}))
                        .isInstanceOf(GuardedResolver.BlockedAddressException.class);
            }
            assertThat(logs.lines().stream().filter(l -> l.contains(host)))
                    .as("one line for the host that skips an address, one for the host refused outright")
                    .hasSize(2);
        }
    }

    @Test
    void aLookupUnansweredAtTheAttemptsDeadlineFailsItAsATimeout() throws Exception {
        java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
        GuardedResolver silent = new GuardedResolver(new AddressPolicy(false, java.util.List.of()), host -> {
            try {
                never.await(); // name servers that never answer
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new UnknownHostException(host);
        });
        long started = System.nanoTime();
        assertThatThrownBy(() -> silent.resolve("slow-dns.test", 443, started + 200_000_000L))
                .isInstanceOf(java.net.SocketTimeoutException.class)
                .hasMessageContaining("slow-dns.test");
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - started))
                .as("held past its deadline")
                .isLessThan(java.time.Duration.ofSeconds(5));

        GuardedResolver unknown = new GuardedResolver(new AddressPolicy(false, java.util.List.of()), host -> {
            throw new UnknownHostException(host);
        });
        assertThatThrownBy(() -> unknown.resolve("nowhere.test", 443, System.nanoTime() + 1_000_000_000L))
                .isInstanceOf(UnknownHostException.class);
        GuardedResolver answering = new GuardedResolver(new AddressPolicy(false, java.util.List.of()), host ->
                new InetAddress[] {InetAddress.getByName("93.184.216.34")});
        assertThat(answering.resolve("example.test", 443, System.nanoTime() + 1_000_000_000L))
                .extracting(a -> a.getAddress().getHostAddress())
                .containsExactly("93.184.216.34");
    }

    @Test
    void rangesContainTheirAddressesOnly() throws UnknownHostException {
        var range = dev.switchboard.config.Cidr.parse("10.1.0.0/16");
        assertThat(range.contains(InetAddress.getByName("10.1.255.1"))).isTrue();
        assertThat(range.contains(InetAddress.getByName("10.2.0.1"))).isFalse();
        assertThat(range.contains(InetAddress.getByName("::1"))).isFalse();
        assertThat(dev.switchboard.config.Cidr.parse("fd00:1::/32").contains(InetAddress.getByName("fd00:1:2::3")))
                .isTrue();
        assertThat(dev.switchboard.config.Cidr.parse("127.0.0.1").contains(InetAddress.getByName("127.0.0.2")))
                .isFalse();
        assertThatThrownBy(() -> dev.switchboard.config.Cidr.parse("10.0.0.0/33"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> dev.switchboard.config.Cidr.parse("internal.example"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
