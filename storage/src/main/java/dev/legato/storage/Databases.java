package dev.legato.storage;

import dev.legato.storage.readside.Projection;
import dev.legato.storage.replica.DbReplica;
import dev.legato.storage.replica.Restorer;
import dev.legato.storage.replica.Replication;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import org.apache.pekko.persistence.AtomicWrite;

/**
 * Every database file's writer, by persistenceId, and the bounded set of open connections: when more than
 * {@code max-open-databases} are open, the least recently used one is closed (it reopens on its next use),
 * so a hundred thousand threads on disk never mean a hundred thousand open files.
 */
final class Databases {
  private volatile boolean stopping;
  private final StorageSettings settings;
  private final StorageLayout layout;
  private final EventCodec codec;
  private final Executor executor;
  private final Map<String, Projection> projections;
  /** Null when replication is off. */
  private final Replication replication;
  private final ConcurrentHashMap<String, DatabaseFile> files = new ConcurrentHashMap<>();
  private final LongAdder commits = new LongAdder();
  /** Open files, least recently used first (access order). Guarded by itself. */
  private final LinkedHashMap<DatabaseFile, Boolean> open = new LinkedHashMap<>(256, 0.75f, true);

  Databases(StorageSettings settings, EventCodec codec, Executor executor, Map<String, Projection> projections,
            Replication replication) {
    this.settings = settings;
    this.replication = replication;
    this.layout = new StorageLayout(settings.dataDir());
    this.codec = codec;
    this.executor = executor;
    this.projections = projections;
  }

  StorageLayout layout() {
    return layout;
  }

  StorageSettings settings() {
    return settings;
  }

  EventCodec codec() {
    return codec;
  }

  Executor executor() {
    return executor;
  }

  Replication replication() {
    return replication;
  }

  /** The replicas of a file's databases, keyed by their paths below the data directory; none when off. */
  List<DbReplica> replicasOf(StorageLayout.Location location, boolean withMemory) {
    if (replication == null) {
      return List.of();
    }
    List<DbReplica> replicas = new ArrayList<>(2);
    replicas.add(replication.replica(layout.replicaRoot(location.database()), location.database(), "main"));
    if (withMemory) {
      replicas.add(replication.replica(layout.replicaRoot(location.memoryDatabase()), location.memoryDatabase(), "mem"));
    }
    return List.copyOf(replicas);
  }

  CompletableFuture<List<Optional<Exception>>> write(String persistenceId, List<AtomicWrite> writes) {
    CompletableFuture<List<Optional<Exception>>> result = new CompletableFuture<>();
    return submit(persistenceId, new DatabaseFile.Write(writes, result), result);
  }

  /** Runs {@code work} on the file's writer, in order with its writes, and commits afterwards. */
  <T> CompletableFuture<T> run(String persistenceId, DatabaseFile.Work<T> work) {
    CompletableFuture<T> result = new CompletableFuture<>();
    return submit(persistenceId, new DatabaseFile.Task<>(work, null, result), result);
  }

  /** Like {@link #run}, but answers {@code ifAbsent} instead of creating a file that does not exist. */
  <T> CompletableFuture<T> read(String persistenceId, DatabaseFile.Work<T> work, Supplier<T> ifAbsent) {
    CompletableFuture<T> result = new CompletableFuture<>();
    return submit(persistenceId, new DatabaseFile.Task<>(work, ifAbsent, result), result);
  }

  /** Closes the file's connection after the work queued before; with {@code delete}, removes its folder. */
  CompletableFuture<Void> close(String persistenceId, boolean delete) {
    CompletableFuture<Void> result = new CompletableFuture<>();
    if (!delete && !files.containsKey(persistenceId)) {
      return CompletableFuture.completedFuture(null);
    }
    return submit(persistenceId, new DatabaseFile.Close(delete, result), result);
  }

  /**
   * Closes the file after the work queued before, then completes once its replicas hold everything it wrote (or
   * after {@code limit}, failed): the file's entity is moving to another node, which restores it from there.
   */
  CompletableFuture<Void> handOff(String persistenceId, java.time.Duration limit, boolean markHandedOver) {
    StorageLayout.Location location;
    try {
      location = layout.locate(persistenceId);
    } catch (InvalidPersistenceIdException invalid) {
      return CompletableFuture.failedFuture(invalid);
    }
    return close(persistenceId, false).thenCompose(closed -> {
      List<DbReplica> replicas = replicasOf(location, projections.get(location.type()) != null);
      // once its layout holds it all, each file says so: the node taking it over need not fold this node's log
      return CompletableFuture.allOf(replicas.stream()
          .map(r -> markHandedOver ? r.whenStored(limit).thenCompose(stored -> r.handedOver()) : r.whenStored(limit))
          .toArray(CompletableFuture[]::new));
    });
  }

  /** Closes the file after the work queued before and replaces it with its replica's state at {@code at}. */
  CompletableFuture<Restorer.Result> restore(String persistenceId, java.time.Instant at) {
    CompletableFuture<Restorer.Result> result = new CompletableFuture<>();
    return submit(persistenceId, new DatabaseFile.Restore(at, result), result);
  }

  /** Whether this process has a writer for the file (it has used it and not retired it since). */
  boolean inUse(String persistenceId) {
    return files.containsKey(persistenceId);
  }

  /**
   * Closes every open file after the work queued before; used when the actor system stops. From then on no
   * file opens again: an entity still writing during the shutdown is refused ("the storage is stopping"),
   * so nothing is written that the closing did not capture for its replica, and no connection outlives it.
   */
  CompletableFuture<Void> closeAll() {
    stopping = true;
    List<CompletableFuture<Void>> closing = new ArrayList<>();
    for (String persistenceId : files.keySet()) {
      closing.add(close(persistenceId, false));
    }
    return CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new));
  }

  /** Whether {@link #closeAll} has begun: files are not opened any more. */
  boolean stopping() {
    return stopping;
  }

  /** Write transactions committed since start (each may carry many atomic writes). */
  long commits() {
    return commits.sum();
  }

  void committed() {
    commits.increment();
  }

  int openCount() {
    synchronized (open) {
      return open.size();
    }
  }

  private <T> CompletableFuture<T> submit(String persistenceId, DatabaseFile.Op op, CompletableFuture<T> result) {
    while (true) {
      DatabaseFile file = files.get(persistenceId);
      if (file == null) {
        StorageLayout.Location location;
        try {
          location = layout.locate(persistenceId); // validates the id before it becomes a path
        } catch (InvalidPersistenceIdException invalid) {
          return CompletableFuture.failedFuture(invalid);
        }
        file = files.computeIfAbsent(
            persistenceId, id -> new DatabaseFile(location, projections.get(location.type()), this));
      }
      if (file.enqueue(op)) {
        return result;
      }
    }
  }

  // ---- called by DatabaseFile --------------------------------------------------------------------------

  void opened(DatabaseFile file) {
    List<DatabaseFile> evicted = new ArrayList<>();
    synchronized (open) {
      open.put(file, Boolean.TRUE);
      Iterator<DatabaseFile> eldest = open.keySet().iterator();
      while (open.size() > settings.maxOpenDatabases() && eldest.hasNext()) {
        DatabaseFile candidate = eldest.next();
        if (candidate != file) {
          eldest.remove();
          evicted.add(candidate);
        }
      }
    }
    for (DatabaseFile victim : evicted) {
      victim.enqueue(new DatabaseFile.Close(false, new CompletableFuture<>()));
    }
  }

  void touch(DatabaseFile file) {
    synchronized (open) {
      open.get(file);
    }
  }

  void closed(DatabaseFile file) {
    synchronized (open) {
      open.remove(file);
    }
  }

  void retire(DatabaseFile file) {
    files.remove(file.persistenceId(), file);
  }
}
