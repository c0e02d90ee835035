package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Where the sender may follow a 307/308: the same checks as a registered URL, and never from https to http. */
@Fast
class WebhookRedirectTest {
    private static final AddressPolicy GUARDED = new AddressPolicy(false, List.of());
    private static final AddressPolicy OPEN = new AddressPolicy(true, List.of());
    private static final URI HTTPS = URI.create("https://partner.example/hooks");

    @Test
    void aRedirectFromHttpsToHttpIsNeverFollowedSoATokenNeverTravelsInClearText() {
        assertThat(WebhookSender.redirect(HTTPS, "http://partner.example/hooks", GUARDED))
                .isEmpty();
        assertThat(WebhookSender.redirect(HTTPS, "HTTP://partner.example:80/other", GUARDED))
                .isEmpty();
    }

    @Test
    void redirectsThatKeepHttpsOrStartFromHttpAreFollowedRelativeOnesIncluded() {
        assertThat(WebhookSender.redirect(HTTPS, "https://other.example/in", GUARDED))
                .contains(URI.create("https://other.example/in"));
        assertThat(WebhookSender.redirect(HTTPS, "/moved", GUARDED))
                .contains(URI.create("https://partner.example/moved"));
        assertThat(WebhookSender.redirect(URI.create("http://partner.example/h"), "http://partner.example/g", GUARDED))
                .contains(URI.create("http://partner.example/g"));
        assertThat(WebhookSender.redirect(HTTPS, "https://other.example/in?x=1#top", GUARDED))
                .as("a fragment is never sent")
                .contains(URI.create("https://other.example/in?x=1"));
    }

    @Test
    void aDowngradeIsFollowedOnlyWherePrivateAddressesAreAllowedForDevelopment() {
        assertThat(WebhookSender.redirect(HTTPS, "http://localhost:9000/hooks", OPEN))
                .contains(URI.create("http://localhost:9000/hooks"));
    }

    @Test
    void aMissingOrRefusedLocationIsNotFollowed() {
        assertThat(WebhookSender.redirect(HTTPS, null, GUARDED)).isEmpty();
        assertThat(WebhookSender.redirect(HTTPS, " ", GUARDED)).isEmpty();
        assertThat(WebhookSender.redirect(HTTPS, "https://169.254.169.254/latest", GUARDED))
                .isEmpty();
    }
}
