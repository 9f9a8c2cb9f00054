package dev.legato.gateway.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import dev.legato.gateway.protocol.CodexDialect.TokenUsage;
import dev.legato.gateway.protocol.JsonRpc.Notification;
import java.util.List;

/**
 * The Codex notifications Legato sends (app-server v2, Codex 0.169.0): each one's method and its params, a
 * record with every member a Codex server writes, in its order and nulls included.
 */
public final class CodexNotifications {
  private CodexNotifications() {}

  record ThreadStarted(CodexThread thread) {}

  record ThreadId(String threadId) {}

  record StatusChanged(String threadId, CodexThread.Status status) {}

  record NameUpdated(String threadId, String threadName) {}

  record Warning(String message, String threadId) {}

  record RequestResolved(String threadId, JsonNode requestId) {}

  record TurnChanged(String threadId, CodexTurn turn) {}

  record ItemStarted(CodexItem item, String threadId, String turnId, long startedAtMs) {}

  record ItemCompleted(CodexItem item, String threadId, String turnId, NoValue contentTokenCount, long completedAtMs) {}

  record Delta(String threadId, String turnId, String itemId, String delta) {}

  record SummaryDelta(String threadId, String turnId, String itemId, String delta, int summaryIndex) {}

  record PlanUpdated(String threadId, String turnId, String explanation, List<PlanStep> plan) {}

  /** @param status a {@code TurnPlanStepStatus}: {@code pending}, {@code inProgress} or {@code completed} */
  record PlanStep(String step, String status) {}

  record DiffUpdated(String threadId, String turnId, String diff) {}

  record TurnFailed(String threadId, String turnId, CodexTurn.TurnError error, boolean willRetry) {}

  record TokenUsageUpdated(String threadId, String turnId, ThreadTokenUsage tokenUsage) {}

  record ThreadTokenUsage(Breakdown total, Breakdown last, NoValue modelContextWindow) {}

  /** Legato's agents report input and output tokens only. */
  record Breakdown(long totalTokens, long inputTokens, long cachedInputTokens, long cacheWriteInputTokens,
                   long outputTokens, long reasoningOutputTokens) {
    static Breakdown of(TokenUsage usage) {
      return new Breakdown(usage.inputTokens() + usage.outputTokens(), usage.inputTokens(), 0, 0,
          usage.outputTokens(), 0);
    }
  }

  // ---- threads -------------------------------------------------------------------------------------------

  public static Notification threadStarted(CodexThread thread) {
    return new Notification("thread/started", new ThreadStarted(thread));
  }

  public static Notification statusChanged(String threadId, CodexThread.Status status) {
    return new Notification("thread/status/changed", new StatusChanged(threadId, status));
  }

  public static Notification nameUpdated(String threadId, String name) {
    return new Notification("thread/name/updated", new NameUpdated(threadId, name));
  }

  public static Notification archived(String threadId) {
    return new Notification("thread/archived", new ThreadId(threadId));
  }

  public static Notification unarchived(String threadId) {
    return new Notification("thread/unarchived", new ThreadId(threadId));
  }

  public static Notification deleted(String threadId) {
    return new Notification("thread/deleted", new ThreadId(threadId));
  }

  /** A {@code warning} about a thread, for what goes wrong outside any turn. */
  public static Notification warning(String threadId, String message) {
    return new Notification("warning", new Warning(message, threadId));
  }

  /** {@code serverRequest/resolved}: the client's answer to the request with this JSON-RPC id was taken. */
  public static Notification requestResolved(String threadId, JsonNode requestId) {
    return new Notification("serverRequest/resolved", new RequestResolved(threadId, requestId));
  }

  /** {@code thread/tokenUsage/updated}: this turn's usage ({@code last}) and the thread's so far ({@code total}). */
  public static Notification tokenUsageUpdated(String threadId, String turnId, TokenUsage last, TokenUsage total) {
    return new Notification("thread/tokenUsage/updated", new TokenUsageUpdated(threadId, turnId,
        new ThreadTokenUsage(Breakdown.of(total), Breakdown.of(last), null)));
  }

  // ---- turns ---------------------------------------------------------------------------------------------

  public static Notification turnStarted(String threadId, CodexTurn turn) {
    return new Notification("turn/started", new TurnChanged(threadId, turn));
  }

  public static Notification turnCompleted(String threadId, CodexTurn turn) {
    return new Notification("turn/completed", new TurnChanged(threadId, turn));
  }

  /** An {@code error} in a turn: the client shows why, as for Codex's own failures. */
  public static Notification turnFailed(String threadId, String turnId, String message) {
    return new Notification("error", new TurnFailed(threadId, turnId, CodexTurn.TurnError.of(message), false));
  }

  public static Notification planUpdated(String threadId, String turnId, String explanation, List<PlanStep> plan) {
    return new Notification("turn/plan/updated", new PlanUpdated(threadId, turnId, explanation, plan));
  }

  /** The turn's changes so far, as one unified diff. */
  public static Notification diffUpdated(String threadId, String turnId, String diff) {
    return new Notification("turn/diff/updated", new DiffUpdated(threadId, turnId, diff));
  }

  // ---- items ---------------------------------------------------------------------------------------------

  public static Notification itemStarted(String threadId, String turnId, CodexItem item) {
    return new Notification("item/started", new ItemStarted(item, threadId, turnId, item.startedAtMs()));
  }

  public static Notification itemCompleted(String threadId, String turnId, CodexItem item) {
    return new Notification("item/completed", new ItemCompleted(item, threadId, turnId, null, item.completedAtMs()));
  }

  public static Notification agentMessageDelta(String threadId, String turnId, String itemId, String delta) {
    return new Notification("item/agentMessage/delta", new Delta(threadId, turnId, itemId, delta));
  }

  public static Notification reasoningDelta(String threadId, String turnId, String itemId, String delta) {
    return new Notification("item/reasoning/summaryTextDelta", new SummaryDelta(threadId, turnId, itemId, delta, 0));
  }

  public static Notification commandOutputDelta(String threadId, String turnId, String itemId, String delta) {
    return new Notification("item/commandExecution/outputDelta", new Delta(threadId, turnId, itemId, delta));
  }
}
