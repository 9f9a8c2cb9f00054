package dev.legato.thread;

import dev.legato.podium.AgentCommand;
import dev.legato.podium.PodiumLink;
import dev.legato.thread.ThreadCommand.Create;
import dev.legato.thread.ThreadCommand.Delete;
import dev.legato.thread.ThreadCommand.Restore;
import dev.legato.thread.ThreadCommand.RestoreDone;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/** Messages a thread sends itself: results of its own work, timers, its link's and followers' news. */
sealed interface Signal extends ThreadCommand {
  /** @param forked what a fork copies of its source (empty for a new thread) */
  record InstanceReady(String deploymentId, String instanceId, Create request, List<ThreadEvent> forked)
      implements Signal {}

  /** @param reason as the client reads it */
  record CreateFailed(String reason, Create request) implements Signal {}

  record Respawned(String deploymentId, String instanceId, List<AgentCommand.HistoryMessage> history)
      implements Signal {}

  record RespawnFailed(String reason) implements Signal {}

  record Reconnect(String instanceId) implements Signal {}

  record InstanceDeleted(Delete request) implements Signal {}

  record RestoreFinished(Restore request, RestoreDone done, String error) implements Signal {}

  /** What the link reports. */
  record FromLink(PodiumLink.Output output) implements Signal {}

  /** What became of a command sent to the agent. */
  record SendResult(StatusReply<Done> result) implements Signal {}

  record SubscriberGone(ActorRef<ThreadUpdate> subscriber) implements Signal {}

  record ReplayDone(ActorRef<ThreadUpdate> subscriber, String failure) implements Signal {}

  /** Nothing happened for {@code legato.thread.passivate-after}. */
  record IdleTimeout() implements Signal {}

  /** No turn for {@code legato.thread.close-link-after} since the timer of this generation was armed. */
  record LinkIdle(int generation) implements Signal {}

  /** A thread recorded without its agent starts it now, unless a turn or resume already did. */
  record StartAgent() implements Signal {}

  /** The text window is over: what streamed since the last window is persisted. */
  record FlushText() implements Signal {}

  /** A turn found running at recovery is recorded interrupted before anything else. */
  record EndInterruptedTurn(String reason) implements Signal {}

  /** Time to see whether the running turn's agent has been silent for {@code turn-silence-timeout}. */
  record SilenceCheck(String turnId) implements Signal {}

  /** From the thread's shard: stop, the thread moves to another node (or passivates): its files go to the replica first. */
  record HandOff() implements Signal {}

  /** The files are closed and in the replica (or {@code error} says why not): the entity stops. */
  record HandedOff(String error) implements Signal {}
}
