package dev.legato.thread;

import dev.legato.storage.SessionStorage;
import dev.legato.thread.Signal.InstanceDeleted;
import dev.legato.thread.ThreadCommand.Archive;
import dev.legato.thread.ThreadCommand.Delete;
import dev.legato.thread.ThreadCommand.Unarchive;
import dev.legato.thread.ThreadEvent.Archived;
import dev.legato.thread.ThreadEvent.Unarchived;
import dev.legato.thread.ThreadState.Ready;
import java.util.List;
import java.util.UUID;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.EffectFactories;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * A thread without a turn put away, brought back, or removed. Archive: recorded and announced, then its link,
 * its agent's instance and its files are let go (the journal stays; it answers reads, and takes no turn until
 * unarchived). Unarchive: recorded and announced, then a new agent is started, told the conversation and the
 * memories. Delete: the instance deleted on Podium, then the thread's folder, and the entity stops.
 * {@link ThreadEntity} hands it these commands in {@link Ready}; it runs on the entity's thread, as part of it.
 */
final class Archiving {
  private final UUID threadId;
  private final ActorContext<ThreadCommand> context;
  private final EffectFactories<ThreadEvent, ThreadState> effect;
  private final FailedWrites writes;
  private final TurnDriver turns;
  private final AgentLifecycle agent;
  private final Instances instances;
  private final SessionStorage storage;

  Archiving(UUID threadId, ActorContext<ThreadCommand> context, EffectFactories<ThreadEvent, ThreadState> effect,
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

  /** Archive, unarchive, delete and the deleted instance's news; null if the command is none of these. */
  ReplyEffect<ThreadEvent, ThreadState> inReady(Ready state, ThreadCommand command) {
    if (command instanceof Archive c) {
      return state.info().archived() ? effect.reply(c.replyTo(), StatusReply.ack())
          : persistAnnounced(new Archived(System.currentTimeMillis()), c.replyTo(), () -> {
            agent.close();
            instances.stop(state.info().instanceId());
            storage.closeThread(threadId);
          });
    }
    if (command instanceof Unarchive c) {
      return !state.info().archived() ? effect.reply(c.replyTo(), StatusReply.ack())
          // a new instance, told the conversation and the memories (the re-spawn path)
          : persistAnnounced(new Unarchived(System.currentTimeMillis()), c.replyTo(), instances::startSoon);
    }
    if (command instanceof Delete c) {
      agent.close();
      context.pipeToSelf(instances.delete(state.info().instanceId()), (done, error) -> new InstanceDeleted(c));
      return effect.noReply();
    }
    if (command instanceof InstanceDeleted c) {
      return effect.stop().thenRun(after -> storage.deleteThread(threadId).whenComplete((done, error) ->
          c.request().replyTo().tell(error == null ? StatusReply.ack() : StatusReply.error(FailureKind.STORAGE.describe(
              "the thread's files could not be removed: " + error.getMessage()))))).thenNoReply();
    }
    return null;
  }

  /** Records {@code event}, and once it is durable every follower hears it, {@code then} runs and the client is answered. */
  private ReplyEffect<ThreadEvent, ThreadState> persistAnnounced(ThreadEvent event, ActorRef<StatusReply<Done>> replyTo,
                                                                 Runnable then) {
    writes.awaiting(replyTo);
    return turns.persist(List.of(event)).thenRun(after -> {
      turns.publish(event);
      then.run();
    }).thenReply(replyTo, after -> StatusReply.ack());
  }
}
