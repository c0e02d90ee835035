package dev.switchboard.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.db.DatabaseException;
import dev.switchboard.support.Json;
import dev.switchboard.support.Refusal;
import dev.switchboard.testing.Fast;
import java.sql.SQLException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Each kind of refusal has one HTTP answer; the code, message and details pass through unchanged. */
@Fast
class HttpErrorsTest {

    @Test
    void everyKindOfRefusalMapsToItsStatusAndCode() {
        assertAnswer(
                new Refusal.Invalid("invalid_json", "the request body must be a JSON object"), 400, "invalid_json");
        assertAnswer(new Refusal.InvalidField("limit", "must be between 1 and 100"), 400, "invalid_field");
        assertAnswer(new Refusal.Unauthenticated("unknown or revoked token"), 401, "unauthorized");
        assertAnswer(new Refusal.Forbidden("this operation needs the admin key"), 403, "forbidden");
        assertAnswer(
                new Refusal.Forbidden("origin_not_allowed", "Origin 'x' is not allowed"), 403, "origin_not_allowed");
        assertAnswer(new Refusal.NotFound("tenant 'hotel'"), 404, "not_found");
        assertAnswer(
                new Refusal.Conflict("tenant_exists", "a tenant with id 'hotel' already exists"), 409, "tenant_exists");
        assertAnswer(new Refusal.PositionExpired(3, 10, 20), 410, "position_expired");
        assertAnswer(new Refusal.IdempotencyKeyReused("k1"), 422, "idempotency_key_reused");
        assertAnswer(
                new Refusal.EventTooLarge("data.note", 70_000, 65_536, "data.note: is too large"),
                422,
                "event_too_large");
        assertAnswer(new Refusal.RecordTooLarge("rec_1", 2_000_000, 1_048_576), 422, "record_too_large");
        assertAnswer(new Refusal.Throttled("rate_limited", "retry after 2s", 2), 429, "rate_limited");
    }

    @Test
    void detailsAreTheRefusalsOwn() {
        assertThat(HttpErrors.of(new Refusal.InvalidField("after", "must be 0 or more")))
                .satisfies(e -> assertThat(e.message()).isEqualTo("after: must be 0 or more"))
                .satisfies(e -> assertThat(e.details()).isEqualTo(Map.of("field", "after")));
        assertThat(HttpErrors.of(new Refusal.PositionExpired(3, 10, 20)).details())
                .isEqualTo(Map.of("oldestSeq", 10L, "headSeq", 20L));
        assertThat(HttpErrors.of(new Refusal.EventTooLarge("data", 70_000, 65_536, "data: too large"))
                        .details())
                .isEqualTo(Map.of("field", "data", "eventBytes", 70_000L, "maxEventBytes", 65_536L));
        assertThat(HttpErrors.of(new Refusal.NotFound("tenant 'hotel'")).message())
                .isEqualTo("tenant 'hotel' does not exist");
        assertThat(HttpErrors.of(new Refusal.NotFound("tenant 'hotel'")).details())
                .isNull();
    }

    @Test
    void onlyAThrottledRefusalCarriesRetryAfter() {
        assertThat(HttpErrors.of(new Refusal.Throttled("too_many_sockets", "close one first", 30))
                        .retryAfterSeconds())
                .isEqualTo(30L);
        assertThat(HttpErrors.of(new Refusal.Conflict("too_many_webhooks", "at most 50"))
                        .retryAfterSeconds())
                .isNull();
    }

    @Test
    void aDatabaseFailureThatPassesIs503SayingWhyAndWhatBecameOfTheChange() {
        // A statement the database refused made nothing, whatever the connection's state.
        assertThat(HttpErrors.of(failure("25006", true), true))
                .satisfies(e -> assertThat(e.status()).isEqualTo(503))
                .satisfies(e -> assertThat(e.code()).isEqualTo("database_unavailable"))
                .satisfies(e -> assertThat(e.retryAfterSeconds()).isEqualTo(5L))
                .satisfies(e -> assertThat(e.message())
                        .isEqualTo("the database accepts no writes now (it is read-only); nothing was written,"
                                + " retry later"));
        assertThat(HttpErrors.of(failure("53100", true), true).message())
                .startsWith("the database is out of disk space; nothing was written");
        assertThat(HttpErrors.of(failure("55P03", false), true).message())
                .startsWith("a row or table the request needs stayed locked longer than the database's lock timeout;");
        assertThat(HttpErrors.of(failure("57014", false), true).status()).isEqualTo(503);
        assertThat(HttpErrors.of(failure("40001", false), true).status()).isEqualTo(503);
        // A connection lost before anything was sent, or within a transaction not yet committed: nothing.
        assertThat(HttpErrors.of(failure("08006", false), true).message())
                .isEqualTo("the database is unavailable; nothing was written, retry later");
        // Lost once the change was sent (at its commit): it may have been made.
        assertThat(HttpErrors.of(failure("08006", true), true).message())
                .startsWith("the database is unavailable; the change may have been made")
                .contains("read it back before making it again");
        // A read says nothing of writing.
        assertThat(HttpErrors.of(failure("08006", true), false).message())
                .isEqualTo("the database is unavailable; retry later");
    }

    @Test
    void aDatabaseFailureThatDoesNotPassIs500NamingNoDetail() {
        HttpErrors.HttpError error = HttpErrors.of(failure("42P01", false), true);
        assertThat(error.status()).isEqualTo(500);
        assertThat(error.code()).isEqualTo("internal_error");
        assertThat(error.message()).doesNotContain("42P01").doesNotContain("relation");
        assertThat(error.retryAfterSeconds()).isNull();
    }

    private static DatabaseException failure(String sqlState, boolean sent) {
        return new DatabaseException(new SQLException("relation \"x\" is broken", sqlState), sent);
    }

    @Test
    void theBodyIsTheDocumentedErrorObject() {
        String body = HttpErrors.json("not_found", "tenant 'hotel' does not exist", "req_1", null);
        assertThat(body)
                .isEqualTo("{\"error\":{\"code\":\"not_found\",\"message\":\"tenant 'hotel' does not exist\","
                        + "\"requestId\":\"req_1\",\"details\":null}}");
        assertThat(Json.read(HttpErrors.json("invalid_field", "a: b", "req_2", Map.of("field", "a")))
                        .at("/error/details/field")
                        .asText())
                .isEqualTo("a");
    }

    private static void assertAnswer(Refusal refusal, int status, String code) {
        HttpErrors.HttpError error = HttpErrors.of(refusal);
        assertThat(error.status()).as(refusal.getClass().getSimpleName()).isEqualTo(status);
        assertThat(error.code()).as(refusal.getClass().getSimpleName()).isEqualTo(code);
        assertThat(error.message()).isEqualTo(refusal.getMessage());
    }
}
