package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.legato.storage.replica.FileTarget;
import dev.legato.storage.replica.ReplicaTarget;
import dev.legato.storage.replica.Restorer;
import dev.legato.storage.replica.S3ProxyServer;
import dev.legato.storage.replica.S3Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retention enforced by a running node, on the real clock, with a retention of a few seconds: a thread written
 * across two processes (two generations) and compacted loses its old objects and its first generation, while a
 * restore at random moments of the window still equals the files as they were then, and the stock Litestream
 * still restores the newest state; a deleted thread's replica (in a folder, or in S3) is purged once retention has
 * passed, never before; a thread made again after its deletion keeps its replica.
 */
class ReplicaRetentionTest {
  private static final Duration RETENTION = Duration.ofSeconds(3);
  private static final List<String> FILES = List.of(StorageLayout.SESSION_FILE, StorageLayout.MEMORY_FILE);
  static S3ProxyServer s3;

  @TempDir Path dataDir;
  @TempDir Path otherDataDir;
  @TempDir Path replicas;
  @TempDir Path scratch;
  ActorSystem system;
  JournalProbe journal;
  SessionStorage storage;
  String s3Prefix = "retention-" + UUID.randomUUID();

  @BeforeAll
  static void startS3() throws Exception {
    s3 = S3ProxyServer.start();
  }

  @AfterAll
  static void stopS3() {
    if (s3 != null) {
      s3.close();
    }
  }

  void start(Path data, String target) {
    system = ActorSystem.create("replica-retention", TestConfigs.storage(data, TestConfigs.WITH_PROJECTION
        + "legato.storage.replica { mode = async, sync-interval = 50ms, checkpoint-size = 64KiB, retention = "
        + RETENTION.toMillis() + "ms, retention-check-interval = 100ms, " + target + " }\n"));
    journal = new JournalProbe(system);
    storage = SessionStorage.get(system);
  }

  String folder() {
    return "folder = \"" + replicas + "\"";
  }

  String s3() {
    return "s3 { url = \"" + s3.endpoint() + "\", bucket = \"" + s3.bucket() + "\", prefix = \"" + s3Prefix
        + "\", access-key-id = \"" + s3.accessKeyId() + "\", secret-access-key = \"" + s3.secretAccessKey() + "\" }";
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

  void awaitShipped() throws InterruptedException {
    assertTrue(storage.replication().orElseThrow().drain(Duration.ofSeconds(30)), "the replica caught up");
  }

  static String root(UUID thread, String file) {
    return "sessions/" + thread + "/" + file;
  }

  /** One step of writes: the moment after it, where the files' copies are, and when its first object was stored. */
  record Step(int number, Instant at, Path copies, Instant firstObject) {}

  @Test
  void everyMomentOfTheWindowStaysRestorableWhileOlderObjectsAndGenerationsGo() throws Exception {
    ReplicaTarget target = new FileTarget(replicas);
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    String session = root(thread, StorageLayout.SESSION_FILE);
    start(dataDir, folder());

    List<Step> steps = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    List<String> firstGenerations = List.of();
    Instant restarted = null;
    long seq = 1;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    for (int step = 1; ; step++) {
      seq = journal.writeMixed(id, seq, 30, "s" + step);
      awaitShipped();
      Instant first = null;
      Instant newest = Instant.EPOCH;
      for (String file : FILES) {
        for (ReplicaTarget.Entry object : target.list(root(thread, file) + "/generations/")) {
          if (seen.add(object.key())) {
            first = first == null || object.time().isBefore(first) ? object.time() : first;
            newest = object.time().isAfter(newest) ? object.time() : newest;
          }
        }
      }
      // a moment after every object of the step and before any of the next
      while (System.currentTimeMillis() <= newest.toEpochMilli() + 1) {
        Thread.sleep(1);
      }
      Instant at = Instant.now();
      Thread.sleep(3);
      storage.closeThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);
      Path copies = Files.createDirectories(scratch.resolve("step-" + step));
      for (String file : FILES) {
        Files.copy(dataDir.resolve("sessions").resolve(thread.toString()).resolve(file), copies.resolve(file));
      }
      steps.add(new Step(step, at, copies, first));

      List<String> generations = target.children(session + "/generations/");
      if (restarted == null && steps.get(0).at().plus(RETENTION).isBefore(at)) {
        // a new process on the same data directory: its first writes begin a second generation
        firstGenerations = generations;
        stop();
        start(dataDir, folder());
        restarted = Instant.now();
      } else if (restarted != null && generations.size() == 1 && !firstGenerations.contains(generations.get(0))
          && target.list(session + "/generations/" + generations.get(0) + "/snapshots/00000000.snapshot.lz4").isEmpty()) {
        break; // the first generation went whole, and the second's first snapshot with what only it served
      }
      assertTrue(System.nanoTime() < deadline, "within two minutes of writing, the first generation and the second's"
          + " first snapshot should have left the replica; it holds " + target.list(session + "/generations/"));
    }
    assertEquals(1, firstGenerations.size(), firstGenerations.toString());
    awaitShipped(); // every prune done: none comes after, as nothing is written any more
    Instant windowStart = Instant.now().minus(RETENTION);
    stop();
    // no object of the replica is older than the window unless a moment of the window needs it: the first
    // generation is gone, so is its history; whatever is left is checked by the restores below
    for (String file : FILES) {
      List<String> generations = target.children(root(thread, file) + "/generations/");
      assertFalse(generations.contains(firstGenerations.get(0)), file + ": " + generations);
    }

    // moments at random in the window, each restored and compared with the copy of the step it falls after
    Random random = new Random(20261205);
    Step last = steps.get(steps.size() - 1);
    List<Instant> moments = new ArrayList<>(List.of(windowStart));
    for (int tries = 0; moments.size() < 10 && tries < 1000; tries++) {
      long span = Math.max(1, last.at().toEpochMilli() - windowStart.toEpochMilli());
      moments.add(windowStart.plusMillis((long) (random.nextDouble() * span)));
    }
    moments.add(last.at());
    int restored = 0;
    for (Instant at : moments) {
      Step before = null;
      Step after = null;
      for (Step step : steps) {
        if (!step.at().isAfter(at)) {
          before = step;
        } else if (after == null) {
          after = step;
        }
      }
      if (before == null || (after != null && !at.isBefore(after.firstObject()))) {
        continue; // in the middle of a step's writes: no copy holds that state
      }
      for (String file : FILES) {
        Path out = scratch.resolve("at-" + at.toEpochMilli()).resolve(file);
        Restorer.Result result = Restorer.restoreInto(target, root(thread, file), null, at, out);
        String where = file + " at " + at + " (after step " + before.number() + ", window from " + windowStart + ")";
        assertTrue(result.complete(), where + ": " + result.problem());
        assertEquals(ReplicaDumps.dump(before.copies().resolve(file)), ReplicaDumps.dump(out), where);
      }
      restored++;
    }
    assertTrue(restored >= 2, "restored at " + restored + " moments");

    // the newest state, by Legato's restorer and by the stock Litestream
    Path litestream = Litestream.binary();
    for (String file : FILES) {
      Path out = scratch.resolve("newest").resolve(file);
      assertTrue(Restorer.restoreInto(target, root(thread, file), null, null, out).complete());
      assertEquals(ReplicaDumps.dump(last.copies().resolve(file)), ReplicaDumps.dump(out), file);
      Path byLitestream = scratch.resolve("litestream").resolve(file);
      Files.createDirectories(byLitestream.getParent());
      Litestream.restore(litestream, target.litestreamUrl(root(thread, file)), byLitestream);
      assertEquals(ReplicaDumps.dump(last.copies().resolve(file)), ReplicaDumps.dump(byLitestream), "litestream: " + file);
    }
  }

  @Test
  void aDeletedThreadsReplicaInAFolderIsPurgedOnceRetentionHasPassedAndNotBefore() throws Exception {
    start(dataDir, folder());
    purgedOnceRetentionHasPassed(new FileTarget(replicas));
  }

  @Test
  void aDeletedThreadsReplicaInS3IsPurgedOnceRetentionHasPassedAndNotBefore() throws Exception {
    start(dataDir, s3());
    try (ReplicaTarget target = new S3Target(s3.settings(s3Prefix))) {
      purgedOnceRetentionHasPassed(target);
    }
  }

  private void purgedOnceRetentionHasPassed(ReplicaTarget target) throws Exception {
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    journal.writeMixed(id, 1, 12, "a");
    awaitShipped();
    Instant deleting = Instant.now();
    storage.deleteThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);
    awaitShipped();

    // watched until it is gone: whenever it was looked at before retention had passed, it was there
    Map<Instant, Boolean> seen = new TreeMap<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      Instant now = Instant.now();
      boolean there = !target.list("sessions/" + thread + "/").isEmpty();
      seen.put(now, there);
      if (!there || System.nanoTime() > deadline) {
        break;
      }
      Thread.sleep(50);
    }
    assertFalse(seen.values().stream().reduce((a, b) -> b).orElseThrow(), "purged within a minute: " + seen);
    seen.forEach((when, there) -> assertTrue(there || !when.isBefore(deleting.plus(RETENTION)),
        "gone at " + when + ", before retention had passed since the deletion began at " + deleting));
    for (String file : FILES) {
      assertEquals(List.of(), target.list(root(thread, file) + "/"), file + ": every object, the deletion mark too");
    }
    awaitIndexEmpty(target);
    assertEquals(0, journal.highestSequenceNr(id), "the thread stays deleted");
  }

  @Test
  void aThreadMadeAgainAfterItsDeletionKeepsItsReplica() throws Exception {
    ReplicaTarget target = new FileTarget(replicas);
    start(dataDir, folder());
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    journal.writeMixed(id, 1, 12, "a");
    storage.deleteThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);
    journal.writeMixed(id, 1, 7, "b"); // made again under the same id: a generation of its own
    awaitShipped();
    List<String> generations = target.children(root(thread, StorageLayout.SESSION_FILE) + "/generations/");
    assertEquals(2, generations.size(), generations.toString());

    awaitIndexEmpty(target); // the sweep looked at the deletion, once retention had passed
    storage.closeThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);
    awaitShipped();
    for (String file : FILES) {
      Path out = scratch.resolve(file);
      assertTrue(Restorer.restoreInto(target, root(thread, file), null, null, out).complete(), file);
      assertEquals(ReplicaDumps.dump(dataDir.resolve("sessions").resolve(thread.toString()).resolve(file)),
          ReplicaDumps.dump(out), file);
    }
    stop();
    start(otherDataDir, folder()); // a node without the files restores the thread made again
    assertEquals(7, journal.highestSequenceNr(id));
  }


  /** Waits until no deletion waits in the index (the sweep handled them all). */
  private static void awaitIndexEmpty(ReplicaTarget target) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!target.list("deletions/").isEmpty()) {
      assertTrue(System.nanoTime() < deadline, "the sweep handled the deletion: " + target.list("deletions/"));
      Thread.sleep(50);
    }
  }
}
