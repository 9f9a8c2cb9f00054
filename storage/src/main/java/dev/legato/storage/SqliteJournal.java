package dev.legato.storage;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.journal.japi.AsyncWriteJournal;
import scala.concurrent.Future;
import scala.jdk.javaapi.FutureConverters;

/**
 * The Pekko Persistence journal plugin: each persistenceId's events live in its own SQLite file (see
 * {@link StorageLayout}), written by that file's single writer with group commit, together with the
 * read-side rows of the projection registered for its entity type. Enable it with
 * {@code pekko.persistence.journal.plugin = "legato.storage.journal"}.
 */
public final class SqliteJournal extends AsyncWriteJournal {
  private final Databases databases = SessionStorage.get(context().system()).databases();

  @Override
  public Future<Iterable<Optional<Exception>>> doAsyncWriteMessages(Iterable<AtomicWrite> messages) {
    List<AtomicWrite> all = new ArrayList<>();
    boolean onePersistenceId = true;
    for (AtomicWrite write : messages) {
      onePersistenceId &= all.isEmpty() || all.get(0).persistenceId().equals(write.persistenceId());
      all.add(write);
    }
    if (onePersistenceId) { // what a persistent actor sends
      return FutureConverters.asScala(writeOne(all.get(0).persistenceId(), all).thenApply(results -> results));
    }
    Map<String, List<AtomicWrite>> byId = new LinkedHashMap<>();
    for (AtomicWrite write : all) {
      byId.computeIfAbsent(write.persistenceId(), id -> new ArrayList<>()).add(write);
    }
    // Several entities in one call: one write per file, results in the original order.
    Map<String, CompletableFuture<List<Optional<Exception>>>> pending = new LinkedHashMap<>();
    byId.forEach((id, writes) -> pending.put(id, writeOne(id, writes)));
    CompletableFuture<Iterable<Optional<Exception>>> combined = CompletableFuture
        .allOf(pending.values().toArray(CompletableFuture[]::new))
        .thenApply(done -> {
          Map<String, Integer> next = new LinkedHashMap<>();
          List<Optional<Exception>> results = new ArrayList<>(all.size());
          for (AtomicWrite write : all) {
            int index = next.merge(write.persistenceId(), 1, Integer::sum) - 1;
            results.add(pending.get(write.persistenceId()).join().get(index));
          }
          return results;
        });
    return FutureConverters.asScala(combined);
  }

  /** An invalid persistenceId rejects its writes (nothing is stored, the actor is told why). */
  private CompletableFuture<List<Optional<Exception>>> writeOne(String persistenceId, List<AtomicWrite> writes) {
    return databases.write(persistenceId, writes).exceptionallyCompose(failure -> {
      Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
      if (cause instanceof InvalidPersistenceIdException invalid) {
        List<Optional<Exception>> rejected = new ArrayList<>(writes.size());
        writes.forEach(w -> rejected.add(Optional.of(invalid)));
        return CompletableFuture.completedFuture(rejected);
      }
      return CompletableFuture.failedFuture(cause);
    });
  }

  @Override
  public Future<Void> doAsyncDeleteMessagesTo(String persistenceId, long toSequenceNr) {
    return FutureConverters.asScala(databases.<Void>read(persistenceId, db -> {
      db.deleteTo(toSequenceNr);
      return null;
    }, () -> null));
  }

  @Override
  public Future<Void> doAsyncReplayMessages(
      String persistenceId, long fromSequenceNr, long toSequenceNr, long max, Consumer<PersistentRepr> replayCallback) {
    EventCodec codec = databases.codec();
    return FutureConverters.asScala(databases.<Void>read(persistenceId, db -> {
      db.replay(fromSequenceNr, toSequenceNr, max, row -> {
        Object payload = codec.deserialize(row.payload().bytes(), row.payload().serializerId(), row.payload().manifest());
        PersistentRepr repr = PersistentRepr.apply(
                payload, row.seq(), persistenceId, row.adapterManifest(), false, null, row.writerUuid())
            .withTimestamp(row.writtenAt());
        if (row.metadata() != null) {
          EventCodec.Blob meta = row.metadata();
          repr = repr.withMetadata(codec.deserialize(meta.bytes(), meta.serializerId(), meta.manifest()));
        }
        replayCallback.accept(repr);
        return true;
      });
      return null;
    }, () -> null));
  }

  @Override
  public Future<Long> doAsyncReadHighestSequenceNr(String persistenceId, long fromSequenceNr) {
    return FutureConverters.asScala(databases.read(persistenceId, OpenDatabase::highestSequenceNr, () -> 0L));
  }
}
