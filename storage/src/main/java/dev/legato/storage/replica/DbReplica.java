package dev.legato.storage.replica;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replica of one database file, as its writer (the file's {@code DatabaseFile}) drives it through the file's
 * life: opened (restored first when the replica holds a newer state), committed to, closed, deleted, restored by
 * an operator. The writer owns the connection, so the replica decides when the write-ahead log is checkpointed:
 * never before every committed frame in it has been captured ({@link Capture}). Captured segments upload in
 * order ({@link Shipments}). Each writer of a file (each process that opens it) begins a new generation with a
 * snapshot of the file as it was at the start of the log, and stops once a newer writer appears ({@link Fence}).
 *
 * <p>Methods documented as "on the writer" run only on the file's writer; the upload side runs on the
 * replication's threads and touches only what is guarded by the file's {@link Shipments}.
 */
public final class DbReplica {
  private static final Logger log = LoggerFactory.getLogger(DbReplica.class);
  /** The object beside {@code generations/} that marks a deleted file's replica. */
  static final String DELETED = "deleted";

  /** Runs work on the file's writer, with its open connection (null when the file is closed meanwhile). */
  public interface Writer {
    void runOnWriter(Consumer<Connection> work);
  }

  private final Replication replication;
  private final String root;
  private final Path database;
  private final GenerationMark mark;
  private final Fence fence;
  private final Shipments shipments;
  private final Capture capture;
  /** On the writer: whether this process made sure the replica holds nothing newer than the local file. */
  private boolean checked;

  DbReplica(Replication replication, String root, Path database, String schema) {
    this.replication = replication;
    this.root = root;
    this.database = database;
    this.mark = new GenerationMark(database);
    this.fence = new Fence(replication, root);
    this.shipments = new Shipments(replication, root, fence);
    this.capture = new Capture(replication, root, database, schema, mark, shipments);
  }

  /** The key prefix of this file's replica, e.g. {@code sessions/<id>/session.db}. */
  public String root() {
    return root;
  }

  // ---- opening ------------------------------------------------------------------------------------------

  /** Whether {@link #beforeOpen} has network work to do (checking the replica, maybe restoring from it). */
  public boolean needsCheck() {
    return !checked || fence.fencedBy() != null;
  }

  /** Where that work is best done: off the storage's writer threads. */
  public java.util.concurrent.Executor checkExecutor() {
    return replication.checks();
  }

  /**
   * On the writer, before the connection opens: the first time in this process, restores the file from its
   * replica when the local copy is missing or older than the replica's newest generation (a copy left by
   * a node that lost the file since, or none at all), or was never replicated while the replica holds a
   * generation (another writer made it since). A local copy with no generation mark is kept when the replica
   * has none (replicas turned on for a data directory written before).
   */
  public void beforeOpen(Writer writer) {
    capture.runsOn(writer);
    if (fence.fencedBy() != null) {
      checked = false; // another writer took over: its newer state is restored before this node writes again
      capture.forgetGeneration();
    }
    if (checked) {
      return;
    }
    replication.foldOtherLogs();
    // With no local copy, a replica newer than nothing is restored unless it was deleted: the deletion mark is
    // read beside the listing of generations, not after it (a thread moving here: one round trip less)
    boolean local = Files.exists(database);
    CompletableFuture<String> deletion = local ? null : read(this::deletionMark);
    Optional<String> newest;
    try {
      newest = Generations.newest(replication.target(), root);
    } catch (IOException | RuntimeException e) {
      throw new ReplicaException("cannot read the replica of " + database.getFileName() + " at " + replication.target().describe()
          + " to check it is not newer than the local file: " + e.getMessage(), e);
    }
    replication.sawGeneration(root, newest);
    if (newest.isEmpty()) {
      checked = true;
      return;
    }
    String localGeneration = local ? mark.read() : null;
    // A copy this node restored from the newest generation is not trusted as it: that generation's writer may have
    // gone on writing it since (a copy restored here by a read, while the thread lived on another node).
    boolean restoredCopy = local && mark.restored();
    // A local copy with no mark was never replicated: its generation would have been marked before its first
    // object went out. The replica's generation is another writer's since (a spare's empty files left here while
    // its thread was made and used on another node, say), and it is the file's state.
    if (local && localGeneration != null && (localGeneration.compareTo(newest.get()) > 0
        || (localGeneration.equals(newest.get()) && !restoredCopy))) {
      checked = true;
      return;
    }
    // What a restore reads next is asked side by side, not one after another: whether the file was deleted, who
    // wrote the generation (and whether it handed the file over whole), and the generation's objects
    String generation = newest.get();
    ReplicaTarget target = replication.target();
    if (deletion == null) {
      deletion = read(this::deletionMark);
    }
    CompletableFuture<String> writerName = read(() -> PeerLogs.writerOf(target, root, generation));
    CompletableFuture<List<ReplicaTarget.Entry>> objects =
        read(() -> target.list(ReplicaLayout.generation(root, generation)));
    if (generation.equals(answer(deletion, "the deletion mark"))) {
      checked = true; // deleted with that generation its last: only an operator's restore brings it back
      return;
    }
    log.info("restoring {} from its replica (generation {}): {}", database, newest.get(),
        !local ? "no local copy" : localGeneration == null ? "the local copy was never replicated, and another writer"
            + " made the replica since" : restoredCopy && localGeneration.equals(newest.get())
            ? "the local copy was restored from it, and its writer may have gone on"
            : "the local copy is of an older generation, " + localGeneration);
    long began = System.nanoTime();
    // its last writer may have died with acknowledged segments in its log only
    boolean layoutChanged = replication.foldOtherLogsFor(root, generation, answer(writerName, "the generation's writer"));
    long folded = System.nanoTime();
    try {
      Restorer.Result result = Restorer.restoreInto(target, root, generation,
          layoutChanged ? null : answer(objects, "the generation's listing"), null, database, replication.reads());
      log.debug("restored {} in {} ms (folding other writers' logs {} ms)", database,
          (System.nanoTime() - began) / 1_000_000, (folded - began) / 1_000_000);
      replication.restored(result);
      mark.write(newest.get(), true);
      capture.reset(); // the local file is another writer's state now: this writer begins a generation of its own
      fence.lift();
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
    shipments.opened();
    capture.opened(connection);
  }

  // ---- writing and closing ------------------------------------------------------------------------------

  /**
   * On the writer, after a commit. Async mode: a capture within the sync interval (one per interval, and
   * none while nothing changes). Sync mode: a capture now, and the returned future completes once the
   * transactions committed so far are stored (in the node's log, which groups every file's captures made
   * while its last batch was in flight into one upload).
   */
  public CompletableFuture<Void> committed(Connection connection) {
    return capture.committed(connection);
  }

  /**
   * On the writer, before the connection closes (SQLite then checkpoints the log into the file and removes
   * it): captures the rest, and from now on what the file captured goes into its layout as soon as it is
   * stored in the node's log.
   */
  public void beforeClose() {
    capture.beforeClose();
    shipments.closing();
  }

  /**
   * On the writer, after the connection closed: SQLite checkpointed the log into the file and removed it. The
   * next open looks at the replica again: meanwhile the file may have had a writer elsewhere (its thread moved
   * to another node and back), whose newer state must be restored before this node writes again.
   */
  public void closed() {
    capture.closed();
    checked = false;
  }

  /**
   * With the file closed: completes once everything it captured is in its layout (what a restore elsewhere reads),
   * or this writer is fenced off by a newer one; fails after {@code limit}. Nothing waits for the flush interval
   * once the file is closed. What a thread handing over to another node waits for.
   */
  /**
   * With the file closed and everything it captured in its layout ({@link #whenStored}): marks its generation as
   * handed over, so that the node restoring it next need not fold this node's log (the layout holds it all).
   * Should this node open the file again, it begins a generation of its own first, which the mark does not cover.
   * The future completes once the mark is stored (or could not be: then a restore folds the log, as without it).
   */
  public CompletableFuture<Void> handedOver() {
    String generation = capture.generation();
    if (generation == null) {
      return CompletableFuture.completedFuture(null);
    }
    capture.forgetGeneration();
    return replication.nameWriter(root, generation, true);
  }

  public CompletableFuture<Void> whenStored(Duration limit) {
    CompletableFuture<Void> stored = new CompletableFuture<>();
    long deadline = System.nanoTime() + limit.toNanos();
    Runnable[] poll = new Runnable[1];
    poll[0] = () -> {
      if (shipments.storedAll()) {
        stored.complete(null);
      } else if (System.nanoTime() > deadline) {
        stored.completeExceptionally(new ReplicaException(root + ": the replica has not stored the file's last"
            + " transactions within " + limit.toMillis() + " ms (is " + replication.target().describe() + " answering?)", null));
      } else {
        replication.scheduleNanos(poll[0], java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(10));
      }
    };
    shipments.kick();
    poll[0].run();
    // the replication's timer runs nothing once it is closed: bounded all the same
    return stored.orTimeout(limit.toMillis() + 1000, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /** Starts an upload of what is due (the node is draining: everything stored in the node's log is). */
  void flush() {
    shipments.kick();
  }

  // ---- deleting and restoring ---------------------------------------------------------------------------

  /**
   * On the writer, after the file was closed and its local files removed: marks the replica deleted
   * ({@code <root>/deleted}, holding the last generation; Litestream does not look outside
   * {@code generations/}), after everything captured before, and records the deletion in the target's index
   * of deletions (see {@link Retention}). The replica stays for the retention period, then is purged unless
   * the file was written again; nothing restores it before recovery while that generation is its newest.
   */
  public void deleted() {
    String generation = capture.generation();
    if (generation == null) {
      return; // never replicated from here: whatever replica exists was marked by its own writer, or is newer
    }
    Instant at = capture.now();
    ReplicaLayout.Position position = new ReplicaLayout.Position(capture.index(), -1);
    shipments.queue(Shipment.object(root + "/" + DELETED, (generation + "\n").getBytes(StandardCharsets.US_ASCII), at,
        position, List.of()));
    shipments.queue(Shipment.object(Retention.deletionKey(root, at), Retention.deletionRecord(generation, at), at,
        position, List.of()));
    capture.forgetGeneration(); // a thread made again under this id begins a generation of its own
    checked = true; // in this process the file is known deleted, whatever the mark's upload has reached
  }

  /** Reads {@code work} on the replication's read threads. */
  private <T> CompletableFuture<T> read(PeerLogs.IoSupplier<T> work) {
    return AsyncReads.start(replication.reads(), work);
  }

  /** What {@link #read} read; its failure thrown as the open's ({@code what} says what was read). */
  private <T> T answer(CompletableFuture<T> read, String what) {
    try {
      return AsyncReads.answer(read);
    } catch (IOException e) {
      throw new ReplicaException("cannot read " + what + " of " + root + " at " + replication.target().describe() + ": "
          + e.getMessage(), e);
    }
  }

  /** The generation the replica's deletion mark names (the last one of the deleted file), or null when there is none. */
  private String deletionMark() {
    try {
      return new String(replication.target().get(root + "/" + DELETED), StandardCharsets.US_ASCII).trim();
    } catch (NoSuchFileException none) {
      return null;
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
    shipments.awaitStored(Duration.ofMinutes(1));
    replication.foldOtherLogs();
    replication.foldOtherLogsFor(root, null); // a restore to any moment: every log
    replication.sawGeneration(root, Generations.newest(replication.target(), root));
    Restorer.Result result = Restorer.restoreInto(replication.target(), root, null, at, database);
    replication.restored(result);
    CompletableFuture<Void> stored = new CompletableFuture<>();
    reset();
    capture.beginGeneration(stored); // a failure fails stored, with its reason
    return new Restored(result, stored);
  }

  /** What {@link #restore} restored, and the storing of the new generation's snapshot. */
  public record Restored(Restorer.Result result, CompletableFuture<Void> stored) {}

  /**
   * On the writer, with the file closed and its local files removed or about to be (a file rebuilt from
   * another, such as memory.db from its journal after a restore): its next capture begins a new generation,
   * and nothing restores the old one before recovery.
   */
  public void reset() {
    fence.lift();
    checked = true;
    capture.reset();
  }

  // ---- what operators see -------------------------------------------------------------------------------

  /** The newer generation that fenced this writer off, or null. */
  public String fencedBy() {
    return fence.fencedBy();
  }

  /** Where the replica stands: the last object stored, what waits, and how far behind it is. */
  public record Status(String root, String generation, Integer index, Long offset, Instant shippedAt, int pendingObjects,
                       long pendingBytes, long lagMillis) {}

  public Status status() {
    return shipments.status();
  }

  /** Nothing captured waits for the target, and no capture is due. */
  boolean idle() {
    return shipments.idle() && !capture.scheduled();
  }
}
