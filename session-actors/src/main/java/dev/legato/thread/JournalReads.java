package dev.legato.thread;

import dev.legato.podium.PodiumClient;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
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
  /** The most of a history sent to another node in one answer. */
  private final long pageBytes;

  JournalReads(ActorSystem<?> system, String persistenceId) {
    this.system = system;
    this.persistenceId = persistenceId;
    this.readJournal = system.settings().config().getString("legato.thread.read-journal");
    this.pageBytes = system.settings().config().getBytes("legato.thread.history-page-bytes");
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

  /**
   * Answers {@code replyTo} with the events after {@code after} up to {@code upTo} and the thread's {@code status},
   * or why not. An asker on another node gets a page its remoting carries (events up to
   * {@code legato.thread.history-page-bytes} as they are sent, at least one), and asks for the rest
   * ({@link ThreadCommand.ReadHistory}); one on this node gets them all.
   */
  void answerHistory(long after, long upTo, ThreadCommand.ThreadStatus status,
                     ActorRef<StatusReply<ThreadCommand.Resumed>> replyTo) {
    boolean remote = replyTo.path().address().hasGlobalScope();
    Serialization serialization = SerializationExtension.get(system.classicSystem());
    long[] bytes = new long[1];
    journal().currentEventsByPersistenceId(persistenceId, after + 1, upTo)
        .map(e -> new ThreadUpdate.Persisted(e.sequenceNr(), (ThreadEvent) e.event()))
        .takeWhile(event -> {
          if (!remote) {
            return true;
          }
          long size = serialization.serialize(event).get().length; // as remoting sends it
          boolean fits = bytes[0] == 0 || bytes[0] + size <= pageBytes; // a page holds one event at least
          bytes[0] += fits ? size : 0;
          return fits;
        })
        .runWith(Sink.seq(), system)
        .whenComplete((events, error) -> {
          if (error != null) {
            replyTo.tell(StatusReply.error(FailureKind.STORAGE.describe("the thread's history could not be read: "
                + PodiumClient.unwrap(error).getMessage())));
            return;
          }
          replyTo.tell(StatusReply.success(new ThreadCommand.Resumed(status, List.copyOf(events), upTo)));
        });
  }

  private CurrentEventsByPersistenceIdQuery journal() {
    return PersistenceQuery.get(system.classicSystem())
        .getReadJournalFor(CurrentEventsByPersistenceIdQuery.class, readJournal);
  }
}
