package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.legato.storage.readside.Rows;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.JournalProtocol;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProjectionTest {
  @TempDir Path dataDir;
  ActorSystem system;
  JournalProbe journal;
  SessionStorage storage;

  @BeforeEach
  void start() {
    system = ActorSystem.create("projection", TestConfigs.storage(dataDir, TestConfigs.WITH_PROJECTION));
    journal = new JournalProbe(system);
    storage = SessionStorage.get(system);
  }

  @AfterEach
  void stop() {
    TestKit.shutdownActorSystem(system);
  }

  @Test
  void eventsBecomeReadSideRowsInTheirOwnTransaction() throws Exception {
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    assertTrue(JournalProbe.succeeded(journal.write(id, 1,
        List.of("turn t1 started", "message m1 t1 user hello there"),
        List.of("item i1 t1 commandExecution inProgress {\"command\":\"ls\"}", "approval a1 t1 command"),
        List.of("approval a1 t1 command accept", "item i1 t1 commandExecution completed {\"exit\":0}",
            "diff t1 i2 src/A.java update @@-1+1@@", "plan p1 t1 [{\"step\":\"x\",\"status\":\"completed\"}]"),
        List.of("message m2 t1 assistant done", "turn t1 completed 10 20", "memory lang java",
            "summary the user asked for ls"))));

    Snapshot rows = storage.readThread(thread, Snapshot::of).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(1, rows.turns.size());
    Rows.Turn turn = rows.turns.get(0);
    assertEquals("completed", turn.status());
    assertEquals(10L, turn.inputTokens());
    assertEquals(20L, turn.outputTokens());
    assertEquals(List.of("hello there", "done"), rows.messages.stream().map(Rows.Message::text).toList());
    assertEquals(1, rows.elements.size());
    assertEquals("completed", rows.elements.get(0).status());
    assertEquals("{\"exit\":0}", rows.elements.get(0).payload());
    assertEquals("accept", rows.approvals.get(0).decision());
    assertEquals(List.of(), rows.pending);
    assertEquals("src/A.java", rows.diffs.get(0).path());
    assertEquals("p1", rows.plans.get(0).planId());
    assertEquals("java", rows.memories.get(0).value());
    assertEquals("the user asked for ls", rows.summaries.get(0).summary());
  }

  @Test
  void aMessageStreamedInWindowsGrowsByAppendingAndTheWholeMessageReplacesIt() throws Exception {
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    assertTrue(JournalProbe.succeeded(journal.write(id, 1,
        List.of("turn t1 started", "append m1 t1 assistant Hello,"),
        List.of("append m1 t1 assistant  wor", "append m1 t1 assistant ld"))));
    Snapshot partial = storage.readThread(thread, Snapshot::of).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(List.of("Hello, world"), partial.messages.stream().map(Rows.Message::text).toList());

    assertTrue(JournalProbe.succeeded(journal.writeOne(id, 5, "message m1 t1 assistant Hello, world!")));
    Snapshot whole = storage.readThread(thread, Snapshot::of).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(List.of("Hello, world!"), whole.messages.stream().map(Rows.Message::text).toList());
  }

  @Test
  void aFailingProjectionRejectsItsWriteAndRollsBackItsEventsAndRows() throws Exception {
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    assertTrue(JournalProbe.succeeded(journal.writeOne(id, 1, "turn t1 started")));

    // One call, three atomic writes: the middle one fails in the projection after writing rows.
    List<Object> answers = journal.write(id, 2,
        List.of("message m1 t1 user first"),
        List.of("message m2 t1 user second", "memory-then-fail k v"),
        List.of("message m4 t1 user fourth"));
    assertInstanceOf(JournalProtocol.WriteMessageSuccess.class, answers.get(0));
    JournalProtocol.WriteMessageRejected rejected = assertInstanceOf(JournalProtocol.WriteMessageRejected.class, answers.get(1));
    assertTrue(rejected.cause().getMessage().contains("projection refused"), rejected.cause().toString());
    assertInstanceOf(JournalProtocol.WriteMessageRejected.class, answers.get(2));
    assertInstanceOf(JournalProtocol.WriteMessageSuccess.class, answers.get(3));

    assertEquals(List.of("turn t1 started", "message m1 t1 user first", "message m4 t1 user fourth"), journal.replay(id));
    Snapshot rows = storage.readThread(thread, Snapshot::of).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(List.of("first", "fourth"), rows.messages.stream().map(Rows.Message::text).toList());
    assertEquals(List.of(), rows.memories);

    // A write that is alone in its transaction is rolled back whole, too.
    assertInstanceOf(JournalProtocol.WriteMessageRejected.class, journal.writeOne(id, 6, "fail").get(0));
    assertEquals(5, journal.highestSequenceNr(id));
  }

  @Test
  void memoryDbIsRebuiltFromTheJournalWhenItFallsOutOfStep() throws Exception {
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    assertTrue(JournalProbe.succeeded(journal.write(id, 1,
        List.of("memory lang java"), List.of("memory editor vim"), List.of("summary s1"), List.of("memory editor emacs"))));
    storage.closeThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);

    // What an operating-system crash can leave behind: memory.db lost its last commits, session.db did not.
    Path memoryDb = storage.layout().threadDirectory(thread).resolve(StorageLayout.MEMORY_FILE);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + memoryDb); Statement s = c.createStatement()) {
      s.executeUpdate("DELETE FROM summaries");
      s.executeUpdate("UPDATE memories SET value = 'vim', source_seq = 2 WHERE key = 'editor'");
    }

    Snapshot rows = storage.readThread(thread, Snapshot::of).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(List.of("editor=emacs", "lang=java"),
        rows.memories.stream().map(m -> m.key() + "=" + m.value()).toList());
    assertEquals(List.of("s1"), rows.summaries.stream().map(Rows.Summary::summary).toList());
  }

  /** Everything a thread's tables hold, read in one go. */
  record Snapshot(List<Rows.Turn> turns, List<Rows.Element> elements, List<Rows.Message> messages,
                  List<Rows.Approval> approvals, List<Rows.Approval> pending, List<Rows.Diff> diffs,
                  List<Rows.Plan> plans, List<Rows.Memory> memories, List<Rows.Summary> summaries) {
    static Snapshot of(ThreadDatabase db) {
      return new Snapshot(db.turns(), db.elements(), db.messages(), db.approvals(false), db.approvals(true),
          db.diffs("t1"), db.plans("t1"), db.memories(), db.summaries());
    }
  }
}
