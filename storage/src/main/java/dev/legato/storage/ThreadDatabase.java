package dev.legato.storage;

import dev.legato.storage.readside.Rows;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.sqlite.SQLiteConfig;

/**
 * Read-only queries over one thread's read-side tables (session.db, with memory.db when present), for
 * history, thread/read and replay. Normally obtained through {@link SessionStorage#readThread}, which runs
 * the queries on the thread's writer connection, in order with its writes. {@link #open} opens a file
 * directly, for tools and for files no writer holds: a live writer keeps its file locked exclusively.
 * Not thread-safe; blocking.
 */
public final class ThreadDatabase implements AutoCloseable {
  /** Same value as the writer stamps on its files ("LGTO"). */
  private static final int APPLICATION_ID = 0x4c47544f;

  private final Connection connection;
  private final boolean hasMemory;
  private final boolean ownsConnection;

  ThreadDatabase(Connection connection, boolean hasMemory, boolean ownsConnection) {
    this.connection = connection;
    this.hasMemory = hasMemory;
    this.ownsConnection = ownsConnection;
  }

  /**
   * Opens {@code sessionDb} read-only and attaches {@code memoryDb} when it exists; the caller closes it.
   * Fails with "database is locked" (after the busy timeout) while a writer holds the file.
   */
  public static ThreadDatabase open(Path sessionDb, Path memoryDb) {
    if (!Files.isRegularFile(sessionDb)) {
      throw new StorageException("no thread database at " + sessionDb);
    }
    Connection connection = null;
    try {
      SQLiteConfig config = new SQLiteConfig();
      config.setReadOnly(true);
      config.setBusyTimeout(5_000);
      connection = DriverManager.getConnection("jdbc:sqlite:" + sessionDb, config.toProperties());
      requireLegato(connection, "main", sessionDb);
      boolean hasMemory = Files.isRegularFile(memoryDb);
      if (hasMemory) {
        try (PreparedStatement attach = connection.prepareStatement("ATTACH DATABASE ? AS mem")) {
          attach.setString(1, memoryDb.toString());
          attach.execute();
        }
        requireLegato(connection, "mem", memoryDb);
      }
      return new ThreadDatabase(connection, hasMemory, true);
    } catch (SQLException e) {
      closeQuietly(connection);
      throw new StorageException("cannot open " + sessionDb + " for reading: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeQuietly(connection);
      throw e;
    }
  }

  /** Turns in the order they started. */
  public List<Rows.Turn> turns() {
    return query("""
        SELECT turn_id, started_at, completed_at, status, input_tokens, output_tokens, cached_input_tokens,
               reasoning_tokens, error FROM turns ORDER BY first_seq""", null, rows -> new Rows.Turn(
        rows.getString(1), rows.getLong(2), nullableLong(rows, 3), rows.getString(4), nullableLong(rows, 5),
        nullableLong(rows, 6), nullableLong(rows, 7), nullableLong(rows, 8), rows.getString(9)));
  }

  /** Items of one turn in the order they started. */
  public List<Rows.Element> elements(String turnId) {
    return query("""
        SELECT item_id, turn_id, kind, status, payload, started_at, completed_at
        FROM elements WHERE turn_id = ? ORDER BY first_seq""", turnId, ThreadDatabase::element);
  }

  /** Every item of the thread in the order they started. */
  public List<Rows.Element> elements() {
    return query("""
        SELECT item_id, turn_id, kind, status, payload, started_at, completed_at
        FROM elements ORDER BY first_seq""", null, ThreadDatabase::element);
  }

  /** User and agent messages in conversation order: the history a re-spawned agent is given. */
  public List<Rows.Message> messages() {
    return query("SELECT message_id, turn_id, role, text, created_at FROM messages ORDER BY first_seq", null,
        rows -> new Rows.Message(rows.getString(1), rows.getString(2), rows.getString(3), rows.getString(4), rows.getLong(5)));
  }

  /** Approvals in the order they were requested; only undecided ones when {@code pendingOnly}. */
  public List<Rows.Approval> approvals(boolean pendingOnly) {
    String sql = "SELECT request_id, turn_id, item_id, kind, payload, decision, requested_at, decided_at FROM approvals"
        + (pendingOnly ? " WHERE decision IS NULL" : "") + " ORDER BY first_seq";
    return query(sql, null, rows -> new Rows.Approval(rows.getString(1), rows.getString(2), rows.getString(3),
        rows.getString(4), rows.getString(5), rows.getString(6), rows.getLong(7), nullableLong(rows, 8)));
  }

  public List<Rows.Diff> diffs(String turnId) {
    return query("SELECT turn_id, item_id, path, kind, diff, created_at FROM diffs WHERE turn_id = ? ORDER BY first_seq",
        turnId, rows -> new Rows.Diff(rows.getString(1), rows.getString(2), rows.getString(3), rows.getString(4),
            rows.getString(5), rows.getLong(6)));
  }

  public List<Rows.Plan> plans(String turnId) {
    return query("SELECT plan_id, turn_id, steps, explanation, updated_at FROM plans WHERE turn_id = ? ORDER BY first_seq",
        turnId, rows -> new Rows.Plan(rows.getString(1), rows.getString(2), rows.getString(3), rows.getString(4),
            rows.getLong(5)));
  }

  /** Memories by key; empty when the thread has no memory.db. */
  public List<Rows.Memory> memories() {
    if (!hasMemory) {
      return List.of();
    }
    return query("SELECT key, value, metadata, created_at, updated_at FROM mem.memories ORDER BY key", null,
        rows -> new Rows.Memory(rows.getString(1), rows.getString(2), rows.getString(3), rows.getLong(4), rows.getLong(5)));
  }

  /** Summaries oldest first; empty when the thread has no memory.db. */
  public List<Rows.Summary> summaries() {
    if (!hasMemory) {
      return List.of();
    }
    return query("SELECT summary, covers_turns, created_at FROM mem.summaries ORDER BY source_seq", null,
        rows -> new Rows.Summary(rows.getString(1), rows.getString(2), rows.getLong(3)));
  }

  /** Closes the connection if this view opened it; a view on the writer's connection leaves it open. */
  @Override
  public void close() {
    if (ownsConnection) {
      closeQuietly(connection);
    }
  }

  @FunctionalInterface
  private interface RowMapper<T> {
    T map(ResultSet rows) throws SQLException;
  }

  private <T> List<T> query(String sql, String parameter, RowMapper<T> mapper) {
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      if (parameter != null) {
        statement.setString(1, parameter);
      }
      List<T> result = new ArrayList<>();
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          result.add(mapper.map(rows));
        }
      }
      return result;
    } catch (SQLException e) {
      throw new StorageException("query failed: " + e.getMessage(), e);
    }
  }

  private static Rows.Element element(ResultSet rows) throws SQLException {
    return new Rows.Element(rows.getString(1), rows.getString(2), rows.getString(3), rows.getString(4),
        rows.getString(5), rows.getLong(6), nullableLong(rows, 7));
  }

  private static Long nullableLong(ResultSet rows, int column) throws SQLException {
    long value = rows.getLong(column);
    return rows.wasNull() ? null : value;
  }

  private static void requireLegato(Connection connection, String schema, Path file) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("PRAGMA " + schema + ".application_id")) {
      if (!row.next() || row.getInt(1) != APPLICATION_ID) {
        throw new StorageException(file + " is not a Legato database");
      }
    }
  }

  private static void closeQuietly(Connection connection) {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException ignored) {
        // read-only: nothing to lose
      }
    }
  }
}
