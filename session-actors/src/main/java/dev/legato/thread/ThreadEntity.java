package dev.legato.thread;

import com.typesafe.config.Config;
import dev.legato.podium.PodiumClient;
import dev.legato.podium.PodiumLink;
import dev.legato.storage.SessionStorage;
import dev.legato.thread.Signal.*;
import dev.legato.thread.ThreadCommand.*;
import dev.legato.thread.ThreadEvent.*;
import dev.legato.thread.ThreadState.*;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
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
 * This class is the wiring: commands by state, the event handler, signals. What the agent does becomes
 * events and live updates in {@link TurnRecorder}; followers get them through {@link Subscribers}. A thread
 * is never stuck: a turn whose agent is gone, silent, or that was cut short by a restart is recorded as
 * failed or interrupted.
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
    ClusterSharding.get(system).init(Entity.of(TYPE_KEY, context -> Behaviors.setup(actor -> {
      FailedWrites writes = new FailedWrites();
      return writes.around(new ThreadEntity(UUID.fromString(context.getEntityId()), actor, context.getShard(), writes));
    })).withStopMessage(new HandOff()));
  }

  /** A thread outside sharding (tests, tools): passivation simply stops it. */
  public static Behavior<ThreadCommand> create(UUID threadId) {
    return Behaviors.setup(context -> {
      FailedWrites writes = new FailedWrites();
      return writes.around(new ThreadEntity(threadId, context, null, writes));
    });
  }

  private final UUID threadId;
  private final ActorContext<ThreadCommand> context;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  /** Whoever waits on the write in hand hears at once if it fails (the entity then stops). */
  private final FailedWrites writes;
  private final SessionStorage storage;
  private final Instances instances;
  private final AgentLifecycle agent;
  private final TurnRecorder recorder;
  private final Subscribers followers = new Subscribers();
  private final JournalReads reads;
  private final TurnDriver turns;
  private final Handover handover;
  private final ThreadMeters.Gauges gauges;
  private final Duration startAgentAfter;
  private Mode mode = Mode.SERVING;

  private ThreadEntity(UUID threadId, ActorContext<ThreadCommand> context,
                       ActorRef<ClusterSharding.ShardCommand> shard, FailedWrites writes) {
    super(PersistenceId.of(TYPE_KEY.name(), threadId.toString()));
    this.threadId = threadId;
    this.writes = writes;
    this.context = context;
    this.shard = shard;
    Config config = context.getSystem().settings().config().getConfig("legato.thread");
    // Any message resets it; when it fires, an idle thread (no turn, no follower) stops and lets its link go.
    context.setReceiveTimeout(config.getDuration("passivate-after"), new IdleTimeout());
    Duration textWindow = config.getDuration("text-window");
    this.recorder = new TurnRecorder(textWindow, (int) Math.min(Integer.MAX_VALUE, config.getBytes("text-window-bytes")));
    this.startAgentAfter = config.getDuration("start-agent-after");
    this.gauges = ThreadMeters.get(context.getSystem()).gauges();
    this.storage = SessionStorage.get(context.getSystem());
    this.reads = new JournalReads(context.getSystem(), persistenceId().id());
    ActorRef<PodiumLink.Output> linkOutput = context.messageAdapter(PodiumLink.Output.class, FromLink::new);
    @SuppressWarnings("unchecked")
    Class<StatusReply<Done>> replyClass = (Class<StatusReply<Done>>) (Class<?>) StatusReply.class;
    ActorRef<StatusReply<Done>> sendResults = context.messageAdapter(replyClass, SendResult::new);
    this.instances = new Instances(threadId, context, Podium.get(context.getSystem()), storage, linkOutput,
        this::linkOpened, gauges);
    this.agent = new AgentLifecycle(instances, context.getSystem().ignoreRef());
    this.turns = new TurnDriver(threadId, context, Effect(), writes, agent, recorder, followers, gauges,
        () -> lastSequenceNumber(context), sendResults, textWindow, config.getDuration("turn-silence-timeout"),
        config.getDuration("close-link-after"));
    gauges.link(agent.linkState());
    this.handover = new Handover(threadId, context, Effect(), agent, storage, persistenceId().id());
  }

  @Override
  public ThreadState emptyState() {
    return new New();
  }

  @Override
  public SignalHandler<ThreadState> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), state -> {
      gauges.recovered(state.phase());
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
    }).onSignal(PostStop.instance(), state -> gauges.stopped()).build();
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
      return handover.handle(command);
    }
    if (mode == Mode.ENDING_RECOVERED_TURN) {
      return endingRecoveredTurn(state, command);
    }
    if (mode == Mode.RESTORING) {
      return whileRestoring(state, command);
    }
    ReplyEffect<ThreadEvent, ThreadState> effect = null;
    if (command instanceof Restore c) {
      effect = restore(state, c);
    } else if (state instanceof New s) {
      effect = inNew(s, command);
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

  private ReplyEffect<ThreadEvent, ThreadState> inNew(New state, ThreadCommand command) {
    if (command instanceof Create c) {
      if (agent.starting()) {
        return Effect().reply(c.replyTo(), StatusReply.error("the thread is being started"));
      }
      if (c.agentType() == null || c.agentType().isBlank()) {
        return Effect().reply(c.replyTo(), StatusReply.error("a thread needs an agent type"));
      }
      agent.creating();
      context.pipeToSelf(instances.create(c), (signal, error) -> signal);
      return Effect().noReply();
    }
    if (command instanceof Prepare) {
      storage.prepareThread(threadId);
      return Effect().noReply();
    }
    if (command instanceof InstanceReady ready) {
      return created(ready);
    }
    if (command instanceof CreateFailed failed) {
      agent.created();
      return Effect().reply(failed.request().replyTo(),
          StatusReply.error(FailureKind.PODIUM.describe("cannot start the agent: " + failed.reason())));
    }
    if (command instanceof StartTurn || command instanceof Resume || command instanceof Read) {
      return Effect().reply(((Request) command).replyTo().unsafeUpcast(), StatusReply.error("the thread has not been started"));
    }
    return null;
  }

  private ReplyEffect<ThreadEvent, ThreadState> created(InstanceReady ready) {
    Create request = ready.request();
    List<ThreadEvent> events = new ArrayList<>();
    events.add(new ThreadCreated(request.agentType(), ready.deploymentId(), ready.instanceId(), request.cwd(),
        request.tenant(), System.currentTimeMillis()));
    List<ThreadEvent> forked = Forks.endedTurns(request.forkOf());
    events.addAll(forked);
    writes.awaiting(request.replyTo());
    return turns.persist(events).thenRun(after -> {
      agent.created();
      agent.hydrate(Forks.conversation(forked)); // a fork's agent is told the conversation it continues
      if (ready.instanceId() != null) {
        agent.open(ready.instanceId());
      } else {
        startAgentSoon(); // the instance is created just after the client heard "started"
      }
    }).thenReply(request.replyTo(), after -> StatusReply.success(new Created(threadId, ready.instanceId())));
  }

  private ReplyEffect<ThreadEvent, ThreadState> inReady(Ready state, ThreadCommand command) {
    if (command instanceof StartTurn c) {
      return turns.startTurn(state, c);
    }
    if (command instanceof Resume c) {
      if (agent.link() == null && !state.info().archived()) {
        return turns.bringAgentBack(state, c.replyTo().unsafeUpcast()); // answered once it is back (unstashed)
      }
      return replyWithHistory(state, c.replyTo());
    }
    if (command instanceof Archive c) {
      return state.info().archived() ? Effect().reply(c.replyTo(), StatusReply.ack())
          : persistAnnounced(new Archived(System.currentTimeMillis()), c.replyTo(), () -> {
            agent.close();
            instances.stop(state.info().instanceId());
            storage.closeThread(threadId);
          });
    }
    if (command instanceof Unarchive c) {
      return !state.info().archived() ? Effect().reply(c.replyTo(), StatusReply.ack())
          // a new instance, told the conversation and the memories (the re-spawn path)
          : persistAnnounced(new Unarchived(System.currentTimeMillis()), c.replyTo(), this::startAgentSoon);
    }
    if (command instanceof Delete c) {
      agent.close();
      context.pipeToSelf(instances.delete(state.info().instanceId()), (done, error) -> new InstanceDeleted(c));
      return Effect().noReply();
    }
    if (command instanceof InstanceDeleted c) {
      return Effect().stop().thenRun(after -> storage.deleteThread(threadId).whenComplete((done, error) ->
          c.request().replyTo().tell(error == null ? StatusReply.ack() : StatusReply.error(FailureKind.STORAGE.describe(
              "the thread's files could not be removed: " + error.getMessage()))))).thenNoReply();
    }
    return null;
  }

  /** What every state answers alike (after the mode's and the state's own handling did not). */
  private ReplyEffect<ThreadEvent, ThreadState> inAnyState(ThreadState state, ThreadCommand command) {
    ReplyEffect<ThreadEvent, ThreadState> effect = turns.news(state, command);
    if (effect != null) {
      return effect;
    }
    if (command instanceof Subscribe c) {
      return subscribe(state, c);
    }
    if (command instanceof Resume c) {
      return replyWithHistory(state, c.replyTo());
    }
    if (command instanceof Read c) {
      return replyWithHistory(state, c.replyTo());
    }
    if (command instanceof GetStatus c) {
      return Effect().reply(c.replyTo(), state.status(agent.linkState()));
    }
    if (command instanceof GetDetails c) {
      ThreadInfo info = state.info();
      return Effect().reply(c.replyTo(), new ThreadDetails(threadId, state.status(agent.linkState()),
          info == null ? null : info.agentType(), info == null ? null : info.tenant(), info != null && info.archived(),
          followers.size(), lastSequenceNumber(context), turns.lastError));
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
      if (followers.replayDone(c.subscriber(), c.failure())) {
        goLive(state, c.subscriber());
      }
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

  private ReplyEffect<ThreadEvent, ThreadState> persistAnnounced(ThreadEvent event, ActorRef<StatusReply<Done>> replyTo,
                                                                 Runnable then) {
    writes.awaiting(replyTo);
    return turns.persist(List.of(event)).thenRun(after -> {
      turns.publish(event); // every client following the thread hears it
      then.run();
    }).thenReply(replyTo, after -> StatusReply.ack());
  }

  // ---- followers -----------------------------------------------------------------------------------------

  private ReplyEffect<ThreadEvent, ThreadState> subscribe(ThreadState state, Subscribe subscribe) {
    ActorRef<ThreadUpdate> subscriber = subscribe.subscriber();
    context.watchWith(subscriber, new SubscriberGone(subscriber));
    long upTo = lastSequenceNumber(context);
    List<ThreadUpdate> first = new ArrayList<>();
    first.add(new ThreadUpdate.Live(upTo, context.getSelf()));
    first.addAll(recorder.catchUp(state.turn())); // what streamed but is not persisted yet
    Long after = subscribe.afterSequenceNr();
    if (after == null || after >= upTo) {
      first.forEach(subscriber::tell);
      goLive(state, subscriber);
    } else { // everything persisted from here on is numbered above upTo: held back, it follows the replay
      followers.startReplay(subscriber, first);
      reads.replay(after + 1, upTo, subscriber).whenComplete((done, error) -> context.getSelf().tell(
              new ReplayDone(subscriber, error == null ? null : String.valueOf(PodiumClient.unwrap(error)))));
    }
    return Effect().reply(subscribe.replyTo(), StatusReply.ack());
  }

  /** A pending approval or question is offered again to a follower that goes live. */
  private void goLive(ThreadState state, ActorRef<ThreadUpdate> subscriber) {
    followers.goLive(subscriber, state instanceof Waiting waiting ? waiting.request() : null);
  }

  private ReplyEffect<ThreadEvent, ThreadState> replyWithHistory(ThreadState state, ActorRef<StatusReply<Resumed>> replyTo) {
    ThreadStatus status = state.status(agent.linkState());
    reads.history(lastSequenceNumber(context)).whenComplete((history, error) -> replyTo.tell(error == null
            ? StatusReply.success(new Resumed(status, List.copyOf(history)))
            : StatusReply.error(FailureKind.STORAGE.describe("the thread's history could not be read: "
                + PodiumClient.unwrap(error).getMessage()))));
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
    if (state.turn() != null) {
      return Effect().reply(restore.replyTo(), StatusReply.error(busy(state, "restored")));
    }
    if (agent.starting()) {
      return Effect().reply(restore.replyTo(), StatusReply.error("the thread's agent is being started; try again in a moment"));
    }
    mode = Mode.RESTORING;
    agent.close();
    context.pipeToSelf(storage.restoreThread(threadId, restore.at()), (result, error) -> error != null
        ? new RestoreFinished(restore, null, FailureKind.STORAGE.describe("the restore failed: "
            + PodiumClient.unwrap(error).getMessage()))
        : new RestoreFinished(restore, new RestoreDone(result.generation(),
            result.time() == null ? null : result.time().toString(), result.problem()), null));
    return Effect().noReply();
  }

  /**
   * While the files are replaced, nothing may write them: requests are refused with a reason, status and
   * details are answered, everything else (the closed link's last news, timers) is dropped. Once restored,
   * the entity stops (through its shard, which holds new commands until it has) and recovers the restored
   * state on its next command. A failed restore leaves the thread as it was (the files are replaced only
   * whole), so the entity stops all the same and recovers whatever is on disk.
   */
  private ReplyEffect<ThreadEvent, ThreadState> whileRestoring(ThreadState state, ThreadCommand command) {
    if (command instanceof RestoreFinished finished) {
      if (finished.error() != null) {
        turns.lastError = finished.error();
        context.getLog().warn("thread {}: {}", threadId, finished.error());
      } else {
        if (state.info() != null) {
          instances.stop(state.info().instanceId()); // it remembers a conversation that is no longer the thread's
        }
        context.getLog().info("thread {}: restored to {} (generation {}){}", threadId, finished.done().stateAt(),
            finished.done().generation(),
            finished.done().problem() == null ? "" : "; the replica is damaged: " + finished.done().problem());
      }
      followers.clear();
      StatusReply<RestoreDone> reply = finished.error() == null ? StatusReply.success(finished.done())
          : StatusReply.error(finished.error());
      return passivate().thenReply(finished.request().replyTo(), after -> reply);
    }
    if (command instanceof GetStatus || command instanceof GetDetails) {
      return inAnyState(state, command);
    }
    if (command instanceof Request request) {
      request.replyTo().<StatusReply<Object>>unsafeUpcast()
          .tell(StatusReply.error("the thread is being restored; try again in a moment"));
    }
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

  /**
   * Starts the agent of a thread recorded without one after {@code start-agent-after}: the reply to the
   * start goes out first instead of sharing the CPU with the instance's creation. A turn or resume that
   * comes sooner starts it at once.
   */
  private void startAgentSoon() {
    if (startAgentAfter.isZero()) {
      context.getSelf().tell(new StartAgent());
    } else {
      context.scheduleOnce(startAgentAfter, context.getSelf(), new StartAgent());
    }
  }

  /** A link opened: it closes after {@code close-link-after} unless a turn starts first. */
  private void linkOpened() {
    turns.armLinkIdleTimer();
  }
}
