package dev.legato.storage.replica;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A database file and its replica driven the way {@code DatabaseFile} drives them: one thread of its own owns
 * the connection (WAL, no automatic checkpoints) and tells the replica before it opens, once opened, and
 * after each commit. The file has one table, {@code t (n INTEGER PRIMARY KEY)}.
 */
final class ReplicaWriter implements AutoCloseable {
  final DbReplica replica;
  private final ExecutorService thread = Executors.newSingleThreadExecutor();
  private Connection connection;

  /**
   * Sync mode with a short sync interval and backoff, a day of retention, the given flush interval and size, no
   * budget of layout uploads.
   */
  static Replication.Settings syncSettings(Duration flushInterval, long flushBytes) {
    return syncSettings(flushInterval, flushBytes, 0);
  }

  /** The same with a budget of {@code layoutUploads} a second. */
  static Replication.Settings syncSettings(Duration flushInterval, long flushBytes, int layoutUploads) {
    return new Replication.Settings(Replication.Mode.SYNC, Duration.ofMillis(50), 4 << 20, 2, Duration.ofMillis(10),
        Duration.ofMillis(100), 64 << 20, Duration.ofDays(1), Duration.ofSeconds(2), Duration.ofHours(1), flushInterval,
        flushBytes, layoutUploads);
  }

  /**
   * Restores the replica of {@code root} from {@code target} into {@code out} (it must come back complete) and
   * counts the rows of its table.
   */
  static int restoredRows(ReplicaTarget target, String root, Path out) throws Exception {
    Restorer.Result result = Restorer.restoreInto(target, root, null, null, out);
    assertTrue(result.complete(), String.valueOf(result.problem()));
    return rows(out);
  }

  /** The rows of the table of a database this writer made. */
  static int rows(Path database) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + database);
        Statement s = c.createStatement();
        ResultSet rows = s.executeQuery("SELECT count(*) FROM t")) {
      rows.next();
      return rows.getInt(1);
    }
  }

  ReplicaWriter(Replication replication, String root, Path database) throws Exception {
    replica = replication.replica(root, database, "main");
    onWriter(() -> {
      connection = DriverManager.getConnection("jdbc:sqlite:" + database);
      try (Statement s = connection.createStatement()) {
        s.execute("PRAGMA journal_mode = WAL");
        s.execute("PRAGMA wal_autocheckpoint = 0");
        s.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)");
      }
      replica.beforeOpen(work -> thread.execute(() -> work.accept(connection)));
      replica.opened(connection);
      return null;
    });
  }

  /** Commits row {@code n} on the writer; the future completes once the replica has stored it (sync mode). */
  CompletableFuture<Void> commitRow(int n) throws Exception {
    return onWriter(() -> {
      try (Statement s = connection.createStatement()) {
        s.execute("INSERT INTO t (n) VALUES (" + n + ")");
      }
      return replica.committed(connection);
    });
  }

  <T> T onWriter(Callable<T> work) throws Exception {
    return thread.submit(work).get(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws Exception {
    onWriter(() -> {
      connection.close();
      return null;
    });
    thread.shutdownNow();
  }
}
