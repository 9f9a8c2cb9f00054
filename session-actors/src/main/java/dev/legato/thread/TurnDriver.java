package dev.legato.thread;

import dev.legato.podium.AgentCommand;
import dev.legato.podium.PodiumLink;
import dev.legato.thread.AgentLifecycle.TurnFate;
import dev.legato.thread.Signal.*;
import dev.legato.thread.ThreadCommand.*;
import dev.legato.thread.ThreadEvent.*;
import dev.legato.thread.ThreadState.*;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.LongSupplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EffectFactories;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * The thread's turns with its agent: starting one (bringing the agent back first if need be), the client's
 * answers, steering and interrupting, what the agent says and what becomes of its link, the silence
 * watchdog, and ending a turn without its agent. {@link ThreadEntity} hands it the commands of a turn and
 * the agent's news; it returns the effects. It runs on the entity's thread, as part of it.
 */
final class TurnDriver {
  private final UUID threadId;
  private final ActorContext<ThreadCommand> context;
  private final EffectFactories<ThreadEvent, ThreadState> effect;
  private final FailedWrites writes;
  private final AgentLifecycle agent;
  private final TurnRecorder recorder;
  private final Subscribers followers;
  private final ThreadMeters.Gauges gauges;
  private final LongSupplier lastSequenceNr;
  private final ActorRef<StatusReply<Done>> sendResults;
  private final Duration textWindow;
  private final Duration turnSilenceTimeout;
  private final Duration closeLinkAfter;
  /** When the agent last did something for the running turn (or the turn started, or the client answered). */
  private long lastAgentActivity;
  private int linkIdleGeneration;
  /** What operators see as the thread's last trouble. */
  String lastError;
  /** The request of this incarnation's last turn start, and that turn: the same request again gets that turn. */
  private String lastRequestId;
  private String lastRequestTurnId;

  TurnDriver(UUID threadId, ActorContext<ThreadCommand> context, EffectFactories<ThreadEvent, ThreadState> effect,
             FailedWrites writes, AgentLifecycle agent, TurnRecorder recorder, Subscribers followers,
             ThreadMeters.Gauges gauges, LongSupplier lastSequenceNr, ActorRef<StatusReply<Done>> sendResults,
             Duration textWindow, Duration turnSilenceTimeout, Duration closeLinkAfter) {
    this.threadId = threadId;
    this.context = context;
    this.effect = effect;
    this.writes = writes;
    this.agent = agent;
    this.recorder = recorder;
    this.followers = followers;
    this.gauges = gauges;
    this.lastSequenceNr = lastSequenceNr;
    this.sendResults = sendResults;
    this.textWindow = textWindow;
    this.turnSilenceTimeout = turnSilenceTimeout;
    this.closeLinkAfter = closeLinkAfter;
  }

  /** The agent's and the turn's own news (link, send results, text window, watchdog, recovery); null if not one. */
  ReplyEffect<ThreadEvent, ThreadState> news(ThreadState state, ThreadCommand command) {
    if (command instanceof FromLink c) {
      return c.output() instanceof PodiumLink.Events batch ? agentSaid(state, batch)
          : c.output() instanceof PodiumLink.Delivered delivered
              ? failIf(agent.delivered(state.turn(), delivered), state, "the agent could not be reached: " + delivered.error())
              : linkChanged(state, ((PodiumLink.StateChanged) c.output()).state());
    }
    if (command instanceof SendResult c) { // a command the agent never got fails its turn: nothing waits forever
      return c.result().isSuccess() ? effect.noReply() : failIf(TurnFate.FAILS, state,
          "the agent could not be reached: " + c.result().getError().getMessage());
    }
    if (command instanceof FlushText) {
      List<ThreadEvent> events = recorder.flush(state.turn(), System.currentTimeMillis());
      return events.isEmpty() ? effect.noReply() : persistAndPublish(events).thenNoReply();
    }
    if (command instanceof EndInterruptedTurn c) {
      return state.turn() == null ? effect.noReply() : endWithoutAgent(state.turn(), "interrupted", c.reason()).thenNoReply();
    }
    if (command instanceof SilenceCheck c) {
      return silenceCheck(state, c);
    }
    return agentNews(state, command);
  }

  /** Whether the link-idle timer of {@code generation} is the one armed last (no turn started since). */
  boolean linkIdleTimerCurrent(int generation) {
    return generation == linkIdleGeneration;
  }

  /** Closes the link after {@code close-link-after} unless a turn starts (or the timer is armed again) first. */
  void armLinkIdleTimer() {
    context.scheduleOnce(closeLinkAfter, context.getSelf(), new LinkIdle(++linkIdleGeneration));
  }

  /**
   * Every persist of the thread goes through here: once the events are durable, the thread's meters count
   * them (phase, turns started and ended) and a failed turn becomes the thread's last trouble. Replayed
   * events are not counted: the event handler stays pure.
   */
  EffectBuilder<ThreadEvent, ThreadState> persist(List<ThreadEvent> events) {
    return effect.persist(events).thenRun(after -> {
      gauges.phase(after.phase());
      for (ThreadEvent event : events) {
        if (event instanceof TurnStarted started) {
          gauges.turnStarted();
          context.getLog().debug("thread {}: turn {} started", threadId, started.turnId());
        } else if (event instanceof TurnEnded ended) {
          gauges.turnEnded(ended.outcome());
          context.getLog().debug("thread {}: turn {} ended {}", threadId, ended.turnId(), ended.outcome());
          if (ended.error() != null) {
            lastError = "turn " + ended.turnId() + " " + ended.outcome() + ": " + ended.error();
          }
        }
      }
    });
  }

  void publish(ThreadEvent event) {
    if (!followers.isEmpty()) {
      followers.publish(new ThreadUpdate.Persisted(lastSequenceNr.getAsLong(), event));
    }
  }

  /**
   * A start the thread has answered before (sent again, by a gateway that did not hear the answer): the same answer,
   * in any state, and no second turn. Null when it is a new one.
   */
  ReplyEffect<ThreadEvent, ThreadState> startedBefore(StartTurn start) {
    if (start.requestId() == null || !start.requestId().equals(lastRequestId)) {
      return null;
    }
    return effect.reply(start.replyTo(), StatusReply.success(new TurnAccepted(lastRequestTurnId, context.getSelf())));
  }

  ReplyEffect<ThreadEvent, ThreadState> inTurn(ThreadState state, ThreadCommand command) {
    if (command instanceof StartTurn c) {
      return effect.reply(c.replyTo(), StatusReply.error("turn " + state.turn().turnId() + " is still running"));
    }
    if (command instanceof Steer c) {
      if (c.text() == null || c.text().isBlank()) {
        return effect.reply(c.replyTo(), StatusReply.error("steering needs text"));
      }
      if (!agent.tell(new AgentCommand.Steer(c.text()), c.replyTo())) { // else the link answers
        return effect.reply(c.replyTo(), StatusReply.error(FailureKind.PODIUM.describe("the agent is not connected")));
      }
      return effect.noReply();
    }
    if (command instanceof Interrupt c) {
      if (agent.interrupt(state.turn(), sendResults)) {
        return effect.reply(c.replyTo(), StatusReply.ack());
      }
      writes.awaiting(c.replyTo()); // no agent has the prompt: the turn ends here
      return endWithoutAgent(state.turn(), "interrupted", "interrupted while the agent was unreachable")
          .thenReply(c.replyTo(), s -> StatusReply.ack());
    }
    return null;
  }

  ReplyEffect<ThreadEvent, ThreadState> inWaiting(Waiting state, ThreadCommand command) {
    Pending pending = state.request();
    if (command instanceof StartTurn c) {
      return effect.reply(c.replyTo(), StatusReply.error("turn " + state.turn().turnId() + " is waiting for "
          + (pending instanceof QuestionAsked ? "an answer to " : "approval ") + pending.requestId()));
    }
    if (command instanceof AnswerApproval c) {
      if (!(pending instanceof ApprovalRequested request) || !request.requestId().equals(c.requestId())) {
        return effect.reply(c.replyTo(), StatusReply.error("no approval " + c.requestId()
            + " is pending (waiting for " + pending.requestId() + ")"));
      }
      return answered(new ApprovalDecided(request, c.decision().wire(), System.currentTimeMillis()), c.replyTo(),
          new AgentCommand.ApprovalResponse(c.requestId(), c.decision()));
    }
    if (command instanceof AnswerQuestion c) {
      if (!(pending instanceof QuestionAsked question) || !question.requestId().equals(c.requestId())) {
        return effect.reply(c.replyTo(), StatusReply.error("no question " + c.requestId()
            + " is pending (waiting for " + pending.requestId() + ")"));
      }
      Map<String, List<String>> answers = c.dismissed() || c.answers() == null ? Map.of() : Map.copyOf(c.answers());
      return answered(new QuestionAnswered(question, answers, c.dismissed(), System.currentTimeMillis()), c.replyTo(),
          new AgentCommand.Answer(question.requestId(), answers, c.dismissed()));
    }
    return inTurn(state, command);
  }

  /** What the work of bringing the agent back reports. */
  ReplyEffect<ThreadEvent, ThreadState> agentNews(ThreadState state, ThreadCommand command) {
    if (command instanceof Respawned r) {
      InstanceReplaced replaced = new InstanceReplaced(r.deploymentId(), r.instanceId(), System.currentTimeMillis());
      return persist(List.of(replaced)).thenRun(after -> {
        publish(replaced);
        agent.respawned(r.instanceId(), r.history());
      }).thenNoReply().thenUnstashAll(); // a waiting Resume is answered; turns wait for the connection
    }
    if (command instanceof Reconnect r) {
      agent.reconnected(r.instanceId()); // it still runs: the stashed turns (or a lost prompt) go out once connected
      return effect.noReply().thenUnstashAll();
    }
    if (command instanceof RespawnFailed r) {
      lastError = "cannot re-spawn the agent: " + r.reason();
      context.getLog().warn("thread {}: cannot re-spawn its agent: {}", threadId, r.reason());
      if (agent.respawnFailed(r.reason(), state.turn())) {
        return endWithoutAgent(state.turn(), "failed", "the agent is gone and could not be started again: " + r.reason())
            .thenNoReply().thenUnstashAll();
      }
      return effect.noReply().thenUnstashAll(); // the waiting turns are refused now, with the reason
    }
    if (command instanceof StartAgent) {
      ThreadInfo info = state.info();
      if (info != null && agent.agent() instanceof AgentLifecycle.Agent.Absent && !info.archived()) {
        agent.respawn(info); // no turn or resume got here first (either would have started it)
      }
      return effect.noReply();
    }
    return null;
  }

  ReplyEffect<ThreadEvent, ThreadState> startTurn(Ready state, StartTurn start) {
    if (start.text() == null || start.text().isBlank()) {
      return effect.reply(start.replyTo(), StatusReply.error("a turn needs text"));
    }
    if (state.info().archived()) {
      return effect.reply(start.replyTo(), StatusReply.error("the thread is archived; unarchive it first"));
    }
    if (!(agent.agent() instanceof AgentLifecycle.Agent.Connected)) {
      return bringAgentBack(state, start.replyTo().unsafeUpcast()); // the turn starts once it is connected
    }
    Turn turn = new Turn("turn_" + UUID.randomUUID(), "msg_" + UUID.randomUUID(), System.currentTimeMillis());
    TurnStarted started = new TurnStarted(turn.turnId(), turn.messageId(), start.text(), turn.startedAt());
    writes.awaiting(start.replyTo());
    return persist(List.of(started)).thenRun(after -> {
      lastRequestId = start.requestId();
      lastRequestTurnId = turn.turnId();
      linkIdleGeneration++; // the link stays while the turn runs
      recorder.turnStarted();
      publish(started);
      if (state.info().tenant() != null) { // the listing shows the latest prompt and activity
        context.getSystem().eventStream().tell(new EventStream.Publish<>(
            new TurnActivity(threadId, state.info().tenant(), started.text(), started.at())));
      }
      agent.turnStarted(turn, started.text());
      watchSilence(turn.turnId());
    }).thenReply(start.replyTo(), after -> StatusReply.success(new TurnAccepted(turn.turnId(), context.getSelf())));
  }

  /**
   * A turn or resume needs the agent: without a link it is brought back (reconnect or re-spawn) and the
   * command waits (stashed), unless the last attempt failed: then the client hears why, once.
   */
  ReplyEffect<ThreadEvent, ThreadState> bringAgentBack(Ready state, ActorRef<StatusReply<Object>> replyTo) {
    if (agent.agent() instanceof AgentLifecycle.Agent.Absent) {
      String failure = agent.takeFailure();
      if (failure != null) {
        return effect.reply(replyTo, StatusReply.error(FailureKind.PODIUM.describe("the agent could not be started: " + failure)));
      }
      agent.respawn(state.info());
    }
    return effect.stash(); // unstashed when the agent is back, connected, or could not be brought back
  }

  /** The client answered the pending request: recorded, announced, passed on to the agent. */
  private ReplyEffect<ThreadEvent, ThreadState> answered(ThreadEvent answer, ActorRef<StatusReply<Done>> replyTo,
                                                         AgentCommand toAgent) {
    writes.awaiting(replyTo);
    return persist(List.of(answer)).thenRun(after -> {
      lastAgentActivity = System.nanoTime(); // the agent's turn again: its silence counts from now
      publish(answer);
      agent.tell(toAgent, sendResults);
    }).thenReply(replyTo, after -> StatusReply.ack());
  }

  // ---- what the agent does -------------------------------------------------------------------------------

  private ReplyEffect<ThreadEvent, ThreadState> agentSaid(ThreadState state, PodiumLink.Events batch) {
    Turn turn = state.turn();
    if (turn == null || agent.link() == null) { // nothing is running, or a link let go still spoke: stray frames
      batch.ackTo().tell(PodiumLink.Ack.INSTANCE);
      return effect.noReply();
    }
    if (!batch.events().isEmpty()) {
      agent.heard();
      lastAgentActivity = System.nanoTime();
    }
    TurnRecorder.Recorded recorded = recorder.record(turn, state instanceof Waiting, batch.events(),
        !followers.isEmpty(), System.currentTimeMillis(), System.nanoTime());
    gauges.deltas(recorded.deltas());
    followers.publishAll(recorded.live());
    if (recorder.armFlush()) { // the agent may pause: the window closes on time anyway
      context.scheduleOnce(textWindow, context.getSelf(), new FlushText());
    }
    if (recorded.events().isEmpty()) {
      batch.ackTo().tell(PodiumLink.Ack.INSTANCE);
      return effect.noReply();
    }
    return persistAndPublish(recorded.events())
        .thenRun(after -> batch.ackTo().tell(PodiumLink.Ack.INSTANCE)) // more frames only once these are durable
        .thenNoReply();
  }

  private ReplyEffect<ThreadEvent, ThreadState> linkChanged(ThreadState state, PodiumLink.LinkState linkState) {
    if (linkState instanceof PodiumLink.LinkState.Closed) {
      return effect.noReply(); // only ever on our request, when that link was already let go
    }
    if (agent.link() == null) { // a link let go still reports (it is closing): what waited decides anew
      return effect.noReply().thenUnstashAll();
    }
    if (linkState instanceof PodiumLink.LinkState.Connected) {
      context.getLog().debug("thread {}: agent link connected", threadId);
      if (agent.connected(state.turn())) {
        gauges.promptResent();
      }
      return effect.noReply().thenUnstashAll();
    }
    if (linkState instanceof PodiumLink.LinkState.Dropped dropped) {
      return failIf(agent.dropped(state), state, "the connection to the agent dropped while the turn waited for the "
          + "client (" + dropped.reason() + "); Podium keeps no replay, so this turn cannot go on");
    }
    if (linkState instanceof PodiumLink.LinkState.Reconnecting reconnecting) {
      return failIf(agent.reconnecting(state.turn()), state, "the connection to the agent dropped mid-turn ("
          + reconnecting.reason() + "); Podium keeps no replay, so the rest of this turn is lost");
    }
    gauges.linkLost(); // gone or gave up: turns waiting for it are refused from now on
    lastError = "link lost: " + linkState;
    TurnFate fate = agent.gone(state, linkState);
    if (fate == TurnFate.GOES_TO_NEW_AGENT) {
      gauges.promptResent();
    }
    return state.turn() == null ? effect.noReply().thenUnstashAll()
        : failIf(fate, state, "the agent is gone: " + linkState);
  }

  /** Ends the running turn as failed with {@code reason} if its fate says so. */
  private ReplyEffect<ThreadEvent, ThreadState> failIf(TurnFate fate, ThreadState state, String reason) {
    if (fate != TurnFate.FAILS || state.turn() == null) {
      return effect.noReply();
    }
    return endWithoutAgent(state.turn(), "failed", reason).thenNoReply();
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
      return effect.noReply(); // that turn is over
    }
    long silent = System.nanoTime() - lastAgentActivity;
    if (state instanceof Waiting || silent < turnSilenceTimeout.toNanos()) {
      long wait = state instanceof Waiting ? turnSilenceTimeout.toNanos() : turnSilenceTimeout.toNanos() - silent;
      context.scheduleOnce(Duration.ofNanos(Math.max(wait, 1_000_000)), context.getSelf(), check);
      return effect.noReply();
    }
    context.getLog().warn("thread {}: turn {} failed: its agent said nothing for {}", threadId, turn.turnId(),
        turnSilenceTimeout);
    agent.abandon(turn);
    return endWithoutAgent(turn, "failed", "the agent said nothing for " + turnSilenceTimeout.toSeconds()
        + " s (legato.thread.turn-silence-timeout); it was told to stop").thenNoReply();
  }

  /** Ends the turn without its agent (it failed, was interrupted or went silent). */
  EffectBuilder<ThreadEvent, ThreadState> endWithoutAgent(Turn turn, String outcome, String error) {
    return persistAndPublish(recorder.endWithoutAgent(turn, outcome, error, System.currentTimeMillis()));
  }

  EffectBuilder<ThreadEvent, ThreadState> persistAndPublish(List<ThreadEvent> events) {
    long started = System.nanoTime();
    return persist(events).thenRun(after -> {
      gauges.persisted(System.nanoTime() - started);
      long first = lastSequenceNr.getAsLong() - events.size() + 1;
      for (int i = 0; i < events.size(); i++) {
        followers.publish(new ThreadUpdate.Persisted(first + i, events.get(i)));
      }
      if (after instanceof Ready) {
        armLinkIdleTimer(); // the turn ended
      }
    });
  }
}
