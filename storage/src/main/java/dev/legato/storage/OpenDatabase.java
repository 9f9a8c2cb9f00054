package dev.legato.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.List;
import org.sqlite.SQLiteConfig;

/**
 * One open session database: its connection (with memory.db attached as {@code mem} when the entity has a
 * projection) and the journal statements, prepared once. Only the owning {@link DatabaseFile} touches it,
 * from one thread at a time.
 */
final class OpenDatabase implements AutoCloseable {
  final Connection connection;
  final SqlReadSide readSide;
  final boolean hasMemory;
  private PreparedStatement insertEvent;
  private PreparedStatement highest;

  private OpenDatabase(Connection connection, boolean hasMemory) {
    this.connection = connection;
    this.hasMemory = hasMemory;
    this.readSide = new SqlReadSide(connection, hasMemory);
  }

  /**
   * Opens (creating when absent) the database of {@code location}, checks it is Legato's, migrates it and
   * records which persistenceId owns it.
   */
  static OpenDatabase open(StorageLayout.Location location, boolean withMemory, StorageSettings settings, boolean replicated) {
    Path file = location.database();
    try {
      Files.createDirectories(location.directory());
    } catch (IOException e) {
      throw new StorageException("cannot create " + location.directory() + ": " + describe(e), e);
    }
    Templates.SESSION.placeAt(file);
    Connection connection = null;
    try {
      SQLiteConfig config = new SQLiteConfig();
      config.setBusyTimeout((int) settings.busyTimeoutMillis());
      config.setGetGeneratedKeys(false); // otherwise every INSERT is followed by a last_insert_rowid() query
      connection = DriverManager.getConnection("jdbc:sqlite:" + file, config.toProperties());
      try (Statement statement = connection.createStatement()) {
        // Exclusive before the first WAL access: no shared-memory index and no file locking per
        // transaction. Half the cost of a commit with many files open; only this connection may use it.
        statement.execute("PRAGMA locking_mode = EXCLUSIVE");
      }
      int version = Schema.verify(connection, "main", Schema.SESSION_MIGRATIONS, file);
      try (Statement statement = connection.createStatement()) {
        statement.execute("PRAGMA journal_mode = WAL");
        statement.execute("PRAGMA synchronous = " + settings.synchronous());
        statement.execute("PRAGMA foreign_keys = ON");
        if (settings.maxPageCount() > 0) {
          statement.execute("PRAGMA max_page_count = " + settings.maxPageCount());
        }
        if (replicated) {
          // the replica checkpoints, once every committed frame of the log is captured (for all attached files)
          statement.execute("PRAGMA wal_autocheckpoint = 0");
        }
      }
      Schema.migrate(connection, "main", Schema.SESSION_MIGRATIONS, version);
      claim(connection, location.persistenceId(), file);
      if (withMemory) {
        attachMemory(connection, location.memoryDatabase(), settings);
      }
      connection.setAutoCommit(false);
      return new OpenDatabase(connection, withMemory);
    } catch (SQLException e) {
      closeQuietly(connection);
      throw new StorageException("cannot open " + file + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeQuietly(connection);
      throw e;
    }
  }

  private static void attachMemory(Connection connection, Path memoryFile, StorageSettings settings)
      throws SQLException {
    Templates.MEMORY.placeAt(memoryFile);
    try (PreparedStatement attach = connection.prepareStatement("ATTACH DATABASE ? AS mem")) {
      attach.setString(1, memoryFile.toString());
      attach.execute();
    }
    int version = Schema.verify(connection, "mem", Schema.MEMORY_MIGRATIONS, memoryFile);
    try (Statement statement = connection.createStatement()) {
      statement.execute("PRAGMA mem.journal_mode = WAL");
      statement.execute("PRAGMA mem.synchronous = " + settings.synchronous());
      if (settings.maxPageCount() > 0) {
        statement.execute("PRAGMA mem.max_page_count = " + settings.maxPageCount());
      }
    }
    Schema.migrate(connection, "mem", Schema.MEMORY_MIGRATIONS, version);
  }

  /** The first opener records its persistenceId; later openers must match it (no two ids share a file). */
  private static void claim(Connection connection, String persistenceId, Path file) throws SQLException {
    try (PreparedStatement select = connection.prepareStatement("SELECT persistence_id FROM journal_meta WHERE id = 1");
        ResultSet row = select.executeQuery()) {
      if (row.next()) {
        String owner = row.getString(1);
        if (!owner.equals(persistenceId)) {
          throw new StorageException(file + " belongs to persistenceId '" + owner + "', not '" + persistenceId + "'");
        }
        return;
      }
    }
    try (PreparedStatement insert =
        connection.prepareStatement("INSERT INTO journal_meta (id, persistence_id) VALUES (1, ?)")) {
      insert.setString(1, persistenceId);
      insert.executeUpdate();
    }
  }

  /** Inserts the events of one atomic write (one statement execution for all of them). */
  void insert(List<EventCodec.Encoded> events, long now) throws SQLException {
    if (insertEvent == null) {
      insertEvent = connection.prepareStatement("""
          INSERT INTO journal (seq, written_at, writer_uuid, adapter_manifest, ser_id, ser_manifest, payload, tags,
                               meta_ser_id, meta_manifest, meta_payload)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""");
    }
    PreparedStatement s = insertEvent;
    if (events.size() == 1) {
      bind(s, events.get(0), now);
      s.executeUpdate();
      return;
    }
    for (EventCodec.Encoded event : events) {
      bind(s, event, now);
      s.addBatch();
    }
    s.executeBatch();
  }

  private static void bind(PreparedStatement s, EventCodec.Encoded event, long now) throws SQLException {
    s.setLong(1, event.repr().sequenceNr());
    s.setLong(2, event.writtenAt(now));
    s.setString(3, event.repr().writerUuid());
    s.setString(4, event.repr().manifest());
    s.setInt(5, event.payload().serializerId());
    s.setString(6, event.payload().manifest());
    s.setBytes(7, event.payload().bytes());
    s.setString(8, event.tags());
    bindOptionalBlob(s, 9, event.metadata());
  }

  /** Binds a nullable blob as its three columns: serializer id, manifest, bytes. */
  private static void bindOptionalBlob(PreparedStatement s, int first, EventCodec.Blob blob) throws SQLException {
    if (blob == null) {
      s.setNull(first, Types.INTEGER);
      s.setNull(first + 1, Types.VARCHAR);
      s.setNull(first + 2, Types.BLOB);
    } else {
      s.setInt(first, blob.serializerId());
      s.setString(first + 1, blob.manifest());
      s.setBytes(first + 2, blob.bytes());
    }
  }

  /** The highest sequence number ever written, including deleted events. */
  long highestSequenceNr() throws SQLException {
    if (highest == null) {
      highest = connection.prepareStatement(
          "SELECT max(coalesce((SELECT max(seq) FROM journal), 0), deleted_to) FROM journal_meta WHERE id = 1");
    }
    try (ResultSet row = highest.executeQuery()) {
      return row.next() ? row.getLong(1) : 0L;
    }
  }

  /** A journal row as read back. */
  record EventRow(long seq, long writtenAt, String writerUuid, String adapterManifest,
                  EventCodec.Blob payload, EventCodec.Blob metadata) {}

  /** A snapshot row as read back. */
  record SnapshotRow(long seq, long createdAt, EventCodec.Blob payload, EventCodec.Blob metadata) {}

  @FunctionalInterface
  interface RowVisitor<T> {
    /** Returns false to stop the scan. */
    boolean visit(T row) throws Exception;
  }

  /** Visits the events with {@code from <= seq <= to} in order, at most {@code max} of them. */
  void replay(long from, long to, long max, RowVisitor<EventRow> visitor) throws Exception {
    if (max <= 0 || from > to) {
      return;
    }
    try (PreparedStatement select = connection.prepareStatement("""
        SELECT seq, written_at, writer_uuid, adapter_manifest, ser_id, ser_manifest, payload,
               meta_ser_id, meta_manifest, meta_payload
        FROM journal WHERE seq BETWEEN ? AND ? ORDER BY seq LIMIT ?""")) {
      select.setLong(1, from);
      select.setLong(2, to);
      select.setLong(3, max);
      try (ResultSet rows = select.executeQuery()) {
        while (rows.next()) {
          EventRow row = new EventRow(rows.getLong(1), rows.getLong(2), rows.getString(3), rows.getString(4),
              new EventCodec.Blob(rows.getInt(5), rows.getString(6), rows.getBytes(7)), blob(rows, 8));
          if (!visitor.visit(row)) {
            return;
          }
        }
      }
    }
  }

  /** Deletes events up to {@code toSeq}, remembering the highest deleted number so it is never reused. */
  void deleteTo(long toSeq) throws SQLException {
    long upTo = Math.min(toSeq, highestSequenceNr());
    try (PreparedStatement delete = connection.prepareStatement("DELETE FROM journal WHERE seq <= ?");
        PreparedStatement mark = connection.prepareStatement(
            "UPDATE journal_meta SET deleted_to = max(deleted_to, ?) WHERE id = 1")) {
      delete.setLong(1, upTo);
      delete.executeUpdate();
      mark.setLong(1, upTo);
      mark.executeUpdate();
    }
  }

  void saveSnapshot(long seq, long createdAt, EventCodec.Blob payload, EventCodec.Blob metadata) throws SQLException {
    try (PreparedStatement upsert = connection.prepareStatement("""
        INSERT OR REPLACE INTO snapshots (seq, created_at, ser_id, ser_manifest, payload,
                                          meta_ser_id, meta_manifest, meta_payload)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)""")) {
      upsert.setLong(1, seq);
      upsert.setLong(2, createdAt);
      upsert.setInt(3, payload.serializerId());
      upsert.setString(4, payload.manifest());
      upsert.setBytes(5, payload.bytes());
      bindOptionalBlob(upsert, 6, metadata);
      upsert.executeUpdate();
    }
  }

  /** Visits the snapshots matching the bounds, youngest first. */
  void snapshots(long minSeq, long maxSeq, long minTimestamp, long maxTimestamp, RowVisitor<SnapshotRow> visitor)
      throws Exception {
    try (PreparedStatement select = connection.prepareStatement("""
        SELECT seq, created_at, ser_id, ser_manifest, payload, meta_ser_id, meta_manifest, meta_payload
        FROM snapshots WHERE seq BETWEEN ? AND ? AND created_at BETWEEN ? AND ?
        ORDER BY seq DESC""")) {
      select.setLong(1, minSeq);
      select.setLong(2, maxSeq);
      select.setLong(3, minTimestamp);
      select.setLong(4, maxTimestamp);
      try (ResultSet rows = select.executeQuery()) {
        while (rows.next()) {
          SnapshotRow row = new SnapshotRow(rows.getLong(1), rows.getLong(2),
              new EventCodec.Blob(rows.getInt(3), rows.getString(4), rows.getBytes(5)), blob(rows, 6));
          if (!visitor.visit(row)) {
            return;
          }
        }
      }
    }
  }

  /** Deletes the snapshots matching the bounds. */
  void deleteSnapshots(long minSeq, long maxSeq, long minTimestamp, long maxTimestamp) throws SQLException {
    try (PreparedStatement delete = connection.prepareStatement(
        "DELETE FROM snapshots WHERE seq BETWEEN ? AND ? AND created_at BETWEEN ? AND ?")) {
      delete.setLong(1, minSeq);
      delete.setLong(2, maxSeq);
      delete.setLong(3, minTimestamp);
      delete.setLong(4, maxTimestamp);
      delete.executeUpdate();
    }
  }

  private static EventCodec.Blob blob(ResultSet rows, int firstColumn) throws SQLException {
    int serializerId = rows.getInt(firstColumn);
    if (rows.wasNull()) {
      return null;
    }
    return new EventCodec.Blob(serializerId, rows.getString(firstColumn + 1), rows.getBytes(firstColumn + 2));
  }

  void recordMemorySeq(long seq) throws SQLException {
    try (PreparedStatement update = connection.prepareStatement("UPDATE journal_meta SET memory_seq = ? WHERE id = 1")) {
      update.setLong(1, seq);
      update.executeUpdate();
    }
  }

  /**
   * Whether memory.db and session.db agree on the last event that wrote memories. They are separate WAL
   * files, so an operating-system crash can keep one's last commit and lose the other's.
   */
  boolean memoryInStep() throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("""
            SELECT (SELECT memory_seq FROM journal_meta WHERE id = 1),
                   max(coalesce((SELECT max(source_seq) FROM mem.memories), 0),
                       coalesce((SELECT max(source_seq) FROM mem.summaries), 0))""")) {
      row.next();
      return row.getLong(1) == row.getLong(2);
    }
  }

  void clearMemory() throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.executeUpdate("DELETE FROM mem.memories");
      statement.executeUpdate("DELETE FROM mem.summaries");
    }
  }

  @Override
  public void close() {
    readSide.close();
    try {
      if (!connection.getAutoCommit()) {
        connection.rollback();
      }
    } catch (SQLException ignored) {
      // closing discards any open transaction anyway
    }
    if (insertEvent != null) {
      closeQuietly(insertEvent);
    }
    if (highest != null) {
      closeQuietly(highest);
    }
    closeQuietly(connection);
  }

  private static void closeQuietly(AutoCloseable closeable) {
    if (closeable == null) {
      return;
    }
    try {
      closeable.close();
    } catch (Exception ignored) {
      // nothing useful to do: the handle is gone either way
    }
  }

  static String describe(IOException e) {
    return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")");
  }
}
