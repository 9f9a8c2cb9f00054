package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pekko Persistence Query over the journal: a persistenceId's events, in pages, in order. */
class ReadJournalTest {
  @TempDir Path dataDir;
  ActorSystem system;
  SqliteReadJournal query;

  @BeforeEach
  void start() {
    system = ActorSystem.create("read-journal", TestConfigs.storage(dataDir));
    query = PersistenceQuery.get(system).getReadJournalFor(SqliteReadJournal.class, SqliteReadJournal.IDENTIFIER);
  }

  @AfterEach
  void stop() {
    TestKit.shutdownActorSystem(system);
  }

  List<EventEnvelope> events(String id, long from, long to) throws Exception {
    return query.currentEventsByPersistenceId(id, from, to).runWith(Sink.seq(), system).toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }

  @Test
  void eventsComeBackInOrderAcrossPagesAndWithinBounds() throws Exception {
    String id = StorageLayout.threadPersistenceId(UUID.randomUUID());
    JournalProbe journal = new JournalProbe(system);
    List<List<?>> batch = new ArrayList<>();
    for (int i = 1; i <= 600; i++) {
      batch.add(List.of("event " + i));
    }
    assertTrue(JournalProbe.succeeded(journal.write(id, 1, batch.toArray(List[]::new))));

    List<EventEnvelope> all = events(id, 0, Long.MAX_VALUE);
    assertEquals(600, all.size());
    for (int i = 0; i < all.size(); i++) {
      assertEquals(i + 1, all.get(i).sequenceNr());
      assertEquals("event " + (i + 1), all.get(i).event());
    }
    List<EventEnvelope> middle = events(id, 300, 450);
    assertEquals(151, middle.size());
    assertEquals(300, middle.get(0).sequenceNr());
    assertEquals(450, middle.get(150).sequenceNr());
    assertEquals(List.of(), events(id, 601, Long.MAX_VALUE));
  }

  @Test
  void anUnknownIdHasNoEventsAndGetsNoFile() throws Exception {
    UUID thread = UUID.randomUUID();
    assertEquals(List.of(), events(StorageLayout.threadPersistenceId(thread), 1, Long.MAX_VALUE));
    assertFalse(Files.exists(new StorageLayout(dataDir).threadDirectory(thread)));
  }
}
