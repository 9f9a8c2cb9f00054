package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.legato.storage.readside.Rows;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.jdk.javaapi.CollectionConverters;

/** Close, delete, read, the bounded set of open files, and group commit. */
class LifecycleTest {
  @TempDir Path dataDir;
  ActorSystem system;
  JournalProbe journal;
  SessionStorage storage;

  void start(String extra) {
    system = ActorSystem.create("lifecycle", TestConfigs.storage(dataDir, TestConfigs.WITH_PROJECTION + extra));
    journal = new JournalProbe(system);
    storage = SessionStorage.get(system);
  }

  @AfterEach
  void stop() {
    TestKit.shutdownActorSystem(system);
  }

  @Test
  void aLiveThreadIsReadThroughItsWriterAndAClosedOneDirectly() throws Exception {
    start("");
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    assertTrue(JournalProbe.succeeded(journal.write(id, 1, List.of("message m1 t1 user hi", "memory k v"))));

    assertEquals(List.of("hi"), texts(storage.readThread(thread, ThreadDatabase::messages).toCompletableFuture().get()));
    // The writer holds its file exclusively; once closed (archive) anyone may read it.
    storage.closeThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);
    try (ThreadDatabase db = storage.openReadOnly(thread)) {
      assertEquals(List.of("hi"), texts(db.messages()));
      assertEquals("v", db.memories().get(0).value());
    }
    // ... and writing reopens it transparently.
    assertTrue(JournalProbe.succeeded(journal.writeOne(id, 3, "message m2 t1 assistant hello")));
    assertEquals(List.of("hi", "hello"), texts(storage.readThread(thread, ThreadDatabase::messages).toCompletableFuture().get()));
  }

  @Test
  void foldersOfThreadsThatNeverRecordedAnEventAreRemovedAndEveryOtherFolderStays() throws Exception {
    start("");
    UUID prepared = UUID.randomUUID();
    storage.prepareThread(prepared).toCompletableFuture().get(10, TimeUnit.SECONDS);
    UUID recorded = UUID.randomUUID();
    assertTrue(JournalProbe.succeeded(journal.write(StorageLayout.threadPersistenceId(recorded), 1,
        List.of("message m1 t1 user hi"))));
    Path sessions = dataDir.resolve("sessions");
    UUID bare = UUID.randomUUID();
    Files.createDirectories(sessions.resolve(bare.toString())); // a crash before its database was placed
    Files.createDirectories(sessions.resolve("notes")); // not a thread: not ours to judge
    TestKit.shutdownActorSystem(system); // the prepared thread was never created

    start("");
    UUID inUse = UUID.randomUUID();
    storage.prepareThread(inUse).toCompletableFuture().get(10, TimeUnit.SECONDS); // this process's own spare
    assertEquals(2, storage.removeThreadsWithoutEvents().toCompletableFuture().get(30, TimeUnit.SECONDS));
    assertFalse(Files.exists(sessions.resolve(prepared.toString())));
    assertFalse(Files.exists(sessions.resolve(bare.toString())));
    assertTrue(Files.exists(sessions.resolve(inUse.toString()).resolve("session.db")));
    assertTrue(Files.isDirectory(sessions.resolve("notes")));
    assertEquals(List.of("hi"), texts(storage.readThread(recorded, ThreadDatabase::messages).toCompletableFuture().get()));
  }

  @Test
  void deleteRemovesTheThreadsFolderAndForgetsIt() throws Exception {
    start("");
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    assertTrue(JournalProbe.succeeded(journal.write(id, 1, List.of("message m1 t1 user hi", "memory k v"))));
    Path folder = storage.layout().threadDirectory(thread);
    assertTrue(Files.exists(folder.resolve("session.db")));
    assertTrue(Files.exists(folder.resolve("memory.db")));

    storage.deleteThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertFalse(Files.exists(folder));
    assertEquals(0, journal.highestSequenceNr(id));
    assertEquals(List.of(), journal.replay(id));
    ExecutionException missing = assertThrows(ExecutionException.class,
        () -> storage.readThread(thread, ThreadDatabase::messages).toCompletableFuture().get());
    assertTrue(missing.getCause().getMessage().contains("has no database"), missing.getCause().getMessage());
    assertFalse(Files.exists(folder), "reading a deleted thread must not recreate it");
  }

  @Test
  void openFilesStayWithinTheLimitAndEvictedOnesReopen() throws Exception {
    start("legato.storage.max-open-databases = 5");
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      ids.add(StorageLayout.threadPersistenceId(UUID.randomUUID()));
    }
    for (int round = 1; round <= 3; round++) {
      for (String id : ids) {
        assertTrue(JournalProbe.succeeded(journal.writeOne(id, round, "message m" + round + " t user r" + round)));
        assertTrue(storage.openDatabases() <= 6, "open: " + storage.openDatabases());
      }
    }
    for (String id : ids) {
      assertEquals(List.of("message m1 t user r1", "message m2 t user r2", "message m3 t user r3"), journal.replay(id));
    }
  }

  @Test
  void writesThatQueueUpCommitTogetherInOrder() throws Exception {
    start("");
    Databases databases = storage.databases();
    String id = StorageLayout.threadPersistenceId(UUID.randomUUID());
    CountDownLatch running = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CompletableFuture<Long> blocker = databases.run(id, db -> {
      running.countDown();
      release.await(10, TimeUnit.SECONDS);
      return db.highestSequenceNr();
    });
    assertTrue(running.await(10, TimeUnit.SECONDS)); // the writer is busy: everything below queues behind it
    long commitsBefore = databases.commits();
    List<CompletableFuture<List<java.util.Optional<Exception>>>> writes = new ArrayList<>();
    for (int seq = 1; seq <= 100; seq++) {
      PersistentRepr repr = PersistentRepr.apply("message m" + seq + " t user " + seq, seq, id, "", false, null, "w");
      writes.add(databases.write(id, List.of(new AtomicWrite(CollectionConverters.asScala(List.of(repr)).toList()))));
    }
    release.countDown();
    assertEquals(0L, blocker.get(10, TimeUnit.SECONDS));
    for (CompletableFuture<List<java.util.Optional<Exception>>> write : writes) {
      assertEquals(List.of(java.util.Optional.empty()), write.get(10, TimeUnit.SECONDS));
    }
    assertEquals(1, databases.commits() - commitsBefore, "100 queued writes, one transaction");
    List<Object> replayed = journal.replay(id);
    assertEquals(100, replayed.size());
    assertEquals("message m100 t user 100", replayed.get(99));
  }

  private static List<String> texts(List<Rows.Message> messages) {
    return messages.stream().map(Rows.Message::text).toList();
  }
}
