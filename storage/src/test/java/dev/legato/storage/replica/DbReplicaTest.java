package dev.legato.storage.replica;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file's replica driven the way its writer drives it (one writer thread owning the connection), against a
 * folder whose uploads the test can hold back: sync-mode acknowledgements that depend on the order in which
 * the writer and the uploader reach the replica.
 */
class DbReplicaTest {
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

  /** A folder target whose uploads wait until {@link #release} (a slow store, seen from the uploader). */
  static final class HeldTarget extends ForwardingTarget {
    final CountDownLatch released = new CountDownLatch(1);

    HeldTarget(Path root) {
      super(new FileTarget(root));
    }

    void release() {
      released.countDown();
    }

    @Override
    public void put(String key, byte[] body, Instant time) throws IOException {
      try {
        released.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
      super.put(key, body, time);
    }
  }

  @Test
  void aSyncCommitThatArrivesWhileTheUploaderFinishesThePreviousObjectIsStillAcknowledged() throws Exception {
    HeldTarget target = new HeldTarget(dir.resolve("replicas"));
    replication = new Replication(ReplicaWriter.syncSettings(Duration.ofSeconds(10), 1 << 20), target);
    writer = new ReplicaWriter(replication, "test.db", dir.resolve("test.db"));

    CompletableFuture<Void> first = writer.commitRow(1);
    // The next write commits once the first is acknowledged: on the uploader's thread, right after it stored
    // the first segment and before it looks for more work (where a preempted uploader may linger).
    AtomicReference<CompletableFuture<Void>> second = new AtomicReference<>();
    CountDownLatch secondCommitted = new CountDownLatch(1);
    first.thenRun(() -> {
      try {
        second.set(writer.commitRow(2));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      secondCommitted.countDown();
    });
    target.release();
    first.get(10, TimeUnit.SECONDS);
    assertTrue(secondCommitted.await(10, TimeUnit.SECONDS));
    try {
      second.get().get(5, TimeUnit.SECONDS);
    } catch (TimeoutException stuck) {
      throw new AssertionError("the second commit was never acknowledged: it waits for a capture nobody begins"
          + " (replica idle: " + replication.caughtUp() + ")");
    }
    assertTrue(replication.drain(Duration.ofSeconds(10)));

    Path restored = dir.resolve("restored.db");
    Restorer.Result result = Restorer.restoreInto(target, "test.db", null, null, restored);
    assertTrue(result.complete(), String.valueOf(result.problem()));
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + restored);
        Statement s = c.createStatement();
        var rows = s.executeQuery("SELECT count(*) FROM t")) {
      rows.next();
      assertEquals(2, rows.getInt(1), "both acknowledged rows are in the replica");
    }
  }
}
