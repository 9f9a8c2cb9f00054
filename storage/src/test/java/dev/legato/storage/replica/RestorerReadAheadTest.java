package dev.legato.storage.replica;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node restoring a thread that moved to it reads the generation's objects side by side, a few ahead of the one it
 * applies: the same file comes back as read one after another, and damage stops it at the same place.
 */
class RestorerReadAheadTest {
  @TempDir Path dir;
  private final ExecutorService reads = Executors.newFixedThreadPool(4);

  @AfterEach
  void stop() {
    reads.shutdownNow();
  }

  /** A folder whose reads each take a while, counting how many run at once. */
  static final class SlowReads extends ForwardingTarget {
    final AtomicInteger running = new AtomicInteger();
    final AtomicInteger most = new AtomicInteger();

    SlowReads(Path root) {
      super(new FileTarget(root));
    }

    @Override
    public byte[] get(String key) throws IOException {
      most.accumulateAndGet(running.incrementAndGet(), Math::max);
      try {
        Thread.sleep(20);
        return super.get(key);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      } finally {
        running.decrementAndGet();
      }
    }
  }

  /** A replica of 40 commits, each in an object of its own; its segments' keys, in order. */
  private List<String> replicaOfFortyCommits(Path replicas) throws Exception {
    try (Replication replication = new Replication(ReplicaWriter.syncSettings(Duration.ofMillis(1), 1),
             new FileTarget(replicas));
         ReplicaWriter writer = new ReplicaWriter(replication, "test.db", dir.resolve("test.db"))) {
      for (int n = 1; n <= 40; n++) {
        writer.commitRow(n).get(10, TimeUnit.SECONDS);
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (layoutRows(replicas) < 40) {
        assertTrue(System.nanoTime() < deadline, "the layout never held all forty commits");
        Thread.sleep(20);
      }
    }
    return new FileTarget(replicas).list("test.db/generations/").stream().map(ReplicaTarget.Entry::key)
        .filter(key -> key.contains("/wal/")).sorted().toList();
  }

  /** The rows a restore of the layout as it is now gives (none while its snapshot is not stored yet). */
  private int layoutRows(Path replicas) throws Exception {
    Path probe = dir.resolve("probe.db");
    try {
      Restorer.restoreInto(new FileTarget(replicas), "test.db", null, null, probe);
    } catch (IOException notYet) {
      return 0;
    }
    return ReplicaWriter.rows(probe);
  }


  @Test
  void readSideBySideTheRestoreIsTheSameAsOneAfterAnother() throws Exception {
    Path replicas = dir.resolve("replicas");
    List<String> segments = replicaOfFortyCommits(replicas);
    assertTrue(segments.size() >= 10, "objects to read ahead: " + segments);
    SlowReads target = new SlowReads(replicas);

    Restorer.Result alone = Restorer.restoreInto(target, "test.db", null, null, dir.resolve("alone.db"));
    assertEquals(1, target.most.get());
    Restorer.Result ahead = Restorer.restoreInto(target, "test.db", null, null, null, dir.resolve("ahead.db"), reads);
    assertTrue(target.most.get() > 1, "read side by side");
    assertTrue(ahead.complete(), String.valueOf(ahead.problem()));
    assertEquals(40, ReplicaWriter.rows(dir.resolve("ahead.db")));
    assertEquals(alone.index(), ahead.index());
    assertEquals(alone.offset(), ahead.offset());
    assertEquals(alone.objects(), ahead.objects());
  }

  @Test
  void aDamagedObjectStopsARestoreThatReadsAheadWhereItStopsOneThatDoesNot() throws Exception {
    Path replicas = dir.resolve("replicas");
    List<String> segments = replicaOfFortyCommits(replicas);
    String damaged = segments.get(segments.size() / 2);
    Path file = replicas.resolve(damaged);
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length / 2] ^= 0x5a;
    Files.write(file, bytes);
    FileTarget target = new FileTarget(replicas);

    Restorer.Result alone = Restorer.restoreInto(target, "test.db", null, null, dir.resolve("alone.db"));
    Restorer.Result ahead = Restorer.restoreInto(target, "test.db", null, null, null, dir.resolve("ahead.db"), reads);
    assertFalse(ahead.complete());
    assertTrue(ahead.problem().contains(damaged), ahead.problem());
    assertEquals(alone.problem(), ahead.problem());
    assertEquals(ReplicaWriter.rows(dir.resolve("alone.db")), ReplicaWriter.rows(dir.resolve("ahead.db")));
    assertTrue(ReplicaWriter.rows(dir.resolve("ahead.db")) < 40);
  }
}
