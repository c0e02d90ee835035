package dev.switchboard.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.config.ConfigLoader;
import dev.switchboard.config.DatabaseUrl;
import dev.switchboard.testing.CapturedLogs;
import dev.switchboard.testing.TestDatabase;
import dev.switchboard.testing.TestServer;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** A database password given in SWITCHBOARD_DATABASE_URL, in any of its places, never reaches the logs. */
class DatabasePasswordTest {
    @Test
    void aPasswordInTheDatabaseUrlIsNeverLogged() throws Exception {
        String inUserInfo = "userinfo-" + UUID.randomUUID();
        String inQuery = "query-" + UUID.randomUUID();
        String inJdbcQuery = "jdbc-" + UUID.randomUUID();
        String jdbc = TestDatabase.create().jdbcUrl();
        String hostAndDatabase = jdbc.substring("jdbc:postgresql://".length(), jdbc.indexOf('?'));
        // The test PostgreSQL asks for passwords: a role for each place the password is given in.
        List<String> urls = List.of(
                "postgresql://" + TestDatabase.superuser(inUserInfo) + ":" + inUserInfo + "@" + hostAndDatabase
                        + "?sslmode=disable",
                "postgresql://" + TestDatabase.superuser(inQuery) + "@" + hostAndDatabase + "?password=" + inQuery
                        + "&sslmode=disable",
                "jdbc:postgresql://" + hostAndDatabase + "?user=" + TestDatabase.superuser(inJdbcQuery) + "&password="
                        + inJdbcQuery + "&ApplicationName=switchboard");
        try (CapturedLogs logs = new CapturedLogs()) {
            for (String url : urls) {
                try (TestServer server = TestServer.start(
                        DatabaseUrl.parse(jdbc), Map.of("SWITCHBOARD_DATABASE_URL", url), InstantSource.system())) {
                    server.admin.get("/health/ready").expect(200);
                }
            }
            assertThat(logs.lines()).as("the servers logged their start").anyMatch(l -> l.contains(" is ready on "));
            assertThat(String.join("\n", logs.lines()))
                    .doesNotContain(inUserInfo)
                    .doesNotContain(inQuery)
                    .doesNotContain(inJdbcQuery);
        }
    }

    @Test
    void aDatabaseUrlShowsNoPasswordAndItsErrorsDoNotRepeatIt() {
        DatabaseUrl url = DatabaseUrl.parse("jdbc:postgresql://db.internal/sb?user=sb&password=s3cret&sslmode=require");
        assertThat(url.toString()).isEqualTo("jdbc:postgresql://db.internal/sb?user=sb&password=***&sslmode=require");
        assertThat(DatabaseUrl.parse("postgresql://sb@db.internal/sb?PASSWORD=s3cret")
                        .toString())
                .doesNotContain("s3cret");
        assertThat(DatabaseUrl.parse("jdbc:postgresql://db.internal/sb?sslmode=verify-full&sslpassword=k3y&user=sb")
                        .toString())
                .isEqualTo("jdbc:postgresql://db.internal/sb?sslmode=verify-full&sslpassword=***&user=sb");
        assertThatThrownBy(() -> ConfigLoader.load(
                        Optional.empty(),
                        Map.of("SWITCHBOARD_DATABASE_URL", "postgresql://sb:s3cret with space@db.internal/sb")))
                .hasMessageStartingWith("SWITCHBOARD_DATABASE_URL")
                .hasMessageNotContaining("s3cret");
    }
}
