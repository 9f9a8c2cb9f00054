package dev.legato.thread;

import dev.legato.podium.PodiumClient;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.javadsl.CurrentEventsByPersistenceIdQuery;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * A thread's persisted events read back from its journal: a follower's replay, a resume's history. Read
 * through the Pekko Persistence Query plugin {@code legato.thread.read-journal} names (the storage's).
 */
final class JournalReads {
  private final ActorSystem<?> system;
  private final String persistenceId;
  private final String readJournal;

  JournalReads(ActorSystem<?> system, String persistenceId) {
    this.system = system;
    this.persistenceId = persistenceId;
    this.readJournal = system.settings().config().getString("legato.thread.read-journal");
  }

  /**
   * Sends {@code to} the events numbered {@code from} to {@code upTo}, in order, then tells the thread
   * ({@code self}) that its replay is done ({@link Signal.ReplayDone}, with the failure if it failed).
   */
  void replay(long from, long upTo, ActorRef<ThreadUpdate> to, ActorRef<ThreadCommand> self) {
    journal().currentEventsByPersistenceId(persistenceId, Math.max(1, from), upTo)
        .runForeach(e -> to.tell(new ThreadUpdate.Persisted(e.sequenceNr(), (ThreadEvent) e.event())), system)
        .whenComplete((done, error) -> self.tell(new Signal.ReplayDone(to, error == null ? null
            : String.valueOf(PodiumClient.unwrap(error)))));
  }

  /** Answers {@code replyTo} with every event up to {@code upTo} and the thread's {@code status}, or why not. */
  void answerHistory(long upTo, ThreadCommand.ThreadStatus status,
                     ActorRef<StatusReply<ThreadCommand.Resumed>> replyTo) {
    journal().currentEventsByPersistenceId(persistenceId, 1, upTo)
        .map(e -> new ThreadUpdate.Persisted(e.sequenceNr(), (ThreadEvent) e.event()))
        .runWith(Sink.seq(), system)
        .whenComplete((history, error) -> replyTo.tell(error == null
            ? StatusReply.success(new ThreadCommand.Resumed(status, List.copyOf(history)))
            : StatusReply.error(FailureKind.STORAGE.describe("the thread's history could not be read: "
                + PodiumClient.unwrap(error).getMessage()))));
  }

  private CurrentEventsByPersistenceIdQuery journal() {
    return PersistenceQuery.get(system.classicSystem())
        .getReadJournalFor(CurrentEventsByPersistenceIdQuery.class, readJournal);
  }
}
