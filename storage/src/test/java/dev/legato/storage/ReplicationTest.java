package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.legato.storage.replica.FileTarget;
import dev.legato.storage.replica.NodeLog;
import dev.legato.storage.replica.ReplicaTarget;
import dev.legato.storage.replica.Replication;
import dev.legato.storage.replica.Restorer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicas in a folder (Litestream's {@code file} type): every committed transaction reaches the replica and
 * a restore gives the same rows; a lost disk is restored before recovery; a stale local copy is replaced by
 * the newer replica; a damaged segment stops a restore at the last whole transaction before it.
 */
class ReplicationTest {
  @TempDir Path dataDir;
  @TempDir Path otherDataDir;
  @TempDir Path replicas;
  @TempDir Path scratch;
  ActorSystem system;
  JournalProbe journal;
  SessionStorage storage;

  void start(Path data, String extra) {
    system = ActorSystem.create("replication", TestConfigs.storage(data, TestConfigs.WITH_PROJECTION
        + "legato.storage.replica { mode = async, sync-interval = 50ms, checkpoint-size = 64KiB, folder = \""
        + replicas + "\" }\n" + extra));
    journal = new JournalProbe(system);
    storage = SessionStorage.get(system);
  }

  void stop() {
    if (system != null) {
      TestKit.shutdownActorSystem(system, scala.concurrent.duration.Duration.create(60, TimeUnit.SECONDS), true);
      system = null;
    }
  }

  @AfterEach
  void tearDown() {
    stop();
  }

  Replication replication() {
    return storage.replication().orElseThrow();
  }

  void awaitShipped() throws InterruptedException {
    assertTrue(replication().drain(Duration.ofSeconds(30)), "the replica caught up");
  }

  /** Writes {@code count} events in writes of up to four, messages and memories, from sequence number {@code from}. */
  long write(String id, long from, int count, String tag) {
    long seq = from;
    int written = 0;
    while (written < count) {
      List<String> events = new ArrayList<>();
      for (int i = 0; i < 1 + (written % 4) && written < count; i++, written++) {
        events.add(written % 5 == 0
            ? "memory k" + (written % 7) + " " + tag + written
            : "message m" + tag + written + " t1 user " + tag + " text " + "x".repeat(written % 300));
      }
      assertTrue(JournalProbe.succeeded(journal.write(id, seq, events)), "write at " + seq);
      seq += events.size();
    }
    return seq;
  }

  static String root(UUID thread, String file) {
    return "sessions/" + thread + "/" + file;
  }

  @Test
  void everyCommittedTransactionReachesTheReplicaAndARestoreGivesTheSameRows() throws Exception {
    start(dataDir, "");
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    write(id, 1, 600, "a");
    awaitShipped();
    storage.closeThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);
    awaitShipped();

    ReplicaTarget target = new FileTarget(replicas);
    List<ReplicaTarget.Entry> objects = target.list(root(thread, "session.db") + "/generations/");
    assertTrue(objects.stream().anyMatch(o -> o.key().endsWith("/snapshots/00000000.snapshot.lz4")), objects.toString());
    assertTrue(objects.stream().anyMatch(o -> o.key().contains("/wal/00000001_00000000.wal.lz4")),
        "the log was checkpointed and a second WAL index begun: " + objects);

    Path local = dataDir.resolve("sessions").resolve(thread.toString());
    for (String file : List.of("session.db", "memory.db")) {
      Path restored = scratch.resolve(file);
      Restorer.Result result = Restorer.restoreInto(target, root(thread, file), null, null, restored);
      assertTrue(result.complete(), String.valueOf(result.problem()));
      assertEquals("ok", result.integrity());
      Map<String, List<String>> expected = ReplicaDumps.dump(local.resolve(file));
      assertEquals(expected, ReplicaDumps.dump(restored), file);
    }
    assertEquals(600, ReplicaDumps.rows(ReplicaDumps.dump(scratch.resolve("session.db")), "journal"));
  }

  @Test
  void anIdleFileCostsNoUploads() throws Exception {
    start(dataDir, "");
    UUID thread = UUID.randomUUID();
    write(StorageLayout.threadPersistenceId(thread), 1, 10, "a");
    awaitShipped();
    long objects = replication().figures().objectsShipped();
    Thread.sleep(500); // ten sync intervals
    assertEquals(objects, replication().figures().objectsShipped());
  }

  @Test
  void aLostDiskIsRestoredBeforeRecoveryAndTheNextWriterBeginsANewGeneration() throws Exception {
    start(dataDir, "");
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    long next = write(id, 1, 40, "a");
    awaitShipped();
    stop();

    start(otherDataDir, ""); // another node, or this one with a new disk: no local files
    assertEquals(40, storage.readThread(thread, ThreadDatabase::messages).toCompletableFuture().get(10, TimeUnit.SECONDS).size()
        + memoriesWritten(40));
    write(id, next, 10, "b");
    awaitShipped();
    List<String> generations = new FileTarget(replicas).children(root(thread, "session.db") + "/generations/");
    assertEquals(2, generations.size(), generations.toString());
    assertEquals(1, replication().figures().restores() / 2, "session.db and memory.db were restored");
  }

  /** Of {@code count} events written by {@link #write}, how many were memories. */
  static int memoriesWritten(int count) {
    int memories = 0;
    for (int i = 0; i < count; i++) {
      memories += i % 5 == 0 ? 1 : 0;
    }
    return memories;
  }

  @Test
  void aGenerationFolderLeftEmptyByAKillDuringItsFirstUploadIsPassedOver() throws Exception {
    start(dataDir, "");
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    write(id, 1, 20, "a");
    awaitShipped();
    stop();

    // What a process killed while storing a new generation's snapshot leaves (it began after the first
    // process stopped, so its name is greater): the folders, and the temporary file FileTarget.put writes
    // before renaming it into place. No object: Litestream sees no snapshot or segment in it and ignores it.
    ReplicaTarget target = new FileTarget(replicas);
    String root = root(thread, "session.db");
    List<String> generations = target.children(root + "/generations/");
    assertEquals(1, generations.size(), generations.toString());
    String later = String.format("%012x", Long.parseLong(generations.get(0).substring(0, 12), 16) + 1000) + "beef";
    Path cutShort = replicas.resolve(root).resolve("generations").resolve(later).resolve("snapshots")
        .resolve("00000000.snapshot.lz4.5e1f00d0c0ffee00.tmp");
    Files.createDirectories(cutShort.getParent());
    Files.write(cutShort, java.util.Arrays.copyOf(Files.readAllBytes(replicas.resolve(root).resolve("generations")
        .resolve(generations.get(0)).resolve("snapshots").resolve("00000000.snapshot.lz4")), 40));

    assertEquals(generations, target.children(root + "/generations/"), "a folder without objects is no generation");
    Path restored = scratch.resolve("session.db");
    Restorer.Result result = Restorer.restoreInto(target, root, null, null, restored);
    assertTrue(result.complete(), String.valueOf(result.problem()));
    assertEquals(generations.get(0), result.generation());
    assertEquals(20, ReplicaDumps.rows(ReplicaDumps.dump(restored), "journal"));
    Path byLitestream = scratch.resolve("litestream-session.db");
    Litestream.restore(Litestream.binary(), target.litestreamUrl(root), byLitestream);
    assertEquals(ReplicaDumps.dump(restored), ReplicaDumps.dump(byLitestream), "the stock litestream passes it over too");

    start(otherDataDir, ""); // a lost disk: the thread is restored before recovery, from the generation that has objects
    assertEquals(20, journal.replay(id).size());
  }

  @Test
  void aStaleLocalCopyIsReplacedByTheNewerReplicaOfAnotherWriter() throws Exception {
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    start(dataDir, "");
    long next = write(id, 1, 20, "a");
    awaitShipped();
    stop();

    start(otherDataDir, ""); // the thread moved: this node restores it and writes on
    next = write(id, next, 20, "b");
    awaitShipped();
    stop();

    start(dataDir, ""); // back on the first node, whose copy is older than the replica: never used
    List<?> messages = storage.readThread(thread, ThreadDatabase::messages).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(40 - memoriesWritten(20) * 2, messages.size());
    assertEquals(next - 1, storage.readThread(thread, db -> db.messages().size()).toCompletableFuture().get()
        + memoriesWritten(20) * 2);
  }

  @Test
  void aDamagedSegmentStopsTheRestoreAtTheLastWholeTransactionAndSaysSo() throws Exception {
    // one WAL index, no compaction: the damaged segment is one the restore must read
    start(dataDir, "legato.storage.replica.checkpoint-size = 16MiB\n");
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    long next = write(id, 1, 30, "a");
    awaitShipped();
    write(id, next, 30, "b");
    awaitShipped();
    stop();

    ReplicaTarget target = new FileTarget(replicas);
    String root = root(thread, "session.db");
    List<ReplicaTarget.Entry> segments = target.list(root + "/generations/").stream()
        .filter(o -> o.key().contains("/wal/")).toList();
    assertTrue(segments.size() >= 2, segments.toString());
    ReplicaTarget.Entry last = segments.get(segments.size() - 1);
    Path file = replicas.resolve(last.key());
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length / 2] ^= 0x5a; // one flipped byte: the LZ4 content checksum no longer holds
    Files.write(file, bytes);

    Path restored = scratch.resolve("session.db");
    Restorer.Result result = Restorer.restoreInto(target, root, null, null, restored);
    assertFalse(result.complete());
    assertTrue(result.problem().contains(last.key()), result.problem());
    assertEquals("ok", result.integrity());
    int journalRows = ReplicaDumps.rows(ReplicaDumps.dump(restored), "journal");
    assertTrue(journalRows >= 30 && journalRows < 60, "restored up to before the damaged segment: " + journalRows);

    // a truncated segment likewise
    Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length / 3));
    Restorer.Result truncated = Restorer.restoreInto(target, root, null, null, scratch.resolve("again.db"));
    assertNotNull(truncated.problem());
    assertEquals(journalRows, ReplicaDumps.rows(ReplicaDumps.dump(scratch.resolve("again.db")), "journal"));
  }

  @Test
  void aDeletedThreadStaysDeletedButItsReplicaStaysRestorable() throws Exception {
    start(dataDir, "");
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    write(id, 1, 12, "a");
    storage.deleteThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);
    awaitShipped();
    assertEquals(0, journal.highestSequenceNr(id), "no restore brings a deleted thread back by itself");
    stop();
    start(otherDataDir, "");
    assertEquals(0, journal.highestSequenceNr(id), "nor on another node");

    Path restored = scratch.resolve("session.db");
    Restorer.Result result = Restorer.restoreInto(new FileTarget(replicas), root(thread, "session.db"), null, null, restored);
    assertTrue(result.complete());
    assertEquals(12, ReplicaDumps.rows(ReplicaDumps.dump(restored), "journal"), "the replica kept every event");
  }

  @Test
  void ofTwoWritersOfOneThreadTheOlderStopsWritingAndTheNewerStateWins() throws Exception {
    String fast = "legato.storage.replica.fence-check-interval = 0s\n";
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    start(dataDir, fast);
    ActorSystem first = system;
    JournalProbe firstJournal = journal;
    SessionStorage firstStorage = storage;
    long next = write(id, 1, 10, "a");
    awaitShipped();
    system = null; // the first node stays up: a split brain, or a handover it has not noticed yet

    ActorSystem second = ActorSystem.create("second", TestConfigs.storage(otherDataDir, TestConfigs.WITH_PROJECTION
        + "legato.storage.replica { mode = async, sync-interval = 50ms, folder = \"" + replicas + "\" }\n" + fast));
    try {
      JournalProbe secondJournal = new JournalProbe(second);
      assertEquals(next - 1, secondJournal.highestSequenceNr(id), "the second node restored the thread");
      for (int i = 0; i < 5; i++) {
        assertTrue(JournalProbe.succeeded(secondJournal.writeOne(id, next + i, "message mb" + i + " t1 user from the second")));
      }
      assertTrue(SessionStorage.get(second).replication().orElseThrow().drain(Duration.ofSeconds(30)));

      // the first node writes on: its next upload finds the newer generation, and from then on it refuses
      assertTrue(JournalProbe.succeeded(firstJournal.writeOne(id, next, "message stale t1 user from the first")));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      List<Object> answer = List.of();
      long stale = next + 1; // each try a new sequence number: a second write of one would fail on its key instead
      while (System.nanoTime() < deadline) {
        answer = firstJournal.writeOne(id, stale++, "message stale2 t1 user from the first");
        if (!JournalProbe.succeeded(answer)) {
          break;
        }
        Thread.sleep(50);
      }
      assertFalse(JournalProbe.succeeded(answer), "the older writer stopped writing");
      assertTrue(answer.toString().contains("newer writer"), answer.toString());

      Path restored = scratch.resolve("session.db");
      Restorer.restoreInto(new FileTarget(replicas), root(thread, "session.db"), null, null, restored);
      Map<String, List<String>> rows = ReplicaDumps.dump(restored);
      assertEquals(next + 4, ReplicaDumps.rows(rows, "journal"));
      assertFalse(rows.get("messages").toString().contains("from the first"), "the stale writer's events never count");

      // its next use restores the newer state first
      assertEquals(next + 4, firstJournal.highestSequenceNr(id));
    } finally {
      TestKit.shutdownActorSystem(second);
      TestKit.shutdownActorSystem(first);
    }
  }

  @Test
  void inSyncModeAWriteIsAcknowledgedOnlyOnceItsTransactionIsInTheReplica() throws Exception {
    start(dataDir, "legato.storage.replica { mode = sync, min-backoff = 20ms, max-backoff = 200ms }\n");
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    ReplicaTarget target = new FileTarget(replicas);
    String root = root(thread, "session.db");
    for (int seq = 1; seq <= 5; seq++) {
      assertTrue(JournalProbe.succeeded(journal.writeOne(id, seq, "message m" + seq + " t1 user hi")));
      // no waiting: acknowledged means stored (in the node's log; a fold puts it where restores read)
      NodeLog.foldAll(target);
      Path restored = scratch.resolve("sync-" + seq + ".db");
      Restorer.restoreInto(target, root, null, null, restored);
      assertEquals(seq, ReplicaDumps.rows(ReplicaDumps.dump(restored), "journal"));
    }

    // the target fails (the node log's folder becomes a file): the next write waits, unacknowledged
    Path logs = replicas.resolve("logs");
    Path away = logs.resolveSibling("logs.away");
    boolean moved = Files.exists(logs); // the fold above may have emptied it
    if (moved) {
      Files.move(logs, away);
    }
    Files.writeString(logs, "in the way");
    org.apache.pekko.testkit.javadsl.TestKit probe = journal.send(id, 6, List.of("message m6 t1 user held"));
    probe.expectNoMessage(java.time.Duration.ofMillis(1500));

    // once it takes uploads again, the write is stored and acknowledged
    Files.delete(logs);
    if (moved) {
      Files.move(away, logs);
    }
    Object answer = probe.receiveOne(java.time.Duration.ofSeconds(10));
    assertTrue(answer instanceof org.apache.pekko.persistence.JournalProtocol.WriteMessagesSuccessful$
        || answer instanceof org.apache.pekko.persistence.JournalProtocol.WriteMessageSuccess, String.valueOf(answer));
    Path restored = scratch.resolve("sync-6.db");
    NodeLog.foldAll(target);
    Restorer.restoreInto(target, root, null, null, restored);
    assertEquals(6, ReplicaDumps.rows(ReplicaDumps.dump(restored), "journal"));
    assertTrue(replication().figures().failures() > 0);
  }

  @Test
  void offWritesNoReplicaAndLeavesCheckpointsToSqlite() throws Exception {
    start(dataDir, "legato.storage.replica.mode = off\n");
    assertTrue(storage.replication().isEmpty());
    write(StorageLayout.threadPersistenceId(UUID.randomUUID()), 1, 10, "a");
    try (var files = Files.list(replicas)) {
      assertEquals(0, files.count());
    }
  }

  @Test
  void theStockLitestreamRestoresLegatosReplicaToTheSameRows() throws Exception {
    Path litestream = Litestream.binary();
    start(dataDir, "");
    UUID thread = UUID.randomUUID();
    write(StorageLayout.threadPersistenceId(thread), 1, 400, "a");
    awaitShipped();
    storage.closeThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);
    awaitShipped();
    Path local = dataDir.resolve("sessions").resolve(thread.toString());
    for (String file : List.of("session.db", "memory.db")) {
      Path restored = scratch.resolve("litestream-" + file);
      Litestream.restore(litestream, new FileTarget(replicas).litestreamUrl(root(thread, file)), restored);
      assertEquals(ReplicaDumps.dump(local.resolve(file)), ReplicaDumps.dump(restored), file);
    }
  }
}
