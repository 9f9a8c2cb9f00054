package dev.legato.gateway.protocol;

import dev.legato.thread.ThreadEntity;
import dev.legato.thread.ThreadEntity.ThreadUpdate;
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
  ThreadUpdate.Persisted persisted(ThreadEntity.Event event) {
    ThreadUpdate.Persisted persisted = new ThreadUpdate.Persisted(history.size() + 1, event);
    history.add(persisted);
    return persisted;
  }

  List<ThreadUpdate.Persisted> history() {
    return List.copyOf(history);
  }

  ThreadEntity.ThreadCreated created(String agentType) {
    return new ThreadEntity.ThreadCreated(agentType, "dep-1", "inst-1", CWD, "local", clock);
  }

  ThreadEntity.TurnStarted turnStarted(String turnId, String text) {
    return new ThreadEntity.TurnStarted(turnId, "msg_" + turnId, text, tick());
  }

  static String answerId(String turnId) {
    return "msg_" + turnId + "-answer";
  }

  ThreadEntity.AgentMessageDelta window(String turnId, String text) {
    return new ThreadEntity.AgentMessageDelta(turnId, answerId(turnId), text, tick());
  }

  ThreadEntity.AgentMessage message(String turnId, String text) {
    return new ThreadEntity.AgentMessage(turnId, answerId(turnId), text, tick());
  }

  ThreadEntity.ReasoningRecorded reasoning(String turnId, String thinkingId, String text) {
    return new ThreadEntity.ReasoningRecorded(turnId, thinkingId, text, tick());
  }

  ThreadEntity.ApprovalRequested approval(String turnId, String requestId, String kind, String command, String reason) {
    return new ThreadEntity.ApprovalRequested(turnId, requestId, kind, command, CWD, reason, tick(), null, null);
  }

  ThreadEntity.ApprovalDecided decided(ThreadEntity.ApprovalRequested request, String decision) {
    return new ThreadEntity.ApprovalDecided(request, decision, tick());
  }

  ThreadEntity.CommandCompleted commandCompleted(String turnId, String toolCallId, String output, Integer exitCode) {
    return new ThreadEntity.CommandCompleted(turnId, toolCallId, output, exitCode, 120L, tick(), null);
  }

  ThreadEntity.FileChanged fileChanged(String turnId, String toolCallId, String path, String kind, String diff) {
    return new ThreadEntity.FileChanged(turnId, toolCallId, path, kind, diff, tick());
  }

  ThreadEntity.ToolCallRecorded toolCall(String turnId, String toolCallId, String tool, String args, String status,
                                         String output) {
    return new ThreadEntity.ToolCallRecorded(turnId, toolCallId, tool, args, status, output, tick());
  }

  ThreadEntity.PlanUpdated plan(String turnId, String planId, String explanation, String... stepsAndStatuses) {
    List<ThreadEntity.PlanStep> steps = new ArrayList<>();
    for (int i = 0; i < stepsAndStatuses.length; i += 2) {
      steps.add(new ThreadEntity.PlanStep(stepsAndStatuses[i], stepsAndStatuses[i + 1]));
    }
    return new ThreadEntity.PlanUpdated(turnId, planId, steps, explanation, tick());
  }

  ThreadEntity.QuestionAsked question(String turnId, String requestId, String question, String... options) {
    return new ThreadEntity.QuestionAsked(turnId, requestId,
        List.of(new ThreadEntity.Question("q1", "Question", question, List.of(options))), tick());
  }

  ThreadEntity.QuestionAnswered answered(ThreadEntity.QuestionAsked asked, String answer) {
    return new ThreadEntity.QuestionAnswered(asked, Map.of("q1", List.of(answer)), false, tick());
  }

  ThreadEntity.TurnEnded turnEnded(ThreadEntity.TurnStarted turn, String outcome, String error, long in, long out) {
    return new ThreadEntity.TurnEnded(turn.turnId(), outcome, error, turn.at(), in, out, tick());
  }

  ThreadEntity.Archived archived() {
    return new ThreadEntity.Archived(tick());
  }
}
