package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.JournalProtocol;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad ids, bad files and a full disk: each a clear error, none harming another thread's data. */
class BadInputTest {
  @TempDir Path dataDir;
  ActorSystem system;
  JournalProbe journal;

  void start(String extraConfig) {
    system = ActorSystem.create("bad-input", TestConfigs.storage(dataDir, extraConfig));
    journal = new JournalProbe(system);
  }

  @AfterEach
  void stop() {
    if (system != null) {
      TestKit.shutdownActorSystem(system);
    }
  }

  @Test
  void invalidPersistenceIdsAreRejectedAndTouchNothing() throws Exception {
    start("");
    for (String id : List.of("Thread|../../escape", "Thread|NOT-A-UUID", "", "nul\u0000byte")) {
      JournalProtocol.WriteMessageRejected rejected =
          assertInstanceOf(JournalProtocol.WriteMessageRejected.class, journal.writeOne(id, 1, "event").get(0));
      assertInstanceOf(InvalidPersistenceIdException.class, rejected.cause());
      assertTrue(rejected.cause().getMessage().contains("persistenceId"), rejected.cause().getMessage());
    }
    try (Stream<Path> files = Files.walk(dataDir.getParent(), 1)) {
      assertTrue(files.noneMatch(p -> p.getFileName().toString().equals("escape")));
    }
    try (Stream<Path> files = Files.list(dataDir)) {
      assertEquals(0, files.count(), "nothing may be created for a refused id");
    }
    // The journal keeps working for valid ids.
    assertTrue(JournalProbe.succeeded(journal.writeOne(StorageLayout.threadPersistenceId(UUID.randomUUID()), 1, "ok")));
  }

  @Test
  void aCorruptFileFailsItsOwnThreadOnlyAndStaysAsItWas() throws Exception {
    start("");
    UUID healthy = UUID.randomUUID();
    UUID corrupt = UUID.randomUUID();
    assertTrue(JournalProbe.succeeded(journal.writeOne(StorageLayout.threadPersistenceId(healthy), 1, "before")));
    Path file = SessionStorage.get(system).layout().threadDirectory(corrupt).resolve("session.db");
    Files.createDirectories(file.getParent());
    byte[] garbage = "this is not a database, just forty-odd bytes of text".repeat(100).getBytes(StandardCharsets.UTF_8);
    Files.write(file, garbage);

    List<Object> answers = journal.writeOne(StorageLayout.threadPersistenceId(corrupt), 1, "event");
    JournalProtocol.WriteMessagesFailed failed = assertInstanceOf(JournalProtocol.WriteMessagesFailed.class, answers.get(0));
    assertTrue(failed.cause().getMessage().contains(file.toString()), failed.cause().getMessage());
    assertTrue(failed.cause().getMessage().contains("not a database"), failed.cause().getMessage());
    assertArrayEquals(garbage, Files.readAllBytes(file));

    assertTrue(JournalProbe.succeeded(journal.writeOne(StorageLayout.threadPersistenceId(healthy), 2, "after")));
    assertEquals(List.of("before", "after"), journal.replay(StorageLayout.threadPersistenceId(healthy)));
  }

  @Test
  void aForeignSqliteFileOrANewerSchemaIsRefusedUnchanged() throws Exception {
    start("");
    UUID foreign = UUID.randomUUID();
    Path file = SessionStorage.get(system).layout().threadDirectory(foreign).resolve("session.db");
    Files.createDirectories(file.getParent());
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
      s.execute("INSERT INTO customers (name) VALUES ('someone else''s data')");
    }
    byte[] before = Files.readAllBytes(file);
    JournalProtocol.WriteMessagesFailed failed = assertInstanceOf(JournalProtocol.WriteMessagesFailed.class,
        journal.writeOne(StorageLayout.threadPersistenceId(foreign), 1, "event").get(0));
    assertTrue(failed.cause().getMessage().contains("is not a Legato database"), failed.cause().getMessage());
    assertArrayEquals(before, Files.readAllBytes(file));

    UUID newer = UUID.randomUUID();
    String newerId = StorageLayout.threadPersistenceId(newer);
    assertTrue(JournalProbe.succeeded(journal.writeOne(newerId, 1, "event")));
    SessionStorage.get(system).closeThread(newer).toCompletableFuture().get(10, TimeUnit.SECONDS);
    Path newerFile = SessionStorage.get(system).layout().threadDirectory(newer).resolve("session.db");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + newerFile); Statement s = c.createStatement()) {
      s.execute("PRAGMA user_version = 99");
    }
    JournalProtocol.WriteMessagesFailed tooNew = assertInstanceOf(JournalProtocol.WriteMessagesFailed.class,
        journal.writeOne(newerId, 2, "event").get(0));
    assertTrue(tooNew.cause().getMessage().contains("newer than this Legato knows"), tooNew.cause().getMessage());
  }

  @Test
  void aFullDiskFailsTheWriteCleanlyAndKeepsWhatWasAcknowledged() throws Exception {
    start("legato.storage.max-database-size = 256KiB");
    String full = StorageLayout.threadPersistenceId(UUID.randomUUID());
    String other = StorageLayout.threadPersistenceId(UUID.randomUUID());
    String big = "x".repeat(3000);
    long seq = 1;
    Object last = null;
    for (; seq < 200; seq++) {
      List<Object> answers = journal.writeOne(full, seq, big + seq);
      last = answers.get(0);
      if (!(last instanceof JournalProtocol.WriteMessageSuccess)) {
        break;
      }
    }
    JournalProtocol.WriteMessagesFailed failed = assertInstanceOf(JournalProtocol.WriteMessagesFailed.class, last);
    assertTrue(failed.cause().getMessage().contains("full"), failed.cause().getMessage());
    long acknowledged = seq - 1;
    assertTrue(acknowledged > 5, "some writes fit before the limit");

    List<Object> replayed = journal.replay(full);
    assertEquals(acknowledged, replayed.size());
    assertEquals(big + acknowledged, replayed.get(replayed.size() - 1));
    assertTrue(JournalProbe.succeeded(journal.writeOne(other, 1, "unaffected")));

    SessionStorage.get(system).close(full).toCompletableFuture().get(10, TimeUnit.SECONDS);
    Path file = SessionStorage.get(system).layout().locate(full).database();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("PRAGMA integrity_check")) {
      r.next();
      assertEquals("ok", r.getString(1));
    }
  }

  @Test
  void aFolderThatCannotBeCreatedGivesAClearErrorForThatThreadOnly() throws Exception {
    start("");
    UUID blocked = UUID.randomUUID();
    Path sessions = dataDir.resolve("sessions");
    Files.createDirectories(sessions);
    Files.writeString(sessions.resolve(blocked.toString()), "a file where the thread's folder should be");

    JournalProtocol.WriteMessagesFailed failed = assertInstanceOf(JournalProtocol.WriteMessagesFailed.class,
        journal.writeOne(StorageLayout.threadPersistenceId(blocked), 1, "event").get(0));
    assertTrue(failed.cause().getMessage().contains("cannot create " + sessions.resolve(blocked.toString())),
        failed.cause().getMessage());
    assertTrue(JournalProbe.succeeded(journal.writeOne(StorageLayout.threadPersistenceId(UUID.randomUUID()), 1, "ok")));
  }

  @Test
  void aReadOnlyDataDirectoryGivesAClearError() throws Exception {
    Path readOnly = dataDir.resolve("read-only");
    Files.createDirectories(readOnly);
    assertTrue(readOnly.toFile().setWritable(false, false));
    try {
      // As root permissions are not enforced; the blocked-folder case covers the same failure path there.
      Assumptions.assumeFalse(Files.isWritable(readOnly), "file permissions are not enforced for this user");
      system = ActorSystem.create("read-only", TestConfigs.storage(readOnly));
      journal = new JournalProbe(system);
      JournalProtocol.WriteMessagesFailed failed = assertInstanceOf(JournalProtocol.WriteMessagesFailed.class,
          journal.writeOne(StorageLayout.threadPersistenceId(UUID.randomUUID()), 1, "event").get(0));
      assertTrue(failed.cause().getMessage().contains("cannot create"), failed.cause().getMessage());
      assertFalse(Files.exists(readOnly.resolve("sessions")));
    } finally {
      readOnly.toFile().setWritable(true, false);
    }
  }
}
