package dev.legato.storage.replica;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node's budget of uploads into the files' layouts ({@code layout-uploads}): many busy files whose
 * segments come due together take turns, so the requests stay within the budget whatever their number; and a
 * turn is never further than {@link Replication#MAX_TURN_WAIT} flush intervals away, so every stored segment is
 * in its layout within a bounded time, budget or not (the fold of other writers' logs relies on that bound).
 */
class LayoutBudgetTest {
  @TempDir Path dir;
  Replication replication;
  final List<ReplicaWriter> writers = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (ReplicaWriter writer : writers) {
      writer.close();
    }
    if (replication != null) {
      replication.close();
    }
  }

  @Test
  void twentyBusyFilesUploadIntoTheirLayoutsWithinTheBudgetAndLoseNothing() throws Exception {
    LayoutCountingTarget target = new LayoutCountingTarget(new FileTarget(dir.resolve("replicas")));
    // flush-interval 1 s: without a budget, each of the 20 files would upload once a second (about 80 in 4 s)
    replication = new Replication(ReplicaWriter.syncSettings(Duration.ofSeconds(1), 64 << 20, 5), target);
    int files = 20;
    open(files);
    int rows = writeFor(Duration.ofSeconds(4));
    double seconds = target.secondsSinceFirst();
    int uploads = target.segments.get();
    // one turn every 200 ms from the first, and one more that may be under way
    assertTrue(uploads <= 5 * seconds + 2, uploads + " uploads into layouts in " + seconds + " s, over a budget of 5 a second");
    assertTrue(uploads >= 5, "the files uploaded into their layouts meanwhile: " + uploads);

    awaitEveryLayoutHoldsAll(Duration.ofSeconds(1).multipliedBy(1 + Replication.MAX_TURN_WAIT).plusSeconds(5));
    for (int i = 0; i < files; i++) {
      assertEquals(rows, restoredRows(target.folder, "f" + i + ".db"), "f" + i + ".db");
    }
  }

  @Test
  void aTurnFurtherThanFiveFlushIntervalsAwayGoesOverBudget() throws Exception {
    LayoutCountingTarget target = new LayoutCountingTarget(new FileTarget(dir.resolve("replicas")));
    // ten files flushing every 100 ms against one upload a second: their turns would be up to 10 s away
    replication = new Replication(ReplicaWriter.syncSettings(Duration.ofMillis(100), 64 << 20, 1), target);
    open(10);
    int rows = writeFor(Duration.ofSeconds(2));
    double seconds = target.secondsSinceFirst();
    assertTrue(target.segments.get() > 2 * seconds, "the uploads went over budget rather than wait: "
        + target.segments.get() + " in " + seconds + " s");
    // the longest a stored segment waits: (1 + MAX_TURN_WAIT) flush intervals, 0.6 s; with room for the uploads
    awaitEveryLayoutHoldsAll(Duration.ofSeconds(3));
    for (int i = 0; i < 10; i++) {
      assertEquals(rows, restoredRows(target.folder, "f" + i + ".db"), "f" + i + ".db");
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------------

  private void open(int files) throws Exception {
    for (int i = 0; i < files; i++) {
      writers.add(new ReplicaWriter(replication, "f" + i + ".db", dir.resolve("f" + i + ".db")));
    }
  }

  /** Commits a row on every file, every 20 ms or so, for {@code time}; returns the rows each file has. */
  private int writeFor(Duration time) throws Exception {
    long end = System.nanoTime() + time.toNanos();
    int n = 0;
    while (System.nanoTime() < end) {
      n++;
      List<CompletableFuture<Void>> stored = new ArrayList<>();
      for (ReplicaWriter writer : writers) {
        stored.add(writer.commitRow(n));
      }
      CompletableFuture.allOf(stored.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
      Thread.sleep(20);
    }
    return n;
  }

  /** Without draining: every file's queue empties (its stored segments are all in its layout) within {@code limit}. */
  private void awaitEveryLayoutHoldsAll(Duration limit) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    for (int i = 0; i < writers.size(); i++) {
      String root = "f" + i + ".db";
      while (replication.status(root).orElseThrow().pendingObjects() > 0) {
        assertTrue(System.nanoTime() < deadline, root + " still has " + replication.status(root).orElseThrow()
            .pendingObjects() + " objects waiting after " + limit.toMillis() + " ms");
        Thread.sleep(20);
      }
    }
  }

  private int restoredRows(FileTarget target, String root) throws Exception {
    return ReplicaWriter.restoredRows(target, root, dir.resolve("restored-" + root));
  }

  /** A folder that counts the segments uploaded into the files' layouts (not the node log's batches, nor snapshots). */
  private static final class LayoutCountingTarget extends ForwardingTarget {
    final FileTarget folder;
    final AtomicInteger segments = new AtomicInteger();
    private volatile long first;

    LayoutCountingTarget(FileTarget folder) {
      super(folder);
      this.folder = folder;
    }

    @Override
    public void put(String key, byte[] body, Instant time) throws IOException {
      if (!key.startsWith(NodeLog.PREFIX) && ReplicaLayout.parse(key).map(p -> !p.snapshot()).orElse(false)) {
        if (segments.getAndIncrement() == 0) {
          first = System.nanoTime();
        }
      }
      super.put(key, body, time);
    }

    double secondsSinceFirst() {
      return first == 0 ? 0 : (System.nanoTime() - first) / 1e9;
    }
  }
}
