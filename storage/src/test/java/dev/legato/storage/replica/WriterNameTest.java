package dev.legato.storage.replica;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A generation names the writer that began it, and a restore folds that writer's log alone: the other nodes' logs
 * (long, and theirs) are not read, and what only the named log held is restored all the same.
 */
class WriterNameTest {
  @TempDir Path dir;

  /** Counts the objects read under each writer's log. */
  static final class CountingTarget extends ForwardingTarget {
    final Map<String, AtomicInteger> reads = new ConcurrentHashMap<>();

    CountingTarget(ReplicaTarget inner) {
      super(inner);
    }

    @Override
    public byte[] get(String key) throws IOException {
      if (key.startsWith(NodeLog.PREFIX)) {
        String writer = key.substring(NodeLog.PREFIX.length(), key.indexOf('/', NodeLog.PREFIX.length()));
        reads.computeIfAbsent(writer, w -> new AtomicInteger()).incrementAndGet();
      }
      return super.get(key);
    }

    int readsOf(String writer) {
      AtomicInteger count = reads.get(writer);
      return count == null ? 0 : count.get();
    }
  }

  @Test
  void aRestoreFoldsOnlyTheLogOfTheWriterThatBeganTheGeneration() throws Exception {
    CountingTarget target = new CountingTarget(new FileTarget(dir.resolve("replicas")));
    // a long flush interval: what the writers commit stays in their logs, not yet in the files' layouts
    Replication.Settings settings = ReplicaWriter.syncSettings(Duration.ofMinutes(5), 1 << 30);
    Files.createDirectories(dir.resolve("a"));
    Files.createDirectories(dir.resolve("b"));
    try (Replication a = new Replication(settings, target); Replication b = new Replication(settings, target);
         ReplicaWriter fileA = new ReplicaWriter(a, "a.db", dir.resolve("a/a.db"));
         ReplicaWriter fileB = new ReplicaWriter(b, "b.db", dir.resolve("b/b.db"))) {
      for (int n = 1; n <= 3; n++) {
        fileA.commitRow(n).get(10, TimeUnit.SECONDS);
        fileB.commitRow(n).get(10, TimeUnit.SECONDS);
      }
      String generation = Generations.newest(target, "a.db").orElseThrow();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!a.log().writer().equals(PeerLogs.writerOf(target, "a.db", generation)) && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals(a.log().writer(), PeerLogs.writerOf(target, "a.db", generation), "the generation names its writer");

      try (Replication c = new Replication(settings, target)) {
        target.reads.clear();
        c.foldOtherLogsFor("a.db", generation);
        assertTrue(target.readsOf(a.log().writer()) > 0, "the writer of the generation: " + target.reads);
        assertEquals(0, target.readsOf(b.log().writer()), "another node's log is not read: " + target.reads);
      }
      assertEquals(3, ReplicaWriter.restoredRows(target, "a.db", dir.resolve("restored.db")),
          "the rows only the named log held are in the layout now");
    }
  }
}
