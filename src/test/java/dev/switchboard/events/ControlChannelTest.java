package dev.switchboard.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.switchboard.config.ConfigLoader;
import dev.switchboard.db.Database;
import dev.switchboard.db.Jdbc;
import dev.switchboard.events.ControlMessage.ConnectionChanged;
import dev.switchboard.events.ControlMessage.IntegrationChanged;
import dev.switchboard.events.ControlMessage.Resync;
import dev.switchboard.events.ControlMessage.WebhookChanged;
import dev.switchboard.testing.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ControlChannelTest {
    private static Database database;

    @BeforeAll
    static void open() {
        database = Database.open(
                ConfigLoader.load(
                        Optional.empty(),
                        Map.of("SWITCHBOARD_DATABASE_URL", TestDatabase.create().jdbcUrl())),
                new SimpleMeterRegistry());
        Jdbc.withConnection(database.dataSource(), c -> Jdbc.update(c, "CREATE TABLE changes (n int)"));
    }

    @AfterAll
    static void close() {
        database.close();
    }

    /**
     * The listener's connection makes a round trip every second; a read that never ends (its packets
     * silently dropped after a failover) would leave the node deaf to other nodes for about 15 minutes,
     * until the kernel gave up retransmitting. With a read timeout, it reconnects and re-reads within seconds.
     */
    @Test
    void theListenersConnectionGivesUpOnADatabaseThatStopsAnsweringWithinSeconds() throws Exception {
        try (Connection c = database.openDedicatedConnection()) {
            assertThat(c.getNetworkTimeout()).isBetween(1, 15_000);
        }
    }

    @Test
    void aMessagePublishedInACommittedTransactionIsDeliveredHereOnceAfterTheCommit() {
        ControlChannel control = new ControlChannel();
        List<String> seen = new CopyOnWriteArrayList<>();
        control.subscribe(
                ConnectionChanged.class, m -> seen.add(m + " with " + committedChanges() + " change committed"));
        long before = committedChanges();

        Jdbc.inTransaction(database.dataSource(), c -> {
            Jdbc.update(c, "INSERT INTO changes VALUES (1)");
            control.publish(c, new ConnectionChanged(5));
            assertThat(seen).as("delivered before the commit").isEmpty();
            return null;
        });

        assertThat(seen).containsExactly(new ConnectionChanged(5) + " with " + (before + 1) + " change committed");
    }

    @Test
    void aMessagePublishedInARolledBackTransactionIsNotDelivered() {
        ControlChannel control = new ControlChannel();
        List<ControlMessage> seen = new CopyOnWriteArrayList<>();
        control.subscribe(ControlMessage.class, seen::add);

        assertThatThrownBy(() -> Jdbc.inTransaction(database.dataSource(), c -> {
                    control.publish(c, new WebhookChanged(9));
                    throw new IllegalStateException("the change failed after it was published");
                }))
                .hasMessageContaining("the change failed");

        assertThat(seen).isEmpty();
        Jdbc.inTransaction(
                database.dataSource(),
                c -> { // the thread carries nothing into its next transaction
                    control.publish(c, new WebhookChanged(10));
                    return null;
                });
        assertThat(seen).containsExactly(new WebhookChanged(10));
    }

    @Test
    void listenersHearOnlyTheTypesTheySubscribedToAndOneThatFailsStopsNoOther() {
        ControlChannel control = new ControlChannel();
        List<ControlMessage> integrations = new CopyOnWriteArrayList<>();
        List<ControlMessage> everything = new CopyOnWriteArrayList<>();
        control.subscribe(IntegrationChanged.class, m -> {
            throw new IllegalStateException("a broken listener");
        });
        control.subscribe(IntegrationChanged.class, integrations::add);
        control.subscribe(ControlMessage.class, everything::add);

        Jdbc.inTransaction(database.dataSource(), c -> {
            control.publish(c, new WebhookChanged(1));
            control.publish(c, new IntegrationChanged(2));
            return null;
        });

        assertThat(integrations).containsExactly(new IntegrationChanged(2));
        assertThat(everything).containsExactly(new WebhookChanged(1), new IntegrationChanged(2));
    }

    @Test
    void onAConnectionInAutocommitAMessageIsDeliveredAtOnce() {
        ControlChannel control = new ControlChannel();
        List<ControlMessage> seen = new CopyOnWriteArrayList<>();
        control.subscribe(WebhookChanged.class, seen::add);
        Jdbc.withConnection(database.dataSource(), c -> {
            control.publish(c, new WebhookChanged(3));
            assertThat(seen).containsExactly(new WebhookChanged(3));
            return null;
        });
    }

    @Test
    void aTransactionWhoseCommitTheChannelCannotSeeIsRefused() throws Exception {
        ControlChannel control = new ControlChannel();
        try (Connection c = database.dataSource().getConnection()) {
            c.setAutoCommit(false);
            try {
                assertThatThrownBy(() -> control.publish(c, new WebhookChanged(4)))
                        .isInstanceOf(IllegalStateException.class);
            } finally {
                c.rollback();
                c.setAutoCommit(true);
            }
        }
    }

    @Test
    void anotherNodeHearsTheMessageWhenItCommitsAndAResyncWhenItStartsListening() {
        ControlChannel here = new ControlChannel();
        ControlChannel there = new ControlChannel();
        List<ControlMessage> heardThere = new CopyOnWriteArrayList<>();
        there.subscribe(ControlMessage.class, heardThere::add);
        try (EventWakeups listener = new EventWakeups(database, "node_there", there, new SimpleMeterRegistry())) {
            listener.start();
            await().atMost(Duration.ofSeconds(10)).until(listener::listening);
            await().atMost(Duration.ofSeconds(10)).until(() -> heardThere.contains(new Resync()));

            Jdbc.inTransaction(database.dataSource(), c -> {
                here.publish(c, new ConnectionChanged(77));
                return null;
            });

            await().atMost(Duration.ofSeconds(10)).until(() -> heardThere.contains(new ConnectionChanged(77)));
        }
    }

    private static long committedChanges() {
        return Jdbc.withConnection(
                database.dataSource(),
                c -> Jdbc.one(c, "SELECT count(*) FROM changes", rs -> rs.getLong(1))
                        .orElseThrow());
    }
}
