package dev.legato.storage.replica;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node that sees another stop answering reads that node's log at once: the restores of its threads that follow
 * fold the log without reading it again.
 */
class PeerLogsAheadTest {
  @TempDir Path dir;

  /** A folder counting the batches of node logs read from it. */
  static final class CountingReads extends ForwardingTarget {
    final AtomicInteger batchReads = new AtomicInteger();

    CountingReads(Path root) {
      super(new FileTarget(root));
    }

    @Override
    public byte[] get(String key) throws IOException {
      if (key.startsWith(NodeLog.PREFIX)) {
        batchReads.incrementAndGet();
      }
      return super.get(key);
    }
  }

  @Test
  void aLogReadAheadIsNotReadAgainByTheFoldOfARestore() throws Exception {
    Path replicas = dir.resolve("replicas");
    // the writer that goes silent: its segments in its log only (they reach the layout after an hour)
    try (Replication silent = new Replication(ReplicaWriter.syncSettings(Duration.ofHours(1), 64 << 20),
             new FileTarget(replicas));
         ReplicaWriter writer = new ReplicaWriter(silent, "test.db", dir.resolve("test.db"))) {
      for (int n = 1; n <= 20; n++) {
        writer.commitRow(n).get(10, TimeUnit.SECONDS);
      }
      CountingReads target = new CountingReads(replicas);
      try (Replication survivor = new Replication(ReplicaWriter.syncSettings(Duration.ofHours(1), 64 << 20), target)) {
        int batches = new FileTarget(replicas).list(NodeLog.PREFIX).size();
        assertTrue(batches > 0, "the silent writer's log holds batches");
        survivor.readPeerLogs();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (target.batchReads.get() < batches) {
          assertTrue(System.nanoTime() < deadline, "the log was not read ahead: " + target.batchReads.get());
          Thread.sleep(10);
        }
        Thread.sleep(50); // the last read's bytes are in
        assertEquals(batches, survivor.peerBatchesRead());
        int readAhead = target.batchReads.get();
        assertEquals(batches, readAhead, "each batch read once");

        survivor.foldOtherLogsFor("test.db", null);
        assertEquals(readAhead, target.batchReads.get(), "the fold read no batch again");
        assertEquals(20, ReplicaWriter.restoredRows(target, "test.db", dir.resolve("restored.db")),
            "and folded every acknowledged commit into the layout");
      }
    }
  }
}
