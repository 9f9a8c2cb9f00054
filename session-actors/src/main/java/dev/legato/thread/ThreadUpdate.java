package dev.legato.thread;

import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.legato.serialization.CborSerializable;
import org.apache.pekko.actor.typed.ActorRef;

/** What a subscriber receives: persisted events with their sequence number, and live deltas. */
public sealed interface ThreadUpdate extends CborSerializable {
  // An event or a pending request held as its interface carries its logical name (ThreadEvent's list), or a
  // subscriber on another node could not read it back; not its class, so that classes may move or be renamed.
  // The journal stores events by their own class (a manifest beside the bytes) and needs no name.
  record Persisted(long sequenceNr, @JsonTypeInfo(use = JsonTypeInfo.Id.NAME) ThreadEvent event) implements ThreadUpdate {}

  record TextDelta(String turnId, String itemId, String text) implements ThreadUpdate {}

  record ReasoningDelta(String turnId, String itemId, String text) implements ThreadUpdate {}

  record CommandOutputDelta(String turnId, String itemId, String text) implements ThreadUpdate {}

  /** The agent started a tool call (not persisted: its outcome is). {@code command} for a shell command. */
  record ToolStarted(String turnId, String toolCallId, String toolName, String argumentsJson, String command)
      implements ThreadUpdate {}

  /** What the waiting turn waits for, offered to a subscriber that joins while it waits. */
  record PendingRequest(@JsonTypeInfo(use = JsonTypeInfo.Id.NAME) ThreadEvent.Pending request) implements ThreadUpdate {}

  /** The thread was renamed (not an event of the thread: its registry keeps the name). */
  record NameChanged(String name) implements ThreadUpdate {}

  /**
   * A write failed and the thread restarts in place (the same entity, after a backoff): this subscription ends
   * here, and nothing more comes through it. Follow the thread anew from the last sequence number seen: what
   * was persisted since is replayed, then live updates, exactly once.
   */
  record Restarting(String reason) implements ThreadUpdate {}

  /**
   * The thread's entity stopped for its shard (its node leaves, a rebalance moves it) once its replica held all it
   * wrote: this subscription ends here. Follow the thread anew from the last sequence number seen; its next owner
   * restores everything first. (Pekko does not tell watchers on other nodes that an actor of a leaving node
   * stopped until that node is removed, seconds later: this says it at once.)
   */
  record Moved() implements ThreadUpdate {}

  /** The history could not be replayed; live updates follow anyway. */
  record ReplayFailed(String reason) implements ThreadUpdate {}

  /**
   * Everything up to here was history; live updates follow. A live {@link AgentMessageDelta} repeats text
   * already delivered as {@link TextDelta}s (it is the same text made durable): only the history's are news.
   */
  record Live(long afterSequenceNr, ActorRef<ThreadCommand> thread, String runningTurnId) implements ThreadUpdate {
    /**
     * @param thread the entity sending it: a subscriber may watch it, and follow the thread anew if it stops
     * @param runningTurnId the turn running at that point (null: none). A subscriber following anew after its
     *     entity's node died learns from it that a turn it heard start, and not end, is no more (async replicas
     *     lose the last sync-interval, a turn's start among it)
     */
    public Live {}

    public Live(long afterSequenceNr, ActorRef<ThreadCommand> thread) {
      this(afterSequenceNr, thread, null);
    }
  }
}
