package dev.legato.storage;

import dev.legato.storage.readside.Projection;
import dev.legato.storage.replica.DbReplica;
import dev.legato.storage.replica.Restorer;
import java.io.IOException;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.pekko.persistence.AtomicWrite;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The single writer of one database file. Work for the file queues here and runs on the storage
 * dispatcher, one task at a time, in arrival order; writes that queued up while the previous task ran are
 * committed together ({@link GroupCommit}). The writer owns the file's connection and its life: opened on
 * first use (after its replicas' checks), closed, deleted or restored on request.
 */
final class DatabaseFile {
  private static final Logger log = LoggerFactory.getLogger(DatabaseFile.class);

  /** Work against the open database; runs on the file's writer, inside a transaction that commits after. */
  @FunctionalInterface
  interface Work<T> {
    T run(OpenDatabase database) throws Exception;
  }

  sealed interface Op permits Write, Task, Close, Replicate, Restore {
    CompletableFuture<?> result();
  }

  record Write(List<AtomicWrite> writes, CompletableFuture<List<Optional<Exception>>> result) implements Op {}

  /** @param ifAbsent when not null, the answer if the file does not exist yet (a read must not create it) */
  record Task<T>(Work<T> work, Supplier<T> ifAbsent, CompletableFuture<T> result) implements Op {}

  record Close(boolean delete, CompletableFuture<Void> result) implements Op {}

  /** Replication's work on the writer: given the open connection, or null when the file is closed. */
  record Replicate(Consumer<Connection> work, CompletableFuture<Void> result) implements Op {}

  /** Closes the file and replaces it with its replica's state at {@code at} (null: the newest); see {@link #restore}. */
  record Restore(Instant at, CompletableFuture<Restorer.Result> result) implements Op {}

  private final StorageLayout.Location location;
  private final Projection projection;
  private final Databases owner;
  /** The replicas of this file's databases (session.db, then memory.db when attached); empty when off. */
  private final List<DbReplica> replicas;
  private final GroupCommit commits;
  private final ArrayDeque<Op> queue = new ArrayDeque<>();
  private boolean scheduled;
  private boolean retired;
  private boolean closedByRequest;
  /** Touched only by the task that is draining the queue. */
  private OpenDatabase database;
  /** Whether the replicas were checked off the writer threads since the file last closed (once: a failure is the open's). */
  private boolean checkedOffWriter;

  DatabaseFile(StorageLayout.Location location, Projection projection, Databases owner) {
    this.location = location;
    this.projection = projection;
    this.owner = owner;
    this.replicas = owner.replicasOf(location, projection != null);
    this.commits = new GroupCommit(this, location, projection, owner, replicas);
  }

  /** Replication's way onto this file's writer; when this writer has retired, the work runs with no connection. */
  private void runOnWriter(Consumer<Connection> work) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (!enqueue(new Replicate(work, done))) {
      owner.executor().execute(() -> work.accept(null));
    }
  }

  String persistenceId() {
    return location.persistenceId();
  }

  /** Queues work; false when this writer has retired (closed and forgotten) and a new one must be made. */
  boolean enqueue(Op op) {
    synchronized (this) {
      if (retired) {
        return false;
      }
      queue.add(op);
      if (scheduled) {
        return true;
      }
      scheduled = true;
    }
    owner.executor().execute(this::drain);
    return true;
  }

  private void drain() {
    if (database == null && !checkedOffWriter && !owner.stopping() && opensTheFile()
        && replicas.stream().anyMatch(DbReplica::needsCheck)) {
      // The replica is checked (and the file maybe restored) on the replicas' own threads; this file's work
      // waits for it (it stays scheduled: nothing else drains meanwhile), the writer threads serve other files.
      // The files' replicas (session.db, memory.db) are checked side by side; the last one done resumes the drain.
      checkedOffWriter = true;
      java.util.concurrent.atomic.AtomicInteger left = new java.util.concurrent.atomic.AtomicInteger(replicas.size());
      for (DbReplica replica : replicas) {
        replica.checkExecutor().execute(() -> {
          try {
            replica.beforeOpen(this::runOnWriter);
          } catch (RuntimeException e) {
            log.debug("checking the replica of {} failed; the open tries again: {}", replica.root(), e.getMessage());
          }
          if (left.decrementAndGet() == 0) {
            owner.executor().execute(this::drain);
          }
        });
      }
      return;
    }
    List<Op> batch = new ArrayList<>();
    synchronized (this) {
      while (!queue.isEmpty() && batch.size() < owner.settings().maxBatch()) {
        batch.add(queue.poll());
      }
    }
    try {
      process(batch);
    } catch (Throwable unexpected) {
      log.error("storage task for {} failed unexpectedly", location.persistenceId(), unexpected);
      closeDatabase();
      for (Op op : batch) {
        op.result().completeExceptionally(unexpected);
      }
    }
    boolean more;
    synchronized (this) {
      more = !queue.isEmpty();
      if (!more) {
        scheduled = false;
        if (closedByRequest && database == null) {
          retired = true;
          owner.retire(this);
        }
      }
    }
    if (more) {
      owner.executor().execute(this::drain);
    }
  }

  /** Whether the next work opens the file (a write, a read), rather than close, restore or ship it. */
  private boolean opensTheFile() {
    synchronized (this) {
      Op next = queue.peek();
      return next instanceof Write || next instanceof Task<?>;
    }
  }

  private void process(List<Op> batch) {
    int i = 0;
    while (i < batch.size()) {
      Op op = batch.get(i);
      if (op instanceof Write) {
        int j = i + 1;
        while (j < batch.size() && batch.get(j) instanceof Write) {
          j++;
        }
        List<Write> writes = new ArrayList<>(j - i);
        for (int k = i; k < j; k++) {
          writes.add((Write) batch.get(k));
        }
        commits.commit(writes);
        i = j;
      } else {
        if (op instanceof Task<?> task) {
          run(task);
        } else if (op instanceof Close close) {
          close(close);
        } else if (op instanceof Restore restore) {
          restore(restore);
        } else if (op instanceof Replicate replicate) {
          replicate.work().accept(database == null ? null : database.connection);
          replicate.result().complete(null);
        }
        i++;
      }
    }
  }

  // ---- tasks, closes and restores -----------------------------------------------------------------------

  private <T> void run(Task<T> task) {
    OpenDatabase db = null;
    try {
      if (task.ifAbsent() != null && database == null && !Files.exists(location.database())) {
        refuseWhileStopping();
        replicas.forEach(r -> r.beforeOpen(this::runOnWriter)); // its replica may hold it (a lost disk, a moved thread)
        if (!Files.exists(location.database())) {
          task.result().complete(task.ifAbsent().get());
          return;
        }
      }
      db = database();
      T value = task.work().run(db);
      db.connection.commit();
      task.result().complete(value);
    } catch (Exception failure) {
      if (db != null) {
        rollbackQuietly(db);
        if (failure instanceof SQLException) {
          closeDatabase();
        }
      }
      task.result().completeExceptionally(failure);
    }
  }

  private void close(Close close) {
    closeDatabase();
    closedByRequest = true;
    if (close.delete()) {
      try {
        StorageLayout.deleteTree(location.directory());
      } catch (IOException e) {
        close.result().completeExceptionally(
            new StorageException("cannot delete " + location.directory() + ": " + OpenDatabase.describe(e), e));
        return;
      }
      replicas.forEach(DbReplica::deleted); // the replica stays (restorable), marked so nothing restores it unasked
    }
    close.result().complete(null);
  }

  /**
   * An operator's restore: the file is closed, then replaced with its replica's state at the moment asked
   * for, which begins a new generation of the replica (the newest, so every node restores this state); the
   * result completes once that generation's snapshot is stored. memory.db holds what the journal projects,
   * so it is not restored from its own replica (whose moments need not match the journal's) but removed and
   * rebuilt from the restored journal when the file next opens, in a new generation of its own.
   */
  private void restore(Restore restore) {
    closeDatabase();
    closedByRequest = true;
    if (replicas.isEmpty()) {
      restore.result().completeExceptionally(new StorageException("replicas are off (legato.storage.replica.mode)"));
      return;
    }
    try {
      DbReplica.Restored restored = replicas.get(0).restore(restore.at());
      for (DbReplica derived : replicas.subList(1, replicas.size())) {
        derived.reset();
      }
      if (projection != null) {
        for (String suffix : List.of("", "-wal", "-shm", ".generation")) {
          Files.deleteIfExists(location.memoryDatabase().resolveSibling(location.memoryDatabase().getFileName() + suffix));
        }
      }
      restored.stored().whenComplete((done, error) -> {
        if (error != null) {
          restore.result().completeExceptionally(new StorageException("restored " + location.database().getFileName()
              + ", but could not store the new replica generation that makes it the newest state: " + error.getMessage(), error));
        } else {
          restore.result().complete(restored.result());
        }
      });
    } catch (IOException | RuntimeException e) {
      restore.result().completeExceptionally(e instanceof StorageException ? e
          : new StorageException("cannot restore " + location.database() + ": " + e.getMessage(), e));
    }
  }

  // ---- the connection -----------------------------------------------------------------------------------

  /** The open connection, opened (after its replicas' checks) when it is not; on the file's writer. */
  OpenDatabase database() {
    if (database == null) {
      refuseWhileStopping();
      replicas.forEach(r -> r.beforeOpen(this::runOnWriter));
      OpenDatabase opened = OpenDatabase.open(location, projection != null, owner.settings(), !replicas.isEmpty());
      try {
        for (DbReplica replica : replicas) {
          replica.opened(opened.connection);
        }
      } catch (SQLException | RuntimeException e) {
        opened.close();
        throw new StorageException("cannot prepare " + location.database() + " for replication: " + e.getMessage(), e);
      }
      closedByRequest = false;
      database = opened;
      owner.opened(this);
      if (projection != null) {
        reconcileMemory(opened);
      }
    } else {
      owner.touch(this);
    }
    return database;
  }

  /** Rebuilds memory.db from the journal when it and session.db disagree (after an OS crash). */
  private void reconcileMemory(OpenDatabase db) {
    try {
      boolean inStep = db.memoryInStep();
      db.connection.commit();
      if (inStep) {
        return;
      }
      log.warn("memory.db of {} is out of step with its journal; rebuilding it", location.persistenceId());
      db.clearMemory();
      long[] last = {0};
      db.replay(1, Long.MAX_VALUE, Long.MAX_VALUE, row -> {
        Object event = owner.codec().deserialize(row.payload().bytes(), row.payload().serializerId(), row.payload().manifest());
        db.readSide.begin(row.seq(), true);
        projection.project(new Projection.JournaledEvent(location.persistenceId(), row.seq(), row.writtenAt(), event), db.readSide);
        if (db.readSide.wroteMemory()) {
          last[0] = row.seq();
        }
        return true;
      });
      db.recordMemorySeq(last[0]);
      db.connection.commit();
    } catch (Exception e) {
      closeDatabase();
      throw new StorageException("cannot rebuild " + location.memoryDatabase() + ": " + e.getMessage(), e);
    }
  }

  /** Once the storage is stopping, a closed file stays closed (its last transactions were captured as it closed). */
  private void refuseWhileStopping() {
    if (owner.stopping()) {
      throw new StorageException("the storage is stopping: " + location.database() + " is not opened again", null);
    }
  }

  /** Closes the connection (if open); the next task reopens it. */
  void closeDatabase() {
    if (database != null) {
      replicas.forEach(DbReplica::beforeClose); // SQLite checkpoints the log into the file as it closes
      database.close();
      replicas.forEach(DbReplica::closed);
      database = null;
      owner.closed(this);
    }
    checkedOffWriter = false;
  }

  private static void rollbackQuietly(OpenDatabase db) {
    try {
      db.connection.rollback();
    } catch (SQLException ignored) {
      // the failure being reported matters more
    }
  }
}
