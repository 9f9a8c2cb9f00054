package dev.legato.storage;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.javadsl.CurrentEventsByPersistenceIdQuery;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Pekko Persistence Query over the SQLite journal: the events of one persistenceId as they are stored,
 * read in pages on the entity's own writer (so a live file is read consistently, behind every write
 * queued before). Obtain it with
 * {@code PersistenceQuery.get(system).getReadJournalFor(SqliteReadJournal.class, SqliteReadJournal.IDENTIFIER)}.
 */
public final class SqliteReadJournal implements CurrentEventsByPersistenceIdQuery {
  public static final String IDENTIFIER = "legato.storage.query";
  private static final int PAGE = 256;

  private final Databases databases;

  SqliteReadJournal(Databases databases) {
    this.databases = databases;
  }

  @Override
  public Source<EventEnvelope, NotUsed> currentEventsByPersistenceId(String persistenceId, long fromSequenceNr,
                                                                     long toSequenceNr) {
    EventCodec codec = databases.codec();
    return Source.unfoldAsync(Math.max(1, fromSequenceNr), from -> {
      if (from > toSequenceNr) {
        return CompletableFuture.completedFuture(Optional.<Pair<Long, List<EventEnvelope>>>empty());
      }
      return databases.read(persistenceId, db -> {
        List<EventEnvelope> page = new ArrayList<>(PAGE);
        db.replay(from, toSequenceNr, PAGE, row -> {
          Object event = codec.deserialize(row.payload().bytes(), row.payload().serializerId(), row.payload().manifest());
          page.add(EventEnvelope.apply(Offset.sequence(row.seq()), persistenceId, row.seq(), event, row.writtenAt()));
          return true;
        });
        return page.isEmpty() ? Optional.<Pair<Long, List<EventEnvelope>>>empty()
            : Optional.of(Pair.create(page.get(page.size() - 1).sequenceNr() + 1, page));
      }, Optional::empty);
    }).mapConcat(page -> page);
  }
}
