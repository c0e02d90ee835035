package dev.switchboard.support;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import org.junit.jupiter.api.Test;

@Fast
class TokensTest {
    @Test
    void maskedKeepsEachTokensPrefixWholeOrCutShort() {
        String token = Tokens.generate(Tokens.ACCESS_TOKEN_PREFIX);
        String key = Tokens.generate(Tokens.CLIENT_KEY_PREFIX);
        assertThat(Tokens.masked("{\"accessToken\":\"" + token + "\"} and " + key + ", cut: " + token.substring(0, 20)))
                .isEqualTo("{\"accessToken\":\"sb_access_…\"} and sb_client_…, cut: sb_access_…");
        assertThat(Tokens.masked(
                        Tokens.generate(Tokens.PORTAL_LINK_PREFIX) + " " + Tokens.generate(Tokens.SESSION_PREFIX)))
                .isEqualTo("sb_portal_… sb_session_…");
        // A signing secret is standard base64: masked whole, past its first + or /.
        assertThat(Tokens.masked("\"whsec_ab+c/d=\"")).isEqualTo("\"whsec_…\"");
        assertThat(Tokens.masked("nothing secret: sb_access, whsec")).isEqualTo("nothing secret: sb_access, whsec");
        assertThat(Tokens.masked(null)).isNull();
    }
}
