package dev.switchboard.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.config.CollectionDefinition;
import dev.switchboard.config.ConfigException;
import dev.switchboard.config.ConfigLoader;
import dev.switchboard.db.Database;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.events.ControlMessage.CollectionsChanged;
import dev.switchboard.testing.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class CollectionStoreTest {
    /**
     * Each create races with reloads started just before it, as control messages from other nodes start
     * them: some read the collections before the create commits and publish after the create's own reload.
     * Without reloads taking turns, about one create in twenty-five here loses its collection (300 creates
     * fail essentially always); with them, none does. Reloaders that loop instead of starting per create
     * prove the same, but starve the create of the lock and take a minute.
     */
    @Test
    void aCreatedCollectionIsKnownAtOnceEvenWhileOtherReloadsRun() throws Exception {
        var config = ConfigLoader.load(
                Optional.empty(),
                Map.of(
                        "SWITCHBOARD_DATABASE_URL",
                        TestDatabase.create().jdbcUrl(),
                        "SWITCHBOARD_DATABASE_POOL_SIZE",
                        "8"));
        try (Database database = Database.open(config, new SimpleMeterRegistry())) {
            ControlChannel control = new ControlChannel();
            CollectionStore collections = new CollectionStore(database.dataSource(), control);
            control.subscribe(CollectionsChanged.class, m -> collections.reload()); // as the composition root does
            for (int i = 0; i < 300; i++) {
                List<Thread> reloaders = IntStream.range(0, 3)
                        .mapToObj(n -> Thread.ofVirtual().start(() -> {
                            collections.reload();
                            collections.reload();
                        }))
                        .toList();
                String name = "c" + i;
                collections.create(new CollectionDefinition(name, null, List.of()));
                assertThat(collections.exists(name))
                        .as(name + " right after its create")
                        .isTrue();
                for (Thread t : reloaders) {
                    t.join();
                }
                assertThat(collections.exists(name))
                        .as(name + " after the reloads that raced with its create")
                        .isTrue();
            }
        }
    }

    /**
     * A name this node does not know is looked up in the database before anything is reloaded: a collection
     * just created on another node is found, and a name that exists nowhere (sent on every request by a
     * careless or hostile client) costs one indexed read, not a reload and a schema compile of every collection.
     */
    @Test
    void anUnknownNameReloadsOnlyWhenTheCollectionExists() throws Exception {
        try (Database database = TestDatabase.open()) {
            // Two nodes' stores whose control channels do not reach each other.
            CollectionStore here = new CollectionStore(database.dataSource(), new ControlChannel());
            CollectionStore there = new CollectionStore(database.dataSource(), new ControlChannel());
            here.reload();
            there.create(new CollectionDefinition("first", null, List.of()));

            assertThat(here.find("nowhere")).isEmpty();
            assertThat(here.list())
                    .as("reloaded for a name that exists nowhere")
                    .isEmpty();
            assertThat(here.find("first")).as("created on the other node").isPresent();
        }
    }

    /**
     * A node started with a changed collection in its configuration tells the others, which would otherwise
     * keep the old schema and event fields until their own restart.
     */
    @Test
    void aDeclaredCollectionThatChangedIsAnnouncedToTheOtherNodesAndAnUnchangedOneIsNot() {
        try (Database database = TestDatabase.open()) {
            ControlChannel control = new ControlChannel();
            CollectionStore starting = new CollectionStore(database.dataSource(), control);
            CollectionStore running = new CollectionStore(database.dataSource(), new ControlChannel());
            AtomicInteger announced = new AtomicInteger();
            control.subscribe(CollectionsChanged.class, m -> {
                announced.incrementAndGet();
                running.reload(); // as the other node does when the notice arrives
            });
            starting.syncDeclared(List.of(new CollectionDefinition("guests", null, List.of("name", "email"))));
            assertThat(running.get("guests").eventFields()).containsExactly("name", "email");

            starting.syncDeclared(List.of(new CollectionDefinition("guests", null, List.of("name"))));
            assertThat(running.get("guests").eventFields())
                    .as("the other node's event fields once the changed configuration started")
                    .containsExactly("name");
            starting.syncDeclared(List.of(new CollectionDefinition("guests", null, List.of("name"))));
            assertThat(announced).as("announced once per change").hasValue(2);
        }
    }

    /**
     * An announced change this node could not read (its database briefly unreadable) is read before the
     * node next uses a collection: the announcement comes once, and nothing else would bring the change.
     */
    @Test
    void aChangeThatCouldNotBeReadWhenAnnouncedIsReadBeforeTheNextUse() throws Exception {
        try (Database database = TestDatabase.open()) {
            CollectionStore starting = new CollectionStore(database.dataSource(), new ControlChannel());
            CollectionStore running = new CollectionStore(database.dataSource(), new ControlChannel());
            starting.syncDeclared(List.of(new CollectionDefinition("guests", null, List.of("name", "email"))));
            running.reload();
            starting.syncDeclared(List.of(new CollectionDefinition("guests", null, List.of("name"))));

            try (var c = database.dataSource().getConnection();
                    var s = c.createStatement()) {
                s.execute("ALTER TABLE collections RENAME TO collections_away"); // the reload fails
                running.reloadAnnounced();
                s.execute("ALTER TABLE collections_away RENAME TO collections");
            }

            assertThat(running.get("guests").eventFields())
                    .as("the running node's event fields at its next use")
                    .containsExactly("name");
        }
    }

    @Test
    void aDeclaredCollectionWithAnInvalidNameIsAConfigurationErrorNamingIt() {
        try (Database database = TestDatabase.open()) {
            CollectionStore collections = new CollectionStore(database.dataSource(), new ControlChannel());
            // It failed the start with a stack trace and status 1, like a crash rather than a typo.
            assertThatThrownBy(() -> collections.syncDeclared(List.of(
                            new CollectionDefinition("orders", null, List.of()),
                            new CollectionDefinition("Orders", null, List.of()))))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("collections[1].name: must be");
            assertThat(collections.exists("Orders")).isFalse();
        }
    }
}
