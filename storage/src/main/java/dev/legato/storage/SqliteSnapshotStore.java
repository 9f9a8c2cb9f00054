package dev.legato.storage;

import java.util.Optional;
import org.apache.pekko.persistence.SelectedSnapshot;
import org.apache.pekko.persistence.SnapshotMetadata;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;
import org.apache.pekko.persistence.snapshot.japi.SnapshotStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;
import scala.concurrent.Future;
import scala.jdk.javaapi.FutureConverters;

/**
 * The Pekko Persistence snapshot store plugin: snapshots live in the same SQLite file as the entity's
 * events, written by the same single writer. Enable it with
 * {@code pekko.persistence.snapshot-store.plugin = "legato.storage.snapshot"}.
 */
public final class SqliteSnapshotStore extends SnapshotStore {
  private static final Logger log = LoggerFactory.getLogger(SqliteSnapshotStore.class);
  private final Databases databases = SessionStorage.get(context().system()).databases();

  /** The youngest snapshot matching the criteria that can be read; older ones are tried if it cannot. */
  @Override
  public Future<Optional<SelectedSnapshot>> doLoadAsync(String persistenceId, SnapshotSelectionCriteria criteria) {
    EventCodec codec = databases.codec();
    return FutureConverters.asScala(databases.read(persistenceId, db -> {
      SelectedSnapshot[] found = {null};
      db.snapshots(criteria.minSequenceNr(), criteria.maxSequenceNr(), criteria.minTimestamp(), criteria.maxTimestamp(),
          row -> {
            try {
              Object snapshot = codec.deserialize(row.payload().bytes(), row.payload().serializerId(), row.payload().manifest());
              Option<Object> metadata = row.metadata() == null ? Option.empty() : Option.apply(
                  codec.deserialize(row.metadata().bytes(), row.metadata().serializerId(), row.metadata().manifest()));
              found[0] = SelectedSnapshot.create(
                  SnapshotMetadata.apply(persistenceId, row.seq(), row.createdAt(), metadata), snapshot);
              return false;
            } catch (RuntimeException unreadable) {
              log.warn("snapshot {} of {} cannot be read, trying an older one: {}", row.seq(), persistenceId,
                  unreadable.toString());
              return true;
            }
          });
      return Optional.ofNullable(found[0]);
    }, Optional::empty));
  }

  @Override
  public Future<Void> doSaveAsync(SnapshotMetadata metadata, Object snapshot) {
    EventCodec codec = databases.codec();
    return FutureConverters.asScala(databases.run(metadata.persistenceId(), db -> {
      EventCodec.Blob meta = metadata.metadata().isDefined() ? codec.serialize(metadata.metadata().get()) : null;
      db.saveSnapshot(metadata.sequenceNr(), metadata.timestamp(), codec.serialize(snapshot), meta);
      return null;
    }));
  }

  /** Deletes the snapshot with this sequence number (and timestamp, unless it is 0). */
  @Override
  public Future<Void> doDeleteAsync(SnapshotMetadata metadata) {
    long timestamp = metadata.timestamp();
    return FutureConverters.asScala(databases.read(metadata.persistenceId(), db -> {
      db.deleteSnapshots(metadata.sequenceNr(), metadata.sequenceNr(),
          timestamp == 0 ? 0 : timestamp, timestamp == 0 ? Long.MAX_VALUE : timestamp);
      return null;
    }, () -> null));
  }

  @Override
  public Future<Void> doDeleteAsync(String persistenceId, SnapshotSelectionCriteria criteria) {
    return FutureConverters.asScala(databases.read(persistenceId, db -> {
      db.deleteSnapshots(criteria.minSequenceNr(), criteria.maxSequenceNr(), criteria.minTimestamp(),
          criteria.maxTimestamp());
      return null;
    }, () -> null));
  }
}
