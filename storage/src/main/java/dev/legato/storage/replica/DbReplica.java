package dev.legato.storage.replica;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replica of one database file. Its writer (the file's {@code DatabaseFile}) owns the connection, so
 * the replica decides when the write-ahead log is checkpointed: never before every committed frame in it
 * has been captured. A capture reads the log from where the last one stopped up to its last whole
 * transaction, compacts them into one WAL segment (each page once, {@link Wal#compact}) and queues it;
 * segments of a file upload one after the other, in order. Each writer of a file (each process that opens it) begins a new generation
 * with a snapshot of the file as it was at the start of the log.
 *
 * <p>Methods documented as "on the writer" run only on the file's writer; the upload side runs on the
 * replication's threads and touches only what is guarded by {@code this}.
 */
public final class DbReplica {
  private static final Logger log = LoggerFactory.getLogger(DbReplica.class);
  /** The object beside {@code generations/} that marks a deleted file's replica. */
  static final String DELETED = "deleted";

  /** Runs work on the file's writer, with its open connection (null when the file is closed meanwhile). */
  public interface Writer {
    void runOnWriter(Consumer<Connection> work);
  }

  /**
   * One object of the file's layout to upload, in order, and who waits for it. A WAL segment ({@code logged})
   * is first stored in the node's log ({@link NodeLog}); it counts as stored from then on, and goes into the
   * layout later, merged with the segments after it. Snapshots and marks go straight to the layout. A
   * segment's body is the log's bytes until the node log has compressed and stored it, then its LZ4 object
   * (so the backlog held in memory is compressed, and the storage writers do not compress).
   */
  private static final class Shipment {
    final String key;
    /** Guarded by the replica for a segment: replaced by its LZ4 object once stored in the node log. */
    byte[] body;
    final Instant time;
    final long capturedNanos;
    final ReplicaLayout.Position position;
    final List<CompletableFuture<Void>> waiters;
    final boolean logged;
    /** Guarded by the replica: the node log's batch that holds it, once stored there. */
    long batch = -1;

    Shipment(String key, byte[] body, Instant time, long capturedNanos, ReplicaLayout.Position position,
             List<CompletableFuture<Void>> waiters, boolean logged) {
      this.key = key;
      this.body = body;
      this.time = time;
      this.capturedNanos = capturedNanos;
      this.position = position;
      this.waiters = waiters;
      this.logged = logged;
    }

    boolean inLog() {
      return batch >= 0;
    }
  }

  private final Replication replication;
  private final String root;
  private final Path database;
  private final Path wal;
  private final Path marker;
  private final String schema;

  // ---- on the writer ----
  private Writer writer;
  private boolean checked;
  private String generation;
  private int index;
  private Wal.Cursor cursor = Wal.Cursor.START;
  /** Where the replica's log of the current index ends: the local log's transactions, compacted ({@link Wal#compact}). */
  private Wal.Cursor replicaLog = Wal.Cursor.START;
  /** Whether the current index has a segment: an index without one must not be skipped past (restores need each). */
  private boolean indexUsed;
  /** Log bytes shipped in this generation since its last snapshot. */
  private long logSinceSnapshot;
  private volatile boolean captureScheduled;
  private long lastTime;

  // ---- upload side, guarded by this ----
  private final ArrayDeque<Shipment> shipments = new ArrayDeque<>();
  private boolean shipping;
  /** Of the queue: bytes of the segments in it, and how many objects that are not segments wait in it. */
  private long loggedBytes;
  private int unlogged;
  /** The file is closed: what it captured goes into its layout as soon as it is in the node's log. */
  private boolean closing;
  /** When a wake-up to upload the oldest logged segment is due (0: none scheduled). */
  private long flushDueNanos;
  /** The stored snapshot that begins the writer's generation; sync-mode writes wait for it too. */
  private CompletableFuture<Void> generationStored = CompletableFuture.completedFuture(null);
  private long pendingBytes;
  private String shippedGeneration;
  private ReplicaLayout.Position shippedPosition;
  private Instant shippedAt;
  private long lastFenceCheckNanos = System.nanoTime();
  /** A newer generation written by another writer, once an upload found one: this writer stops. */
  private volatile String fencedBy;

  DbReplica(Replication replication, String root, Path database, String schema) {
    this.replication = replication;
    this.root = root;
    this.database = database;
    this.wal = database.resolveSibling(database.getFileName() + "-wal");
    this.marker = database.resolveSibling(database.getFileName() + ".generation");
    this.schema = schema;
  }

  /** The key prefix of this file's replica, e.g. {@code sessions/<id>/session.db}. */
  public String root() {
    return root;
  }

  // ---- opening ------------------------------------------------------------------------------------------

  /**
   * On the writer, before the connection opens: the first time in this process, restores the file from its
   * replica when the local copy is missing or older than the replica's newest generation (a copy left by
   * a node that lost the file since, or none at all). A local copy with no generation mark was never
   * replicated from here and is kept.
   */
  public void beforeOpen(Writer writer) {
    this.writer = writer;
    if (fencedBy != null) {
      checked = false; // another writer took over: its newer state is restored before this node writes again
      generation = null;
    }
    if (checked) {
      return;
    }
    replication.foldOtherLogs();
    Optional<String> newest;
    try {
      newest = Generations.newest(replication.target().children(ReplicaLayout.generations(root)));
    } catch (IOException | RuntimeException e) {
      throw new ReplicaException("cannot read the replica of " + database.getFileName() + " at " + replication.target().describe()
          + " to check it is not newer than the local file: " + e.getMessage(), e);
    }
    replication.sawGeneration(root, newest);
    if (newest.isEmpty()) {
      checked = true;
      return;
    }
    boolean local = Files.exists(database);
    String localGeneration = local ? readMarker() : null;
    if (local && (localGeneration == null || localGeneration.compareTo(newest.get()) >= 0)) {
      checked = true;
      return;
    }
    if (deletedAt(newest.get())) {
      checked = true; // deleted with that generation its last: only an operator's restore brings it back
      return;
    }
    log.info("restoring {} from its replica (generation {}): {}", database, newest.get(),
        local ? "the local copy is of an older generation, " + localGeneration : "no local copy");
    try {
      Restorer.Result result = Restorer.restoreInto(replication.target(), root, newest.get(), null, database);
      replication.restored(result);
      writeMarker(newest.get());
      fencedBy = null;
    } catch (IOException | RuntimeException e) {
      throw new ReplicaException("cannot restore " + database + " from " + replication.target().describe() + ": " + e.getMessage(), e);
    }
    checked = true;
  }

  /**
   * On the writer, right after the connection opened: checkpoints whatever log SQLite found into the file,
   * so the log starts empty with this replica's next index (the file as it is now is that index's start).
   */
  public void opened(Connection connection) throws SQLException {
    synchronized (this) {
      closing = false;
    }
    checkpoint(connection);
    if (generation != null && indexUsed) {
      index++;
      indexUsed = false;
    }
    cursor = Wal.Cursor.START;
    replicaLog = Wal.Cursor.START;
  }

  /**
   * On the writer, after the file was closed and its local files removed: marks the replica deleted
   * ({@code <root>/deleted}, holding the last generation; Litestream does not look outside
   * {@code generations/}), after everything captured before, and records the deletion in the target's index
   * of deletions (see {@link Retention}). The replica stays for the retention period, then is purged unless
   * the file was written again; nothing restores it before recovery while that generation is its newest.
   */
  public void deleted() {
    if (generation == null) {
      return; // never replicated from here: whatever replica exists was marked by its own writer, or is newer
    }
    Instant at = now();
    queue(new Shipment(root + "/" + DELETED, (generation + "\n").getBytes(StandardCharsets.US_ASCII), at, System.nanoTime(),
        new ReplicaLayout.Position(index, -1), new ArrayList<>(), false));
    queue(new Shipment(Retention.deletionKey(root, at), Retention.deletionRecord(generation, at), at, System.nanoTime(),
        new ReplicaLayout.Position(index, -1), new ArrayList<>(), false));
    generation = null; // a thread made again under this id begins a generation of its own
    // checked stays true: in this process the file is known deleted, whatever the mark's upload has reached
  }

  private boolean deletedAt(String newest) {
    try {
      byte[] mark = replication.target().get(root + "/" + DELETED);
      return new String(mark, StandardCharsets.US_ASCII).trim().equals(newest);
    } catch (NoSuchFileException none) {
      return false;
    } catch (IOException e) {
      throw new ReplicaException("cannot read the deletion mark of " + root + ": " + e.getMessage(), e);
    }
  }

  /**
   * On the writer, with the file closed (an operator's restore): replaces the local file with its replica's
   * state at {@code at} (null: the newest), then begins a generation of this writer from it at once, so that
   * the restored state is the replica's newest (a node that opens the file next restores this one, and
   * every moment before stays restorable from the older generations). The returned future completes once
   * the new generation's snapshot is stored.
   */
  public Restored restore(Instant at) throws IOException {
    // the file is closed: what it captured goes into its layout as soon as it is in the node's log
    awaitStored(java.time.Duration.ofMinutes(1));
    replication.foldOtherLogs();
    replication.sawGeneration(root, Generations.newest(replication.target().children(ReplicaLayout.generations(root))));
    Restorer.Result result = Restorer.restoreInto(replication.target(), root, null, at, database);
    replication.restored(result);
    CompletableFuture<Void> stored = new CompletableFuture<>();
    reset();
    startGeneration(now(), List.of(stored), List.of(stored)); // a failure fails stored, with its reason
    return new Restored(result, stored);
  }

  /** On the writer, with the file closed: waits until every object it queued is in its layout. */
  private void awaitStored(java.time.Duration limit) throws IOException {
    kick();
    long deadline = System.nanoTime() + limit.toNanos();
    while (true) {
      synchronized (this) {
        if (shipments.isEmpty() || fencedBy != null) {
          return;
        }
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("the replica has not stored the file's last transactions within " + limit.toSeconds()
            + " s (is " + replication.target().describe() + " answering?)");
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while waiting for the replica to store the file");
      }
    }
  }

  /** What {@link #restore} restored, and the storing of the new generation's snapshot. */
  public record Restored(Restorer.Result result, CompletableFuture<Void> stored) {}

  /**
   * On the writer, with the file closed and its local files removed or about to be (a file rebuilt from
   * another, such as memory.db from its journal after a restore): its next capture begins a new generation,
   * and nothing restores the old one before recovery.
   */
  public void reset() {
    fencedBy = null;
    generation = null;
    checked = true;
    indexUsed = false;
    cursor = Wal.Cursor.START;
    replicaLog = Wal.Cursor.START;
    logSinceSnapshot = 0;
  }

  /** On the writer, after the connection closed: SQLite checkpointed the log into the file and removed it. */
  public void closed() {
    cursor = Wal.Cursor.START;
    replicaLog = Wal.Cursor.START;
  }

  // ---- capturing ----------------------------------------------------------------------------------------

  /**
   * On the writer, after a commit. Async mode: a capture within the sync interval (one per interval, and
   * none while nothing changes). Sync mode: a capture now, and the returned future completes once the
   * transactions committed so far are stored (in the node's log, which groups every file's captures made
   * while its last batch was in flight into one upload).
   */
  public CompletableFuture<Void> committed(Connection connection) {
    if (!replication.syncMode()) {
      if (!captureScheduled) {
        captureScheduled = true;
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
    captureScheduled = false;
    if (connection == null) {
      return; // closed meanwhile: the close captured everything
    }
    if (replication.overBacklog()) {
      // the target is not keeping up (down?): keep the frames in the log, which is not checkpointed meanwhile
      captureScheduled = true;
      replication.schedule(() -> writer.runOnWriter(this::timedCapture));
      return;
    }
    capture(List.of());
    checkpointIfDue(connection);
  }

  /**
   * On the writer, before the connection closes (SQLite then checkpoints the log into the file and removes
   * it): captures the rest, and from now on what the file captured goes into its layout as soon as it is
   * stored in the node's log.
   */
  public void beforeClose() {
    capture(List.of());
    synchronized (this) {
      closing = true;
    }
    kick();
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
      fail(waiters, new ReplicaException("cannot read " + wal + " to replicate it: " + e.getMessage(), e));
      // frames may be missed: the next capture begins a generation of its own, with a snapshot of the file as
      // it is at the start of the current log (nothing checkpoints it before everything in it is captured)
      generation = null;
      cursor = Wal.Cursor.START;
      replicaLog = Wal.Cursor.START;
      return;
    }
    Wal.Cursor next = Wal.scan(bytes, bytes.length, cursor);
    if (next.offset() == cursor.offset()) {
      attachToLast(waiters);
      return;
    }
    Instant time = now();
    if (generation == null) {
      if (!startGeneration(time, waiters)) {
        return;
      }
    }
    long offset = replicaLog.offset();
    Wal.Compacted compacted = Wal.compact(bytes, cursor, next, replicaLog); // whole transactions only
    ReplicaLayout.Position position = new ReplicaLayout.Position(index, offset);
    byte[] body = compacted.bytes();
    long nanos = System.nanoTime();
    Shipment segment = new Shipment(ReplicaLayout.segment(root, generation, index, offset), body, time, nanos,
        position, new ArrayList<>(waiters), true);
    if (queue(segment)) {
      CompletableFuture<Void> snapshot = generationStored;
      replication.log().append(new NodeLog.Entry(root, generation, index, offset, time, body, nanos,
          (batch, object) -> inLog(segment, batch, object, snapshot)));
    }
    cursor = next;
    replicaLog = compacted.end();
    indexUsed = true;
  }

  /** The log from the cursor to its end (from 0 when the cursor is at the start); empty when there is none. */
  private byte[] readLog() throws IOException {
    try (FileChannel channel = FileChannel.open(wal, StandardOpenOption.READ)) {
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

  /** The snapshot that begins a generation: the file as it is at the start of the current log. */
  private boolean startGeneration(Instant time, List<CompletableFuture<Void>> waiters) {
    return startGeneration(time, waiters, List.of());
  }

  /** @param onStored complete once the snapshot is stored */
  private boolean startGeneration(Instant time, List<CompletableFuture<Void>> waiters, List<CompletableFuture<Void>> onStored) {
    String name = Generations.next(time.toEpochMilli(), replication.newestSeen(root));
    byte[] file;
    try {
      file = Files.readAllBytes(database);
      writeMarker(name);
    } catch (IOException e) {
      fail(waiters, new ReplicaException("cannot snapshot " + database + ": " + e.getMessage(), e));
      return false;
    }
    generation = name;
    index = 0;
    indexUsed = false;
    logSinceSnapshot = 0;
    replication.sawGeneration(root, Optional.of(name));
    CompletableFuture<Void> snapshotStored = new CompletableFuture<>();
    generationStored = snapshotStored;
    List<CompletableFuture<Void>> told = new ArrayList<>(onStored);
    told.add(snapshotStored);
    queue(new Shipment(ReplicaLayout.snapshot(root, name, 0), Lz4.compress(file, 0, file.length), time, System.nanoTime(),
        new ReplicaLayout.Position(0, -1), told, false));
    return true;
  }

  /** On the writer: once the log holds enough captured bytes, checkpoints it into the file and begins the next index. */
  private void checkpointIfDue(Connection connection) {
    if (cursor.offset() < replication.checkpointBytes()) {
      return;
    }
    long shipped = replicaLog.offset(); // what a restore replays
    try {
      checkpoint(connection);
      index++;
      indexUsed = false;
      cursor = Wal.Cursor.START;
      replicaLog = Wal.Cursor.START;
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
      queue(new Shipment(ReplicaLayout.snapshot(root, generation, index), Lz4.compress(file, 0, file.length), now(),
          System.nanoTime(), new ReplicaLayout.Position(index, -1), new ArrayList<>(), false));
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

  private Instant now() {
    // strictly increasing per file: Litestream orders a replica's objects by their times
    long millis = Math.max(System.currentTimeMillis(), lastTime + 1);
    lastTime = millis;
    return Instant.ofEpochMilli(millis);
  }

  // ---- shipping -----------------------------------------------------------------------------------------

  /** Queues an object of the layout behind the ones before it; false (waiters failed) once this writer is fenced off. */
  private boolean queue(Shipment shipment) {
    synchronized (this) {
      if (fencedBy == null) {
        shipments.add(shipment);
        pendingBytes += shipment.body.length;
        if (shipment.logged) {
          loggedBytes += shipment.body.length;
        } else {
          unlogged++;
        }
      }
    }
    if (fencedBy != null) {
      fail(shipment.waiters, fencedFailure());
      return false;
    }
    replication.pending(shipment.body.length);
    if (!shipment.logged) {
      kick();
    }
    return true;
  }

  /**
   * On an upload thread: the segment is in batch {@code batch} of the node's log, so it is stored; its waiters
   * are told (once the generation's snapshot is stored too), and it waits for its turn to go into the layout.
   */
  private void inLog(Shipment segment, long batch, byte[] object, CompletableFuture<Void> snapshot) {
    boolean dropped;
    long shrunk = 0;
    synchronized (this) {
      dropped = fencedBy != null; // only fencing takes a segment out of the queue before it is stored
      if (!dropped) {
        shrunk = object.length - segment.body.length;
        segment.body = object;
        pendingBytes += shrunk;
        loggedBytes += shrunk;
        segment.batch = batch;
        shippedGeneration = generationOf(segment.key);
        shippedPosition = segment.position;
        shippedAt = segment.time;
      }
    }
    if (dropped) {
      replication.log().released(batch); // this writer was fenced off meanwhile: it never goes into the layout
      return;
    }
    replication.pending(shrunk);
    if (snapshot.isDone()) {
      segment.waiters.forEach(w -> w.complete(null));
    } else {
      snapshot.whenComplete((done, error) -> segment.waiters.forEach(w -> {
        if (error != null) {
          w.completeExceptionally(error);
        } else {
          w.complete(null);
        }
      }));
    }
    kick();
  }

  /** Waiters whose transactions are already in a queued segment wait for it; with none queued, they are done. */
  private void attachToLast(List<CompletableFuture<Void>> waiters) {
    if (waiters.isEmpty()) {
      return;
    }
    synchronized (this) {
      Shipment last = shipments.peekLast();
      if (last != null && !last.inLog()) {
        last.waiters.addAll(waiters);
        return;
      }
    }
    waiters.forEach(w -> w.complete(null));
  }

  /**
   * Starts an upload of the oldest queued object when it is due: a snapshot or a mark at once; logged
   * segments once they are in the node's log and either the file is closed, an object that is not a segment
   * waits behind them, the node is draining, they add up to {@code flush-size}, or the oldest is
   * {@code flush-interval} old (a wake-up is scheduled for then).
   */
  private void kick() {
    long wakeIn = 0;
    synchronized (this) {
      if (shipping || fencedBy != null) {
        return;
      }
      Shipment head = shipments.peek();
      if (head == null || (head.logged && !head.inLog())) {
        return;
      }
      if (head.logged && !flushDue()) {
        long due = head.capturedNanos + replication.flushIntervalNanos();
        if (flushDueNanos == 0 || flushDueNanos > due) {
          flushDueNanos = due;
          wakeIn = Math.max(1, due - System.nanoTime());
        }
      } else {
        shipping = true;
      }
    }
    if (wakeIn > 0) {
      replication.scheduleNanos(() -> {
        synchronized (this) {
          flushDueNanos = 0;
        }
        kick();
      }, wakeIn);
    } else if (shipping) {
      replication.upload(this::ship);
    }
  }

  /** Starts an upload of what is due (the node is draining: everything stored in the node's log is). */
  void flush() {
    kick();
  }

  /** Guarded by this: whether the logged segments at the head go into the layout now. */
  private boolean flushDue() {
    return closing || unlogged > 0 || loggedBytes >= replication.flushBytes() || replication.draining()
        || replication.overHalfBacklog() || System.nanoTime() - shipments.peek().capturedNanos >= replication.flushIntervalNanos();
  }

  /** On an upload thread: stores the due objects in order; on a failure, tries again later. */
  private void ship() {
    try {
      shipQueued();
    } catch (RuntimeException | Error unexpected) {
      // never leave the queue marked as shipping with nobody shipping it
      log.error("replicas: shipping {} failed unexpectedly; trying again", root, unexpected);
      replication.retryLater(this::ship);
    }
  }

  private void shipQueued() {
    while (true) {
      List<Shipment> next = new ArrayList<>();
      synchronized (this) {
        Shipment head = shipments.peek();
        if (head == null || (head.logged && (!head.inLog() || !flushDue()))) {
          shipping = false;
          break;
        }
        next.add(head);
        if (head.logged) {
          // the stored segments of the same WAL index after it, merged into one object
          for (Shipment s : shipments) {
            if (s != head) {
              if (!s.logged || !s.inLog() || s.position.index() != head.position.index() || !generationOf(s.key).equals(generationOf(head.key))) {
                break;
              }
              next.add(s);
            }
          }
        }
      }
      Shipment first = next.get(0);
      Shipment last = next.get(next.size() - 1);
      byte[] body;
      try {
        body = next.size() == 1 ? first.body : merge(next);
        if (fencedByNewerWriter(first)) {
          return;
        }
        replication.target().put(first.key, body, last.time);
      } catch (IOException | RuntimeException e) {
        replication.uploadFailed(root, e);
        replication.retryLater(this::ship);
        return;
      }
      long bytes = 0;
      synchronized (this) {
        for (Shipment s : next) {
          shipments.poll(); // next is the head and those right after it
          pendingBytes -= s.body.length;
          bytes += s.body.length;
          if (s.logged) {
            loggedBytes -= s.body.length;
          } else {
            unlogged--;
          }
        }
        if (!first.logged) {
          shippedGeneration = generationOf(first.key);
          shippedPosition = first.position;
          shippedAt = first.time;
        }
      }
      if (first.position.snapshot() && first.key.startsWith(ReplicaLayout.generations(root))) {
        replication.snapshotStored(root); // retention: older objects may have left the window it keeps
      }
      replication.stored(bytes, body.length, first.logged ? new long[0] : new long[] {System.nanoTime() - first.capturedNanos});
      for (Shipment s : next) {
        if (s.logged) {
          replication.log().released(s.batch);
        } else {
          s.waiters.forEach(w -> w.complete(null));
        }
      }
    }
    kick(); // a later segment may be due at a later time
  }

  /**
   * The logged segments of one WAL index, one after the other, as one segment object from the first's offset
   * (one LZ4 frame: Litestream reads only the first of concatenated frames).
   */
  private static byte[] merge(List<Shipment> segments) throws IOException {
    List<byte[]> raw = new ArrayList<>(segments.size());
    int size = 0;
    for (Shipment s : segments) {
      byte[] bytes = Lz4.decompress(s.body);
      raw.add(bytes);
      size += bytes.length;
    }
    byte[] all = new byte[size];
    int at = 0;
    for (byte[] bytes : raw) {
      System.arraycopy(bytes, 0, all, at, bytes.length);
      at += bytes.length;
    }
    return Lz4.compress(all, 0, all.length);
  }

  /**
   * Fencing: at most every {@code fence-check-interval}, before storing an object of its generation, a
   * writer looks for a newer generation of the file; finding one, it drops what it has not stored, fails
   * whoever waits for it, and stops: the file's writer then refuses writes and restores the newer state
   * before its next use. Generation names sort by their writer's start, so the newest writer wins.
   */
  private boolean fencedByNewerWriter(Shipment next) throws IOException {
    String prefix = ReplicaLayout.generations(root);
    if (!next.key.startsWith(prefix) || System.nanoTime() - lastFenceCheckNanos < replication.settings().fenceCheckInterval().toNanos()) {
      return false;
    }
    String own = generationOf(next.key);
    Optional<String> newest = Generations.newest(replication.target().children(prefix));
    lastFenceCheckNanos = System.nanoTime();
    if (newest.isEmpty() || newest.get().compareTo(own) <= 0) {
      return false;
    }
    List<CompletableFuture<Void>> waiters = new ArrayList<>();
    List<Long> batches = new ArrayList<>();
    long dropped;
    synchronized (this) {
      fencedBy = newest.get();
      dropped = pendingBytes;
      shipments.forEach(s -> {
        waiters.addAll(s.waiters);
        if (s.inLog()) {
          batches.add(s.batch);
        }
      });
      shipments.clear();
      pendingBytes = 0;
      loggedBytes = 0;
      unlogged = 0;
      shipping = false;
    }
    replication.pending(-dropped);
    batches.forEach(replication.log()::released);
    log.warn("replicas: {} has a newer writer (generation {}, this node's is {}); this node stops writing it", root,
        newest.get(), own);
    waiters.forEach(w -> w.completeExceptionally(fencedFailure()));
    return true;
  }

  private ReplicaException fencedFailure() {
    return new ReplicaException(root + " has a newer writer elsewhere (replica generation " + fencedBy
        + "); this node stopped writing it and restores the newer state before its next use", null);
  }

  /** The newer generation that fenced this writer off, or null. */
  public String fencedBy() {
    return fencedBy;
  }

  /** The generation a stored key belongs to; the last one for a key outside {@code generations/} (the deletion mark). */
  private String generationOf(String key) {
    String prefix = ReplicaLayout.generations(root);
    if (!key.startsWith(prefix)) {
      return shippedGeneration;
    }
    String rest = key.substring(prefix.length());
    return rest.substring(0, rest.indexOf('/'));
  }

  private static void fail(List<CompletableFuture<Void>> waiters, RuntimeException failure) {
    log.error("{}", failure.getMessage());
    waiters.forEach(w -> w.completeExceptionally(failure));
  }

  // ---- what operators see -------------------------------------------------------------------------------

  /** Where the replica stands: the last object stored, what waits, and how far behind it is. */
  public record Status(String root, String generation, Integer index, Long offset, Instant shippedAt, int pendingObjects,
                       long pendingBytes, long lagMillis) {}

  public synchronized Status status() {
    Instant oldest = shipments.stream().filter(s -> !s.inLog()).map(s -> s.time).findFirst().orElse(null);
    long lag = oldest == null ? 0 : Math.max(0, System.currentTimeMillis() - oldest.toEpochMilli());
    return new Status(root, shippedGeneration, shippedPosition == null ? null : shippedPosition.index(),
        shippedPosition == null ? null : Math.max(0, shippedPosition.offset()), shippedAt, shipments.size(), pendingBytes, lag);
  }

  /** Nothing captured waits for the target, and no capture is due. */
  synchronized boolean idle() {
    return shipments.isEmpty() && !shipping && !captureScheduled;
  }

  // ---- the mark of the local file's generation ---------------------------------------------------------

  private String readMarker() {
    try {
      String name = Files.readString(marker, StandardCharsets.US_ASCII).trim();
      return Generations.isName(name) ? name : null;
    } catch (IOException none) {
      return null;
    }
  }

  private void writeMarker(String name) throws IOException {
    Path temporary = marker.resolveSibling(marker.getFileName() + ".tmp");
    Files.writeString(temporary, name + "\n", StandardCharsets.US_ASCII);
    Files.move(temporary, marker, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
