package dev.legato.thread;

import dev.legato.podium.AgentCommand;
import dev.legato.podium.PodiumClient;
import dev.legato.podium.PodiumLink;
import dev.legato.storage.SessionStorage;
import dev.legato.thread.ThreadCommand.Create;
import dev.legato.thread.ThreadState.ThreadInfo;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A thread's work with Podium: creating its instance, bringing it back (reconnect or re-spawn, hydrated with
 * the conversation and the memories), opening its link, deleting it. Each result is the {@link Signal} the
 * thread receives; as the agent lifecycle's {@link AgentLifecycle.Port} it starts links and re-spawns.
 */
final class Instances implements AgentLifecycle.Port {
  private static final Logger log = LoggerFactory.getLogger(Instances.class);

  private final UUID threadId;
  private final ActorContext<ThreadCommand> context;
  private final Podium podium;
  private final PodiumClient client;
  private final SessionStorage storage;
  private final ActorRef<PodiumLink.Output> linkOutput;
  private final Runnable linkOpened;
  private final ThreadMeters.Gauges gauges;
  private final Duration forkReadTimeout;
  private final Duration startAgentAfter;

  /** {@code linkOutput} hears what links report; {@code linkOpened} runs whenever one is opened. */
  Instances(UUID threadId, ActorContext<ThreadCommand> context, Podium podium, SessionStorage storage,
            ActorRef<PodiumLink.Output> linkOutput, Runnable linkOpened, ThreadMeters.Gauges gauges) {
    this.threadId = threadId;
    this.context = context;
    this.podium = podium;
    this.client = podium.client();
    this.storage = storage;
    this.linkOutput = linkOutput;
    this.linkOpened = linkOpened;
    this.gauges = gauges;
    this.forkReadTimeout = context.getSystem().settings().config().getDuration("legato.thread.fork-read-timeout");
    this.startAgentAfter = context.getSystem().settings().config().getDuration("legato.thread.start-agent-after");
  }

  @Override
  public ActorRef<PodiumLink.Command> openLink(String instanceId) {
    linkOpened.run();
    return context.spawnAnonymous(PodiumLink.create(client, client.settings(), podium.codec(), instanceId, linkOutput));
  }

  @Override
  public void respawn(ThreadInfo info, String lostTurnId) {
    context.pipeToSelf(bringBack(info, lostTurnId), (signal, error) -> signal);
  }

  @Override
  public void linkStateChanged(String linkState) {
    gauges.link(linkState);
  }

  /**
   * Resolves the agent type's deployment and, if the client waits for the agent, creates its instance; a
   * fork first reads what it copies of its source (a fork that cannot, creates nothing).
   */
  CompletionStage<Signal> create(Create create) {
    return Forks.copy(context.getSystem(), create.forkOf(), forkReadTimeout).thenCompose(forked ->
        client.resolveDeployment(create.agentType())
            .thenCompose(deployment -> !create.awaitAgent()
                ? CompletableFuture.completedFuture((Signal) new Signal.InstanceReady(deployment, null, create, forked))
                : client.createInstance(deployment, create.cwd() == null ? Map.of() : Map.of("cwd", create.cwd()), Map.of())
                    .thenApply(instance -> (Signal) new Signal.InstanceReady(deployment, instance.instanceId(), create, forked)))
            .exceptionally(error -> new Signal.CreateFailed(FailureKind.PODIUM.describe("cannot start the agent: "
                + PodiumClient.unwrap(error).getMessage()), create)))
        .exceptionally(error -> new Signal.CreateFailed(PodiumClient.unwrap(error).getMessage(), create));
  }

  /**
   * Starts the agent of a thread recorded without one after {@code start-agent-after} ({@link Signal.StartAgent}):
   * the reply to the start goes out first instead of sharing the CPU with the instance's creation. A turn or
   * resume that comes sooner starts it at once.
   */
  void startSoon() {
    if (startAgentAfter.isZero()) {
      context.getSelf().tell(new Signal.StartAgent());
    } else {
      context.scheduleOnce(startAgentAfter, context.getSelf(), new Signal.StartAgent());
    }
  }

  /**
   * If Podium still runs the thread's instance, reconnects to it; otherwise (scaled to zero, killed) starts
   * a new instance of the same agent type. {@code lostTurnId}'s prompt is sent on its own, not as history.
   */
  CompletionStage<Signal> bringBack(ThreadInfo info, String lostTurnId) {
    CompletionStage<Signal> next = info.instanceId() == null ? start(info, lostTurnId) // never had one
        : client.instance(info.instanceId())
            .handle((instance, error) -> instance != null && instance.status().live())
            .thenCompose(alive -> alive
                ? CompletableFuture.completedFuture((Signal) new Signal.Reconnect(info.instanceId()))
                : start(info, lostTurnId));
    return next.exceptionally(error -> new Signal.RespawnFailed(PodiumClient.unwrap(error).getMessage()));
  }

  /** A new instance, hydrated: its config carries the thread's memories, its first message the conversation. */
  private CompletionStage<Signal> start(ThreadInfo info, String lostTurnId) {
    record Known(List<AgentCommand.HistoryMessage> history, List<Map<String, String>> memories) {}
    CompletionStage<Known> known = storage.readThread(threadId, db -> new Known(
        db.messages().stream().filter(m -> lostTurnId == null || !lostTurnId.equals(m.turnId()))
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
          .thenApply(instance -> (Signal) new Signal.Respawned(deployment, instance.instanceId(), k.history()));
    }));
  }

  /** Deletes the instance; a Podium that cannot delete it now reclaims it itself (scale to zero). */
  CompletionStage<Void> delete(String instanceId) {
    return client.deleteInstance(instanceId).thenApply(done -> null);
  }

  /**
   * An archived (or restored) thread keeps no agent: its instance is deleted on Podium (the databases stay).
   * A Podium that cannot delete it now reclaims it when it scales to zero; a new one is started when needed.
   */
  void stop(String instanceId) {
    if (instanceId == null) {
      return;
    }
    client.deleteInstance(instanceId).whenComplete((done, error) -> {
      if (error != null) {
        log.warn("thread {}: its agent {} could not be stopped now: {}", threadId, instanceId,
            PodiumClient.unwrap(error).getMessage());
      }
    });
  }
}
