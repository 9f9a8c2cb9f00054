package dev.legato.storage.replica;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Wal#compact} against SQLite itself: a log written by SQLite, captured in two parts and compacted,
 * is applied by SQLite to the file as it was before the log, and gives the same rows as the original.
 */
class WalTest {
  @TempDir
  Path dir;

  @Test
  void compactedSegmentsRestoreTheSameRowsAndChainOneAfterAnother() throws Exception {
    Path database = dir.resolve("source.db");
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database);
        Statement s = connection.createStatement()) {
      s.execute("PRAGMA journal_mode = WAL");
      s.execute("PRAGMA wal_autocheckpoint = 0");
      s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
      s.execute("INSERT INTO t VALUES (1, 'first')");
      s.execute("PRAGMA wal_checkpoint(TRUNCATE)");
      byte[] before = Files.readAllBytes(database);

      // first capture: twenty transactions rewriting the same pages over and over
      for (int i = 0; i < 20; i++) {
        s.execute("UPDATE t SET v = 'update " + i + "' WHERE id = 1");
        s.execute("INSERT INTO t (v) VALUES ('" + "x".repeat(300) + i + "')");
      }
      List<String> atFirstCapture = rows(connection);
      byte[] first = Files.readAllBytes(dir.resolve("source.db-wal"));
      Wal.Cursor afterFirst = Wal.scan(first, first.length, Wal.Cursor.START);
      assertEquals(first.length, afterFirst.offset());
      Wal.Compacted one = Wal.compact(first, Wal.Cursor.START, afterFirst, Wal.Cursor.START);
      assertTrue(one.bytes().length < first.length / 5, "each page once: " + one.bytes().length + " of " + first.length);
      assertEquals(one.bytes().length, one.end().offset());

      // second capture: one transaction, no page twice, but its checksums must follow the compacted log
      s.execute("INSERT INTO t (v) VALUES ('last')");
      List<String> atSecondCapture = rows(connection);
      byte[] whole = Files.readAllBytes(dir.resolve("source.db-wal"));
      byte[] rest = Arrays.copyOfRange(whole, (int) afterFirst.offset(), whole.length);
      Wal.Cursor afterSecond = Wal.scan(rest, rest.length, afterFirst);
      assertEquals(whole.length, afterSecond.offset());
      Wal.Compacted two = Wal.compact(rest, afterFirst, afterSecond, one.end());
      assertEquals(rest.length, two.bytes().length);
      assertFalse(Arrays.equals(rest, two.bytes()), "checksums rewritten to follow the compacted log");

      ByteArrayOutputStream replica = new ByteArrayOutputStream();
      replica.write(one.bytes());
      replica.write(two.bytes());
      byte[] log = replica.toByteArray();
      assertEquals(log.length, Wal.scan(log, log.length, Wal.Cursor.START).offset(), "one valid chain");
      assertEquals(log.length, two.end().offset());

      assertEquals(atFirstCapture, applied(before, one.bytes(), "one"));
      assertEquals(atSecondCapture, applied(before, log, "both"));
    }
  }

  @Test
  void aCaptureWithoutRepeatsAtTheStartOfALogIsShippedAsItIs() throws Exception {
    Path database = dir.resolve("plain.db");
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database);
        Statement s = connection.createStatement()) {
      s.execute("PRAGMA journal_mode = WAL");
      s.execute("PRAGMA wal_autocheckpoint = 0");
      s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
      s.execute("PRAGMA wal_checkpoint(TRUNCATE)");
      s.execute("INSERT INTO t VALUES (1, 'one')");
      byte[] log = Files.readAllBytes(dir.resolve("plain.db-wal"));
      Wal.Cursor end = Wal.scan(log, log.length, Wal.Cursor.START);
      Wal.Compacted same = Wal.compact(log, Wal.Cursor.START, end, Wal.Cursor.START);
      assertArrayEquals(Arrays.copyOf(log, (int) end.offset()), same.bytes());
      assertEquals(end, same.end());
    }
  }

  @Test
  void theWritersOwnScanTrustsTheChecksumsButStopsAtTheLastCommitPastARolledBackSpill() throws Exception {
    Path database = dir.resolve("spill.db");
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database);
        Statement s = connection.createStatement()) {
      s.execute("PRAGMA journal_mode = WAL");
      s.execute("PRAGMA wal_autocheckpoint = 0");
      s.execute("PRAGMA cache_size = 2"); // a big transaction spills its pages into the log before it commits
      s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
      s.execute("PRAGMA wal_checkpoint(TRUNCATE)");
      byte[] before = Files.readAllBytes(database);
      s.execute("INSERT INTO t VALUES (1, 'kept')");
      connection.setAutoCommit(false);
      for (int i = 0; i < 200; i++) {
        s.execute("INSERT INTO t (v) VALUES ('" + "y".repeat(500) + i + "')");
      }
      connection.rollback();
      connection.setAutoCommit(true);
      s.execute("INSERT INTO t VALUES (2, 'also kept')");
      List<String> committed = rows(connection);
      byte[] log = Files.readAllBytes(dir.resolve("spill.db-wal"));
      Wal.Cursor verified = Wal.scan(log, log.length, Wal.Cursor.START);
      assertTrue(verified.offset() < log.length, "the rolled-back spill left frames past the last commit");
      assertEquals(verified, Wal.scanOwnLog(log, log.length, Wal.Cursor.START), "the same end and running checksum");

      Wal.Compacted shipped = Wal.compact(log, Wal.Cursor.START, verified, Wal.Cursor.START);
      assertEquals(committed, applied(before, shipped.bytes(), "spill-restored"));
    }
  }

  /** The rows of a copy of {@code file} with {@code log} beside it, as SQLite recovers it. */
  private List<String> applied(byte[] file, byte[] log, String name) throws Exception {
    Path copy = dir.resolve(name + ".db");
    Files.write(copy, file);
    Files.write(dir.resolve(name + ".db-wal"), log);
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + copy);
        Statement s = connection.createStatement();
        ResultSet check = s.executeQuery("PRAGMA integrity_check")) {
      check.next();
      assertEquals("ok", check.getString(1));
      return rows(connection);
    }
  }

  private static List<String> rows(Connection connection) throws SQLException {
    List<String> rows = new ArrayList<>();
    try (Statement s = connection.createStatement(); ResultSet r = s.executeQuery("SELECT id, v FROM t ORDER BY id")) {
      while (r.next()) {
        rows.add(r.getLong(1) + "=" + r.getString(2));
      }
    }
    return rows;
  }
}
