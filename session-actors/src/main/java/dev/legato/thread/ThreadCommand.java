package dev.legato.thread;

import dev.legato.podium.AgentCommand;
import dev.legato.serialization.CborSerializable;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * What a thread is asked, by clients (through the gateway), its registry and operators, and what it answers.
 * A command a client waits on is a {@link Request}: it gets a {@link StatusReply}, an error when the
 * command is not legal in the thread's state. The messages a thread sends itself are its own
 * ({@link Signal}).
 */
public sealed interface ThreadCommand extends CborSerializable
    permits ThreadCommand.Create, ThreadCommand.StartTurn, ThreadCommand.AnswerApproval,
    ThreadCommand.Interrupt, ThreadCommand.Subscribe, ThreadCommand.GetStatus, ThreadCommand.AnnounceName,
    ThreadCommand.Prepare, ThreadCommand.GetDetails, ThreadCommand.Resume, ThreadCommand.Read, ThreadCommand.ReadHistory,
    ThreadCommand.Steer, ThreadCommand.AnswerQuestion, ThreadCommand.Archive, ThreadCommand.Unarchive,
    ThreadCommand.Delete, ThreadCommand.Restore, Signal {

  /** A command whose sender waits for a yes or a reason: refused with one while the thread is being restored. */
  interface Request {
    ActorRef<? extends StatusReply<?>> replyTo();
  }

  /**
   * Starts the thread: resolves the agent type's deployment, creates the Podium instance, opens the link.
   * With {@code awaitAgent} false the thread is recorded and reported started once the deployment is known,
   * and its instance is created right after: a client need not wait for Podium (the first turn waits for the
   * agent if it is not up yet). {@link Created#instanceId()} is then null.
   *
   * @param tenant whose registry lists the thread (it is told of activity); null for a thread outside any
   * @param forkOf the thread and turn this one forks (it reads them from that thread); null for a new thread
   */
  public record Create(String agentType, String cwd, String tenant, ForkOf forkOf, boolean awaitAgent,
                       ActorRef<StatusReply<Created>> replyTo) implements ThreadCommand, Request {
    public Create(String agentType, String cwd, String tenant, ActorRef<StatusReply<Created>> replyTo) {
      this(agentType, cwd, tenant, null, true, replyTo);
    }
  }

  /**
   * A fork's source: its journal starts with the source's ended turns (and memories) through
   * {@code lastTurnId} (null: all of them). The new thread reads them from the source when it is created;
   * whoever asks checks first that the source is the tenant's.
   */
  public record ForkOf(UUID sourceThreadId, String lastTurnId) implements CborSerializable {}

  /**
   * Starts a turn. {@code requestId} names the request it answers (null: none): the same request sent again (its
   * first answer lost with a node, or its first copy dropped while the thread moved) is answered with the turn it
   * started instead of starting another, as long as that was this incarnation's last start.
   */
  public record StartTurn(String text, String requestId, ActorRef<StatusReply<TurnAccepted>> replyTo)
      implements ThreadCommand, Request {
    public StartTurn(String text, ActorRef<StatusReply<TurnAccepted>> replyTo) {
      this(text, null, replyTo);
    }
  }

  /** What a thread that is moving to another node answers every request: the sender may send it again at once. */
  String MOVING = "the thread is moving to another node; try again in a moment";

  public record AnswerApproval(String requestId, AgentCommand.Decision decision, ActorRef<StatusReply<Done>> replyTo)
      implements ThreadCommand, Request {}

  public record Interrupt(ActorRef<StatusReply<Done>> replyTo) implements ThreadCommand, Request {}

  /**
   * Updates until the subscriber stops: first every persisted event after {@code afterSequenceNr} (0: the
   * whole history; null: none), then live ones, in order and exactly once; a pending approval or question
   * is offered again after that. {@code numberedBy}: the entity whose events the cursor counts, when the
   * subscriber follows anew after losing it (null: this one's, as a resume's answer gives it).
   */
  public record Subscribe(ActorRef<ThreadUpdate> subscriber, Long afterSequenceNr, ActorRef<?> numberedBy,
                          ActorRef<StatusReply<Done>> replyTo) implements ThreadCommand, Request {
    public Subscribe(ActorRef<ThreadUpdate> subscriber, Long afterSequenceNr, ActorRef<StatusReply<Done>> replyTo) {
      this(subscriber, afterSequenceNr, null, replyTo);
    }
  }

  public record GetStatus(ActorRef<ThreadStatus> replyTo) implements ThreadCommand {}

  /** The registry renamed the thread (the name lives there): every subscriber hears it. */
  public record AnnounceName(String name) implements ThreadCommand {}

  /**
   * Be ready to be created: start, recover (nothing) and open the database files, so that a later
   * {@link Create} only records the thread. A thread prepared but never created removes its files when it
   * passivates. Ignored by a thread that exists.
   */
  public record Prepare() implements ThreadCommand {}

  /** What an operator wants to know about a live thread. */
  public record GetDetails(ActorRef<ThreadDetails> replyTo) implements ThreadCommand {}

  /**
   * @param lastError the latest thing that went wrong (a failed turn, a lost link, a failed re-spawn), or null
   */
  public record ThreadDetails(UUID threadId, ThreadStatus status, String agentType, String tenant, boolean archived,
                              int subscribers, long lastSequenceNr, String lastError) implements CborSerializable {}

  /**
   * Brings the thread back for a client: if its agent has no link, asks Podium whether the instance still
   * runs and reconnects to it, or re-spawns it hydrated with the conversation; then replies with the whole
   * history. An archived thread replies with its history and stays without an agent.
   */
  public record Resume(ActorRef<StatusReply<Resumed>> replyTo) implements ThreadCommand, Request {}

  /** The history and status, as {@link Resume} answers, without bringing the agent back. */
  public record Read(ActorRef<StatusReply<Resumed>> replyTo) implements ThreadCommand, Request {}

  /** Guidance for the running turn. */
  public record Steer(String text, ActorRef<StatusReply<Done>> replyTo) implements ThreadCommand, Request {}

  public record AnswerQuestion(String requestId, Map<String, List<String>> answers, boolean dismissed,
                               ActorRef<StatusReply<Done>> replyTo) implements ThreadCommand, Request {}

  /** Archives an idle thread: its link closes, its files stay; it still answers reads. */
  public record Archive(ActorRef<StatusReply<Done>> replyTo) implements ThreadCommand, Request {}

  public record Unarchive(ActorRef<StatusReply<Done>> replyTo) implements ThreadCommand, Request {}

  /** Deletes the thread: its Podium instance, its link and its files; the entity stops. */
  public record Delete(ActorRef<StatusReply<Done>> replyTo) implements ThreadCommand, Request {}

  /**
   * An operator's restore: the thread's files replaced with its replica's state at {@code at} (null: the
   * newest, which brings a deleted thread back), refused while a turn runs. The entity then stops, so that
   * the next command recovers the restored state; the agent's instance is deleted (the next turn or resume
   * re-spawns one, told the restored conversation).
   */
  public record Restore(java.time.Instant at, ActorRef<StatusReply<RestoreDone>> replyTo) implements ThreadCommand, Request {}

  /**
   * What a restore brought back: the replica generation it came from, the time of the last transaction it
   * holds (ISO-8601), and, when the replica was damaged, where it had to stop (null when it is whole).
   */
  public record RestoreDone(String generation, String stateAt, String problem) implements CborSerializable {}

  /** @param firstPrompt a fork's first user message (its listing's preview); null for a new thread */
  public record Created(UUID threadId, String instanceId, String firstPrompt) implements CborSerializable {}

  /**
   * A turn started: its id, and the entity that started it (the one whose updates will tell its end; if another
   * one's history does not hold the turn, the turn was lost with its entity's node).
   */
  public record TurnAccepted(String turnId, ActorRef<?> by) implements CborSerializable {}

  /**
   * @param history the persisted events in order, from the first; the last one's number is where to subscribe
   *     after. Every event up to {@code upTo} unless {@link #complete()} says otherwise: an answer to another node
   *     is sent in pages its remoting can carry, and the asker reads the rest with {@link ReadHistory}
   *     ({@link ThreadHistories} does it all)
   * @param upTo the number of the thread's last event when it answered
   */
  public record Resumed(ThreadStatus status, List<ThreadUpdate.Persisted> history, long upTo)
      implements CborSerializable {
    /** The whole history. */
    public Resumed(ThreadStatus status, List<ThreadUpdate.Persisted> history) {
      this(status, history, history.isEmpty() ? 0 : history.get(history.size() - 1).sequenceNr());
    }

    public long lastSequenceNr() {
      return history.isEmpty() ? 0 : history.get(history.size() - 1).sequenceNr();
    }

    /** Whether the history holds every event up to {@code upTo}. */
    public boolean complete() {
      return lastSequenceNr() >= upTo;
    }
  }

  /**
   * The next page of a history too large for one answer: the events after {@code afterSequenceNr} up to
   * {@code upTo}, as many as the asker's remoting carries at once (all of them for an asker on this node).
   */
  public record ReadHistory(long afterSequenceNr, long upTo, ActorRef<StatusReply<Resumed>> replyTo)
      implements ThreadCommand, Request {}

  /**
   * @param phase {@code new}, {@code ready}, {@code running} or {@code waiting}
   * @param link {@code connected}, {@code connecting} or {@code none} (no instance, or it is gone)
   */
  public record ThreadStatus(String phase, String turnId, String pendingRequestId, String instanceId, String link)
      implements CborSerializable {}
}
