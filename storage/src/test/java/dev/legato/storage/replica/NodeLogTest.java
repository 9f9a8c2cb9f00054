package dev.legato.storage.replica;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node log: its batches read back whole or are refused, and folding copies into a file's layout exactly
 * what the layout lacks, as one object where the file's own writer would put it, so that it is safe beside
 * that writer and idempotent; what it cannot copy (no snapshot of the generation, a gap, a damaged batch)
 * is reported and its batches are kept.
 */
class NodeLogTest {
  @TempDir Path dir;
  Replication replication;
  ReplicaWriter writer;

  @AfterEach
  void tearDown() throws Exception {
    if (writer != null) {
      writer.close();
    }
    if (replication != null) {
      replication.close();
    }
  }

  @Test
  void aBatchReadsBackAsItWasAndADamagedOrTruncatedOneIsRefused() throws IOException {
    List<NodeLog.Entry> entries = List.of(
        entry("sessions/a/session.db", "0000000000000001", 0, 0, new byte[] {1, 2, 3}),
        entry("sessions/b/memory.db", "00000000000000ff", 3, 4152, new byte[5000]));
    byte[] batch = NodeLog.encode(entries);
    List<NodeLog.Entry> read = NodeLog.decode(batch);
    assertEquals(2, read.size());
    for (int i = 0; i < 2; i++) {
      assertEquals(entries.get(i).key(), read.get(i).key());
      assertEquals(entries.get(i).time(), read.get(i).time());
      assertArrayEquals(entries.get(i).body(), read.get(i).body());
    }
    byte[] flipped = batch.clone();
    flipped[batch.length / 2] ^= 1;
    assertThrows(IOException.class, () -> NodeLog.decode(flipped));
    assertThrows(IOException.class, () -> NodeLog.decode(Arrays.copyOf(batch, batch.length - 7)));
    assertThrows(IOException.class, () -> NodeLog.decode("not a batch at all".getBytes()));
  }

  @Test
  void foldingCopiesWhatTheLayoutLacksWhereTheWriterPutsItSoBothAgreeAndAgainChangesNothing() throws Exception {
    FileTarget target = new FileTarget(dir.resolve("replicas"));
    // sync mode, segments never due for the layout by themselves: acknowledged writes are in the node log only
    replication = new Replication(ReplicaWriter.syncSettings(Duration.ofHours(1), 64 << 20), target);
    writer = new ReplicaWriter(replication, "test.db", dir.resolve("test.db"));
    for (int n = 1; n <= 5; n++) {
      writer.commitRow(n).get(10, TimeUnit.SECONDS);
    }
    assertTrue(segments(target).isEmpty(), "nothing in the layout's log yet: " + segments(target));
    assertEquals(0, restoredRows(target, "before"), "the layout alone holds the snapshot only");

    NodeLog.Fold fold = NodeLog.foldAll(target);
    assertEquals(List.of(), fold.problems());
    assertEquals(5, fold.segmentsCopied());
    assertEquals(1, fold.objectsStored(), "one object for the index");
    assertEquals(List.of("00000000_00000000.wal.lz4"), segments(target));
    assertEquals(5, restoredRows(target, "folded"));
    assertTrue(fold.batchesDeleted() > 0, "every segment is in the layout: the batches go");

    NodeLog.Fold again = NodeLog.foldAll(target);
    assertEquals(0, again.segmentsCopied());
    assertEquals(0, again.objectsStored());

    // the live writer goes on and stores its own segments, from where it believes the layout ends: the same key,
    // a longer object; the layout stays one log without a gap or an overlap
    for (int n = 6; n <= 8; n++) {
      writer.commitRow(n).get(10, TimeUnit.SECONDS);
    }
    assertTrue(replication.drain(Duration.ofSeconds(10)));
    assertEquals(List.of("00000000_00000000.wal.lz4"), segments(target));
    assertEquals(8, restoredRows(target, "after the writer's own"));
    assertTrue(target.list(NodeLog.PREFIX).isEmpty(), "the drained writer deleted its batches");
  }

  @Test
  void aFoldCopiesFromYoungBatchesButLeavesThemToTheirWriterAndDeletesOnlyOlderOnes() throws Exception {
    FileTarget target = new FileTarget(dir.resolve("replicas"));
    replication = new Replication(ReplicaWriter.syncSettings(Duration.ofHours(1), 64 << 20), target);
    writer = new ReplicaWriter(replication, "test.db", dir.resolve("test.db"));
    for (int n = 1; n <= 3; n++) {
      writer.commitRow(n).get(10, TimeUnit.SECONDS);
    }
    int batches = target.list(NodeLog.PREFIX).size();
    assertTrue(batches > 0);
    // as a node starting beside a live writer folds: what the layout lacks is copied, the young batches stay
    NodeLog.Fold beside = NodeLog.fold(target, w -> true, Instant.now().minusSeconds(300));
    assertEquals(3, beside.segmentsCopied());
    assertEquals(0, beside.batchesDeleted());
    assertEquals(batches, target.list(NodeLog.PREFIX).size(), "a live writer's young batches are its own to delete");
    assertEquals(3, restoredRows(target, "copied"));
    // once they are older than the cut, a fold deletes them
    NodeLog.Fold later = NodeLog.fold(target, w -> true, Instant.now().plusSeconds(1));
    assertEquals(0, later.segmentsCopied());
    assertEquals(batches, later.batchesDeleted());
    assertTrue(target.list(NodeLog.PREFIX).isEmpty());
  }

  @Test
  void whatCannotBeCopiedIsReportedOrLeftAndItsBatchesKept() throws Exception {
    FileTarget target = new FileTarget(dir.resolve("replicas"));
    // a generation whose snapshot never reached the layout: nothing of it was ever acknowledged
    target.put(NodeLog.batchKey("0000000000000aaa", 0), NodeLog.encode(List.of(
        entry("sessions/a/session.db", "0000000000000001", 0, 0, Lz4.compress(new byte[100], 0, 100)))), Instant.now());
    // a damaged batch
    target.put(NodeLog.batchKey("0000000000000bbb", 0), "garbage".getBytes(), Instant.now());
    NodeLog.Fold fold = NodeLog.foldAll(target);
    assertEquals(0, fold.segmentsCopied());
    assertEquals(0, fold.batchesDeleted());
    assertEquals(1, fold.problems().size(), String.valueOf(fold.problems()));
    assertTrue(fold.problems().get(0).contains("0000000000000bbb"), fold.problems().get(0));
    assertEquals(2, target.list(NodeLog.PREFIX).size(), "both batches are kept");

    // a segment that does not begin where the layout's log of its index ends is not copied
    byte[] snapshot = Lz4.compress(new byte[4096], 0, 4096);
    target.put(ReplicaLayout.snapshot("sessions/c/session.db", "0000000000000002", 0), snapshot, Instant.now());
    target.put(NodeLog.batchKey("0000000000000ccc", 0), NodeLog.encode(List.of(
        entry("sessions/c/session.db", "0000000000000002", 0, 4152, Lz4.compress(new byte[100], 0, 100)))), Instant.now());
    NodeLog.Fold gap = NodeLog.fold(target, writer -> writer.equals("0000000000000ccc"), Instant.MAX);
    assertEquals(1, gap.writers());
    assertEquals(0, gap.segmentsCopied());
    assertFalse(gap.problems().isEmpty());
    assertTrue(gap.problems().get(0).contains("does not follow"), gap.problems().get(0));
  }

  @Test
  void storedBatchesAreDeletedTogetherAtMostOncePerSyncIntervalAndAllOfThemInTheEnd() throws Exception {
    CountingTarget target = new CountingTarget(new FileTarget(dir.resolve("replicas")));
    // sync mode, sync-interval 1 s, segments due for the layout at once: every batch is released right after it is
    // stored, and would be a deletion of its own
    replication = new Replication(new Replication.Settings(Replication.Mode.SYNC, Duration.ofSeconds(1), 4 << 20, 2,
        Duration.ofMillis(10), Duration.ofMillis(100), 64 << 20, Duration.ofDays(1), Duration.ofSeconds(2),
        Duration.ofHours(1), Duration.ZERO, 1 << 20, 0), target);
    writer = new ReplicaWriter(replication, "test.db", dir.resolve("test.db"));
    long start = System.nanoTime();
    for (int n = 1; n <= 30; n++) {
      writer.commitRow(n).get(10, TimeUnit.SECONDS); // each its own batch: the last is stored before the next
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    assertTrue(replication.drain(Duration.ofSeconds(10)));
    assertTrue(target.list(NodeLog.PREFIX).isEmpty(), "every stored batch is deleted in the end");
    assertTrue(target.batches >= 30, "a batch per commit: " + target.batches);
    // one at once, then one per second of writing, and one for the rest (the drain's)
    assertTrue(target.deletions <= 2 + (int) Math.ceil(seconds), target.deletions + " deletions for " + target.batches
        + " batches in " + seconds + " s");
    assertEquals(30, restoredRows(target.folder, "written"));
  }

  /** A target that counts the node log's batches and the deletions sent to it. */
  private static final class CountingTarget extends ForwardingTarget {
    final FileTarget folder;
    volatile int batches;
    volatile int deletions;

    CountingTarget(FileTarget folder) {
      super(folder);
      this.folder = folder;
    }

    @Override
    public synchronized void put(String key, byte[] body, Instant time) throws IOException {
      if (key.startsWith(NodeLog.PREFIX)) {
        batches++;
      }
      super.put(key, body, time);
    }

    @Override
    public synchronized void delete(List<String> keys) throws IOException {
      deletions++;
      super.delete(keys);
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------------

  private static NodeLog.Entry entry(String root, String generation, int index, long offset, byte[] body) {
    return new NodeLog.Entry(root, generation, index, offset, Instant.ofEpochMilli(1_700_000_000_000L + offset), body, 0,
        (batch, object) -> {});
  }

  private static List<String> segments(FileTarget target) throws IOException {
    List<String> names = new ArrayList<>();
    for (ReplicaTarget.Entry object : target.list("test.db/generations/")) {
      if (object.key().contains("/wal/")) {
        names.add(object.key().substring(object.key().lastIndexOf('/') + 1));
      }
    }
    return names;
  }

  private int restoredRows(FileTarget target, String name) throws Exception {
    return ReplicaWriter.restoredRows(target, "test.db", dir.resolve("restored-" + name.replace(' ', '-') + ".db"));
  }
}
