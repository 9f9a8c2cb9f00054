package dev.legato.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Events/s through the SQLite journal the way Legato persists: event-sourced actors, each alternating a
 * single {@code persist} with a small {@code persistAll} batch ({@link JournalLoad}), for 1, 100 and 1,000
 * persistenceIds at once. The baseline writes the same rows in the same transaction shapes with raw
 * sqlite-jdbc into the same number of files with the plugin's SQLite settings, one thread per core, and no
 * actors. Replicas are off unless asked for ({@code --replica async|sync}, to {@code <data>/replicas}), so
 * the figures compare with those measured before replicas existed.
 */
final class StorageBench {
  private static final List<String> REPLICA_MODES = List.of("off", "async", "sync");

  private StorageBench() {}

  static void run(BenchOptions options) throws Exception {
    List<Integer> idCounts = options.integers("ids", List.of(1, 100, 1000));
    double seconds = options.decimal("seconds", 10);
    double warmup = options.decimal("warmup", 5);
    int eventBytes = options.integer("event-bytes", 200);
    // another plugin (e.g. pekko.persistence.journal.inmem) shows what the actors cost without SQLite
    String journalPlugin = options.text("journal", "legato.storage.journal");
    boolean withBaseline = Boolean.parseBoolean(options.text("baseline", "true"));
    String replica = options.text("replica", "off");
    if (!REPLICA_MODES.contains(replica)) {
      throw new IllegalArgumentException("--replica must be off, async or sync, not '" + replica + "'");
    }
    System.out.printf("storage benchmark: %d-byte events, persist and persistAll(%d) alternating, "
        + "%.0fs warm-up + %.0fs measured per case, replicas %s, %d cores%n", eventBytes, JournalLoad.BATCH, warmup,
        seconds, replica.equals("off") ? "off" : replica + " to <data>/replicas", Runtime.getRuntime().availableProcessors());
    Config replicaMode = ConfigFactory.parseMap(Map.of("legato.storage.replica.mode", replica));
    List<String> results = new ArrayList<>();
    // Removed only after the RESULT lines are out: a slow machine may still be closing databases in them.
    List<Path> scratch = new ArrayList<>();
    try {
      for (int ids : idCounts) {
        Path dataDir = Files.createTempDirectory("legato-bench-storage");
        scratch.add(dataDir);
        double journal = JournalLoad.run("storage-bench", JournalLoad.config(journalPlugin, dataDir, replicaMode), ids,
            new byte[eventBytes], warmup, seconds, false, system -> {}).eventsPerSecond();
        double baseline = withBaseline ? baselineCase(ids, eventBytes, warmup, seconds, scratch) : Double.NaN;
        System.out.printf("  ids=%d: journal %,.0f events/s, raw sqlite-jdbc %,.0f rows/s%n", ids, journal, baseline);
        results.add(String.format("RESULT storage ids=%d events_per_s=%.0f baseline_per_s=%.0f ratio=%.2f",
            ids, journal, baseline, journal / baseline));
      }
    } finally {
      results.forEach(System.out::println); // also those measured before a later case failed
      scratch.forEach(Teardown::remove);
    }
  }

  // ---- raw sqlite-jdbc -----------------------------------------------------------------------------------

  private static double baselineCase(int ids, int eventBytes, double warmup, double seconds, List<Path> scratch)
      throws Exception {
    Path dir = Files.createTempDirectory("legato-bench-baseline");
    scratch.add(dir);
    int threads = Math.min(ids, Runtime.getRuntime().availableProcessors());
    LongAdder rows = new LongAdder();
    JournalLoad.Control control = new JournalLoad.Control();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int t = 0; t < threads; t++) {
        int first = t;
        pool.submit(() -> {
          List<Connection> files = new ArrayList<>();
          List<PreparedStatement> inserts = new ArrayList<>();
          long[] next = new long[ids];
          try {
            for (int f = first; f < ids; f += threads) {
              Path file = dir.resolve("f" + f + ".db");
              Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
              try (Statement s = c.createStatement()) {
                // the same settings the plugin uses
                s.execute("PRAGMA locking_mode = EXCLUSIVE");
                s.execute("PRAGMA journal_mode = WAL");
                s.execute("PRAGMA synchronous = NORMAL");
                s.execute("CREATE TABLE journal (seq INTEGER PRIMARY KEY, written_at INTEGER NOT NULL, "
                    + "writer_uuid TEXT NOT NULL, payload BLOB NOT NULL)");
              }
              c.setAutoCommit(false);
              files.add(c);
              inserts.add(c.prepareStatement("INSERT INTO journal VALUES (?, ?, ?, ?)"));
            }
            byte[] payload = new byte[eventBytes];
            ThreadLocalRandom.current().nextBytes(payload);
            int round = 0;
            while (!control.stopped) {
              for (int i = 0; i < files.size() && !control.stopped; i++) {
                int size = round % 2 == 0 ? 1 : JournalLoad.BATCH;
                PreparedStatement insert = inserts.get(i);
                for (int k = 0; k < size; k++) {
                  insert.setLong(1, ++next[i]);
                  insert.setLong(2, System.currentTimeMillis());
                  insert.setString(3, "baseline");
                  insert.setBytes(4, payload);
                  insert.addBatch();
                }
                insert.executeBatch();
                files.get(i).commit();
                rows.add(size);
              }
              round++;
            }
          } catch (SQLException e) {
            throw new IllegalStateException(e);
          } finally {
            for (Connection c : files) {
              try {
                c.close();
              } catch (SQLException ignored) {
                // benchmark teardown
              }
            }
          }
          return null;
        });
      }
      return JournalLoad.measure(rows, warmup, seconds);
    } finally {
      control.stopped = true;
      pool.shutdown();
      pool.awaitTermination(60, TimeUnit.SECONDS);
    }
  }
}
