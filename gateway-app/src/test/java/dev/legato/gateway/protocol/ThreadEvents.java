package dev.legato.gateway.protocol;

import dev.legato.thread.ThreadEntity;
import dev.legato.thread.ThreadEvent;
import dev.legato.thread.ThreadUpdate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Thread events as a ThreadEntity records them, built in one place so that the tests read as stories (and a
 * new event field is added here only). Times advance by one second per event from {@link #T0}.
 */
final class ThreadEvents {
  static final long T0 = 1_764_000_000_000L;
  static final String CWD = "/srv/projects/demo";

  private final List<ThreadUpdate.Persisted> history = new ArrayList<>();
  private long clock = T0;

  long now() {
    return clock;
  }

  private long tick() {
    return clock += 1000;
  }

  /** Records the event in the history and returns it as the update a subscriber receives. */
  ThreadUpdate.Persisted persisted(ThreadEvent event) {
    ThreadUpdate.Persisted persisted = new ThreadUpdate.Persisted(history.size() + 1, event);
    history.add(persisted);
    return persisted;
  }

  List<ThreadUpdate.Persisted> history() {
    return List.copyOf(history);
  }

  ThreadEvent.ThreadCreated created(String agentType) {
    return new ThreadEvent.ThreadCreated(agentType, "dep-1", "inst-1", CWD, "local", clock);
  }

  ThreadEvent.TurnStarted turnStarted(String turnId, String text) {
    return new ThreadEvent.TurnStarted(turnId, "msg_" + turnId, text, tick());
  }

  static String answerId(String turnId) {
    return "msg_" + turnId + "-answer";
  }

  ThreadEvent.AgentMessageDelta window(String turnId, String text) {
    return new ThreadEvent.AgentMessageDelta(turnId, answerId(turnId), text, tick());
  }

  ThreadEvent.AgentMessage message(String turnId, String text) {
    return new ThreadEvent.AgentMessage(turnId, answerId(turnId), text, tick());
  }

  ThreadEvent.ReasoningRecorded reasoning(String turnId, String thinkingId, String text) {
    return new ThreadEvent.ReasoningRecorded(turnId, thinkingId, text, tick());
  }

  ThreadEvent.ApprovalRequested approval(String turnId, String requestId, String kind, String command, String reason) {
    return new ThreadEvent.ApprovalRequested(turnId, requestId, kind, command, CWD, reason, tick(), null, null);
  }

  ThreadEvent.ApprovalDecided decided(ThreadEvent.ApprovalRequested request, String decision) {
    return new ThreadEvent.ApprovalDecided(request, decision, tick());
  }

  ThreadEvent.CommandCompleted commandCompleted(String turnId, String toolCallId, String output, Integer exitCode) {
    return new ThreadEvent.CommandCompleted(turnId, toolCallId, output, exitCode, 120L, tick(), null);
  }

  ThreadEvent.FileChanged fileChanged(String turnId, String toolCallId, String path, String kind, String diff) {
    return new ThreadEvent.FileChanged(turnId, toolCallId, path, kind, diff, tick());
  }

  ThreadEvent.ToolCallRecorded toolCall(String turnId, String toolCallId, String tool, String args, String status,
                                         String output) {
    return new ThreadEvent.ToolCallRecorded(turnId, toolCallId, tool, args, status, output, tick());
  }

  ThreadEvent.PlanUpdated plan(String turnId, String planId, String explanation, String... stepsAndStatuses) {
    List<ThreadEvent.PlanStep> steps = new ArrayList<>();
    for (int i = 0; i < stepsAndStatuses.length; i += 2) {
      steps.add(new ThreadEvent.PlanStep(stepsAndStatuses[i], stepsAndStatuses[i + 1]));
    }
    return new ThreadEvent.PlanUpdated(turnId, planId, steps, explanation, tick());
  }

  ThreadEvent.QuestionAsked question(String turnId, String requestId, String question, String... options) {
    return new ThreadEvent.QuestionAsked(turnId, requestId,
        List.of(new ThreadEvent.Question("q1", "Question", question, List.of(options))), tick());
  }

  ThreadEvent.QuestionAnswered answered(ThreadEvent.QuestionAsked asked, String answer) {
    return new ThreadEvent.QuestionAnswered(asked, Map.of("q1", List.of(answer)), false, tick());
  }

  ThreadEvent.TurnEnded turnEnded(ThreadEvent.TurnStarted turn, String outcome, String error, long in, long out) {
    return new ThreadEvent.TurnEnded(turn.turnId(), outcome, error, turn.at(), in, out, tick());
  }

  ThreadEvent.Archived archived() {
    return new ThreadEvent.Archived(tick());
  }
}
