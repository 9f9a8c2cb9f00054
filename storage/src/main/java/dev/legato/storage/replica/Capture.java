package dev.legato.storage.replica;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The capture side of one file's replica, all of it on the file's writer: reads the log from where the last
 * capture stopped up to its last whole transaction, compacts those into one WAL segment (each page once,
 * {@link Wal#compact}) and queues it; begins this writer's generation with a snapshot of the file as it was at
 * the start of the log; checkpoints the log (beginning the next index) only once every committed frame in it is
 * captured, and snapshots again once the log shipped since the last snapshot outweighs the file.
 */
final class Capture {
  // the replica's lines, under the replica's name
  private static final Logger log = LoggerFactory.getLogger(DbReplica.class);

  private final Replication replication;
  private final String root;
  private final Path database;
  private final Path wal;
  private final String schema;
  private final GenerationMark mark;
  private final Shipments shipments;

  private DbReplica.Writer writer;
  private volatile String generation; // also forgotten off the writer, by a hand-over (DbReplica.handedOver)
  private int index;
  private Wal.Cursor cursor = Wal.Cursor.START;
  /** Where the replica's log of the current index ends: the local log's transactions, compacted ({@link Wal#compact}). */
  private Wal.Cursor replicaLog = Wal.Cursor.START;
  /** Whether the current index has a segment: an index without one must not be skipped past (restores need each). */
  private boolean indexUsed;
  /** Log bytes shipped in this generation since its last snapshot. */
  private long logSinceSnapshot;
  /** The stored snapshot that begins the writer's generation; sync-mode writes wait for it too. */
  private CompletableFuture<Void> generationStored = CompletableFuture.completedFuture(null);
  /** Read off the writer too: whether the replica is idle. */
  private volatile boolean scheduled;
  private long lastTime;
  /**
   * The log, open while the connection is (SQLite removes the file as the connection closes): a sync-mode capture
   * follows every commit, and opening the file each time costs more than reading what the commit added.
   */
  private FileChannel logChannel;

  Capture(Replication replication, String root, Path database, String schema, GenerationMark mark, Shipments shipments) {
    this.replication = replication;
    this.root = root;
    this.database = database;
    this.wal = database.resolveSibling(database.getFileName() + "-wal");
    this.schema = schema;
    this.mark = mark;
    this.shipments = shipments;
  }

  /** The way onto the file's writer, for captures that run later. */
  void runsOn(DbReplica.Writer writer) {
    this.writer = writer;
  }

  /** This writer's generation, or null until its next capture begins one. */
  String generation() {
    return generation;
  }

  int index() {
    return index;
  }

  /** The next capture begins a generation of its own. */
  void forgetGeneration() {
    generation = null;
  }

  /** Whether a capture is due (async mode): read off the writer. */
  boolean scheduled() {
    return scheduled;
  }

  /** Right after the connection opened: the log starts empty with the next index (an index used is never reused). */
  void opened(Connection connection) throws SQLException {
    closeLog(); // the connection is new: so may its log be
    checkpoint(connection);
    if (generation != null && indexUsed) {
      nextIndex();
    }
    restartLog();
  }

  /** After the connection closed: SQLite checkpointed the log into the file and removed it. */
  void closed() {
    closeLog();
    restartLog();
  }

  /** The file's local files are gone or replaced: the next capture begins a new generation. */
  void reset() {
    closeLog();
    generation = null;
    indexUsed = false;
    restartLog();
    logSinceSnapshot = 0;
  }

  /** See {@link DbReplica#committed}. */
  CompletableFuture<Void> committed(Connection connection) {
    if (!replication.syncMode()) {
      if (!scheduled) {
        scheduled = true;
        replication.schedule(() -> writer.runOnWriter(this::timedCapture));
      }
      return null;
    }
    CompletableFuture<Void> stored = new CompletableFuture<>();
    capture(List.of(stored));
    checkpointIfDue(connection);
    return stored;
  }

  private void timedCapture(Connection connection) {
    scheduled = false;
    if (connection == null) {
      return; // closed meanwhile: the close captured everything
    }
    if (replication.overBacklog()) {
      // the target is not keeping up (down?): keep the frames in the log, which is not checkpointed meanwhile
      scheduled = true;
      replication.schedule(() -> writer.runOnWriter(this::timedCapture));
      return;
    }
    capture(List.of());
    checkpointIfDue(connection);
  }

  /** Before the connection closes: captures the rest of the log. */
  void beforeClose() {
    capture(List.of());
  }

  /**
   * Reads the log's new whole transactions and queues them as one segment (with the generation's snapshot
   * first when this writer has not begun one yet). {@code waiters} complete once they are stored.
   */
  private void capture(List<CompletableFuture<Void>> waiters) {
    byte[] bytes;
    try {
      bytes = readLog();
    } catch (IOException e) {
      closeLog(); // the next capture opens the log anew
      Shipments.fail(waiters, new ReplicaException("cannot read " + wal + " to replicate it: " + e.getMessage(), e));
      // frames may be missed: the next capture begins a generation of its own, with a snapshot of the file as
      // it is at the start of the current log (nothing checkpoints it before everything in it is captured)
      generation = null;
      restartLog();
      return;
    }
    Wal.Cursor next = Wal.scanOwnLog(bytes, bytes.length, cursor);
    if (next.offset() == cursor.offset()) {
      shipments.attachToLast(waiters);
      return;
    }
    Instant time = now();
    if (generation == null) {
      if (!startGeneration(time, waiters, List.of())) {
        return;
      }
    }
    long offset = replicaLog.offset();
    Wal.Compacted compacted = Wal.compact(bytes, cursor, next, replicaLog); // whole transactions only
    ReplicaLayout.Position position = new ReplicaLayout.Position(index, offset);
    byte[] body = compacted.bytes();
    long nanos = System.nanoTime();
    Shipment segment = Shipment.segment(ReplicaLayout.segment(root, generation, index, offset), body, time, nanos,
        position, waiters);
    if (shipments.queue(segment)) {
      CompletableFuture<Void> snapshot = generationStored;
      replication.log().append(new NodeLog.Entry(root, generation, index, offset, time, body, nanos,
          (batch, object) -> shipments.inLog(segment, batch, object, snapshot)));
    }
    cursor = next;
    replicaLog = compacted.end();
    indexUsed = true;
  }

  /** The log from the cursor to its end (from 0 when the cursor is at the start); empty when there is none. */
  private byte[] readLog() throws IOException {
    try {
      if (logChannel == null) {
        logChannel = FileChannel.open(wal, StandardOpenOption.READ);
      }
      FileChannel channel = logChannel;
      long size = channel.size();
      if (cursor.started()) {
        // the log must still be the one the cursor is in: same salts in its header
        ByteBuffer header = ByteBuffer.allocate(Wal.HEADER_SIZE);
        if (size < Wal.HEADER_SIZE || channel.read(header, 0) < Wal.HEADER_SIZE
            || header.getInt(16) != cursor.salt1() || header.getInt(20) != cursor.salt2()) {
          throw new IOException("the log was restarted behind the replica's back");
        }
      }
      long from = cursor.offset();
      if (size <= from) {
        return new byte[0];
      }
      if (size - from > Integer.MAX_VALUE - 64) {
        throw new IOException("more than 2 GiB of log to capture at once");
      }
      ByteBuffer buffer = ByteBuffer.allocate((int) (size - from));
      while (buffer.hasRemaining() && channel.read(buffer, from + buffer.position()) >= 0) {
        // read on
      }
      return buffer.array();
    } catch (NoSuchFileException none) {
      if (cursor.started()) {
        throw new IOException("the log is gone though the replica had not captured it whole");
      }
      return new byte[0];
    }
  }

  private void closeLog() {
    if (logChannel != null) {
      try {
        logChannel.close();
      } catch (IOException ignored) {
        // read-only: nothing to lose
      }
      logChannel = null;
    }
  }

  /**
   * With the file closed (an operator's restore): begins a generation of this writer from the file as it is now;
   * {@code stored} completes once its snapshot is stored, or fails with the reason.
   */
  void beginGeneration(CompletableFuture<Void> stored) {
    startGeneration(now(), List.of(stored), List.of(stored));
  }

  /**
   * The snapshot that begins a generation: the file as it is at the start of the current log.
   *
   * @param waiters failed when the snapshot cannot be taken
   * @param onStored complete once the snapshot is stored
   */
  private boolean startGeneration(Instant time, List<CompletableFuture<Void>> waiters, List<CompletableFuture<Void>> onStored) {
    String name = Generations.next(time.toEpochMilli(), replication.newestSeen(root));
    byte[] file;
    try {
      file = Files.readAllBytes(database);
      mark.write(name);
    } catch (IOException e) {
      Shipments.fail(waiters, new ReplicaException("cannot snapshot " + database + ": " + e.getMessage(), e));
      return false;
    }
    generation = name;
    index = 0;
    indexUsed = false;
    logSinceSnapshot = 0;
    replication.sawGeneration(root, Optional.of(name));
    CompletableFuture<Void> snapshotStored = new CompletableFuture<>();
    generationStored = snapshotStored;
    // once the generation exists (its snapshot stored), it names its writer: a restore folds that log alone
    snapshotStored.thenRun(() -> replication.nameWriter(root, name, false));
    List<CompletableFuture<Void>> told = new ArrayList<>(onStored);
    told.add(snapshotStored);
    shipments.queue(Shipment.object(ReplicaLayout.snapshot(root, name, 0), Lz4.compress(file, 0, file.length), time,
        new ReplicaLayout.Position(0, -1), told));
    return true;
  }

  /** Once the log holds enough captured bytes, checkpoints it into the file and begins the next index. */
  private void checkpointIfDue(Connection connection) {
    if (cursor.offset() < replication.checkpointBytes()) {
      return;
    }
    long shipped = replicaLog.offset(); // what a restore replays
    try {
      checkpoint(connection);
      nextIndex();
      restartLog();
    } catch (SQLException e) {
      log.warn("checkpointing {} failed (the log grows until the next try): {}", database, e.getMessage());
      return;
    }
    logSinceSnapshot += shipped;
    compactIfDue();
  }

  /**
   * Compaction: once the log shipped since the generation's last snapshot outweighs the file itself, a new
   * snapshot at the new index (the file right after its checkpoint) bounds what a restore replays to about
   * twice the file. Older objects stay until retention removes them: a restore to an earlier moment needs them.
   */
  private void compactIfDue() {
    if (generation == null) {
      return;
    }
    try {
      long size = Files.size(database);
      if (logSinceSnapshot < Math.max(size, replication.checkpointBytes())) {
        return;
      }
      byte[] file = Files.readAllBytes(database);
      shipments.queue(Shipment.object(ReplicaLayout.snapshot(root, generation, index), Lz4.compress(file, 0, file.length),
          now(), new ReplicaLayout.Position(index, -1), List.of()));
      logSinceSnapshot = 0;
    } catch (IOException e) {
      log.warn("snapshotting {} failed (restores replay more of the log until the next one): {}", database, e.getMessage());
    }
  }

  private void checkpoint(Connection connection) throws SQLException {
    boolean autoCommit = connection.getAutoCommit();
    if (!autoCommit) {
      connection.commit(); // a checkpoint cannot run inside a transaction
      connection.setAutoCommit(true);
    }
    try (Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("PRAGMA " + schema + ".wal_checkpoint(TRUNCATE)")) {
      if (row.next() && row.getInt(1) != 0) {
        throw new SQLException("the checkpoint of " + database.getFileName() + " was blocked");
      }
    } finally {
      if (!autoCommit) {
        connection.setAutoCommit(false);
      }
    }
  }

  private void nextIndex() {
    index++;
    indexUsed = false;
  }

  /** The log starts over (checkpointed, closed, or not to be trusted): the next capture reads it from its start. */
  private void restartLog() {
    cursor = Wal.Cursor.START;
    replicaLog = Wal.Cursor.START;
  }

  /** The time of the next object: strictly increasing per file, as Litestream orders a replica's objects by their times. */
  Instant now() {
    long millis = Math.max(System.currentTimeMillis(), lastTime + 1);
    lastTime = millis;
    return Instant.ofEpochMilli(millis);
  }
}
