package dev.legato.thread;

import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.legato.serialization.CborSerializable;
import dev.legato.thread.ThreadEvent.ApprovalDecided;
import dev.legato.thread.ThreadEvent.ApprovalRequested;
import dev.legato.thread.ThreadEvent.Archived;
import dev.legato.thread.ThreadEvent.InstanceReplaced;
import dev.legato.thread.ThreadEvent.Pending;
import dev.legato.thread.ThreadEvent.QuestionAnswered;
import dev.legato.thread.ThreadEvent.QuestionAsked;
import dev.legato.thread.ThreadEvent.ThreadCreated;
import dev.legato.thread.ThreadEvent.TurnEnded;
import dev.legato.thread.ThreadEvent.TurnStarted;
import dev.legato.thread.ThreadEvent.Unarchived;
import java.util.UUID;

/**
 * What a thread's journal says it is: not started, ready for a turn, running one, or waiting for the client
 * in one. {@link #apply} is the whole event handler, pure: a state is a function of the events before it.
 */
public sealed interface ThreadState extends CborSerializable {
  public record New() implements ThreadState {}

  public record Ready(ThreadInfo info) implements ThreadState {}

  public record Running(ThreadInfo info, Turn turn) implements ThreadState {}

  public record Waiting(ThreadInfo info, Turn turn, @JsonTypeInfo(use = JsonTypeInfo.Id.CLASS) Pending request)
      implements ThreadState {}

  public record ThreadInfo(String agentType, String deploymentId, String instanceId, String cwd, String tenant,
                           long createdAt, boolean archived) implements CborSerializable {
    ThreadInfo withInstance(String newDeploymentId, String newInstanceId) {
      return new ThreadInfo(agentType, newDeploymentId, newInstanceId, cwd, tenant, createdAt, archived);
    }

    ThreadInfo withArchived(boolean nowArchived) {
      return new ThreadInfo(agentType, deploymentId, instanceId, cwd, tenant, createdAt, nowArchived);
    }
  }

  public record Turn(String turnId, String messageId, long startedAt) implements CborSerializable {}

  /** What the thread was created with, and its instance now; null before it is created. */
  default ThreadInfo info() {
    return null;
  }

  /** The turn in progress (running or waiting), else null. */
  default Turn turn() {
    return null;
  }

  /** The state after an event. Events that record work (messages, tool calls, plans, …) leave it as is. */
  default ThreadState apply(ThreadEvent event) {
    if (event instanceof ThreadCreated e) {
      return new Ready(new ThreadInfo(e.agentType(), e.deploymentId(), e.instanceId(), e.cwd(), e.tenant(), e.at(), false));
    }
    if (event instanceof TurnStarted e) {
      return new Running(info(), new Turn(e.turnId(), e.messageId(), e.at()));
    }
    if (event instanceof ApprovalRequested e) {
      return new Waiting(info(), turn(), e);
    }
    if (event instanceof QuestionAsked e) {
      return new Waiting(info(), turn(), e);
    }
    if (event instanceof ApprovalDecided || event instanceof QuestionAnswered) {
      return new Running(info(), turn());
    }
    if (event instanceof TurnEnded) {
      return new Ready(info());
    }
    if (event instanceof InstanceReplaced e) { // also mid-turn, when a turn's lost prompt goes to a new agent
      ThreadInfo info = info().withInstance(e.deploymentId(), e.instanceId());
      if (this instanceof Running r) return new Running(info, r.turn());
      if (this instanceof Waiting w) return new Waiting(info, w.turn(), w.request());
      return new Ready(info);
    }
    if (event instanceof Archived) {
      return new Ready(info().withArchived(true));
    }
    if (event instanceof Unarchived) {
      return new Ready(info().withArchived(false));
    }
    return this;
  }

  /** {@code new}, {@code ready}, {@code running} or {@code waiting}. */
  default String phase() {
    return this instanceof Running ? "running" : this instanceof Waiting ? "waiting"
        : this instanceof Ready ? "ready" : "new";
  }

  /** The status a client sees, with the agent's link as {@code link} ({@code connected}, {@code connecting}, {@code none}). */
  default ThreadCommand.ThreadStatus status(String link) {
    String instance = info() == null ? null : info().instanceId();
    Turn turn = turn();
    String requestId = this instanceof Waiting w ? w.request().requestId() : null;
    return new ThreadCommand.ThreadStatus(phase(), turn == null ? null : turn.turnId(), requestId, instance, link);
  }

  /** What an operator sees: the {@link #status} and what the thread was created with, beside the entity's own facts. */
  default ThreadCommand.ThreadDetails details(UUID threadId, String link, int subscribers, long lastSequenceNr,
                                              String lastError) {
    ThreadInfo info = info();
    return new ThreadCommand.ThreadDetails(threadId, status(link), info == null ? null : info.agentType(),
        info == null ? null : info.tenant(), info != null && info.archived(), subscribers, lastSequenceNr, lastError);
  }
}
