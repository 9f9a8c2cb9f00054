package dev.legato.thread;

import dev.legato.storage.SessionStorage;
import dev.legato.thread.Signal.CreateFailed;
import dev.legato.thread.Signal.InstanceReady;
import dev.legato.thread.ThreadCommand.Create;
import dev.legato.thread.ThreadCommand.Created;
import dev.legato.thread.ThreadCommand.Prepare;
import dev.legato.thread.ThreadCommand.Read;
import dev.legato.thread.ThreadCommand.Request;
import dev.legato.thread.ThreadCommand.Resume;
import dev.legato.thread.ThreadCommand.StartTurn;
import dev.legato.thread.ThreadEvent.ThreadCreated;
import dev.legato.thread.ThreadState.New;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.EffectFactories;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * A thread not started yet ({@link New}) and its start ({@link Create}): its agent type resolved, its instance
 * created unless the client does not wait for it, a fork's copy read from its source ({@link Instances#create});
 * then {@link ThreadCreated} and what the fork copied are recorded, the client is answered, and the link opens
 * (or the agent is started just after: {@link Instances#startSoon}). A start that fails records nothing.
 * {@link ThreadEntity} hands it every command in {@code New}; it runs on the entity's thread, as part of it.
 */
final class Creation {
  private final UUID threadId;
  private final ActorContext<ThreadCommand> context;
  private final EffectFactories<ThreadEvent, ThreadState> effect;
  private final FailedWrites writes;
  private final TurnDriver turns;
  private final AgentLifecycle agent;
  private final Instances instances;
  private final SessionStorage storage;

  Creation(UUID threadId, ActorContext<ThreadCommand> context, EffectFactories<ThreadEvent, ThreadState> effect,
           FailedWrites writes, TurnDriver turns, AgentLifecycle agent, Instances instances, SessionStorage storage) {
    this.threadId = threadId;
    this.context = context;
    this.effect = effect;
    this.writes = writes;
    this.turns = turns;
    this.agent = agent;
    this.instances = instances;
    this.storage = storage;
  }

  /** What a thread not started yet does with {@code command}; null for what any state answers alike. */
  ReplyEffect<ThreadEvent, ThreadState> inNew(ThreadCommand command) {
    if (command instanceof Create c) {
      if (agent.starting()) {
        return effect.reply(c.replyTo(), StatusReply.error("the thread is being started"));
      }
      if (c.agentType() == null || c.agentType().isBlank()) {
        return effect.reply(c.replyTo(), StatusReply.error("a thread needs an agent type"));
      }
      agent.creating();
      context.pipeToSelf(instances.create(c), (signal, error) -> signal);
      return effect.noReply();
    }
    if (command instanceof Prepare) {
      storage.prepareThread(threadId);
      return effect.noReply();
    }
    if (command instanceof InstanceReady ready) {
      return created(ready);
    }
    if (command instanceof CreateFailed failed) {
      agent.created();
      return effect.reply(failed.request().replyTo(), StatusReply.error(failed.reason()));
    }
    if (command instanceof StartTurn || command instanceof Resume || command instanceof Read) {
      return effect.reply(((Request) command).replyTo().unsafeUpcast(), StatusReply.error("the thread has not been started"));
    }
    return null;
  }

  private ReplyEffect<ThreadEvent, ThreadState> created(InstanceReady ready) {
    Create request = ready.request();
    List<ThreadEvent> events = new ArrayList<>();
    events.add(new ThreadCreated(request.agentType(), ready.deploymentId(), ready.instanceId(), request.cwd(),
        request.tenant(), System.currentTimeMillis()));
    List<ThreadEvent> forked = ready.forked();
    events.addAll(forked);
    writes.awaiting(request.replyTo());
    return turns.persist(events).thenRun(after -> {
      agent.created();
      agent.hydrate(Forks.conversation(forked)); // a fork's agent is told the conversation it continues
      if (ready.instanceId() != null) {
        agent.open(ready.instanceId());
      } else {
        instances.startSoon(); // the instance is created just after the client heard "started"
      }
    }).thenReply(request.replyTo(),
        after -> StatusReply.success(new Created(threadId, ready.instanceId(), Forks.firstPrompt(forked))));
  }
}
