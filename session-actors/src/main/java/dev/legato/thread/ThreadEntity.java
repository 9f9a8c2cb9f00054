package dev.legato.thread;

import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import dev.legato.podium.AgentCommand;
import dev.legato.podium.AgentEvent;
import dev.legato.podium.PodiumClient;
import dev.legato.podium.PodiumLink;
import dev.legato.registry.ThreadRegistry;
import dev.legato.storage.SessionStorage;
import dev.legato.thread.ThreadCommand.AnnounceName;
import dev.legato.thread.ThreadCommand.AnswerApproval;
import dev.legato.thread.ThreadCommand.AnswerQuestion;
import dev.legato.thread.ThreadCommand.Archive;
import dev.legato.thread.ThreadCommand.Create;
import dev.legato.thread.ThreadCommand.Created;
import dev.legato.thread.ThreadCommand.Delete;
import dev.legato.thread.ThreadCommand.GetDetails;
import dev.legato.thread.ThreadCommand.GetStatus;
import dev.legato.thread.ThreadCommand.Interrupt;
import dev.legato.thread.ThreadCommand.Prepare;
import dev.legato.thread.ThreadCommand.Read;
import dev.legato.thread.ThreadCommand.Request;
import dev.legato.thread.ThreadCommand.Restore;
import dev.legato.thread.ThreadCommand.RestoreDone;
import dev.legato.thread.ThreadCommand.Resume;
import dev.legato.thread.ThreadCommand.Resumed;
import dev.legato.thread.ThreadCommand.StartTurn;
import dev.legato.thread.ThreadCommand.Steer;
import dev.legato.thread.ThreadCommand.Subscribe;
import dev.legato.thread.ThreadCommand.ThreadDetails;
import dev.legato.thread.ThreadCommand.ThreadStatus;
import dev.legato.thread.ThreadCommand.TurnAccepted;
import dev.legato.thread.ThreadCommand.Unarchive;
import dev.legato.thread.ThreadEvent.AgentMessage;
import dev.legato.thread.ThreadEvent.AgentMessageDelta;
import dev.legato.thread.ThreadEvent.ApprovalDecided;
import dev.legato.thread.ThreadEvent.ApprovalRequested;
import dev.legato.thread.ThreadEvent.Archived;
import dev.legato.thread.ThreadEvent.CommandCompleted;
import dev.legato.thread.ThreadEvent.FileChanged;
import dev.legato.thread.ThreadEvent.InstanceReplaced;
import dev.legato.thread.ThreadEvent.MemoryExtracted;
import dev.legato.thread.ThreadEvent.PlanStep;
import dev.legato.thread.ThreadEvent.PlanUpdated;
import dev.legato.thread.ThreadEvent.Question;
import dev.legato.thread.ThreadEvent.QuestionAnswered;
import dev.legato.thread.ThreadEvent.QuestionAsked;
import dev.legato.thread.ThreadEvent.ReasoningRecorded;
import dev.legato.thread.ThreadEvent.SummaryCreated;
import dev.legato.thread.ThreadEvent.ThreadCreated;
import dev.legato.thread.ThreadEvent.ToolCallRecorded;
import dev.legato.thread.ThreadEvent.TurnEnded;
import dev.legato.thread.ThreadEvent.TurnStarted;
import dev.legato.thread.ThreadEvent.Unarchived;
import dev.legato.thread.ThreadState.New;
import dev.legato.thread.ThreadState.Ready;
import dev.legato.thread.ThreadState.Running;
import dev.legato.thread.ThreadState.ThreadInfo;
import dev.legato.thread.ThreadState.Turn;
import dev.legato.thread.ThreadState.Waiting;
import dev.legato.storage.SqliteReadJournal;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
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
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * One conversation thread: an event-sourced actor ({@code Thread|<uuid>}) that owns its agent's Podium
 * instance and link and runs the turn state machine {@code ready → running ⇄ waiting → ready}. What the
 * agent does is persisted (text coalesced per message, approvals, turn endings) and published to
 * subscribers; streamed text deltas are published at once and persisted as the whole message. A thread is
 * never stuck: a turn whose agent is gone, or that was cut short by a restart, is recorded as failed or
 * interrupted.
 */
public final class ThreadEntity
    extends EventSourcedBehaviorWithEnforcedReplies<ThreadCommand, ThreadEvent, ThreadState> {

  public static final EntityTypeKey<ThreadCommand> TYPE_KEY = EntityTypeKey.create(ThreadCommand.class, "Thread");
  private static final ObjectMapper JSON = new ObjectMapper();

  // ---- what the thread tells itself ------------------------------------------------------------------------

  /** Messages the thread sends itself: results of its own work, timers, its link's and subscribers' news. */
  sealed interface Signal extends ThreadCommand {}

  private record InstanceReady(String deploymentId, String instanceId, Create request) implements Signal {}

  private record Respawned(String deploymentId, String instanceId, List<AgentCommand.HistoryMessage> history)
      implements Signal {}

  private record RespawnFailed(String reason) implements Signal {}

  private record Reconnect(String instanceId) implements Signal {}

  private record InstanceDeleted(Delete request) implements Signal {}

  private record RestoreFinished(Restore request, RestoreDone done, String error) implements Signal {}

  private record CreateFailed(String reason, Create request) implements Signal {}

  /** What the link reports; package-private so that state-machine tests can play the agent. */
  record FromLink(PodiumLink.Output output) implements Signal {}

  private record SubscriberGone(ActorRef<ThreadUpdate> subscriber) implements Signal {}

  private record ReplayDone(ActorRef<ThreadUpdate> subscriber, String failure) implements Signal {}

  /** Nothing happened for {@code legato.thread.passivate-after}. */
  private record IdleTimeout() implements Signal {}

  /** No turn for {@code legato.thread.close-link-after} since the timer of this generation was armed. */
  private record LinkIdle(int generation) implements Signal {}

  /** A thread recorded without its agent starts it now, unless a turn or resume already did. */
  private record StartAgent() implements Signal {}

  /** The text window is over: what streamed since the last window is persisted. */
  private record FlushText() implements Signal {}

  private record EndInterruptedTurn(String reason) implements Signal {}

  /** Time to see whether the running turn's agent has been silent for {@code turn-silence-timeout}. */
  private record SilenceCheck(String turnId) implements Signal {}

  private record SendResult(StatusReply<Done> result) implements Signal {}


  // ---- set-up --------------------------------------------------------------------------------------------

  /** Registers threads with Cluster Sharding: entity id = the thread's UUID. */
  public static void init(ActorSystem<?> system) {
    ClusterSharding.get(system).init(
        Entity.of(TYPE_KEY,
            context -> Behaviors.setup(actor -> {
              FailedWrites writes = new FailedWrites();
              return writes.around(
                  new ThreadEntity(UUID.fromString(context.getEntityId()), actor, context.getShard(), writes));
            })));
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
  private final Podium podium;
  private final ActorRef<PodiumLink.Output> linkOutput;
  private final Set<ActorRef<ThreadUpdate>> subscribers = new HashSet<>();
  /** Subscribers still receiving their replay, with the live updates held back meanwhile. */
  private final Map<ActorRef<ThreadUpdate>, List<ThreadUpdate>> replaying = new HashMap<>();
  /** The current message's streamed text, kept until it is persisted whole. */
  private final StringBuilder streamed = new StringBuilder();
  /** The tail of {@link #streamed} not yet persisted in a window, and when its window opened (nanos). */
  private final StringBuilder unsaved = new StringBuilder();
  private long windowOpenedAt;
  /**
   * Streamed text of the link batch in hand, not yet published (see {@link #publishLiveText}); null when
   * there is none, so that a quiet thread keeps no buffer the size of its largest batch.
   */
  private StringBuilder liveText;
  private Turn liveTextTurn;
  private boolean flushScheduled;
  private boolean messagePersisted;
  /** Reasoning and command output streamed so far, by item, until persisted whole. */
  private final Map<String, StringBuilder> reasoning = new HashMap<>();
  private final Map<String, StringBuilder> commandOutput = new HashMap<>();
  private final Map<String, AgentEvent.ToolCallStarted> toolCalls = new HashMap<>();
  /** The shell command of a tool call, by tool call id, from its arguments or its approval request. */
  private final Map<String, String> commands = new HashMap<>();
  /** Tool calls that became a command execution or a file change: that item already tells their story. */
  private final Set<String> specializedToolCalls = new HashSet<>();
  private ActorRef<PodiumLink.Command> link;
  private boolean linkConnected;
  private boolean creating;
  private boolean respawning;
  /** Restoring this thread's files: every request is refused until the entity stops. */
  private boolean restoring;
  private String lastRespawnFailure;
  /**
   * The running turn's prompt while its first agent has said nothing yet: if that agent is gone before it
   * answers (its instance was scaled to zero or killed just before the turn), a new instance gets the prompt.
   * Cleared once the prompt went out again, so that it goes to a second agent only once.
   */
  private String unansweredPrompt;
  /** The turn whose lost prompt goes to the re-spawned agent once its link is up. */
  private String lostPromptTurnId;
  /** The conversation a re-spawned agent is given with its first message. */
  private List<AgentCommand.HistoryMessage> hydration = List.of();
  private final ActorRef<StatusReply<Done>> sendResults;
  /** Whoever waits on the write in hand hears at once if it fails (the entity then stops). */
  private final FailedWrites writes;
  private final Duration textWindow;
  private final int textWindowBytes;
  private final Duration closeLinkAfter;
  private final Duration startAgentAfter;
  private final Duration turnSilenceTimeout;
  /** When the agent last did something for the running turn (or the turn started, or the client answered). */
  private long lastAgentActivity;
  /** The running turn's prompt went out on a live socket (the link said so). */
  private boolean promptDelivered;
  /**
   * The prompt went out, then the socket dropped before the agent said anything: it may never have arrived
   * (Podium keeps no replay), so it goes out again, once, when the link is back.
   */
  private boolean resendPromptOnConnect;
  /** A message the agent must be told to stop once the link is up: its turn was ended without it. */
  private String interruptOnConnect;
  /** The running turn whose agent's socket dropped after it spoke: it fails once the link knows more. */
  private String droppedTurnId;
  /**
   * Messages whose turns ended without their agent (failed, interrupted, silenced), newest last: what the agent
   * still sends for one of them is stale and must not end or feed a later turn.
   */
  private final ArrayDeque<String> abandonedMessages = new ArrayDeque<>();
  private int linkIdleGeneration;
  /** Set by recovery in a turn: until that turn is recorded interrupted, other commands wait (stashed). */
  private boolean endingRecoveredTurn;
  private final ThreadMeters meters;
  /** What this thread last told {@link ThreadMeters}; the phase only once recovered. */
  private boolean recovered;
  private String reportedPhase;
  private String reportedLink;
  private String lastError;

  private ThreadEntity(UUID threadId, ActorContext<ThreadCommand> context,
                       ActorRef<ClusterSharding.ShardCommand> shard, FailedWrites writes) {
    super(PersistenceId.of(TYPE_KEY.name(), threadId.toString()));
    this.threadId = threadId;
    this.writes = writes;
    this.context = context;
    this.shard = shard;
    Config config = context.getSystem().settings().config().getConfig("legato.thread");
    // Any message resets it; when it fires, an idle thread (no turn, no subscriber) stops and lets its link go.
    context.setReceiveTimeout(config.getDuration("passivate-after"), new IdleTimeout());
    this.textWindow = config.getDuration("text-window");
    this.textWindowBytes = (int) Math.min(Integer.MAX_VALUE, config.getBytes("text-window-bytes"));
    this.closeLinkAfter = config.getDuration("close-link-after");
    this.startAgentAfter = config.getDuration("start-agent-after");
    this.turnSilenceTimeout = config.getDuration("turn-silence-timeout");
    this.meters = ThreadMeters.get(context.getSystem());
    reportLink();
    this.podium = Podium.get(context.getSystem());
    this.linkOutput = context.messageAdapter(PodiumLink.Output.class, FromLink::new);
    @SuppressWarnings("unchecked")
    Class<StatusReply<Done>> replyClass = (Class<StatusReply<Done>>) (Class<?>) StatusReply.class;
    this.sendResults = context.messageAdapter(replyClass, SendResult::new);
  }

  @Override
  public ThreadState emptyState() {
    return new New();
  }

  @Override
  public SignalHandler<ThreadState> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), state -> {
      recovered = true;
      reportPhase(state);
      if (state instanceof Running || state instanceof Waiting) {
        // The agent may still work on it (or wait for an answer): once the link is up it is told to stop.
        interruptOnConnect = state.turn().messageId();
        endingRecoveredTurn = true;
        context.getSelf().tell(new EndInterruptedTurn("Legato restarted while the turn was running"));
      }
      ThreadInfo info = state.info();
      // An archived thread stays without its agent until unarchived; one without an instance gets it on demand.
      if (info != null && !info.archived() && info.instanceId() != null) {
        openLink(info.instanceId());
      }
    }).onSignal(PostStop.instance(), state -> {
      meters.phase(reportedPhase, null);
      meters.link(reportedLink, null);
    }).build();
  }

  private void reportPhase(ThreadState state) {
    String phase = state.status("none").phase();
    meters.phase(reportedPhase, phase);
    reportedPhase = phase;
  }

  private void reportLink() {
    String now = linkState();
    meters.link(reportedLink, now);
    reportedLink = now;
  }

  // ---- commands by state ---------------------------------------------------------------------------------

  /**
   * Commands by state: first what is special while recovery ends an interrupted turn, then what each state
   * allows, then what any state answers the same way. One plain method per state rather than Pekko's
   * handler builder: the builder's cases and closures cost ~6 KB per live thread, and a node holds many.
   */
  @Override
  public CommandHandlerWithReply<ThreadCommand, ThreadEvent, ThreadState> commandHandler() {
    return this::onCommand;
  }

  private ReplyEffect<ThreadEvent, ThreadState> onCommand(ThreadState state, ThreadCommand command) {
    writes.settled(); // a command is handled only once the writes before it are durable
    if (endingRecoveredTurn) {
      return recovering(state, command);
    }
    if (restoring) {
      return whileRestoring(state, command);
    }
    if (command instanceof Restore c) {
      return restore(state, c);
    }
    ReplyEffect<ThreadEvent, ThreadState> effect = null;
    if (state instanceof New s) {
      effect = inNew(s, command);
    } else if (state instanceof Ready s) {
      effect = inReady(s, command);
    } else if (state instanceof Running s) {
      effect = inRunning(s, command);
    } else if (state instanceof Waiting s) {
      effect = inWaiting(s, command);
    }
    return effect != null ? effect : inAnyState(state, command);
  }

  /** Right after recovery in a turn: that turn is recorded interrupted before anything else is looked at. */
  private ReplyEffect<ThreadEvent, ThreadState> recovering(ThreadState state, ThreadCommand command) {
    if (!(command instanceof EndInterruptedTurn end)) {
      return Effect().stash();
    }
    endingRecoveredTurn = false;
    Turn turn = state.turn();
    return turn == null ? Effect().noReply().thenUnstashAll()
        : endTurn(turn, "interrupted", end.reason(), 0, 0).thenNoReply().thenUnstashAll();
  }

  private ReplyEffect<ThreadEvent, ThreadState> inNew(New state, ThreadCommand command) {
    if (command instanceof Create c) {
      return create(state, c);
    }
    if (command instanceof Prepare) {
      SessionStorage.get(context.getSystem()).prepareThread(threadId);
      return Effect().noReply();
    }
    if (command instanceof InstanceReady ready) {
      ThreadCreated created = new ThreadCreated(ready.request().agentType(), ready.deploymentId(), ready.instanceId(),
          ready.request().cwd(), ready.request().tenant(), System.currentTimeMillis());
      List<ThreadEvent> events = new ArrayList<>();
      events.add(created);
      List<ThreadEvent> forked = endedTurns(ready.request().forkOf());
      events.addAll(forked);
      writes.awaiting(ready.request().replyTo());
      return Effect().persist(events)
          .thenRun(after -> {
            creating = false;
            hydration = conversation(forked); // a fork's agent is told the conversation it continues
            if (ready.instanceId() != null) {
              openLink(ready.instanceId());
            } else {
              startAgentSoon(); // the instance is created just after the client heard "started"
            }
          })
          .thenReply(ready.request().replyTo(), after -> StatusReply.success(new Created(threadId, ready.instanceId())));
    }
    if (command instanceof CreateFailed failed) {
      creating = false;
      return Effect().reply(failed.request().replyTo(), StatusReply.error(FailureKind.PODIUM.describe("cannot start the agent: " + failed.reason())));
    }
    if (command instanceof StartTurn c) {
      return Effect().reply(c.replyTo(), StatusReply.error("the thread has not been started"));
    }
    if (command instanceof Resume c) {
      return Effect().reply(c.replyTo(), StatusReply.error("the thread has not been started"));
    }
    if (command instanceof Read c) {
      return Effect().reply(c.replyTo(), StatusReply.error("the thread has not been started"));
    }
    return null;
  }

  private ReplyEffect<ThreadEvent, ThreadState> inReady(Ready state, ThreadCommand command) {
    if (command instanceof StartTurn c) {
      return startTurn(state, c);
    }
    if (command instanceof Resume c) {
      return resume(state, c);
    }
    if (command instanceof Archive c) {
      if (state.info().archived()) {
        return Effect().reply(c.replyTo(), StatusReply.ack());
      }
      Archived archived = new Archived(System.currentTimeMillis());
      writes.awaiting(c.replyTo());
      return Effect().persist(archived).thenRun(after -> {
        publish(archived); // every client following the thread hears it
        closeLink();
        stopAgent(state.info().instanceId());
        SessionStorage.get(context.getSystem()).closeThread(threadId);
      }).thenReply(c.replyTo(), after -> StatusReply.ack());
    }
    if (command instanceof Unarchive c) {
      if (!state.info().archived()) {
        return Effect().reply(c.replyTo(), StatusReply.ack());
      }
      Unarchived unarchived = new Unarchived(System.currentTimeMillis());
      writes.awaiting(c.replyTo());
      return Effect().persist(unarchived).thenRun(after -> {
        publish(unarchived);
        startAgentSoon(); // a new instance, told the conversation and the memories (the re-spawn path)
      }).thenReply(c.replyTo(), after -> StatusReply.ack());
    }
    if (command instanceof Delete c) {
      closeLink();
      context.pipeToSelf(podium.client().deleteInstance(state.info().instanceId()),
          (done, error) -> new InstanceDeleted(c)); // a Podium that cannot delete it will reclaim it itself
      return Effect().noReply();
    }
    if (command instanceof InstanceDeleted c) {
      return Effect().stop().thenRun(after ->
          SessionStorage.get(context.getSystem()).deleteThread(threadId)
              .whenComplete((done, error) -> c.request().replyTo().tell(error == null ? StatusReply.ack()
                  : StatusReply.error(FailureKind.STORAGE.describe("the thread's files could not be removed: "
                      + error.getMessage())))))
          .thenNoReply();
    }
    return null;
  }

  private ReplyEffect<ThreadEvent, ThreadState> inRunning(Running state, ThreadCommand command) {
    if (command instanceof StartTurn c) {
      return Effect().reply(c.replyTo(), StatusReply.error("turn " + state.turn().turnId() + " is still running"));
    }
    if (command instanceof Steer c) {
      return steer(state, c);
    }
    if (command instanceof Interrupt c) {
      return interrupt(state.turn(), c);
    }
    return null;
  }

  private ReplyEffect<ThreadEvent, ThreadState> inWaiting(Waiting state, ThreadCommand command) {
    if (command instanceof StartTurn c) {
      return Effect().reply(c.replyTo(), StatusReply.error("turn " + state.turn().turnId() + " is waiting for "
          + (state.request() instanceof QuestionAsked ? "an answer to " : "approval ") + state.request().requestId()));
    }
    if (command instanceof AnswerApproval c) {
      return answer(state, c);
    }
    if (command instanceof AnswerQuestion c) {
      return answerQuestion(state, c);
    }
    if (command instanceof Steer c) {
      return steer(state, c);
    }
    if (command instanceof Interrupt c) {
      return interrupt(state.turn(), c);
    }
    return null;
  }

  /** What every state answers alike (after the state's own handling did not). */
  private ReplyEffect<ThreadEvent, ThreadState> inAnyState(ThreadState state, ThreadCommand command) {
    if (command instanceof FromLink c) {
      return fromLink(state, c);
    }
    if (command instanceof SendResult c) {
      return sendResult(state, c);
    }
    if (command instanceof FlushText c) {
      return flushText(state, c);
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
      return Effect().reply(c.replyTo(), state.status(linkState()));
    }
    if (command instanceof GetDetails c) {
      ThreadInfo info = state.info();
      return Effect().reply(c.replyTo(), new ThreadDetails(threadId, state.status(linkState()),
          info == null ? null : info.agentType(), info == null ? null : info.tenant(),
          info != null && info.archived(), subscribers.size() + replaying.size(), lastSequenceNumber(context),
          lastError));
    }
    if (command instanceof EndInterruptedTurn c) {
      return endInterruptedTurn(state, c);
    }
    if (command instanceof SilenceCheck c) {
      return silenceCheck(state, c);
    }
    if (command instanceof Respawned r) {
      InstanceReplaced replaced = new InstanceReplaced(r.deploymentId(), r.instanceId(), System.currentTimeMillis());
      return Effect().persist(replaced).thenRun(after -> {
        respawning = false;
        interruptOnConnect = null; // a new instance never had the old one's message
        hydration = r.history();
        publish(replaced);
        openLink(r.instanceId());
      }).thenNoReply().thenUnstashAll(); // a waiting Resume is answered; turns wait for the connection
    }
    if (command instanceof Reconnect r) {
      respawning = false;
      openLink(r.instanceId()); // it still runs: the stashed turns (or a lost prompt) go out once connected
      return Effect().noReply().thenUnstashAll();
    }
    if (command instanceof RespawnFailed r) {
      respawning = false;
      lastRespawnFailure = r.reason();
      lastError = "cannot re-spawn the agent: " + r.reason();
      context.getLog().warn("thread {}: cannot re-spawn its agent: {}", threadId, r.reason());
      Turn turn = state.turn();
      if (turn != null && turn.turnId().equals(lostPromptTurnId)) {
        lostPromptTurnId = null;
        return endTurn(turn, "failed", "the agent is gone and could not be started again: " + r.reason(), 0, 0)
            .thenNoReply().thenUnstashAll();
      }
      return Effect().noReply().thenUnstashAll(); // the waiting turns are refused now, with the reason below
    }
    if (command instanceof AnnounceName c) {
      publish(new ThreadUpdate.NameChanged(c.name()));
      return Effect().noReply();
    }
    if (command instanceof StartAgent) {
      ThreadInfo info = state.info();
      if (info != null && link == null && !respawning && !info.archived()) {
        respawn(info); // no turn or resume got here first (either would have started it)
      }
      return Effect().noReply();
    }
    if (command instanceof LinkIdle c) {
      // Not while connecting: a turn or resume may wait (stashed) for that link.
      if (c.generation() == linkIdleGeneration && state.turn() == null && !creating && !respawning && linkConnected) {
        closeLink(); // the instance stays; the next turn or resume reconnects (or re-spawns) first
        // A quiet thread holds no database connection either: the next write or read reopens it.
        SessionStorage.get(context.getSystem()).closeThread(threadId);
      }
      return Effect().noReply();
    }
    if (command instanceof IdleTimeout) {
      boolean idle = state.turn() == null && subscribers.isEmpty() && replaying.isEmpty() && !creating && !respawning;
      if (!idle) {
        return Effect().noReply();
      }
      SessionStorage storage = SessionStorage.get(context.getSystem());
      if (state instanceof New) {
        storage.deleteThread(threadId); // prepared, or its creation failed: nothing to keep
      } else {
        storage.closeThread(threadId); // a passivated thread costs no connection
      }
      if (shard != null) {
        shard.tell(new ClusterSharding.Passivate<>(context.getSelf()));
        return Effect().noReply();
      }
      return Effect().stop().thenNoReply();
    }
    if (command instanceof ReplayDone c) {
      List<ThreadUpdate> heldBack = replaying.remove(c.subscriber());
      if (heldBack != null) {
        if (c.failure() != null) {
          c.subscriber().tell(new ThreadUpdate.ReplayFailed(c.failure()));
        }
        heldBack.forEach(c.subscriber()::tell);
        goLive(state, c.subscriber());
      }
      return Effect().noReply();
    }
    if (command instanceof SubscriberGone c) {
      subscribers.remove(c.subscriber());
      replaying.remove(c.subscriber());
      return Effect().noReply();
    }
    // Refusals: the command is not legal in this state.
    if (command instanceof Create c) {
      return Effect().reply(c.replyTo(), StatusReply.error("the thread already exists"));
    }
    if (command instanceof AnswerApproval c) {
      return Effect().reply(c.replyTo(), StatusReply.error("no approval " + c.requestId() + " is pending"));
    }
    if (command instanceof AnswerQuestion c) {
      return Effect().reply(c.replyTo(), StatusReply.error("no question " + c.requestId() + " is pending"));
    }
    if (command instanceof Steer c) {
      return Effect().reply(c.replyTo(), StatusReply.error("no turn is running"));
    }
    if (command instanceof Interrupt c) {
      return Effect().reply(c.replyTo(), StatusReply.error("no turn is running"));
    }
    if (command instanceof Archive c) {
      return Effect().reply(c.replyTo(), StatusReply.error(busy(state, "archived")));
    }
    if (command instanceof Unarchive c) {
      return Effect().reply(c.replyTo(), StatusReply.error(busy(state, "unarchived")));
    }
    if (command instanceof Delete c) {
      return Effect().reply(c.replyTo(), StatusReply.error(busy(state, "deleted")));
    }
    // Late results of work a state change made moot (a create, re-spawn or delete in another state).
    return Effect().noReply();
  }

  /** The events of a thread's ended turns (and its memories), in order: what a fork starts from. */
  private static List<ThreadEvent> endedTurns(List<ThreadEvent> history) {
    if (history == null || history.isEmpty()) {
      return List.of();
    }
    Set<String> ended = new HashSet<>();
    for (ThreadEvent event : history) {
      if (event instanceof TurnEnded e) {
        ended.add(e.turnId());
      }
    }
    List<ThreadEvent> kept = new ArrayList<>();
    for (ThreadEvent event : history) {
      String turnId = turnOf(event);
      if (turnId != null ? ended.contains(turnId)
          : event instanceof MemoryExtracted || event instanceof SummaryCreated) {
        kept.add(event);
      }
    }
    return kept;
  }

  private static String turnOf(ThreadEvent event) {
    if (event instanceof TurnStarted e) return e.turnId();
    if (event instanceof AgentMessage e) return e.turnId();
    if (event instanceof AgentMessageDelta e) return e.turnId();
    if (event instanceof ApprovalRequested e) return e.turnId();
    if (event instanceof ApprovalDecided e) return e.request().turnId();
    if (event instanceof QuestionAsked e) return e.turnId();
    if (event instanceof QuestionAnswered e) return e.question().turnId();
    if (event instanceof ToolCallRecorded e) return e.turnId();
    if (event instanceof CommandCompleted e) return e.turnId();
    if (event instanceof FileChanged e) return e.turnId();
    if (event instanceof PlanUpdated e) return e.turnId();
    if (event instanceof ReasoningRecorded e) return e.turnId();
    if (event instanceof TurnEnded e) return e.turnId();
    return null;
  }

  /** What the user said and the agent answered, for an agent that has not seen it. */
  private static List<AgentCommand.HistoryMessage> conversation(List<ThreadEvent> events) {
    List<AgentCommand.HistoryMessage> messages = new ArrayList<>();
    for (ThreadEvent event : events) {
      if (event instanceof TurnStarted e) {
        messages.add(new AgentCommand.HistoryMessage(AgentCommand.Role.USER, e.text()));
      } else if (event instanceof AgentMessage e) {
        messages.add(new AgentCommand.HistoryMessage(AgentCommand.Role.ASSISTANT, e.text()));
      }
    }
    return messages;
  }

  private ReplyEffect<ThreadEvent, ThreadState> create(New state, Create create) {
    if (creating) {
      return Effect().reply(create.replyTo(), StatusReply.error("the thread is being started"));
    }
    if (create.agentType() == null || create.agentType().isBlank()) {
      return Effect().reply(create.replyTo(), StatusReply.error("a thread needs an agent type"));
    }
    creating = true;
    var client = podium.client();
    context.pipeToSelf(
        client.resolveDeployment(create.agentType()).thenCompose(deployment -> !create.awaitAgent()
            ? CompletableFuture.completedFuture(new InstanceReady(deployment, null, create))
            : client.createInstance(deployment, create.cwd() == null ? Map.of() : Map.of("cwd", create.cwd()), Map.of())
                .thenApply(instance -> new InstanceReady(deployment, instance.instanceId(), create))),
        (ready, error) -> error == null ? ready
            : new CreateFailed(PodiumClient.unwrap(error).getMessage(), create));
    return Effect().noReply();
  }

  private ReplyEffect<ThreadEvent, ThreadState> startTurn(Ready state, StartTurn start) {
    if (start.text() == null || start.text().isBlank()) {
      return Effect().reply(start.replyTo(), StatusReply.error("a turn needs text"));
    }
    if (state.info().archived()) {
      return Effect().reply(start.replyTo(), StatusReply.error("the thread is archived; unarchive it first"));
    }
    if (link == null && lastRespawnFailure != null && !respawning) {
      String reason = lastRespawnFailure;
      lastRespawnFailure = null;
      return Effect().reply(start.replyTo(), StatusReply.error(
          FailureKind.PODIUM.describe("the agent could not be started: " + reason)));
    }
    if (link == null) {
      respawn(state.info());
      return Effect().stash(); // the instance is gone: a new one is started, then the turn
    }
    if (!linkConnected) {
      return Effect().stash(); // the link is (re)connecting: the turn starts once it is up
    }
    String turnId = "turn_" + UUID.randomUUID();
    TurnStarted started = new TurnStarted(turnId, "msg_" + UUID.randomUUID(), start.text(), System.currentTimeMillis());
    writes.awaiting(start.replyTo());
    return Effect().persist(started)
        .thenRun(after -> {
          linkIdleGeneration++; // the link stays while the turn runs
          streamed.setLength(0);
          unsaved.setLength(0);
          messagePersisted = false;
          reasoning.clear();
          commandOutput.clear();
          toolCalls.clear();
          commands.clear();
          specializedToolCalls.clear();
          unansweredPrompt = started.text();
          lostPromptTurnId = null;
          resendPromptOnConnect = false;
          publish(started);
          if (state.info().tenant() != null) { // the listing shows the latest prompt and activity
            ClusterSharding.get(context.getSystem())
                .entityRefFor(ThreadRegistry.TYPE_KEY, state.info().tenant())
                .tell(new ThreadRegistry.Touch(threadId, started.text(), started.at()));
          }
          sendPrompt(started.messageId(), started.text());
          watchSilence(turnId);
        })
        .thenReply(start.replyTo(), after -> StatusReply.success(new TurnAccepted(turnId)));
  }

  private ReplyEffect<ThreadEvent, ThreadState> subscribe(ThreadState state, Subscribe subscribe) {
    ActorRef<ThreadUpdate> subscriber = subscribe.subscriber();
    context.watchWith(subscriber, new SubscriberGone(subscriber));
    long upTo = lastSequenceNumber(context);
    Long after = subscribe.afterSequenceNr();
    if (after == null || after >= upTo) {
      subscriber.tell(new ThreadUpdate.Live(upTo, context.getSelf()));
      catchUp(state).forEach(subscriber::tell);
      goLive(state, subscriber);
      return Effect().reply(subscribe.replyTo(), StatusReply.ack());
    }
    // Everything persisted from here on has a higher number than upTo: it is held back and follows the replay,
    // after what streamed but is not persisted yet.
    List<ThreadUpdate> heldBack = new ArrayList<>();
    heldBack.add(new ThreadUpdate.Live(upTo, context.getSelf()));
    heldBack.addAll(catchUp(state));
    replaying.put(subscriber, heldBack);
    readJournal()
        .currentEventsByPersistenceId(persistenceId().id(), Math.max(1, after + 1), upTo)
        .runForeach(envelope -> subscriber.tell(new ThreadUpdate.Persisted(envelope.sequenceNr(), (ThreadEvent) envelope.event())),
            context.getSystem())
        .whenComplete((done, error) -> context.getSelf().tell(
            new ReplayDone(subscriber, error == null ? null : String.valueOf(PodiumClient.unwrap(error)))));
    return Effect().reply(subscribe.replyTo(), StatusReply.ack());
  }

  /** What the running turn streamed that no persisted event holds yet, as deltas for a joining subscriber. */
  private List<ThreadUpdate> catchUp(ThreadState state) {
    Turn turn = state.turn();
    List<ThreadUpdate> updates = new ArrayList<>();
    if (turn == null) {
      return updates;
    }
    if (unsaved.length() > 0 && !messagePersisted) {
      updates.add(new ThreadUpdate.TextDelta(turn.turnId(), itemId(turn), unsaved.toString()));
    }
    reasoning.forEach((id, text) -> updates.add(new ThreadUpdate.ReasoningDelta(turn.turnId(), id, text.toString())));
    commandOutput.forEach((id, text) ->
        updates.add(new ThreadUpdate.CommandOutputDelta(turn.turnId(), id, text.toString())));
    return updates;
  }

  private ReplyEffect<ThreadEvent, ThreadState> resume(Ready state, Resume resume) {
    if (link == null && !state.info().archived()) {
      if (lastRespawnFailure != null && !respawning) {
        String reason = lastRespawnFailure;
        lastRespawnFailure = null;
        return Effect().reply(resume.replyTo(), StatusReply.error(
            FailureKind.PODIUM.describe("the agent could not be started: " + reason)));
      }
      respawn(state.info());
      return Effect().stash(); // answered once the agent is back (Respawned / Reconnect unstash it)
    }
    return replyWithHistory(state, resume.replyTo());
  }

  private ReplyEffect<ThreadEvent, ThreadState> replyWithHistory(ThreadState state, ActorRef<StatusReply<Resumed>> replyTo) {
    ThreadStatus status = state.status(linkState());
    readJournal()
        .currentEventsByPersistenceId(persistenceId().id(), 1, lastSequenceNumber(context))
        .map(envelope -> new ThreadUpdate.Persisted(envelope.sequenceNr(), (ThreadEvent) envelope.event()))
        .runWith(Sink.seq(), context.getSystem())
        .whenComplete((history, error) -> replyTo.tell(error == null
            ? StatusReply.success(new Resumed(status, List.copyOf(history)))
            : StatusReply.error(FailureKind.STORAGE.describe("the thread's history could not be read: "
                + PodiumClient.unwrap(error).getMessage()))));
    return Effect().noReply();
  }

  private SqliteReadJournal readJournal() {
    return PersistenceQuery.get(context.getSystem().classicSystem())
        .getReadJournalFor(SqliteReadJournal.class, SqliteReadJournal.IDENTIFIER);
  }

  private void goLive(ThreadState state, ActorRef<ThreadUpdate> subscriber) {
    subscribers.add(subscriber);
    if (state instanceof Waiting waiting) {
      subscriber.tell(new ThreadUpdate.PendingRequest(waiting.request()));
    }
  }

  private ReplyEffect<ThreadEvent, ThreadState> steer(ThreadState state, Steer steer) {
    if (steer.text() == null || steer.text().isBlank()) {
      return Effect().reply(steer.replyTo(), StatusReply.error("steering needs text"));
    }
    if (link == null) {
      return Effect().reply(steer.replyTo(), StatusReply.error(FailureKind.PODIUM.describe("the agent is not connected")));
    }
    link.tell(new PodiumLink.Send(new AgentCommand.Steer(steer.text()), steer.replyTo()));
    return Effect().noReply(); // the link answers whether the guidance went out
  }

  /**
   * Brings back the agent of a thread without a link: if Podium still runs its instance, reconnects to it;
   * otherwise (scaled to zero, killed) starts a new instance of the same agent type, to be given the
   * conversation so far with its first message. Turns wait (stashed) meanwhile.
   */
  private void respawn(ThreadInfo info) {
    if (respawning) {
      return;
    }
    respawning = true;
    var client = podium.client();
    CompletionStage<ThreadCommand> next = info.instanceId() == null ? startInstance(info) // never had one
        : client.instance(info.instanceId())
            .handle((instance, error) -> instance != null && instance.status().live())
            .thenCompose(alive -> alive
                ? CompletableFuture.completedFuture((ThreadCommand) new Reconnect(info.instanceId()))
                : startInstance(info));
    context.pipeToSelf(next, (command, error) -> error == null ? command
        : new RespawnFailed(PodiumClient.unwrap(error).getMessage()));
  }

  /** A new instance, hydrated: its config carries the thread's memories, its first message the conversation. */
  private CompletionStage<ThreadCommand> startInstance(ThreadInfo info) {
    var client = podium.client();
    String lostTurn = lostPromptTurnId; // its prompt is sent on its own, not as history
    record Known(List<AgentCommand.HistoryMessage> history, List<Map<String, String>> memories) {}
    CompletionStage<Known> known = SessionStorage.get(context.getSystem()).readThread(threadId, db ->
        new Known(
            db.messages().stream().filter(m -> lostTurn == null || !lostTurn.equals(m.turnId()))
                .map(m -> new AgentCommand.HistoryMessage(
                m.role().equals("user") ? AgentCommand.Role.USER : AgentCommand.Role.ASSISTANT, m.text())).toList(),
            db.memories().stream().map(m -> Map.of("key", m.key(), "value", m.value())).toList()));
    return client.resolveDeployment(info.agentType()).thenCompose(deployment -> known.thenCompose(k -> {
      Map<String, Object> config = new HashMap<>();
      if (info.cwd() != null) {
        config.put("cwd", info.cwd());
      }
      config.put("memories", k.memories());
      return client.createInstance(deployment, config, Map.of())
          .thenApply(instance -> (ThreadCommand) new Respawned(deployment, instance.instanceId(), k.history()));
    }));
  }

  private ReplyEffect<ThreadEvent, ThreadState> answer(Waiting state, AnswerApproval answer) {
    if (!(state.request() instanceof ApprovalRequested request) || !request.requestId().equals(answer.requestId())) {
      return Effect().reply(answer.replyTo(), StatusReply.error("no approval " + answer.requestId()
          + " is pending (waiting for " + state.request().requestId() + ")"));
    }
    ApprovalDecided decided = new ApprovalDecided(request, wire(answer.decision()), System.currentTimeMillis());
    writes.awaiting(answer.replyTo());
    return Effect().persist(decided)
        .thenRun(after -> {
          lastAgentActivity = System.nanoTime(); // the agent's turn again: its silence counts from now
          publish(decided);
          if (link != null) {
            link.tell(new PodiumLink.Send(new AgentCommand.ApprovalResponse(answer.requestId(), answer.decision()),
                sendResults));
          }
        })
        .thenReply(answer.replyTo(), after -> StatusReply.ack());
  }

  private ReplyEffect<ThreadEvent, ThreadState> answerQuestion(Waiting state, AnswerQuestion answer) {
    if (!(state.request() instanceof QuestionAsked question) || !question.requestId().equals(answer.requestId())) {
      return Effect().reply(answer.replyTo(), StatusReply.error("no question " + answer.requestId()
          + " is pending (waiting for " + state.request().requestId() + ")"));
    }
    Map<String, List<String>> answers = answer.dismissed() || answer.answers() == null ? Map.of() : Map.copyOf(answer.answers());
    QuestionAnswered answered = new QuestionAnswered(question, answers, answer.dismissed(), System.currentTimeMillis());
    writes.awaiting(answer.replyTo());
    return Effect().persist(answered)
        .thenRun(after -> {
          lastAgentActivity = System.nanoTime();
          publish(answered);
          if (link != null) {
            link.tell(new PodiumLink.Send(new AgentCommand.Answer(question.requestId(), answers, answer.dismissed()),
                sendResults));
          }
        })
        .thenReply(answer.replyTo(), after -> StatusReply.ack());
  }

  private ReplyEffect<ThreadEvent, ThreadState> interrupt(Turn turn, Interrupt interrupt) {
    if (link == null || turn.turnId().equals(lostPromptTurnId)) { // no agent has the prompt
      lostPromptTurnId = null;
      writes.awaiting(interrupt.replyTo());
      return endTurn(turn, "interrupted", "interrupted while the agent was unreachable", 0, 0)
          .thenReply(interrupt.replyTo(), s -> StatusReply.ack());
    }
    link.tell(new PodiumLink.Send(new AgentCommand.Interrupt(turn.messageId()), sendResults));
    return Effect().reply(interrupt.replyTo(), StatusReply.ack());
  }

  /** A command the agent never got fails the turn it belonged to: nothing waits for an answer forever. */
  private ReplyEffect<ThreadEvent, ThreadState> sendResult(ThreadState state, SendResult sent) {
    Turn turn = state.turn();
    if (sent.result().isSuccess() || turn == null) {
      return Effect().noReply();
    }
    return endTurn(turn, "failed", "the agent could not be reached: " + sent.result().getError().getMessage(), 0, 0)
        .thenNoReply();
  }

  private ReplyEffect<ThreadEvent, ThreadState> endInterruptedTurn(ThreadState state, EndInterruptedTurn end) {
    Turn turn = state.turn();
    if (turn == null) {
      return Effect().noReply();
    }
    return endTurn(turn, "interrupted", end.reason(), 0, 0).thenNoReply();
  }

  // ---- what the agent does -------------------------------------------------------------------------------

  private ReplyEffect<ThreadEvent, ThreadState> fromLink(ThreadState state, FromLink message) {
    if (message.output() instanceof PodiumLink.StateChanged change) {
      return linkChanged(state, change.state());
    }
    if (message.output() instanceof PodiumLink.Delivered delivered) {
      return delivered(state, delivered);
    }
    PodiumLink.Events batch = (PodiumLink.Events) message.output();
    Turn turn = state.turn();
    if (turn == null || link == null) { // nothing is running, or a link let go still spoke: stray frames
      batch.ackTo().tell(PodiumLink.Ack.INSTANCE);
      return Effect().noReply();
    }
    if (!batch.events().isEmpty()) {
      unansweredPrompt = null; // the agent has the prompt: losing it from here on fails the turn
      resendPromptOnConnect = false;
      lastAgentActivity = System.nanoTime();
    }
    List<ThreadEvent> events = new ArrayList<>();
    long now = System.currentTimeMillis();
    boolean waiting = state instanceof Waiting;
    for (AgentEvent agentEvent : batch.events()) {
      if (abandoned(agentEvent)) {
        continue;
      }
      if (agentEvent instanceof AgentEvent.MessageStarted) {
        streamed.setLength(0);
        unsaved.setLength(0);
        messagePersisted = false;
      } else if (agentEvent instanceof AgentEvent.TextDelta delta) {
        if (unsaved.length() == 0) {
          windowOpenedAt = System.nanoTime();
        }
        streamed.append(delta.text());
        unsaved.append(delta.text());
        meters.deltas(1);
        if (!subscribers.isEmpty() || !replaying.isEmpty()) {
          if (liveText == null) { // published at the batch's end or before any other update
            liveText = new StringBuilder();
            liveTextTurn = turn;
          }
          liveText.append(delta.text());
        }
      } else if (agentEvent instanceof AgentEvent.TextFinal text && !messagePersisted) {
        events.add(new AgentMessage(turn.turnId(), itemId(turn), text.text(), now));
        unsaved.setLength(0);
        messagePersisted = true;
      } else if (agentEvent instanceof AgentEvent.PermissionRequested request && !waiting) {
        record(events, turn, now, new ApprovalRequested(turn.turnId(), request.requestId(), kind(request.kind()), request.command(),
            request.cwd(), request.reason(), now, request.toolCallId(), request.changesJson()));
        if (request.toolCallId() != null && request.command() != null) {
          commands.put(request.toolCallId(), request.command());
        }
        waiting = true;
      } else if (agentEvent instanceof AgentEvent.Thinking thinking) {
        String id = thinking.thinkingId() == null ? turn.turnId() + "-thinking" : thinking.thinkingId();
        StringBuilder text = reasoning.computeIfAbsent(id, k -> new StringBuilder());
        if (thinking.phase() == AgentEvent.Phase.COMPLETED) {
          String whole = thinking.text().isEmpty() ? text.toString() : thinking.text();
          reasoning.remove(id);
          record(events, turn, now, new ReasoningRecorded(turn.turnId(), id, whole, now));
        } else if (!thinking.text().isEmpty()) {
          text.append(thinking.text());
          publish(new ThreadUpdate.ReasoningDelta(turn.turnId(), id, thinking.text()));
        }
      } else if (agentEvent instanceof AgentEvent.ToolCallStarted started) {
        toolStarted(turn, started);
      } else if (agentEvent instanceof AgentEvent.ToolCall call) {
        toolStarted(turn, new AgentEvent.ToolCallStarted(call.toolCallId(), call.toolName(), call.argumentsJson()));
      } else if (agentEvent instanceof AgentEvent.ToolResult result) {
        AgentEvent.ToolCallStarted call = toolCalls.remove(result.toolCallId());
        if (specializedToolCalls.contains(result.toolCallId())) {
          continue;
        }
        record(events, turn, now, new ToolCallRecorded(turn.turnId(), result.toolCallId(), call == null ? null : call.toolName(),
            call == null ? null : call.argumentsJson(), result.isError() ? "failed" : "completed", result.output(), now));
      } else if (agentEvent instanceof AgentEvent.TerminalOutput output) {
        commandOutput.computeIfAbsent(output.toolCallId(), k -> new StringBuilder()).append(output.output());
        publish(new ThreadUpdate.CommandOutputDelta(turn.turnId(), output.toolCallId(), output.output()));
      } else if (agentEvent instanceof AgentEvent.TerminalCompleted done) {
        StringBuilder output = commandOutput.remove(done.toolCallId());
        specializedToolCalls.add(done.toolCallId());
        record(events, turn, now, new CommandCompleted(turn.turnId(), done.toolCallId(), output == null ? "" : output.toString(),
            done.exitCode(), done.durationMs(), now, commands.remove(done.toolCallId())));
      } else if (agentEvent instanceof AgentEvent.FileChanged change) {
        if (change.toolCallId() != null) {
          specializedToolCalls.add(change.toolCallId());
        }
        record(events, turn, now, new FileChanged(turn.turnId(), change.toolCallId() == null ? change.path() : change.toolCallId(),
            change.path(), change.kind().name().toLowerCase(Locale.ROOT), change.diff(), now));
      } else if (agentEvent instanceof AgentEvent.PlanUpdated plan) {
        record(events, turn, now, new PlanUpdated(turn.turnId(), plan.planId() == null ? turn.turnId() + "-plan" : plan.planId(),
            plan.steps().stream().map(step -> new PlanStep(step.step(), step.status())).toList(), plan.explanation(), now));
      } else if (agentEvent instanceof AgentEvent.MemoryExtracted memory) {
        record(events, turn, now, new MemoryExtracted(memory.key(), memory.value(), memory.metadataJson(), now));
      } else if (agentEvent instanceof AgentEvent.SummaryCreated summary) {
        record(events, turn, now, new SummaryCreated(summary.summary(), summary.coversTurns(), now));
      } else if (agentEvent instanceof AgentEvent.QuestionRequested asked && !waiting) {
        record(events, turn, now, new QuestionAsked(turn.turnId(), asked.requestId(), asked.questions().stream()
            .map(q -> new Question(q.id(), q.header(), q.question(), q.options())).toList(), now));
        waiting = true;
      } else if (agentEvent instanceof AgentEvent.MessageCompleted completed) {
        if (!messagePersisted && streamed.length() > 0) {
          events.add(new AgentMessage(turn.turnId(), itemId(turn), streamed.toString(), now));
          messagePersisted = true;
        }
        unsaved.setLength(0);
        boolean interrupted = "interrupted".equals(completed.stopReason());
        record(events, turn, now, new TurnEnded(turn.turnId(), interrupted ? "interrupted" : "completed", null, turn.startedAt(),
            completed.usage().inputTokens(), completed.usage().outputTokens(), now));
        break; // the turn is over: later frames belong to no turn
      } else if (agentEvent instanceof AgentEvent.Failed failed) {
        record(events, turn, now, new TurnEnded(turn.turnId(), "failed", failed.message(), turn.startedAt(), 0, 0, now));
        break;
      }
    }
    publishLiveText();
    if (unsaved.length() >= textWindowBytes
        || (unsaved.length() > 0 && System.nanoTime() - windowOpenedAt >= textWindow.toNanos())) {
      saveText(turn, events, now);
    } else if (unsaved.length() > 0 && !flushScheduled) {
      flushScheduled = true; // the agent may pause: the window closes on time anyway
      context.scheduleOnce(textWindow, context.getSelf(), new FlushText());
    }
    if (events.isEmpty()) {
      batch.ackTo().tell(PodiumLink.Ack.INSTANCE);
      return Effect().noReply();
    }
    return persistAndPublish(events).thenRun(after -> {
      batch.ackTo().tell(PodiumLink.Ack.INSTANCE); // more frames only once these are durable
    }).thenNoReply();
  }

  private void toolStarted(Turn turn, AgentEvent.ToolCallStarted started) {
    toolCalls.put(started.toolCallId(), started);
    String command = commandOf(started.argumentsJson());
    if (command != null) {
      commands.put(started.toolCallId(), command);
    }
    publish(new ThreadUpdate.ToolStarted(turn.turnId(), started.toolCallId(), started.toolName(), started.argumentsJson(),
        command));
  }

  /** The {@code command} argument of a tool call (a string, or a list of words), if it has one. */
  private static String commandOf(String argumentsJson) {
    if (argumentsJson == null || !argumentsJson.contains("command")) {
      return null;
    }
    try {
      JsonNode command = JSON.readTree(argumentsJson).path("command");
      if (command.isTextual()) {
        return command.asText();
      }
      if (command.isArray()) {
        List<String> words = new ArrayList<>();
        command.forEach(word -> words.add(word.asText()));
        return String.join(" ", words);
      }
    } catch (JsonProcessingException e) {
      return null; // arguments that are not JSON name no command
    }
    return null;
  }

  /** Adds an event after the text streamed before it, so that the journal keeps the order subscribers saw. */
  private void record(List<ThreadEvent> events, Turn turn, long now, ThreadEvent event) {
    saveText(turn, events, now);
    events.add(event);
  }

  /** Persists what the agent streamed in this window, if anything. */
  private ReplyEffect<ThreadEvent, ThreadState> flushText(ThreadState state, FlushText flush) {
    flushScheduled = false;
    Turn turn = state.turn();
    if (turn == null || unsaved.length() == 0) {
      return Effect().noReply();
    }
    List<ThreadEvent> events = new ArrayList<>();
    saveText(turn, events, System.currentTimeMillis());
    return persistAndPublish(events).thenNoReply();
  }

  private void saveText(Turn turn, List<ThreadEvent> events, long now) {
    if (unsaved.length() > 0 && !messagePersisted) {
      events.add(new AgentMessageDelta(turn.turnId(), itemId(turn), unsaved.toString(), now));
    }
    unsaved.setLength(0);
  }

  private EffectBuilder<ThreadEvent, ThreadState> persistAndPublish(List<ThreadEvent> events) {
    long started = System.nanoTime();
    return Effect().persist(events).thenRun(after -> {
      meters.persisted(System.nanoTime() - started);
      long first = lastSequenceNumber(context) - events.size() + 1;
      for (int i = 0; i < events.size(); i++) {
        publish(new ThreadUpdate.Persisted(first + i, events.get(i)));
      }
      if (after instanceof Ready) {
        armLinkIdleTimer(); // the turn ended
      }
    });
  }

  private ReplyEffect<ThreadEvent, ThreadState> linkChanged(ThreadState state, PodiumLink.LinkState linkState) {
    if (linkState instanceof PodiumLink.LinkState.Closed) {
      return Effect().noReply(); // only ever on our request, when that link was already let go
    }
    if (linkState instanceof PodiumLink.LinkState.Connected) {
      if (link == null) { // a link let go connected after all (it is closing): what waited decides anew
        return Effect().noReply().thenUnstashAll();
      }
      linkConnected = true;
      reportLink();
      if (interruptOnConnect != null) { // its turn ended without the agent: it must not go on with it
        link.tell(new PodiumLink.Send(new AgentCommand.Interrupt(interruptOnConnect),
            context.getSystem().ignoreRef()));
        interruptOnConnect = null;
      }
      Turn turn = state.turn();
      if (turn != null && turn.turnId().equals(lostPromptTurnId)) {
        sendPrompt(turn.messageId(), unansweredPrompt);
        lostPromptTurnId = null;
        unansweredPrompt = null; // once
      } else if (turn != null && resendPromptOnConnect && unansweredPrompt != null) {
        resendPromptOnConnect = false;
        meters.promptResent();
        sendPrompt(turn.messageId(), unansweredPrompt);
        unansweredPrompt = null; // once
      }
      return Effect().noReply().thenUnstashAll();
    }
    linkConnected = false;
    if (linkState instanceof PodiumLink.LinkState.Dropped dropped) {
      reportLink();
      return socketDropped(state, dropped.reason());
    }
    if (linkState instanceof PodiumLink.LinkState.Reconnecting reconnecting) {
      reportLink();
      return reconnecting(state, reconnecting);
    }
    link = null; // gone, gave up or closed: turns waiting for it are refused from now on
    meters.linkLost();
    lastError = "link lost: " + linkState;
    reportLink();
    Turn turn = state.turn();
    if (turn == null) {
      return Effect().noReply().thenUnstashAll();
    }
    if (linkState instanceof PodiumLink.LinkState.InstanceGone && unansweredPrompt != null && lostPromptTurnId == null
        && state instanceof Running running) {
      // Gone before it said anything (e.g. scaled to zero just before the turn): a new agent gets the prompt.
      // Not after the link gave up: that instance may still live and work on it.
      lostPromptTurnId = turn.turnId();
      meters.promptResent();
      respawn(running.info());
      return Effect().noReply();
    }
    lostPromptTurnId = null;
    return endTurn(turn, "failed", "the agent is gone: " + linkState, 0, 0).thenNoReply();
  }

  /**
   * The agent's socket dropped during a turn. Podium keeps no replay cursor: whatever the agent sent since
   * is lost, so a turn whose agent had already said something cannot be completed truthfully. A turn that
   * waits for the client fails now: the request it shows can no longer be answered. A running one fails as
   * soon as the link knows more: the instance lives and the link reconnects ({@link #reconnecting}), or it is
   * gone (the turn fails, or its unanswered prompt goes to a new agent). Either way the agent is told to
   * stop once the link is back. A prompt that went out but got no word back is sent again, once, when the
   * link is back; one the link still holds goes out by itself.
   */
  private ReplyEffect<ThreadEvent, ThreadState> socketDropped(ThreadState state, String reason) {
    Turn turn = state.turn();
    if (turn == null) {
      return Effect().noReply();
    }
    if (state instanceof Running && unansweredPrompt != null) {
      resendPromptOnConnect = promptDelivered;
      return Effect().noReply();
    }
    interruptOnConnect = turn.messageId();
    if (state instanceof Waiting) {
      return endTurn(turn, "failed", "the connection to the agent dropped while the turn waited for the client ("
          + reason + "); Podium keeps no replay, so this turn cannot go on", 0, 0).thenNoReply();
    }
    droppedTurnId = turn.turnId();
    return Effect().noReply();
  }

  /** The link reconnects to a live instance: a turn that lost part of the agent's answer with the socket fails. */
  private ReplyEffect<ThreadEvent, ThreadState> reconnecting(ThreadState state, PodiumLink.LinkState.Reconnecting reconnecting) {
    Turn turn = state.turn();
    if (turn == null || !turn.turnId().equals(droppedTurnId)) {
      return Effect().noReply();
    }
    droppedTurnId = null;
    return endTurn(turn, "failed", "the connection to the agent dropped mid-turn (" + reconnecting.reason()
        + "); Podium keeps no replay, so the rest of this turn is lost", 0, 0).thenNoReply();
  }

  /**
   * Gives the agent the turn's prompt (with the conversation, for a re-spawned agent that lacks it). The link
   * says what became of it ({@link PodiumLink.Delivered}) in order with its other news, so a drop heard next
   * tells whether the prompt may have been lost with the socket.
   */
  private void sendPrompt(String messageId, String text) {
    promptDelivered = false;
    List<AgentCommand.HistoryMessage> history = hydration;
    hydration = List.of(); // a re-spawned agent is told the history once
    link.tell(new PodiumLink.Deliver(new AgentCommand.ProcessMessage(messageId, text, history)));
  }

  /** A prompt the agent never got fails its turn; one that went out on a live socket counts as delivered. */
  private ReplyEffect<ThreadEvent, ThreadState> delivered(ThreadState state, PodiumLink.Delivered delivered) {
    Turn turn = state.turn();
    if (!(delivered.command() instanceof AgentCommand.ProcessMessage prompt) || turn == null
        || !turn.messageId().equals(prompt.messageId())) {
      return Effect().noReply(); // not this turn's prompt, or that turn is over already
    }
    if (delivered.sent()) {
      promptDelivered = true;
      return Effect().noReply();
    }
    if (turn.turnId().equals(lostPromptTurnId)) {
      return Effect().noReply(); // its agent is gone and a new one gets it
    }
    return endTurn(turn, "failed", "the agent could not be reached: " + delivered.error(), 0, 0).thenNoReply();
  }

  /** Arms the watchdog of a turn that just started: a silent agent never leaves a turn running forever. */
  private void watchSilence(String turnId) {
    lastAgentActivity = System.nanoTime();
    context.scheduleOnce(turnSilenceTimeout, context.getSelf(), new SilenceCheck(turnId));
  }

  /**
   * The running turn's agent said nothing for {@code turn-silence-timeout}: the turn fails with that reason
   * and the agent is told to stop. Waiting for the client does not count; the watch goes on meanwhile.
   */
  private ReplyEffect<ThreadEvent, ThreadState> silenceCheck(ThreadState state, SilenceCheck check) {
    Turn turn = state.turn();
    if (turn == null || !turn.turnId().equals(check.turnId())) {
      return Effect().noReply(); // that turn is over
    }
    long silent = System.nanoTime() - lastAgentActivity;
    if (state instanceof Waiting || silent < turnSilenceTimeout.toNanos()) {
      long wait = state instanceof Waiting ? turnSilenceTimeout.toNanos() : turnSilenceTimeout.toNanos() - silent;
      context.scheduleOnce(Duration.ofNanos(Math.max(wait, 1_000_000)), context.getSelf(), check);
      return Effect().noReply();
    }
    context.getLog().warn("thread {}: turn {} failed: its agent said nothing for {}", threadId, turn.turnId(),
        turnSilenceTimeout);
    lostPromptTurnId = null;
    if (link != null && linkConnected) {
      link.tell(new PodiumLink.Send(new AgentCommand.Interrupt(turn.messageId()), context.getSystem().ignoreRef()));
    } else {
      interruptOnConnect = turn.messageId();
    }
    return endTurn(turn, "failed", "the agent said nothing for " + turnSilenceTimeout.toSeconds()
        + " s (legato.thread.turn-silence-timeout); it was told to stop", 0, 0).thenNoReply();
  }

  /** Whether the event belongs to a message whose turn already ended without its agent. */
  private boolean abandoned(AgentEvent event) {
    String messageId = event instanceof AgentEvent.MessageStarted e ? e.messageId()
        : event instanceof AgentEvent.TextDelta e ? e.messageId()
        : event instanceof AgentEvent.TextFinal e ? e.messageId()
        : event instanceof AgentEvent.MessageCompleted e ? e.messageId() : null;
    return messageId != null && abandonedMessages.contains(messageId);
  }

  /** Ends the turn without its agent (it failed, was interrupted or went silent): its message is abandoned. */
  private EffectBuilder<ThreadEvent, ThreadState> endTurn(
      Turn turn, String outcome, String error, long input, long output) {
    if (abandonedMessages.size() >= 8) {
      abandonedMessages.removeFirst();
    }
    abandonedMessages.addLast(turn.messageId());
    long now = System.currentTimeMillis();
    List<ThreadEvent> events = new ArrayList<>();
    saveText(turn, events, now); // what streamed before the end stays part of the record
    events.add(new TurnEnded(turn.turnId(), outcome, error, turn.startedAt(), input, output, now));
    return persistAndPublish(events);
  }

  // ---- events --------------------------------------------------------------------------------------------

  @Override
  public EventHandler<ThreadState, ThreadEvent> eventHandler() {
    return (state, event) -> {
      ThreadState next = state.apply(event);
      if (recovered) { // live, not replayed: count it
        reportPhase(next);
        if (event instanceof TurnStarted) {
          meters.turnStarted();
        } else if (event instanceof TurnEnded ended) {
          meters.turnEnded(ended.outcome());
          if (ended.error() != null) {
            lastError = "turn " + ended.turnId() + " " + ended.outcome() + ": " + ended.error();
          }
        }
      }
      return next;
    };
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  private ReplyEffect<ThreadEvent, ThreadState> restore(ThreadState state, Restore restore) {
    if (state.turn() != null) {
      return Effect().reply(restore.replyTo(), StatusReply.error(busy(state, "restored")));
    }
    if (creating || respawning) {
      return Effect().reply(restore.replyTo(), StatusReply.error("the thread's agent is being started; try again in a moment"));
    }
    restoring = true;
    closeLink();
    context.pipeToSelf(SessionStorage.get(context.getSystem()).restoreThread(threadId, restore.at()),
        (result, error) -> error != null
            ? new RestoreFinished(restore, null,
                FailureKind.STORAGE.describe("the restore failed: " + PodiumClient.unwrap(error).getMessage()))
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
      ThreadInfo info = state.info();
      if (finished.error() == null && info != null) {
        stopAgent(info.instanceId()); // it remembers a conversation that is no longer the thread's
      }
      if (finished.error() != null) {
        lastError = finished.error();
        context.getLog().warn("thread {}: {}", threadId, finished.error());
      } else {
        context.getLog().info("thread {}: restored to {} (generation {}){}", threadId,
            finished.done().stateAt(), finished.done().generation(),
            finished.done().problem() == null ? "" : "; the replica is damaged: " + finished.done().problem());
      }
      subscribers.clear();
      replaying.clear();
      StatusReply<RestoreDone> reply = finished.error() == null ? StatusReply.success(finished.done())
          : StatusReply.error(finished.error());
      if (shard != null) {
        shard.tell(new ClusterSharding.Passivate<>(context.getSelf()));
        return Effect().reply(finished.request().replyTo(), reply);
      }
      return Effect().stop().thenReply(finished.request().replyTo(), after -> reply);
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

  private static String busy(ThreadState state, String what) {
    return state instanceof New ? "the thread has not been started"
        : "the thread cannot be " + what + " while a turn is running; interrupt it first";
  }

  private void closeLink() {
    if (link != null) {
      link.tell(new PodiumLink.Close());
      link = null;
      linkConnected = false;
      reportLink();
    }
  }

  /**
   * An archived thread keeps no agent: its instance is deleted on Podium (the databases stay). A Podium that
   * cannot delete it now reclaims it when it scales to zero; unarchiving starts a new one either way.
   */
  private void stopAgent(String instanceId) {
    if (instanceId == null) {
      return;
    }
    podium.client().deleteInstance(instanceId).whenComplete((done, error) -> {
      if (error != null) {
        context.getSystem().log().warn("thread {}: its archived agent {} could not be stopped now: {}", threadId,
            instanceId, PodiumClient.unwrap(error).getMessage());
      }
    });
  }

  private void openLink(String instanceId) {
    closeLink(); // one thread, one link: never a second socket to an instance beside the first
    linkConnected = false;
    link = context.spawnAnonymous(PodiumLink.create(podium.client(), podium.client().settings(), podium.codec(),
        instanceId, linkOutput));
    reportLink();
    armLinkIdleTimer();
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

  /** Closes the link after {@code close-link-after} unless a turn starts (or the timer is armed again) first. */
  private void armLinkIdleTimer() {
    int generation = ++linkIdleGeneration;
    context.scheduleOnce(closeLinkAfter, context.getSelf(), new LinkIdle(generation));
  }

  private void publish(ThreadEvent event) {
    if (subscribers.isEmpty() && replaying.isEmpty()) {
      return;
    }
    publish(new ThreadUpdate.Persisted(lastSequenceNumber(context), event));
  }

  private void publish(ThreadUpdate update) {
    publishLiveText();
    subscribers.forEach(s -> s.tell(update));
    replaying.values().forEach(heldBack -> heldBack.add(update));
  }

  /**
   * The text deltas of one link batch travel to subscribers as one: a client sees the same text in fewer
   * notifications, and nothing waits for it (the batch is already here).
   */
  private void publishLiveText() {
    if (liveText != null) {
      ThreadUpdate delta = new ThreadUpdate.TextDelta(liveTextTurn.turnId(), itemId(liveTextTurn), liveText.toString());
      liveText = null;
      liveTextTurn = null;
      publish(delta);
    }
  }

  private static String itemId(Turn turn) {
    return turn.messageId() + "-answer";
  }

  private String linkState() {
    return link == null ? "none" : linkConnected ? "connected" : "connecting";
  }

  private static String kind(AgentEvent.PermissionKind kind) {
    return switch (kind) {
      case COMMAND -> "command";
      case FILE_CHANGE -> "file_change";
      case PERMISSIONS -> "permissions";
    };
  }

  private static String wire(AgentCommand.Decision decision) {
    return switch (decision) {
      case ACCEPT -> "accept";
      case ACCEPT_FOR_SESSION -> "acceptForSession";
      case DECLINE -> "decline";
      case CANCEL -> "cancel";
    };
  }
}
