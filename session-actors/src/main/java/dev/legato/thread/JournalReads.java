package dev.legato.thread;

import dev.legato.storage.SqliteReadJournal;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;

/** A thread's persisted events read back from its journal: a follower's replay, a resume's history. */
final class JournalReads {
  private final ActorSystem<?> system;
  private final String persistenceId;

  JournalReads(ActorSystem<?> system, String persistenceId) {
    this.system = system;
    this.persistenceId = persistenceId;
  }

  /** Sends {@code to} the events numbered {@code from} to {@code upTo}, in order. */
  CompletionStage<Done> replay(long from, long upTo, ActorRef<ThreadUpdate> to) {
    return journal().currentEventsByPersistenceId(persistenceId, Math.max(1, from), upTo)
        .runForeach(e -> to.tell(new ThreadUpdate.Persisted(e.sequenceNr(), (ThreadEvent) e.event())), system);
  }

  /** Every event up to {@code upTo}. */
  CompletionStage<List<ThreadUpdate.Persisted>> history(long upTo) {
    return journal().currentEventsByPersistenceId(persistenceId, 1, upTo)
        .map(e -> new ThreadUpdate.Persisted(e.sequenceNr(), (ThreadEvent) e.event()))
        .runWith(Sink.seq(), system);
  }

  private SqliteReadJournal journal() {
    return PersistenceQuery.get(system.classicSystem())
        .getReadJournalFor(SqliteReadJournal.class, SqliteReadJournal.IDENTIFIER);
  }
}
