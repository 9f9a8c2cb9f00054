package dev.legato.thread;

import com.typesafe.config.Config;
import dev.legato.podium.PodiumLink;
import dev.legato.storage.SessionStorage;
import dev.legato.thread.Signal.*;
import dev.legato.thread.ThreadCommand.*;
import dev.legato.thread.ThreadState.*;
import java.time.Duration;
import java.util.UUID;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.JournalPersistFailed;
import org.apache.pekko.persistence.typed.JournalPersistRejected;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One conversation thread: an event-sourced actor ({@code Thread|<uuid>}) that runs the turn state machine
 * {@code ready → running ⇄ waiting → ready} ({@link ThreadState}) with its agent ({@link AgentLifecycle}).
 * This class is the wiring: commands by state, the event handler, signals. Each state's work is a room's of
 * its own: the start {@link Creation}'s, turns {@link TurnDriver}'s, archive and delete {@link Archiving}'s,
 * a follower joining {@link Subscriptions}'. What the agent does becomes events and live updates in
 * {@link TurnRecorder}; followers get them through {@link Subscribers}. A thread is never stuck: a turn whose
 * agent is gone, silent, or that was cut short by a restart is recorded as failed or interrupted.
 */
public final class ThreadEntity
    extends EventSourcedBehaviorWithEnforcedReplies<ThreadCommand, ThreadEvent, ThreadState> {

  public static final EntityTypeKey<ThreadCommand> TYPE_KEY = EntityTypeKey.create(ThreadCommand.class, "Thread");

  /** Beside the journal's state: what the entity does before it takes commands as that state allows. */
  enum Mode {
    /** Taking commands as the state allows. */
    SERVING,
    /** Recovered in a turn: that turn is recorded interrupted first ({@link EndInterruptedTurn}), others wait. */
    ENDING_RECOVERED_TURN,
    /** Its files are being replaced: requests are refused until {@link RestoreFinished} stops the entity. */
    RESTORING
  }

  /**
   * Registers threads with Cluster Sharding: entity id = the thread's UUID. Its shard stops a thread with
   * {@link HandOff}: it stops once its files are in the replica ({@link Handover}).
   */
  public static void init(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(TYPE_KEY, context -> Behaviors.setup(actor ->
        new ThreadEntity(UUID.fromString(context.getEntityId()), actor, context.getShard())))
        .withStopMessage(new HandOff()));
    readPeerLogsWhenANodeIsUnreachable(system);
  }

  /**
   * A node that stops answering may be dead, its threads about to start here from their replicas, each after
   * folding what the dead node's log holds of it: that log is read at once (Replication#readPeerLogs), while the
   * split-brain resolver still waits, so the first restores do not read it first.
   */
  private static void readPeerLogsWhenANodeIsUnreachable(ActorSystem<?> system) {
    SessionStorage.get(system).replication().ifPresent(replication -> {
      ActorRef<ClusterEvent.ReachabilityEvent> listener = system.systemActorOf(
          Behaviors.receive(ClusterEvent.ReachabilityEvent.class)
              .onMessage(ClusterEvent.UnreachableMember.class, unreachable -> {
                replication.readPeerLogs();
                return Behaviors.same();
              })
              .onAnyMessage(reachable -> Behaviors.same())
              .build(), "legato-peer-logs", Props.empty());
      Cluster.get(system).subscriptions().tell(
          org.apache.pekko.cluster.typed.Subscribe.create(listener, ClusterEvent.ReachabilityEvent.class));
    });
  }

  /** A thread outside sharding (tests, tools): passivation simply stops it. */
  public static Behavior<ThreadCommand> create(UUID threadId) {
    return Behaviors.setup(context -> new ThreadEntity(threadId, context, null));
  }

  private final UUID threadId;
  private final ActorContext<ThreadCommand> context;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  /** Whoever waits on the write in hand hears at once if it fails (the entity then restarts). */
  private final FailedWrites writes = new FailedWrites();
  private final SessionStorage storage;
  private final Instances instances;
  private final Restoring restoring;
  private final JournalReads reads;
  private final ThreadMeters.Gauges gauges;
  private final Config config;
  private final ActorRef<StatusReply<Done>> sendResults;
  // The rooms of one incarnation (furnish): built at start, and anew when a failed write restarts the entity.
  private AgentLifecycle agent;
  private Subscribers followers;
  private Subscriptions subscriptions;
  /** The journal's last sequence number when this entity recovered: what it wrote itself comes after. */
  private long recoveredSequenceNr;
  private TurnDriver turns;
  private Creation creation;
  private Archiving archiving;
  private Handover handover;
  private Mode mode;
  /** When this incarnation began (System.nanoTime): its recovery's time is logged at debug level. */
  private final long began = System.nanoTime();

  private ThreadEntity(UUID threadId, ActorContext<ThreadCommand> context,
                       ActorRef<ClusterSharding.ShardCommand> shard) {
    super(PersistenceId.of(TYPE_KEY.name(), threadId.toString()),
        FailedWrites.restartWithBackoff(context.getSystem().settings().config().getConfig("legato.thread")));
    this.threadId = threadId;
    this.context = context;
    this.shard = shard;
    this.config = context.getSystem().settings().config().getConfig("legato.thread");
    // Any message resets it; when it fires, an idle thread (no turn, no follower) stops and lets its link go.
    context.setReceiveTimeout(config.getDuration("passivate-after"), new IdleTimeout());
    this.gauges = ThreadMeters.get(context.getSystem()).gauges();
    this.storage = SessionStorage.get(context.getSystem());
    this.reads = new JournalReads(context.getSystem(), persistenceId().id());
    ActorRef<PodiumLink.Output> linkOutput = context.messageAdapter(PodiumLink.Output.class, FromLink::new);
    @SuppressWarnings("unchecked")
    Class<StatusReply<Done>> replyClass = (Class<StatusReply<Done>>) (Class<?>) StatusReply.class;
    this.sendResults = context.messageAdapter(replyClass, SendResult::new);
    this.instances = new Instances(threadId, context, Podium.get(context.getSystem()), storage, linkOutput,
        () -> turns.armLinkIdleTimer(), gauges); // a link opened closes after close-link-after unless a turn starts
    this.restoring = new Restoring(threadId, context, storage, instances);
    furnish();
  }

  /** The entity's memory as a fresh start has it: no link, no turn in hand, no follower. */
  private void furnish() {
    Duration textWindow = config.getDuration("text-window");
    mode = Mode.SERVING;
    TurnRecorder recorder =
        new TurnRecorder(textWindow, (int) Math.min(Integer.MAX_VALUE, config.getBytes("text-window-bytes")));
    agent = new AgentLifecycle(instances, context.getSystem().ignoreRef());
    followers = new Subscribers();
    subscriptions = new Subscriptions(followers, recorder, () -> lastSequenceNumber(context), () -> recoveredSequenceNr,
        context.getSelf(),
        subscriber -> context.watchWith(subscriber, new SubscriberGone(subscriber)),
        (from, upTo, to) -> reads.replay(from, upTo, to, context.getSelf()));
    turns = new TurnDriver(threadId, context, Effect(), writes, agent, recorder, followers, gauges,
        () -> lastSequenceNumber(context), sendResults, textWindow, config.getDuration("turn-silence-timeout"),
        config.getDuration("close-link-after"));
    creation = new Creation(threadId, context, Effect(), writes, turns, agent, instances, storage);
    archiving = new Archiving(threadId, context, Effect(), writes, turns, agent, instances, storage);
    gauges.link(agent.linkState());
    handover = new Handover(threadId, context, Effect(), agent, storage, persistenceId().id(), followers);
  }

  /**
   * A write failed: whoever waits on it hears why at once, and the entity restarts in place after the
   * backoff (the commands that wait are kept). Its followers are told and let go (each follows anew from
   * its cursor: gapless, exactly once), and its memory is built anew: the restart stops the link, and the
   * recovery that follows opens it again (and records a turn that was running as interrupted).
   */
  private void restarting(Throwable failure) {
    String reason = writes.failed(failure);
    context.getLog().warn("thread {}: a write failed; restarting: {}", threadId, reason);
    followers.endAll(new ThreadUpdate.Restarting(reason));
    furnish();
    turns.lastError = reason;
  }

  @Override
  public ThreadState emptyState() {
    return new New();
  }

  @Override
  public SignalHandler<ThreadState> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), state -> {
      recoveredSequenceNr = lastSequenceNumber(context);
      gauges.recovered(state.phase());
      context.getLog().debug("thread {}: recovered {} events in {} ms ({})", threadId, recoveredSequenceNr,
          (System.nanoTime() - began) / 1_000_000, state.phase());
      if (state.turn() != null) {
        // The agent may still work on it (or wait for an answer): once the link is up it is told to stop.
        agent.interruptOnConnect(state.turn());
        mode = Mode.ENDING_RECOVERED_TURN;
        context.getSelf().tell(new EndInterruptedTurn("Legato restarted while the turn was running"));
      }
      ThreadInfo info = state.info();
      // An archived thread stays without its agent until unarchived; one without an instance gets it on demand.
      if (info != null && !info.archived() && info.instanceId() != null) {
        agent.open(info.instanceId());
      }
    }).onSignal(PostStop.instance(), state -> gauges.stopped())
        .onSignal(JournalPersistFailed.class, (state, failed) -> restarting(failed.getFailure()))
        .onSignal(JournalPersistRejected.class, (state, rejected) -> writes.failed(rejected.getFailure())) // it stops
        .build();
  }

  // ---- commands by state ---------------------------------------------------------------------------------

  /**
   * Commands by mode and state: first what the mode decides, then what each state allows, then what any
   * state answers the same way. Plain methods rather than Pekko's handler builder: the builder's cases and
   * closures cost ~6 KB per live thread, and a node holds many.
   */
  @Override
  public CommandHandlerWithReply<ThreadCommand, ThreadEvent, ThreadState> commandHandler() {
    return this::onCommand;
  }

  private ReplyEffect<ThreadEvent, ThreadState> onCommand(ThreadState state, ThreadCommand command) {
    writes.settled(); // a command is handled only once the writes before it are durable
    if (command instanceof HandOff || handover.underway()) {
      // new and not restored just now (an operator's restore of a deleted thread writes files under New)
      return handover.handle(command, state instanceof New && mode != Mode.RESTORING);
    }
    if (mode == Mode.ENDING_RECOVERED_TURN) {
      return endingRecoveredTurn(state, command);
    }
    if (mode == Mode.RESTORING) {
      return whileRestoring(state, command);
    }
    // a start sent again gets the turn it started, whatever the state now
    ReplyEffect<ThreadEvent, ThreadState> effect = command instanceof StartTurn c ? turns.startedBefore(c) : null;
    if (effect != null) {
      return effect;
    }
    if (command instanceof Restore c) {
      effect = restore(state, c);
    } else if (state instanceof New) {
      effect = creation.inNew(command);
    } else if (state instanceof Ready s) {
      effect = inReady(s, command);
    } else if (state instanceof Running s) {
      effect = turns.inTurn(s, command);
    } else if (state instanceof Waiting s) {
      effect = turns.inWaiting(s, command);
    }
    return effect != null ? effect : inAnyState(state, command);
  }

  private ReplyEffect<ThreadEvent, ThreadState> endingRecoveredTurn(ThreadState state, ThreadCommand command) {
    if (!(command instanceof EndInterruptedTurn end)) {
      return Effect().stash();
    }
    mode = Mode.SERVING;
    return state.turn() == null ? Effect().noReply().thenUnstashAll()
        : turns.endWithoutAgent(state.turn(), "interrupted", end.reason()).thenNoReply().thenUnstashAll();
  }

  private ReplyEffect<ThreadEvent, ThreadState> inReady(Ready state, ThreadCommand command) {
    if (command instanceof StartTurn c) {
      if (Handover.threadsMoveOn(context.getSystem())) {
        // the thread moves on once the drain is over: a turn started here now would be cut by the hand-off and
        // recorded interrupted, while its sender, told to try again, starts it on the thread's next node
        return Effect().reply(c.replyTo(), StatusReply.error(ThreadCommand.MOVING));
      }
      return turns.startTurn(state, c);
    }
    if (command instanceof Resume c) {
      if (agent.link() == null && !state.info().archived()) {
        return turns.bringAgentBack(state, c.replyTo().unsafeUpcast()); // answered once it is back (unstashed)
      }
      return replyWithHistory(state, c.replyTo());
    }
    return archiving.inReady(state, command); // archive, unarchive, delete
  }

  /** What every state answers alike (after the mode's and the state's own handling did not). */
  private ReplyEffect<ThreadEvent, ThreadState> inAnyState(ThreadState state, ThreadCommand command) {
    ReplyEffect<ThreadEvent, ThreadState> effect = turns.news(state, command);
    if (effect != null) {
      return effect;
    }
    if (command instanceof Subscribe c) {
      subscriptions.join(state, c.subscriber(), c.afterSequenceNr(), c.numberedBy());
      return Effect().reply(c.replyTo(), StatusReply.ack());
    }
    if (command instanceof Resume c) {
      return replyWithHistory(state, c.replyTo());
    }
    if (command instanceof Read c) {
      return replyWithHistory(state, c.replyTo());
    }
    if (command instanceof ReadHistory c) {
      reads.answerHistory(c.afterSequenceNr(), Math.min(c.upTo(), lastSequenceNumber(context)),
          state.status(agent.linkState()), c.replyTo());
      return Effect().noReply();
    }
    if (command instanceof GetStatus c) {
      return Effect().reply(c.replyTo(), state.status(agent.linkState()));
    }
    if (command instanceof GetDetails c) {
      return Effect().reply(c.replyTo(), state.details(threadId, agent.linkState(), followers.size(),
          lastSequenceNumber(context), turns.lastError));
    }
    if (command instanceof AnnounceName c) {
      followers.publish(new ThreadUpdate.NameChanged(c.name()));
      return Effect().noReply();
    }
    effect = housekeeping(state, command);
    return effect != null ? effect : refusal(state, command);
  }

  /** Timers and followers' news: closing an idle link, passivating an idle thread, replays ending. */
  private ReplyEffect<ThreadEvent, ThreadState> housekeeping(ThreadState state, ThreadCommand command) {
    if (command instanceof LinkIdle c) {
      // Not while connecting: a turn or resume may wait (stashed) for that link.
      if (turns.linkIdleTimerCurrent(c.generation()) && state.turn() == null
          && agent.agent() instanceof AgentLifecycle.Agent.Connected) {
        agent.close(); // the instance stays; the next turn or resume reconnects (or re-spawns) first
        storage.closeThread(threadId); // a quiet thread holds no database connection either
      }
      return Effect().noReply();
    }
    if (command instanceof IdleTimeout) {
      if (state.turn() != null || !followers.isEmpty() || agent.starting()) {
        return Effect().noReply();
      }
      if (state instanceof New) {
        storage.deleteThread(threadId); // prepared, or its creation failed: nothing to keep
      } else {
        storage.closeThread(threadId); // a passivated thread costs no connection
      }
      return passivate().thenNoReply();
    }
    if (command instanceof ReplayDone c) {
      subscriptions.replayDone(state, c.subscriber(), c.failure());
      return Effect().noReply();
    }
    if (command instanceof SubscriberGone c) {
      followers.remove(c.subscriber());
      return Effect().noReply();
    }
    return null;
  }

  /** A command not legal in this state, or the late result of work a state change made moot. */
  private ReplyEffect<ThreadEvent, ThreadState> refusal(ThreadState state, ThreadCommand command) {
    String reason = command instanceof Create ? "the thread already exists"
        : command instanceof AnswerApproval c ? "no approval " + c.requestId() + " is pending"
        : command instanceof AnswerQuestion c ? "no question " + c.requestId() + " is pending"
        : command instanceof Steer || command instanceof Interrupt ? "no turn is running"
        : command instanceof Archive ? busy(state, "archived")
        : command instanceof Unarchive ? busy(state, "unarchived")
        : command instanceof Delete ? busy(state, "deleted") : null;
    if (reason == null) {
      return Effect().noReply();
    }
    return Effect().reply(((Request) command).replyTo().unsafeUpcast(), StatusReply.error(reason));
  }

  // ---- reads ---------------------------------------------------------------------------------------------

  private ReplyEffect<ThreadEvent, ThreadState> replyWithHistory(ThreadState state, ActorRef<StatusReply<Resumed>> replyTo) {
    reads.answerHistory(0, lastSequenceNumber(context), state.status(agent.linkState()), replyTo);
    return Effect().noReply();
  }

  // ---- events --------------------------------------------------------------------------------------------

  /** The state's own {@link ThreadState#apply}, pure: what is counted is counted once persisted ({@link TurnDriver#persist}). */
  @Override
  public EventHandler<ThreadState, ThreadEvent> eventHandler() {
    return ThreadState::apply;
  }

  // ---- restore -------------------------------------------------------------------------------------------

  private ReplyEffect<ThreadEvent, ThreadState> restore(ThreadState state, Restore restore) {
    String refused = state.turn() != null ? busy(state, "restored")
        : agent.starting() ? "the thread's agent is being started; try again in a moment" : null;
    if (refused != null) {
      return Effect().reply(restore.replyTo(), StatusReply.error(refused));
    }
    mode = Mode.RESTORING;
    agent.close();
    restoring.start(restore);
    return Effect().noReply();
  }

  /**
   * While its files are replaced ({@link Restoring}) the thread answers status and details and refuses
   * requests; once they are, it stops through its shard (which holds new commands until it has), whatever
   * came of it, and recovers what is on disk on its next command.
   */
  private ReplyEffect<ThreadEvent, ThreadState> whileRestoring(ThreadState state, ThreadCommand command) {
    if (command instanceof RestoreFinished finished) {
      StatusReply<RestoreDone> reply = restoring.finished(state, finished);
      turns.lastError = finished.error() != null ? finished.error() : turns.lastError;
      followers.clear();
      return passivate().thenReply(finished.request().replyTo(), after -> reply);
    }
    if (command instanceof GetStatus || command instanceof GetDetails) {
      return inAnyState(state, command);
    }
    Restoring.refuse(command);
    return Effect().noReply();
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  /** Stops the entity: through its shard, which holds new commands until it has; outside sharding at once. */
  private EffectBuilder<ThreadEvent, ThreadState> passivate() {
    if (shard != null) {
      shard.tell(new ClusterSharding.Passivate<>(context.getSelf()));
      return Effect().none();
    }
    return Effect().stop();
  }

  private static String busy(ThreadState state, String what) {
    return state instanceof New ? "the thread has not been started"
        : "the thread cannot be " + what + " while a turn is running; interrupt it first";
  }
}
