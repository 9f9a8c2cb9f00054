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
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** What a forked thread starts from: the ended turns (and memories) of its source, and the conversation in them. */
final class Forks {
  private Forks() {}

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
