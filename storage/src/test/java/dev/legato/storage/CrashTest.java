package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a writing child JVM with SIGKILL at random moments, again and again, and checks after each kill
 * that every acknowledged write is on disk, no atomic write is half there, every file passes
 * {@code integrity_check}, and the next process recovers exactly what is on disk and keeps writing.
 */
class CrashTest {
  private static final int IDS = 16;
  private static final int KILLS = 22;

  @TempDir Path dataDir;

  @Test
  void acknowledgedWritesSurviveSigkillAndAtomicWritesAreNeverTorn() throws Exception {
    Random random = new Random(42);
    Map<String, Long> onDisk = new HashMap<>();
    List<String> ids = CrashWriter.persistenceIds(IDS);
    long totalAcked = 0;
    for (int run = 1; run <= KILLS; run++) {
      Child child = Child.start(dataDir, IDS, run);
      try {
        if (run % 4 == 0) {
          Thread.sleep(random.nextInt(2000)); // anywhere from start-up and recovery to writing
        } else {
          assertTrue(child.firstAck.await(60, TimeUnit.SECONDS), "run " + run + ": the child never acknowledged a write");
          Thread.sleep(random.nextInt(600)); // somewhere in the middle of the writing
        }
      } finally {
        child.kill();
      }
      // The new process recovered exactly what the previous one left on disk.
      for (String id : ids) {
        Long recovered = child.recovered.get(id);
        if (recovered != null) {
          assertEquals(onDisk.getOrDefault(id, 0L), recovered, "run " + run + ": recovery of " + id);
        }
      }
      for (String id : ids) {
        long highest = verifyFile(id, child.acked.getOrDefault(id, 0L), run);
        onDisk.put(id, highest);
      }
      totalAcked += child.acked.values().stream().mapToLong(Long::longValue).sum();
    }
    assertTrue(onDisk.values().stream().mapToLong(Long::longValue).sum() > IDS * 10L,
        "the children wrote a fair amount: " + onDisk);
    assertTrue(totalAcked > 0);
  }

  /** Checks one file after a kill; returns its highest sequence number. */
  private long verifyFile(String persistenceId, long highestAcked, int run) throws Exception {
    StorageLayout.Location location = new StorageLayout(dataDir).locate(persistenceId);
    if (!Files.exists(location.database())) {
      assertEquals(0, highestAcked, persistenceId + " acknowledged writes but has no file");
      return 0;
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + location.database());
        Statement s = c.createStatement()) {
      assertEquals("ok", single(s, "PRAGMA integrity_check"), "integrity of " + location.database());
      long count = Long.parseLong(single(s, "SELECT count(*) FROM journal"));
      long highest = Long.parseLong(single(s, "SELECT coalesce(max(seq), 0) FROM journal"));
      assertEquals(highest, count, persistenceId + ": sequence numbers have gaps");
      assertTrue(highest >= highestAcked, persistenceId + " lost acknowledged writes: on disk " + highest
          + ", acknowledged " + highestAcked + " (run " + run + ")");
      // Every batch (atomic write) is complete: its events say how many they were.
      Map<String, int[]> batches = new HashMap<>();
      try (ResultSet rows = s.executeQuery("SELECT payload FROM journal")) {
        while (rows.next()) {
          String[] words = new String(rows.getBytes(1), StandardCharsets.UTF_8).split(" ");
          String batch = words[5] + "/" + words[6];
          int size = Integer.parseInt(words[8]);
          batches.computeIfAbsent(batch, b -> new int[] {0, size})[0]++;
        }
      }
      batches.forEach((batch, seen) ->
          assertEquals(seen[1], seen[0], persistenceId + ": atomic write " + batch + " is torn"));
      if (location.type().equals(StorageLayout.THREAD_TYPE)) {
        // the read side commits with the events
        assertEquals(String.valueOf(count), single(s, "SELECT count(*) FROM messages"));
        s.execute("ATTACH DATABASE '" + location.memoryDatabase() + "' AS mem");
        assertEquals("ok", single(s, "PRAGMA mem.integrity_check"));
      }
      return highest;
    }
  }

  private static String single(Statement statement, String sql) throws Exception {
    try (ResultSet row = statement.executeQuery(sql)) {
      row.next();
      return row.getString(1);
    }
  }

  /** A child JVM running {@link CrashWriter}, with what it printed. */
  private static final class Child {
    final Process process;
    final Map<String, Long> acked = new ConcurrentHashMap<>();
    final Map<String, Long> recovered = new ConcurrentHashMap<>();
    final CountDownLatch firstAck = new CountDownLatch(1);
    final Thread reader;

    private Child(Process process) {
      this.process = process;
      this.reader = new Thread(this::read, "crash-child-reader");
      reader.start();
    }

    static Child start(Path dataDir, int ids, int run) throws Exception {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      ProcessBuilder builder = new ProcessBuilder(java, "-Xmx256m", "-XX:TieredStopAtLevel=1",
          "-cp", System.getProperty("java.class.path"), CrashWriter.class.getName(),
          dataDir.toString(), String.valueOf(ids), String.valueOf(run));
      builder.redirectError(ProcessBuilder.Redirect.DISCARD);
      return new Child(builder.start());
    }

    private void read() {
      try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = lines.readLine()) != null) {
          String[] words = line.split(" ");
          if (words.length == 3 && words[0].equals("ACK")) {
            acked.merge(words[1], Long.parseLong(words[2]), Math::max);
            firstAck.countDown();
          } else if (words.length == 3 && words[0].equals("RECOVERED")) {
            recovered.put(words[1], Long.parseLong(words[2]));
          }
        }
      } catch (Exception ignored) {
        // the process was killed
      }
    }

    /** SIGKILL, then wait until everything it printed has been read. */
    void kill() throws Exception {
      process.destroyForcibly();
      assertTrue(process.waitFor(30, TimeUnit.SECONDS));
      reader.join(30_000);
    }
  }
}
