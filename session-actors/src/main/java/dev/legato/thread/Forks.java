package dev.legato.thread;

import dev.legato.podium.AgentCommand;
import dev.legato.thread.ThreadEvent.AgentMessage;
import dev.legato.thread.ThreadEvent.AgentMessageDelta;
import dev.legato.thread.ThreadEvent.ApprovalDecided;
import dev.legato.thread.ThreadEvent.ApprovalRequested;
import dev.legato.thread.ThreadEvent.CommandCompleted;
import dev.legato.thread.ThreadEvent.FileChanged;
import dev.legato.thread.ThreadEvent.MemoryExtracted;
import dev.legato.thread.ThreadEvent.PlanUpdated;
import dev.legato.thread.ThreadEvent.QuestionAnswered;
import dev.legato.thread.ThreadEvent.QuestionAsked;
import dev.legato.thread.ThreadEvent.ReasoningRecorded;
import dev.legato.thread.ThreadEvent.SummaryCreated;
import dev.legato.thread.ThreadEvent.ToolCallRecorded;
import dev.legato.thread.ThreadEvent.TurnEnded;
import dev.legato.thread.ThreadEvent.TurnStarted;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * What a forked thread starts from: it reads its source's history (asking the source thread, wherever it
 * lives), keeps the ended turns (and memories) through the turn it was forked at, and tells its agent the
 * conversation in them. A fork that cannot read its source, or names a turn the source does not have (or
 * has not ended), fails with the reason a client reads, and nothing is recorded.
 */
final class Forks {
  private Forks() {}

  /** What {@code forkOf} copies of its source (empty for a thread that is no fork). Needs Cluster Sharding. */
  static CompletionStage<List<ThreadEvent>> copy(ActorSystem<?> system, ThreadCommand.ForkOf forkOf, Duration timeout) {
    if (forkOf == null) {
      return CompletableFuture.completedFuture(List.of());
    }
    String source = "the thread to fork (" + forkOf.sourceThreadId() + ")";
    return ThreadHistories.whole(
            ClusterSharding.get(system).entityRefFor(ThreadEntity.TYPE_KEY, forkOf.sourceThreadId().toString()),
            ThreadCommand.Read::new, timeout)
        .handle((read, error) -> {
          if (error != null) {
            Throwable cause = dev.legato.podium.PodiumClient.unwrap(error);
            String message = cause instanceof TimeoutException
                ? FailureKind.TIMEOUT.describe(source + " did not answer within " + timeout.toSeconds() + " s")
                : FailureKind.of(cause.getMessage()).describe(source + ": " + withoutKind(cause.getMessage()));
            throw new IllegalStateException(message, cause);
          }
          return endedTurns(through(read.history().stream().map(ThreadUpdate.Persisted::event).toList(),
              forkOf.lastTurnId()));
        });
  }

  /** The history up to the end of turn {@code lastTurnId} (all of it when null). */
  static List<ThreadEvent> through(List<ThreadEvent> history, String lastTurnId) {
    if (lastTurnId == null) {
      return history;
    }
    boolean started = false;
    for (int i = 0; i < history.size(); i++) {
      ThreadEvent event = history.get(i);
      if (event instanceof TurnStarted s && s.turnId().equals(lastTurnId)) {
        started = true;
      } else if (event instanceof TurnEnded e && e.turnId().equals(lastTurnId)) {
        return history.subList(0, i + 1);
      }
    }
    throw new IllegalStateException(started
        ? "turn " + lastTurnId + " is still in progress; fork through a turn that has ended"
        : FailureKind.PARAMS.describe("the thread has no turn " + lastTurnId));
  }

  /** The first thing the user said in {@code events}, or null: a fork's preview in its listing. */
  static String firstPrompt(List<ThreadEvent> events) {
    for (ThreadEvent event : events) {
      if (event instanceof TurnStarted started && started.text() != null && !started.text().isBlank()) {
        return started.text();
      }
    }
    return null;
  }

  private static String withoutKind(String message) {
    String text = String.valueOf(message);
    return text.substring(FailureKind.of(text).describe("").length());
  }

  /** The events of a thread's ended turns (and its memories), in order: what a fork starts from. */
  static List<ThreadEvent> endedTurns(List<ThreadEvent> history) {
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

  /** What the user said and the agent answered, for an agent that has not seen it. */
  static List<AgentCommand.HistoryMessage> conversation(List<ThreadEvent> events) {
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
}
