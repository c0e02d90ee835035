package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.support.Refusal;
import dev.switchboard.testing.Fast;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Fast
class WebhookUrlTest {
    private static final AddressPolicy GUARDED = new AddressPolicy(false, java.util.List.of());
    private static final AddressPolicy OPEN = new AddressPolicy(true, java.util.List.of());

    @ParameterizedTest
    @ValueSource(
            strings = {
                "https://partner.example/hooks",
                "http://partner.example:8080/h?token=secret",
                "https://93.184.216.34/x",
                "https://[2606:4700:4700::1111]/x"
            })
    void acceptsHttpAndHttpsUrlsOfPublicHosts(String url) {
        assertThat(WebhookUrl.parse(url, "url", GUARDED).toString()).isEqualTo(url);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {"https://partner.example:0/x", "https://partner.example:99999/x", "http://93.184.216.34:65536/"})
    void refusesPortsNoConnectionCanUse(String url) {
        assertThatThrownBy(() -> WebhookUrl.parse(url, "url", OPEN))
                .isInstanceOfSatisfying(
                        Refusal.InvalidField.class,
                        e -> assertThat(e.getMessage()).contains("1 to 65535"));
        assertThat(WebhookUrl.parse("https://partner.example:65535/x", "url", GUARDED)
                        .port())
                .isEqualTo(65535);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "ftp://partner.example/x",
                "partner.example/hooks",
                "file:///etc/passwd",
                "javascript:alert(1)",
                "https://user:pass@partner.example/x",
                "https://partner.example/x#frag",
                "http:///nohost",
                "http://127.0.0.1/x",
                "http://10.1.2.3/x",
                "http://169.254.169.254/latest/meta-data",
                "http://[::1]/x",
                "http://[::ffff:127.0.0.1]/x",
                "http://[fe80::1%25eth0]/x",
                "http://0.0.0.0/x",
                "http://localhost:8080/x",
                "http://LOCALHOST/x",
                "http://api.localhost/x",
                "http://2130706433/x",
                "http://0x7f000001/x",
                "http://0177.0.0.1/x",
                "http://017.0.0.1/x",
                "http://127.1/x",
                "http://0x7f.1/x",
                "http://1.2.3.4.5/x",
                "http://256.1.1.1/x"
            })
    void refusesOtherSchemesCredentialsFragmentsPrivateHostsAndAmbiguousNumericForms(String url) {
        assertThatThrownBy(() -> WebhookUrl.parse(url, "url", GUARDED))
                .as(url)
                .isInstanceOf(Refusal.InvalidField.class)
                .satisfies(p -> assertThat(((Refusal.InvalidField) p).field()).isEqualTo("url"))
                .hasMessageStartingWith("url: ");
    }

    /** Numeric forms java.net.URI reads as no host at all were refused as "names no host". */
    @ParameterizedTest
    @ValueSource(strings = {"http://127.1/x", "http://0x7f.0.0.1:8080/x", "http://1.2.3/x", "http://2130706433/x"})
    void aNumericFormOtherThanADottedQuadIsRefusedSayingSo(String url) {
        assertThatThrownBy(() -> WebhookUrl.parse(url, "url", OPEN))
                .as(url)
                .hasMessageContaining("is a numeric form other than a plain dotted-quad IPv4 address");
    }

    @Test
    void privateAddressesAreAllowedWhenTheOperatorSaysSoButAmbiguousFormsNever() {
        assertThat(WebhookUrl.parse("http://127.0.0.1:9000/x", "url", OPEN).port())
                .isEqualTo(9000);
        assertThat(WebhookUrl.parse("http://localhost/x", "url", OPEN).host()).isEqualTo("localhost");
        assertThatThrownBy(() -> WebhookUrl.parse("http://2130706433/x", "url", OPEN))
                .isInstanceOf(Refusal.InvalidField.class);
        assertThatThrownBy(() -> WebhookUrl.parse("https://u:p@localhost/x", "url", OPEN))
                .isInstanceOf(Refusal.InvalidField.class);
    }

    @Test
    void theOperatorsAllowedRangesAreReachableAndNothingElsePrivate() {
        AddressPolicy internal = new AddressPolicy(
                false,
                java.util.List.of(
                        dev.switchboard.config.Cidr.parse("10.1.0.0/16"),
                        dev.switchboard.config.Cidr.parse("127.0.0.1")));
        assertThat(WebhookUrl.parse("http://10.1.200.3/x", "url", internal).host())
                .isEqualTo("10.1.200.3");
        assertThat(WebhookUrl.parse("http://localhost:9/x", "url", internal).port())
                .isEqualTo(9);
        assertThatThrownBy(() -> WebhookUrl.parse("http://10.2.0.1/x", "url", internal))
                .isInstanceOf(Refusal.InvalidField.class);
        assertThatThrownBy(() -> WebhookUrl.parse("http://127.0.0.2/x", "url", internal))
                .isInstanceOf(Refusal.InvalidField.class);
        assertThatThrownBy(() -> WebhookUrl.parse("http://169.254.169.254/x", "url", internal))
                .isInstanceOf(Refusal.InvalidField.class);
    }

    @Test
    void invisibleCharactersThatMakeAUrlReadAsAnotherAreRefusedByName() {
        for (String url : java.util.List.of(
                "https://partner.example/ok/\u202e.cod-yfirev-", // right-to-left override
                "https://partner.example/hoo\u200bks", // zero-width space
                "https://partner.example/h\u2066i")) { // left-to-right isolate
            assertThatThrownBy(() -> WebhookUrl.parse(url, "url", GUARDED))
                    .isInstanceOf(Refusal.InvalidField.class)
                    .hasMessageContaining("invisible character U+");
        }
        assertThat(WebhookUrl.parse("https://partner.example/caf%C3%A9", "url", GUARDED)
                        .host())
                .isEqualTo("partner.example");
    }

    @Test
    void logsNeverShowTheQueryWhereASharedSecretTravels() {
        assertThat(WebhookUrl.parse("https://partner.example/h?token=s3cret", "url", GUARDED)
                        .redacted())
                .isEqualTo("https://partner.example/h?…");
        assertThat(WebhookUrl.redact("ftp://u:pw@partner.example/h?token=s3cret#f"))
                .isEqualTo("ftp://…@partner.example/h?…");
        assertThat(WebhookUrl.redact("/relative#token=s3cret")).isEqualTo("/relative?…");
        assertThat(WebhookUrl.redact("not a url at all")).isEqualTo("not a url at all");
    }

    /** Two spellings of one address compare equal; two addresses do not. */
    @Test
    void theCanonicalFormIsTheAddressAsAReceiverReadsIt() {
        String canonical = "https://partner.example/hooks/in?token=a%2Fb";
        for (String spelling : List.of(
                "https://partner.example/hooks/in?token=a%2Fb",
                "HTTPS://PARTNER.example:443/hooks/in?token=a%2fb",
                // In DNS a final dot only says the name is complete: partner.example. is partner.example.
                "https://partner.example.:443/hooks/in?token=a%2Fb",
                "https://partner.example/hooks/./x/../%69n?token=%61%2Fb")) {
            assertThat(WebhookUrl.parse(spelling, "url", GUARDED).canonical())
                    .as(spelling)
                    .isEqualTo(canonical);
        }
        assertThat(WebhookUrl.parse("https://partner.example", "url", GUARDED).canonical())
                .isEqualTo(WebhookUrl.parse("https://partner.example/?", "url", GUARDED)
                        .canonical())
                .isEqualTo("https://partner.example/");
        assertThat(WebhookUrl.parse("http://partner.example:8080/h\u00e9", "url", GUARDED)
                        .canonical())
                .isEqualTo("http://partner.example:8080/h%C3%A9");
        // An IPv4 address written as IPv6 is that IPv4 address (Java connects there); IPv6 in any spelling.
        for (String mapped : List.of("https://[::ffff:93.184.216.34]/h", "https://[::FFFF:5db8:d822]/h")) {
            assertThat(WebhookUrl.parse(mapped, "url", GUARDED).canonical())
                    .as(mapped)
                    .isEqualTo("https://93.184.216.34/h");
        }
        assertThat(WebhookUrl.parse("https://[2606:4700:0::1111]/h", "url", GUARDED)
                        .canonical())
                .isEqualTo(WebhookUrl.parse("https://[2606:4700::0:1111]/h", "url", GUARDED)
                        .canonical());
        for (String other : List.of(
                "https://partner.example/hooks/In?token=a%2Fb",
                "https://partner.example/hooks/in?token=a/b",
                "http://partner.example/hooks/in?token=a%2Fb",
                "https://partner.example:8443/hooks/in?token=a%2Fb")) {
            assertThat(WebhookUrl.parse(other, "url", GUARDED).canonical())
                    .as(other)
                    .isNotEqualTo(canonical);
        }
    }

    /** A request line is ASCII; a Location's UTF-8, read one byte a character, is read again as UTF-8. */
    @Test
    void aRequestTargetIsSentAsAsciiAndALocationReadAsUtf8() {
        assertThat(WebhookSender.ascii("/h\u00e9/\uD83D\uDE00")).isEqualTo("/h%C3%A9/%F0%9F%98%80");
        assertThat(WebhookSender.ascii("t=%20x&y")).isEqualTo("t=%20x&y");
        String asRead = new String("/d\u00e9st".getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
        assertThat(WebhookSender.utf8(asRead)).isEqualTo("/d\u00e9st");
        assertThat(WebhookSender.utf8("/d\u00e9st")).as("not UTF-8: as read").isEqualTo("/d\u00e9st");
    }
}
