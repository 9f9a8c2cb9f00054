package dev.legato.storage;

import dev.legato.storage.readside.Projection;
import dev.legato.storage.replica.ReplicaConfig;
import dev.legato.storage.replica.Replication;
import dev.legato.storage.replica.Restorer;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;
import org.apache.pekko.serialization.SerializationExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Legato's SQLite storage for one actor system: the per-file writers that the journal and snapshot plugins
 * share, and the lifecycle calls the domain makes on a thread's files (close on archive, delete, open for
 * queries). All blocking work runs on its own bounded pool of writer threads, never on a dispatcher that
 * actors use.
 */
public final class SessionStorage implements Extension {
  private static final Logger log = LoggerFactory.getLogger(SessionStorage.class);
  private final Databases databases;
  private final ExecutorService writers;
  /** Null when replication is off. */
  private final Replication replication;

  private SessionStorage(ExtendedActorSystem system) {
    StorageSettings settings = StorageSettings.from(system.settings().config().getConfig("legato.storage"));
    EventCodec codec = new EventCodec(SerializationExtension.get(system));
    AtomicInteger threadNumber = new AtomicInteger();
    this.writers = Executors.newFixedThreadPool(settings.writerThreads(), task -> {
      Thread thread = new Thread(() -> {
        codec.bindTransportInformation();
        task.run();
      }, system.name() + "-legato-storage-" + threadNumber.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    });
    this.replication = ReplicaConfig.fromConfig(
        system.settings().config().getConfig("legato.storage.replica"), settings.dataDir().toAbsolutePath());
    if (replication != null) {
      log.info("replicas ({} mode) go to {}", replication.settings().mode().name().toLowerCase(java.util.Locale.ROOT),
          replication.target().describe());
    }
    this.databases = new Databases(settings, codec, writers, loadProjections(system, settings), replication);
    CoordinatedShutdown.get(system).addTask(
        CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
        "legato-storage-close",
        // the drain waits off the writer threads: the last file's close completes on one, and captures still
        // queued behind it must run for the uploads to finish
        () -> databases.closeAll().orTimeout(30, TimeUnit.SECONDS)
            .handleAsync((done, error) -> {
              drainReplicas();
              return org.apache.pekko.Done.getInstance();
            }, runnable -> new Thread(runnable, system.name() + "-legato-replica-drain").start()));
    system.registerOnTermination(() -> {
      writers.shutdown();
      if (replication != null) {
        replication.close();
      }
    });
  }

  /** Closing files captured their last transactions: give their uploads a bounded time to finish. */
  private void drainReplicas() {
    if (replication == null) {
      return;
    }
    try {
      if (!replication.drain(java.time.Duration.ofSeconds(20))) {
        log.warn("replicas: stopping with uploads still waiting for {} (they are in the local files; the next start"
            + " of each thread ships them in a new generation)", replication.target().describe());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** This node's replication, when it is on. */
  public java.util.Optional<Replication> replication() {
    return java.util.Optional.ofNullable(replication);
  }

  public static SessionStorage get(ActorSystem system) {
    return Id.INSTANCE.get(system);
  }

  public static SessionStorage get(org.apache.pekko.actor.typed.ActorSystem<?> system) {
    return Id.INSTANCE.get(system);
  }

  public StorageLayout layout() {
    return databases.layout();
  }

  /**
   * Creates and opens a thread's database files ahead of its first event, so that the write which creates
   * the thread finds them ready. A thread that never records an event is removed with {@link #deleteThread}.
   */
  public CompletionStage<Void> prepareThread(UUID threadId) {
    return databases.run(StorageLayout.threadPersistenceId(threadId), db -> null);
  }

  /** Closes a thread's database files (archive): they stay on disk and reopen on the next use. */
  public CompletionStage<Void> closeThread(UUID threadId) {
    return databases.close(StorageLayout.threadPersistenceId(threadId), false);
  }

  /**
   * An entity moves to another node (its shard is handed off): closes its files after the work queued before,
   * and completes once its replicas hold everything it wrote, so that the node taking it over restores all of
   * it. Fails when the replica has not stored it within {@code limit} (the files keep it, and this node ships it
   * later, in a generation the new owner's supersedes). With replicas off it completes once the files are closed.
   */
  public CompletionStage<Void> handOff(String persistenceId, java.time.Duration limit) {
    return handOff(persistenceId, limit, true);
  }

  /**
   * The same; {@code markHandedOver}: once its replicas hold it all, each file's generation says so, and the node
   * restoring it next need not read this node's log (a node leaving the cluster). This node opening the file again
   * then begins a generation of its own (a full snapshot), so a thread merely passivated is not marked.
   */
  public CompletionStage<Void> handOff(String persistenceId, java.time.Duration limit, boolean markHandedOver) {
    return databases.handOff(persistenceId, limit, markHandedOver);
  }

  /** Closes and removes a thread's folder (session.db, memory.db and their WAL files). */
  public CompletionStage<Void> deleteThread(UUID threadId) {
    return databases.close(StorageLayout.threadPersistenceId(threadId), true);
  }

  /**
   * Whether the thread's replica holds a state to restore at {@code at} (null: its newest state), for any
   * thread, deleted ones too; answered from the replica alone (nothing local is opened or created).
   * Completes with the generation such a restore would start from; empty when there is none, or when
   * replicas are off.
   */
  public CompletionStage<java.util.Optional<String>> replicaOf(UUID threadId, java.time.Instant at) {
    if (replication == null) {
      return CompletableFuture.completedFuture(java.util.Optional.empty());
    }
    String root = layout().replicaRoot(layout().threadDirectory(threadId).resolve(StorageLayout.SESSION_FILE));
    return CompletableFuture.supplyAsync(() -> {
      try {
        return Restorer.generationAt(replication.target(), root, at);
      } catch (IOException e) {
        throw new StorageException("cannot read the replica of thread " + threadId + " at "
            + replication.target().describe() + ": " + e.getMessage(), e);
      }
    }, writers);
  }

  /**
   * Replaces a thread's files with its replica's state at {@code at} (null: the newest): an operator's
   * restore of a deleted thread, or a roll-back of a live one. The caller makes sure nothing uses the
   * thread meanwhile (its entity is stopped, or stops right after, before it writes again). Completes once
   * the restored state is the replica's newest (a new generation's snapshot is stored), with what was
   * restored: the last transaction's time and, for a damaged replica, where the restore had to stop.
   */
  public CompletionStage<Restorer.Result> restoreThread(UUID threadId, java.time.Instant at) {
    return databases.restore(StorageLayout.threadPersistenceId(threadId), at);
  }

  /**
   * Removes the folders of threads that never recorded anything: threads prepared ahead of a start
   * ({@link #prepareThread}) and still unused when the process stopped or crashed. A folder goes only when
   * its journal holds no event (none written, none deleted) and no snapshot, so a thread that recorded its
   * creation is never touched. Only folders on disk when this is called and not in use by this process are
   * looked at: call it at start, before threads are prepared or created (a thread's first write comes from
   * whoever made its id, a fresh UUID, never one of these). Runs on the writer threads, one folder at a
   * time; completes with the number of folders removed.
   */
  public CompletionStage<Integer> removeThreadsWithoutEvents() {
    Path sessions = databases.layout().dataDir().resolve("sessions");
    if (!Files.isDirectory(sessions)) {
      return CompletableFuture.completedFuture(0);
    }
    long emptySize = Templates.SESSION.size();
    List<UUID> candidates = new ArrayList<>();
    try (DirectoryStream<Path> folders = Files.newDirectoryStream(sessions)) {
      for (Path folder : folders) {
        UUID threadId;
        try {
          threadId = StorageLayout.parseThreadId(folder.getFileName().toString(), folder.getFileName().toString());
        } catch (InvalidPersistenceIdException notAThread) {
          continue; // not ours to judge
        }
        Path session = folder.resolve(StorageLayout.SESSION_FILE);
        // A thread with history outgrows the empty file (checked below anyway): only small ones are opened.
        if (!databases.inUse(StorageLayout.threadPersistenceId(threadId))
            && (!Files.exists(session) || Files.size(session) <= emptySize)) {
          candidates.add(threadId);
        }
      }
    } catch (IOException e) {
      return CompletableFuture.failedFuture(
          new StorageException("cannot list " + sessions + ": " + OpenDatabase.describe(e), e));
    }
    CompletableFuture<Integer> removed = CompletableFuture.completedFuture(0);
    for (UUID threadId : candidates) {
      removed = removed.thenCompose(count -> removeIfNothingRecorded(threadId)
          .handle((gone, error) -> {
            if (error != null) {
              log.warn("could not check or remove the folder of thread {}: {}", threadId, error.getMessage());
            }
            return error == null && gone ? count + 1 : count;
          }));
    }
    return removed;
  }

  /**
   * Looks at the local file alone, read-only: not through the writer, which would first check it against its
   * replica and restore it. The thread may live on another node now, and a copy restored here while it goes on
   * there is stale the moment it is made.
   */
  private CompletableFuture<Boolean> removeIfNothingRecorded(UUID threadId) {
    String persistenceId = StorageLayout.threadPersistenceId(threadId);
    Path session = databases.layout().threadDirectory(threadId).resolve(StorageLayout.SESSION_FILE);
    return CompletableFuture.supplyAsync(() -> {
      if (!Files.exists(session)) {
        return true;
      }
      try (java.sql.Connection connection = DriverManager.getConnection("jdbc:sqlite:file:" + session + "?mode=ro");
           Statement statement = connection.createStatement();
           ResultSet recorded = statement.executeQuery("SELECT (SELECT count(*) FROM journal)"
               + " + (SELECT count(*) FROM snapshots) + (SELECT coalesce(max(deleted_to), 0) FROM journal_meta)")) {
        return recorded.next() && recorded.getLong(1) == 0;
      } catch (SQLException e) {
        throw new StorageException("cannot read " + session + ": " + e.getMessage(), e);
      }
    }, writers).thenCompose(nothing -> nothing
        ? databases.close(persistenceId, true).thenApply(closed -> true)
        : CompletableFuture.completedFuture(false));
  }

  /** Closes the files of any persistenceId, after the work already queued for it. */
  public CompletionStage<Void> close(String persistenceId) {
    return databases.close(persistenceId, false);
  }

  /**
   * Runs read-only queries against a thread's tables on the thread's writer, after the writes queued
   * before it: the answer reflects every acknowledged event. Fails if the thread has no database yet.
   */
  public <T> CompletionStage<T> readThread(UUID threadId, Function<ThreadDatabase, T> query) {
    String persistenceId = StorageLayout.threadPersistenceId(threadId);
    return databases.read(persistenceId, db -> {
      try (ThreadDatabase view = new ThreadDatabase(db.connection, db.hasMemory, false)) {
        return query.apply(view);
      }
    }, () -> {
      throw new StorageException("thread " + threadId + " has no database");
    });
  }

  /**
   * Opens a thread's files read-only with a connection of its own, for tools and for threads that are not
   * open for writing (archived, or never touched since start). The caller closes it.
   */
  public ThreadDatabase openReadOnly(UUID threadId) {
    return ThreadDatabase.open(
        databases.layout().threadDirectory(threadId).resolve(StorageLayout.SESSION_FILE),
        databases.layout().threadDirectory(threadId).resolve(StorageLayout.MEMORY_FILE));
  }

  /** Number of database connections open right now (bounded by {@code max-open-databases}). */
  public int openDatabases() {
    return databases.openCount();
  }

  /** Write transactions committed since start; with group commit, each may carry many writes. */
  public long committedTransactions() {
    return databases.commits();
  }

  Databases databases() {
    return databases;
  }

  private static Map<String, Projection> loadProjections(ExtendedActorSystem system, StorageSettings settings) {
    Map<String, Projection> projections = new HashMap<>();
    settings.projections().forEach((type, className) -> {
      try {
        Class<?> type0 = Class.forName(className, true, system.dynamicAccess().classLoader());
        Object instance;
        try {
          instance = type0.getConstructor(ActorSystem.class).newInstance(system);
        } catch (NoSuchMethodException noSystemConstructor) {
          instance = type0.getConstructor().newInstance();
        }
        projections.put(type, (Projection) instance);
      } catch (ReflectiveOperationException | ClassCastException e) {
        throw new IllegalArgumentException("legato.storage.projections: cannot create '" + className
            + "' for entity type '" + type + "' (it must implement " + Projection.class.getName()
            + " and have a public constructor taking an ActorSystem or nothing): " + e, e);
      }
    });
    return Map.copyOf(projections);
  }

  private static final class Id extends AbstractExtensionId<SessionStorage> {
    static final Id INSTANCE = new Id();

    @Override
    public SessionStorage createExtension(ExtendedActorSystem system) {
      return new SessionStorage(system);
    }
  }
}
