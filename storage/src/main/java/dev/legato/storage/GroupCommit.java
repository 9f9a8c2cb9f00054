package dev.legato.storage;

import dev.legato.storage.readside.Projection;
import dev.legato.storage.replica.DbReplica;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.PersistentRepr;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The commit of one file's batch of writes (group commit), on the file's writer: all in one transaction, each
 * atomic write inside its own savepoint, so a write whose event cannot be serialized or whose projection throws
 * is rejected alone while its neighbours commit; a failing statement or commit fails them all. With replicas
 * in sync mode, the writes are acknowledged only once their replica has stored them.
 */
final class GroupCommit {
  // the writer's lines, under the writer's name
  private static final Logger log = LoggerFactory.getLogger(DatabaseFile.class);

  private final DatabaseFile file;
  private final StorageLayout.Location location;
  private final Projection projection;
  private final Databases owner;
  private final List<DbReplica> replicas;

  GroupCommit(DatabaseFile file, StorageLayout.Location location, Projection projection, Databases owner,
              List<DbReplica> replicas) {
    this.file = file;
    this.location = location;
    this.projection = projection;
    this.owner = owner;
    this.replicas = replicas;
  }

  /** Thrown inside a write when the projection (not the journal) refused an event. */
  private static final class Rejected extends Exception {
    Rejected(Exception cause) {
      super(cause);
    }
  }

  /** Commits the writes that queued up together, opening the file if need be, and answers each. */
  void commit(List<DatabaseFile.Write> writes) {
    // Serialize before the transaction: a payload that cannot be serialized is rejected without touching disk.
    List<List<List<EventCodec.Encoded>>> encoded = new ArrayList<>(writes.size());
    List<List<Optional<Exception>>> results = new ArrayList<>(writes.size());
    int storable = 0;
    for (DatabaseFile.Write write : writes) {
      List<List<EventCodec.Encoded>> perWrite = new ArrayList<>(write.writes().size());
      List<Optional<Exception>> perResult = new ArrayList<>(write.writes().size());
      for (AtomicWrite atomicWrite : write.writes()) {
        try {
          List<EventCodec.Encoded> events = new ArrayList<>(atomicWrite.size());
          for (PersistentRepr repr : CollectionConverters.asJava(atomicWrite.payload())) {
            events.add(owner.codec().encode(repr));
          }
          perWrite.add(events);
          perResult.add(Optional.empty());
          storable++;
        } catch (Exception notSerializable) {
          perWrite.add(null);
          perResult.add(Optional.of(notSerializable));
        }
      }
      encoded.add(perWrite);
      results.add(perResult);
    }
    if (storable == 0) {
      complete(writes, results);
      return;
    }
    for (DbReplica replica : replicas) {
      String newer = replica.fencedBy();
      if (newer != null) {
        file.closeDatabase(); // the next use restores the newer writer's state first
        failAll(writes, new StorageException("'" + location.persistenceId() + "' has a newer writer elsewhere (replica"
            + " generation " + newer + "); this node stopped writing it", null));
        return;
      }
    }
    OpenDatabase db;
    try {
      db = file.database();
    } catch (RuntimeException cannotOpen) {
      failAll(writes, cannotOpen);
      return;
    }
    boolean savepoints = storable > 1;
    boolean stored = false;
    long now = System.currentTimeMillis();
    try (Statement control = db.connection.createStatement()) {
      for (int w = 0; w < writes.size(); w++) {
        for (int a = 0; a < encoded.get(w).size(); a++) {
          List<EventCodec.Encoded> events = encoded.get(w).get(a);
          if (events == null) {
            continue;
          }
          if (savepoints) {
            control.execute("SAVEPOINT atomic_write");
          }
          try {
            store(db, events, now);
            stored = true;
            if (savepoints) {
              control.execute("RELEASE atomic_write");
            }
          } catch (Rejected rejected) {
            if (savepoints) {
              control.execute("ROLLBACK TO atomic_write");
              control.execute("RELEASE atomic_write");
            } else {
              db.connection.rollback();
            }
            results.get(w).set(a, Optional.of((Exception) rejected.getCause()));
          }
        }
      }
      db.connection.commit();
      if (stored) {
        owner.committed();
      }
    } catch (SQLException | RuntimeException failure) {
      // One line per failed write, without a stack trace: the writer (the thread) is told the cause too.
      log.error("storage: writing events of {} to {} failed: {}", location.persistenceId(), location.database(),
          failure.getMessage());
      file.closeDatabase();
      failAll(writes, new StorageException("writing events of '" + location.persistenceId() + "' to "
          + location.database() + " failed: " + failure.getMessage(), failure));
      return;
    }
    if (!stored || replicas.isEmpty()) {
      complete(writes, results);
      return;
    }
    CompletableFuture<?>[] shipped = replicas.stream().map(r -> r.committed(db.connection)).filter(f -> f != null)
        .toArray(CompletableFuture[]::new);
    if (shipped.length == 0) {
      complete(writes, results); // async: acknowledged now, shipped within the sync interval
      return;
    }
    // sync: acknowledged once stored in the replica (the output gate); the transactions are committed locally already
    CompletableFuture.allOf(shipped).whenComplete((done, failure) -> {
      if (failure == null) {
        complete(writes, results);
      } else {
        Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
        failAll(writes, new StorageException("the events of '" + location.persistenceId() + "' are written locally but"
            + " could not be stored in the replica: " + cause.getMessage(), cause));
      }
    });
  }

  /** One atomic write: its events, and the rows its projection makes of them. */
  private void store(OpenDatabase db, List<EventCodec.Encoded> events, long now) throws SQLException, Rejected {
    db.insert(events, now);
    if (projection == null) {
      return;
    }
    long memorySeq = -1;
    for (EventCodec.Encoded event : events) {
      long seq = event.repr().sequenceNr();
      db.readSide.begin(seq, false);
      try {
        projection.project(
            new Projection.JournaledEvent(location.persistenceId(), seq, event.writtenAt(now), event.event()),
            db.readSide);
      } catch (Exception e) {
        throw new Rejected(e);
      }
      if (db.readSide.wroteMemory()) {
        memorySeq = seq;
      }
    }
    if (memorySeq >= 0) {
      db.recordMemorySeq(memorySeq);
    }
  }

  private static void complete(List<DatabaseFile.Write> writes, List<List<Optional<Exception>>> results) {
    for (int w = 0; w < writes.size(); w++) {
      writes.get(w).result().complete(results.get(w));
    }
  }

  private static void failAll(List<DatabaseFile.Write> writes, Throwable failure) {
    for (DatabaseFile.Write write : writes) {
      write.result().completeExceptionally(failure);
    }
  }
}
