package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.db.Jdbc;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.TestServer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The dispatcher's index of which webhook streams follow each event stream follows endpoints created
 * and deleted, and an endpoint changed in place (the changes an integration can make as often as its rate
 * limit allows) costs no read of the webhook streams.
 */
@Timeout(60)
class WatchedStreamsTest {

    @Test
    void endpointsCreatedAndDeletedAreFollowedAndOneChangedInPlaceReadsNoStream() {
        try (TestServer server = TestServer.start()) {
            String inn = server.createTenant("inn");
            String lodge = server.createTenant("lodge");
            Partner partner = Partner.on(server, inn, List.of("*"), List.of("*"), List.of("*"));
            server.connect(partner.integrationId(), lodge);
            String first = partner.webhook(Map.of("url", "https://partner.example/a"))
                    .get("id")
                    .asText();
            PGSimpleDataSource ds = new PGSimpleDataSource();
            ds.setUrl(server.database().jdbcUrl());
            WatchedStreams watched = new WatchedStreams(ds);
            watched.reload();
            assertThat(watched.rowsRead())
                    .as("a reload reads every webhook stream")
                    .isEqualTo(2);
            assertThat(watched.of(stream(ds, inn))).containsExactly(webhookStream(ds, first, inn));

            String second = partner.webhook(Map.of("url", "https://partner.example/b"))
                    .get("id")
                    .asText();
            watched.endpointChanged(pk(ds, second));
            assertThat(watched.of(stream(ds, inn)))
                    .as("a new endpoint's stream joins the first endpoint's")
                    .containsExactlyInAnyOrder(webhookStream(ds, first, inn), webhookStream(ds, second, inn));
            assertThat(watched.of(stream(ds, lodge)))
                    .containsExactlyInAnyOrder(webhookStream(ds, first, lodge), webhookStream(ds, second, lodge));
            assertThat(watched.rowsRead())
                    .as("only the new endpoint's streams were read")
                    .isEqualTo(4);

            partner.client()
                    .patch("/api/v1/webhooks/" + first, Map.of("url", "https://partner.example/c", "maxBatchSize", 7))
                    .expect(200);
            partner.client()
                    .post("/api/v1/webhooks/" + first + "/rotate-secret", Map.of())
                    .expect(200);
            watched.endpointChanged(pk(ds, first));
            watched.endpointChanged(pk(ds, first));
            assertThat(watched.rowsRead())
                    .as("endpoints changed in place read no stream")
                    .isEqualTo(4);

            long secondPk = pk(ds, second);
            partner.client().delete("/api/v1/webhooks/" + second).expect(204);
            watched.endpointChanged(secondPk);
            assertThat(watched.of(stream(ds, inn))).containsExactly(webhookStream(ds, first, inn));
            assertThat(watched.of(stream(ds, lodge))).containsExactly(webhookStream(ds, first, lodge));

            long firstPk = pk(ds, first);
            partner.client().delete("/api/v1/webhooks/" + first).expect(204);
            watched.endpointChanged(firstPk);
            assertThat(watched.of(stream(ds, inn)))
                    .as("no webhook follows the tenant any more")
                    .isNull();
            assertThat(watched.rowsRead()).isEqualTo(4);
        }
    }

    private static long stream(PGSimpleDataSource ds, String tenant) {
        return single(ds, "SELECT s.pk FROM streams s JOIN tenants t ON t.pk = s.tenant_pk WHERE t.id = ?", tenant);
    }

    private static long webhookStream(PGSimpleDataSource ds, String endpoint, String tenant) {
        return single(
                ds,
                "SELECT ws.pk FROM webhook_streams ws JOIN webhook_endpoints e ON e.pk = ws.endpoint_pk"
                        + " JOIN streams s ON s.pk = ws.stream_pk JOIN tenants t ON t.pk = s.tenant_pk"
                        + " WHERE e.id = ? AND t.id = ?",
                endpoint,
                tenant);
    }

    private static long pk(PGSimpleDataSource ds, String endpoint) {
        return single(ds, "SELECT pk FROM webhook_endpoints WHERE id = ?", endpoint);
    }

    private static long single(PGSimpleDataSource ds, String sql, Object... params) {
        return Jdbc.withConnection(ds, c -> Jdbc.one(c, sql, rs -> rs.getLong(1), params))
                .orElseThrow();
    }
}
