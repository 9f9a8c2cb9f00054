package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.legato.storage.replica.FileTarget;
import dev.legato.storage.replica.ReplicaTarget;
import dev.legato.storage.replica.Restorer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Point-in-time restores: a thread written in steps, the state of its files copied after each step (once
 * shipped), and a restore "as it was at t" for a moment after a step equal to that copy row by row, for
 * session.db and memory.db, whether t falls in the generation of the first process or in that of the one
 * restarted on the same data directory. A moment before the first object has no state to restore, and the
 * stock {@code litestream restore -timestamp} (to the millisecond) agrees with Legato's restorer.
 */
class PointInTimeRestoreTest {
  private static final int STEPS = 15;
  /** Steps 1 to this one in the first process's generation, the rest in the restarted one's. */
  private static final int LAST_OF_FIRST_GENERATION = 7;
  private static final List<String> FILES = List.of(StorageLayout.SESSION_FILE, StorageLayout.MEMORY_FILE);

  @TempDir Path dataDir;
  @TempDir Path replicas;
  @TempDir Path scratch;
  ActorSystem system;
  JournalProbe journal;
  SessionStorage storage;

  void start() {
    system = ActorSystem.create("point-in-time", TestConfigs.storage(dataDir, TestConfigs.WITH_PROJECTION
        + "legato.storage.replica { mode = async, sync-interval = 50ms, checkpoint-size = 64KiB, folder = \""
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

  /** One step: the moment after it, where its copies are, and the times of the objects it shipped. */
  record Step(int number, Instant at, Path copies, List<Instant> objectTimes) {}

  @Test
  void aRestoreAtAMomentAfterAnyStepEqualsTheFilesAsTheyWereThenInEitherGeneration() throws Exception {
    ReplicaTarget target = new FileTarget(replicas);
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    Instant beforeEverything = Instant.ofEpochMilli(System.currentTimeMillis() - 1);
    start();

    List<Step> steps = new ArrayList<>();
    Set<String> shipped = new HashSet<>();
    long seq = 1;
    for (int step = 1; step <= STEPS; step++) {
      if (step == LAST_OF_FIRST_GENERATION + 1) {
        stop(); // a new process on the same data directory: its first writes begin a second generation
        start();
      }
      seq = journal.writeMixed(id, seq, 6 + step % 4, "s" + step);
      assertTrue(storage.replication().orElseThrow().drain(Duration.ofSeconds(30)), "step " + step + " shipped");
      List<Instant> times = new ArrayList<>();
      for (String file : FILES) {
        for (ReplicaTarget.Entry object : target.list(root(thread, file) + "/generations/")) {
          if (shipped.add(object.key())) {
            times.add(object.time());
          }
        }
      }
      assertTrue(!times.isEmpty(), "step " + step + " shipped objects");
      // a moment strictly after every object of the step, and strictly before any of the next
      Instant newest = times.stream().max(Instant::compareTo).orElseThrow();
      while (System.currentTimeMillis() <= newest.toEpochMilli() + 1) {
        Thread.sleep(1);
      }
      Instant at = Instant.ofEpochMilli(System.currentTimeMillis());
      Thread.sleep(3);
      // closing captures everything and leaves each file whole (no log beside it); the next write reopens it
      storage.closeThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);
      Path copies = Files.createDirectories(scratch.resolve("step-" + step));
      for (String file : FILES) {
        Files.copy(dataDir.resolve("sessions").resolve(thread.toString()).resolve(file), copies.resolve(file));
      }
      steps.add(new Step(step, at, copies, times));
    }
    stop();

    List<String> generations = target.children(root(thread, StorageLayout.SESSION_FILE) + "/generations/");
    assertEquals(2, generations.size(), "one generation per process: " + generations);

    // Eight steps at random, at least two of each generation.
    Random random = new Random(20261204);
    Set<Integer> chosen = new TreeSet<>(List.of(1 + random.nextInt(LAST_OF_FIRST_GENERATION),
        LAST_OF_FIRST_GENERATION + 1 + random.nextInt(STEPS - LAST_OF_FIRST_GENERATION)));
    while (chosen.size() < 8) {
      chosen.add(1 + random.nextInt(STEPS));
    }
    for (int number : chosen) {
      Step step = steps.get(number - 1);
      for (String file : FILES) {
        Path out = scratch.resolve("restored-" + number).resolve(file);
        Restorer.Result result = Restorer.restoreInto(target, root(thread, file), null, step.at(), out);
        String where = file + " at " + step.at() + " (after step " + number + ")";
        assertTrue(result.complete(), where + ": " + result.problem());
        if (file.equals(StorageLayout.SESSION_FILE)) {
          assertEquals(generations.get(number <= LAST_OF_FIRST_GENERATION ? 0 : 1), result.generation(), where);
        }
        assertEquals(ReplicaDumps.dump(step.copies().resolve(file)), ReplicaDumps.dump(out), where);
      }
    }

    for (String file : FILES) {
      IOException none = assertThrows(IOException.class,
          () -> Restorer.restoreInto(target, root(thread, file), null, beforeEverything, scratch.resolve("too-early").resolve(file)));
      assertTrue(none.getMessage().contains("as early as " + beforeEverything), none.getMessage());
      assertTrue(Files.notExists(scratch.resolve("too-early").resolve(file)), "nothing restored before the first object");
    }

    // The stock Litestream, given the same moments to the millisecond, restores the same rows. A moment must
    // fall inside one generation for it (between its first and last object: Litestream takes no generation
    // for a moment after one's last object), so the steps used are not the last of their generation; each is
    // chosen so that a second's precision would not do (an object of the step, or of the next, in t's second).
    Path litestream = Litestream.binary();
    for (Step step : List.of(secondSensitive(steps, 1, LAST_OF_FIRST_GENERATION - 1),
        secondSensitive(steps, LAST_OF_FIRST_GENERATION + 1, STEPS - 1))) {
      String timestamp = DateTimeFormatter.ISO_INSTANT.format(step.at()); // RFC 3339 with milliseconds, e.g. …T19:15:05.123Z
      for (String file : FILES) {
        Path out = scratch.resolve("litestream-" + step.number()).resolve(file);
        Files.createDirectories(out.getParent());
        Litestream.run(List.of(litestream.toString(), "restore", "-timestamp", timestamp, "-o", out.toString(),
            target.litestreamUrl(root(thread, file))), Map.of());
        assertEquals(ReplicaDumps.dump(step.copies().resolve(file)), ReplicaDumps.dump(out),
            "litestream restore -timestamp " + timestamp + " of " + file + " (after step " + step.number() + ")");
      }
    }
  }

  /**
   * Among steps {@code from..to}, one whose moment shares its second with an object of its own or of the
   * next step (so restoring it at a second's precision would give another state); the middle one if none does.
   */
  private static Step secondSensitive(List<Step> steps, int from, int to) {
    List<Step> sensitive = new ArrayList<>();
    for (int number = from; number <= to; number++) {
      Step step = steps.get(number - 1);
      Instant second = step.at().truncatedTo(ChronoUnit.SECONDS);
      boolean own = step.objectTimes().stream().anyMatch(t -> !t.isBefore(second));
      boolean next = steps.get(number).objectTimes().stream().anyMatch(t -> t.isBefore(second.plusSeconds(1)));
      if (own || next) {
        sensitive.add(step);
      }
    }
    return sensitive.isEmpty() ? steps.get((from + to) / 2 - 1) : sensitive.get(sensitive.size() / 2);
  }

  static String root(UUID thread, String file) {
    return "sessions/" + thread + "/" + file;
  }

}
