package dev.switchboard.store;

import dev.switchboard.config.CollectionDefinition;
import dev.switchboard.config.ConfigLoader;
import dev.switchboard.db.Database;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.events.ControlMessage.CollectionsChanged;
import dev.switchboard.testing.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class CollectionStoreTest {
    @Test
    void aCreatedCollectionIsKnownAtOnceEvenWhileOtherReloadsRun() throws Exception {
        var config = ConfigLoader.load(Optional.empty(),
                Map.of("SWITCHBOARD_DATABASE_URL", TestDatabase.create().jdbcUrl(), "SWITCHBOARD_DATABASE_POOL_SIZE", "8"));
        try (Database database = Database.open(config, new SimpleMeterRegistry())) {
            ControlChannel control = new ControlChannel();
            CollectionStore collections = new CollectionStore(database.dataSource(), control);
            control.subscribe(CollectionsChanged.class, m -> collections.reload()); // as the composition root does
            AtomicBoolean running = new AtomicBoolean(true);
            List<Thread> reloaders = java.util.stream.IntStream.range(0, 6).mapToObj(i -> Thread.ofVirtual()
                    .start(() -> {
                        while (running.get()) {
                            collections.reload();
                        }
                    })).toList();
            try {
                for (int i = 0; i < 300; i++) {
                    collections.create(new CollectionDefinition("c" + i, null, List.of()));
                    assertThat(collections.exists("c" + i)).as("c" + i).isTrue();
                }
            } finally {
                running.set(false);
                for (Thread t : reloaders) {
                    t.join();
                }
            }
        }
    }
}
