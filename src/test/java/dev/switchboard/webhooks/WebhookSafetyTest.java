package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.standardwebhooks.Webhook;
import dev.switchboard.testing.Partner;
import dev.switchboard.testing.Receiver;
import dev.switchboard.testing.Receiver.Reply;
import dev.switchboard.testing.TestServer;
import java.net.InetAddress;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Outbound safety and endpoint health: address checks at connect time, disabling, secret rotation. */
@Timeout(90)
class WebhookSafetyTest {
    private static final Map<String, String> FAST = Map.of(
            "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true",
            "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS", "100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms",
            "SWITCHBOARD_WEBHOOKS_TIMEOUT", "1s",
            "SWITCHBOARD_WEBHOOKS_LEASE_TIME", "3s",
            "SWITCHBOARD_WEBHOOKS_DISABLE_AFTER", "500ms");

    @Test
    void aNameThatResolvesToAPrivateAddressIsRefusedWhenTheConnectionIsMade() throws Exception {
        String host = InetAddress.getLocalHost().getHostName();
        assumeThat(AddressGuard.refusal(InetAddress.getByName(host)))
                .as("this machine's name resolves to a" + " loopback or private address")
                .isPresent();
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(Map.of(
                        "SWITCHBOARD_WEBHOOKS_RETRY_DELAYS",
                        "100ms",
                        "SWITCHBOARD_WEBHOOKS_TIMEOUT",
                        "1s",
                        "SWITCHBOARD_WEBHOOKS_LEASE_TIME",
                        "3s"))) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("*"));
            JsonNode endpoint = partner.webhook(Map.of("url", "http://" + host + ":" + receiver.port() + "/internal"));
            writeRooms(partner, 1);
            JsonNode message = await().until(
                            () -> partner.client()
                                    .get("/api/v1/webhooks/"
                                            + endpoint.get("id").asText() + "/messages?status=failed")
                                    .json()
                                    .get("messages"),
                            m -> m.size() == 1)
                    .get(0);
            assertThat(message.get("attempts")).hasSize(2).allSatisfy(a -> {
                assertThat(a.get("outcome").asText()).isEqualTo("blocked_address");
                assertThat(a.get("error").asText()).contains(host);
            });
            assertThat(receiver.received()).isEmpty();
        }
    }

    @Test
    void anEndpointFailingLongerThanTheLimitIsDisabledAndItsEventsWait() throws InterruptedException {
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(FAST)) {
            server.createCollection("rooms");
            receiver.answer(r -> Reply.status(503));
            Partner partner = Partner.create(server, List.of("*"));
            JsonNode endpoint = partner.webhook(Map.of("url", receiver.url("/down")));
            String path = "/api/v1/webhooks/" + endpoint.get("id").asText();
            List<String> ids = new ArrayList<>(partner.writeRecords("rooms", 1, Map.of("state", "free")));
            JsonNode disabled = await().atMost(Duration.ofSeconds(10))
                    .until(
                            () -> partner.client().get(path).json(),
                            e -> e.get("state").asText().equals("disabled"));
            assertThat(disabled.get("stateReason").asText()).contains("failing continuously");
            int attempts = receiver.received().size();
            ids.addAll(partner.writeRecords("rooms", 2, Map.of("state", "free")));
            Thread.sleep(1_000); // long enough for several attempts, were it still sent to
            assertThat(receiver.received())
                    .as("requests to the disabled endpoint")
                    .hasSize(attempts);

            receiver.answer(r -> Reply.status(200));
            partner.client().patch(path, Map.of("state", "enabled")).expect(200);
            List<String> delivered = await().until(
                            () -> receiver.received().stream()
                                    .skip(attempts)
                                    .flatMap(r -> java.util.stream.StreamSupport.stream(
                                            r.json().get("events").spliterator(), false))
                                    .map(e -> e.get("subject").asText())
                                    .toList(),
                            subjects -> subjects.size() >= 3);
            assertThat(delivered)
                    .as("the events that waited, once each, in order")
                    .containsExactlyElementsOf(ids);
            assertThat(partner.client().get(path).json().get("state").asText()).isEqualTo("enabled");
        }
    }

    @Test
    void afterARotationRequestsAreSignedWithTheNewAndThePreviousSecret() throws Exception {
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(FAST)) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("*"));
            JsonNode endpoint = partner.webhook(Map.of("url", receiver.url("/signed")));
            String rotated = rotateSecret(partner, endpoint);
            writeRooms(partner, 1);
            await().until(() -> receiver.received().size() == 1);
            Receiver.Received request = receiver.received().getFirst();
            assertThat(request.header("webhook-signature").split(" ")).hasSize(2);
            new Webhook(rotated).verify(request.body(), request.headers());
            new Webhook(endpoint.get("secret").asText()).verify(request.body(), request.headers());

            // Rotating again and again keeps the newest three signing, not one more each time.
            List<String> secrets =
                    new ArrayList<>(List.of(endpoint.get("secret").asText(), rotated));
            for (int i = 0; i < 5; i++) {
                secrets.add(rotateSecret(partner, endpoint));
            }
            Receiver.Received later = nextSignedWith(receiver, partner, secrets.getLast());
            assertThat(later.header("webhook-signature").split(" ")).hasSize(EndpointStore.SIGNING_SECRETS);
            for (String secret : secrets.subList(secrets.size() - EndpointStore.SIGNING_SECRETS, secrets.size())) {
                new Webhook(secret).verify(later.body(), later.headers());
            }

            // Rotations at once take turns: still three.
            try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 10; i++) {
                    threads.submit(() -> rotateSecret(partner, endpoint));
                }
            }
            int seen = receiver.received().size();
            writeRooms(partner, 1);
            await().until(() -> receiver.received().size() > seen);
            assertThat(receiver.received().getLast().header("webhook-signature").split(" "))
                    .hasSize(EndpointStore.SIGNING_SECRETS);
        }
    }

    @Test
    void noDatabaseTransactionIsOpenWhileARequestIsInFlight() throws Exception {
        CountDownLatch inFlight = new CountDownLatch(1);
        CountDownLatch checked = new CountDownLatch(1);
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(FAST)) {
            server.createCollection("rooms");
            receiver.answer(r -> {
                inFlight.countDown();
                try {
                    checked.await(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return Reply.status(200);
            });
            Partner partner = Partner.create(server, List.of("*"));
            partner.webhook(Map.of("url", receiver.url("/slow")));
            writeRooms(partner, 1);
            assertThat(inFlight.await(10, TimeUnit.SECONDS)).isTrue();
            // A transaction held across the request would have been idle since before it was sent. The
            // dispatcher's claims (every 100 ms) are each a moment idle in their own short transaction.
            Thread.sleep(500);
            try (Connection c = DriverManager.getConnection(server.database().jdbcUrl());
                    ResultSet rs = c.createStatement()
                            .executeQuery("SELECT count(*) FROM pg_stat_activity"
                                    + " WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
                                    + " AND state_change < now() - interval '400 milliseconds'"
                                    + " AND pid <> pg_backend_pid()")) {
                rs.next();
                assertThat(rs.getInt(1)).isZero();
            } finally {
                checked.countDown();
            }
            await().until(() -> receiver.received().size() == 1);
        }
    }

    /** A stream that never goes idle keeps its keys in memory: a rotated-out secret must still stop signing on time. */
    @Test
    void aRotatedOutSecretStopsSigningWhenItsGracePeriodEndsOnAStreamThatNeverRests() throws Exception {
        Map<String, String> env = new java.util.HashMap<>(FAST);
        env.put("SWITCHBOARD_WEBHOOKS_SECRET_GRACE_PERIOD", "2s");
        try (Receiver receiver = new Receiver();
                TestServer server = TestServer.start(env)) {
            server.createCollection("rooms");
            Partner partner = Partner.create(server, List.of("*"));
            JsonNode endpoint = partner.webhook(Map.of("url", receiver.url("/busy")));
            writeRooms(partner, 1);
            await().until(() -> receiver.received().size() == 1);
            String rotated = rotateSecret(partner, endpoint);
            // A room every 200 ms for 4 s: the stream's worker lingers for more and never lets go of its route.
            long until = System.nanoTime() + Duration.ofSeconds(4).toNanos();
            int written = 1;
            while (System.nanoTime() < until) {
                writeRooms(partner, 1);
                written++;
                Thread.sleep(200);
            }
            int events = written;
            await().until(() -> receiver.received().stream()
                            .mapToInt(r -> r.json().get("events").size())
                            .sum()
                    >= events);
            Receiver.Received last = receiver.received().getLast();
            assertThat(last.header("webhook-signature").split(" "))
                    .as("signatures on a request sent 2 s after the previous secret's grace period ended")
                    .hasSize(1);
            new Webhook(rotated).verify(last.body(), last.headers());
        }
    }

    /**
     * The first request, of rooms written one at a time, that {@code secret} signs. A rotation reaches a
     * stream's worker through the control channel just after the API has answered, so the request for an
     * event written at once may still carry the keys the worker read before it.
     */
    private static Receiver.Received nextSignedWith(Receiver receiver, Partner partner, String secret) {
        return await().atMost(Duration.ofSeconds(20))
                .until(
                        () -> {
                            int seen = receiver.received().size();
                            writeRooms(partner, 1);
                            await().until(() -> receiver.received().size() > seen);
                            Receiver.Received last = receiver.received().getLast();
                            try {
                                new Webhook(secret).verify(last.body(), last.headers());
                                return last;
                            } catch (Exception notYet) {
                                return null;
                            }
                        },
                        java.util.Objects::nonNull);
    }

    /** Rotates the endpoint's signing secret and returns the new one. */
    private static String rotateSecret(Partner partner, JsonNode endpoint) {
        return partner.client()
                .post("/api/v1/webhooks/" + endpoint.get("id").asText() + "/rotate-secret", "")
                .expect(200)
                .json()
                .get("secret")
                .asText();
    }

    private static void writeRooms(Partner partner, int count) {
        partner.writeRecords("rooms", count, Map.of("state", "free"));
    }
}
