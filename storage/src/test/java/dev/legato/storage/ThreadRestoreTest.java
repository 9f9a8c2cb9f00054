package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.legato.storage.replica.FileTarget;
import dev.legato.storage.replica.ReplicaTarget;
import dev.legato.storage.replica.Restorer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator's restore of a thread ({@link SessionStorage#restoreThread}): a live thread rolled back to a
 * moment, a deleted one brought back, each then the replica's newest state (a fresh node restores it, and
 * the thread writes on from it); no replica, no restore.
 */
class ThreadRestoreTest {
  @TempDir Path dataDir;
  @TempDir Path replicas;
  @TempDir Path scratch;
  ActorSystem system;
  JournalProbe journal;
  SessionStorage storage;

  void start(Path data, String mode) {
    system = ActorSystem.create("thread-restore", TestConfigs.storage(data, TestConfigs.WITH_PROJECTION
        + "legato.storage.replica { mode = " + mode + ", sync-interval = 50ms, checkpoint-size = 64KiB, folder = \""
        + replicas + "\" }\n"));
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

  @Test
  void aLiveThreadRolledBackIsAsItWasThenAndWritesOnFromThereInANewestGeneration() throws Exception {
    start(dataDir, "async");
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    long seq = journal.writeMixed(id, 1, 30, "before");
    Instant at = shippedAndClosed(thread);
    Path copies = copyFiles(thread, "then");
    seq = journal.writeMixed(id, seq, 40, "after"); // what the roll-back takes away
    assertTrue(storage.replication().orElseThrow().drain(Duration.ofSeconds(30)));
    String before = newestGeneration(thread);

    Restorer.Result result = storage.restoreThread(thread, at).toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertTrue(result.complete(), result.problem());
    assertEquals(before, result.generation(), "restored from the generation that held the moment");
    Path files = dataDir.resolve("sessions").resolve(thread.toString());
    assertEquals(ReplicaDumps.dump(copies.resolve(StorageLayout.SESSION_FILE)), ReplicaDumps.dump(files.resolve(StorageLayout.SESSION_FILE)));
    String rolledBack = newestGeneration(thread);
    assertTrue(rolledBack.compareTo(before) > 0, "the restored state begins the newest generation: " + rolledBack);

    // The thread goes on from the restored state: its journal ends where it did then, memory.db is rebuilt.
    assertEquals(30, journal.highestSequenceNr(id));
    storage.closeThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS); // memory.db was rebuilt as it opened
    assertEquals(sorted(ReplicaDumps.dump(copies.resolve(StorageLayout.MEMORY_FILE))),
        sorted(ReplicaDumps.dump(files.resolve(StorageLayout.MEMORY_FILE))), "memory.db as the journal projects it then");
    journal.writeMixed(id, 31, 5, "later");
    storage.closeThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertTrue(storage.replication().orElseThrow().drain(Duration.ofSeconds(30)));
    Path now = copyFiles(thread, "now");
    stop();

    // Another node (a fresh data directory, the same replicas) finds the rolled-back thread, not the lost turns.
    Path elsewhere = scratch.resolve("elsewhere");
    start(elsewhere, "async");
    assertEquals(35, journal.highestSequenceNr(id));
    List<Object> replayed = journal.replay(id);
    assertFalse(replayed.stream().anyMatch(p -> String.valueOf(p).contains("after")), "nothing of the rolled-back writes");
    storage.closeThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(ReplicaDumps.dump(now.resolve(StorageLayout.SESSION_FILE)),
        ReplicaDumps.dump(elsewhere.resolve("sessions").resolve(thread.toString()).resolve(StorageLayout.SESSION_FILE)));

    // The stock Litestream restores the same newest state.
    Path out = scratch.resolve("litestream").resolve(StorageLayout.SESSION_FILE);
    Files.createDirectories(out.getParent());
    Litestream.run(List.of(Litestream.binary().toString(), "restore", "-o", out.toString(),
        new FileTarget(replicas).litestreamUrl(root(thread))), Map.of());
    assertEquals(ReplicaDumps.dump(now.resolve(StorageLayout.SESSION_FILE)), ReplicaDumps.dump(out));
  }

  @Test
  void aDeletedThreadIsBroughtBackAsItWasWhenDeleted() throws Exception {
    start(dataDir, "sync");
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    journal.writeMixed(id, 1, 25, "kept");
    shippedAndClosed(thread);
    Path copies = copyFiles(thread, "deleted");
    storage.deleteThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertTrue(storage.replication().orElseThrow().drain(Duration.ofSeconds(30)));
    assertFalse(Files.exists(dataDir.resolve("sessions").resolve(thread.toString())));
    assertEquals(0, journal.highestSequenceNr(id), "deleted: nothing restores it unasked");

    assertTrue(storage.replicaOf(thread, null).toCompletableFuture().get(10, TimeUnit.SECONDS).isPresent());
    Restorer.Result result = storage.restoreThread(thread, null).toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertTrue(result.complete(), result.problem());
    assertEquals(ReplicaDumps.dump(copies.resolve(StorageLayout.SESSION_FILE)),
        ReplicaDumps.dump(dataDir.resolve("sessions").resolve(thread.toString()).resolve(StorageLayout.SESSION_FILE)));
    assertEquals(25, journal.highestSequenceNr(id));
    stop();

    start(scratch.resolve("elsewhere"), "sync"); // restored, so no longer deleted for any node
    assertEquals(25, journal.highestSequenceNr(id));
  }

  @Test
  void aThreadWithoutAReplicaOrBeforeItsFirstStateCannotBeRestoredAndNothingIsCreated() throws Exception {
    start(dataDir, "async");
    UUID never = UUID.randomUUID();
    assertEquals(Optional.empty(), storage.replicaOf(never, null).toCompletableFuture().get(10, TimeUnit.SECONDS));
    ExecutionException none = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
        () -> storage.restoreThread(never, null).toCompletableFuture().get(10, TimeUnit.SECONDS));
    assertTrue(none.getCause().getMessage().contains("no replica"), none.getCause().getMessage());
    assertFalse(Files.exists(dataDir.resolve("sessions").resolve(never.toString()).resolve(StorageLayout.SESSION_FILE)));

    UUID thread = UUID.randomUUID();
    Instant early = Instant.now().minusSeconds(60);
    journal.writeMixed(StorageLayout.threadPersistenceId(thread), 1, 3, "x");
    shippedAndClosed(thread);
    assertEquals(Optional.empty(), storage.replicaOf(thread, early).toCompletableFuture().get(10, TimeUnit.SECONDS));
  }

  @Test
  void withReplicasOffARestoreIsRefused() throws Exception {
    start(dataDir, "off");
    UUID thread = UUID.randomUUID();
    ExecutionException off = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
        () -> storage.restoreThread(thread, null).toCompletableFuture().get(10, TimeUnit.SECONDS));
    assertTrue(off.getCause().getMessage().contains("replicas are off"), off.getCause().getMessage());
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  private Instant shippedAndClosed(UUID thread) throws Exception {
    storage.closeThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertTrue(storage.replication().orElseThrow().drain(Duration.ofSeconds(30)));
    Instant newest = Instant.EPOCH;
    for (ReplicaTarget.Entry object : new FileTarget(replicas).list(root(thread) + "/generations/")) {
      newest = object.time().isAfter(newest) ? object.time() : newest;
    }
    while (System.currentTimeMillis() <= newest.toEpochMilli() + 1) {
      Thread.sleep(1);
    }
    Instant at = Instant.now();
    Thread.sleep(3);
    return at;
  }

  private Path copyFiles(UUID thread, String name) throws Exception {
    Path copies = Files.createDirectories(scratch.resolve(name));
    for (String file : List.of(StorageLayout.SESSION_FILE, StorageLayout.MEMORY_FILE)) {
      Files.copy(dataDir.resolve("sessions").resolve(thread.toString()).resolve(file), copies.resolve(file));
    }
    return copies;
  }

  private String newestGeneration(UUID thread) throws Exception {
    List<String> names = new ArrayList<>(new FileTarget(replicas).children(root(thread) + "/generations/"));
    return names.stream().max(String::compareTo).orElseThrow();
  }

  private static Map<String, List<String>> sorted(Map<String, List<String>> dump) {
    dump.replaceAll((table, rows) -> rows.stream().sorted().toList());
    return dump;
  }

  private static String root(UUID thread) {
    return "sessions/" + thread + "/" + StorageLayout.SESSION_FILE;
  }

}
