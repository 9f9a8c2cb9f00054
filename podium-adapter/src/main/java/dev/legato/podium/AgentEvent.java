package dev.legato.podium;

import java.util.List;

/**
 * What an agent on Podium did, decoded from one native frame. Knows nothing of the wire: values that are
 * documents by nature (tool arguments, proposed changes, metadata) travel as their JSON text. Optional
 * fields are null when Podium did not send them.
 */
public sealed interface AgentEvent {

  /** A message started streaming ({@code created}, {@code stream_start}). */
  record MessageStarted(String messageId) implements AgentEvent {}

  /** A piece of the answer ({@code update}, {@code stream_update}, {@code text_delta}). */
  record TextDelta(String messageId, String text) implements AgentEvent {}

  /** The whole answer text ({@code text_final}). */
  record TextFinal(String messageId, String text) implements AgentEvent {}

  /**
   * The message is done ({@code complete}, {@code stream_end}, {@code stream_complete}).
   *
   * @param stopReason why it ended when Podium says so (e.g. {@code interrupted}), else null
   */
  record MessageCompleted(String messageId, Usage usage, String stopReason) implements AgentEvent {}

  /** The agent failed the current message ({@code error}). */
  record Failed(String message, String code, boolean retryable) implements AgentEvent {}

  /** Reasoning: {@code thinking.start}, {@code thinking.progress} (legacy {@code thinking_update}), {@code thinking.complete}. */
  record Thinking(String thinkingId, Phase phase, String text) implements AgentEvent {}

  record ToolCallStarted(String toolCallId, String toolName, String argumentsJson) implements AgentEvent {}

  /** Tool arguments streaming in. */
  record ToolCallDelta(String toolCallId, String delta) implements AgentEvent {}

  /** The final tool call with its complete arguments. */
  record ToolCall(String toolCallId, String toolName, String argumentsJson) implements AgentEvent {}

  /** {@code tool.result}, or {@code tool.error} (then {@code isError} and the error message as output). */
  record ToolResult(String toolCallId, String output, boolean isError) implements AgentEvent {}

  /** The agent asks permission before it goes on ({@code tool.permission_requested}). */
  record PermissionRequested(
      String requestId, String toolCallId, PermissionKind kind, String command, String cwd, String reason,
      String changesJson) implements AgentEvent {}

  /** The agent asks the user questions ({@code tool.question_requested}). */
  record QuestionRequested(String requestId, List<Question> questions) implements AgentEvent {}

  record ApprovalResolved(String requestId, boolean approved) implements AgentEvent {}

  /** A chunk of a command's output ({@code terminal.stream}). */
  record TerminalOutput(String toolCallId, String output) implements AgentEvent {}

  record TerminalCompleted(String toolCallId, Integer exitCode, Long durationMs) implements AgentEvent {}

  /** A file the agent changed, with its unified diff ({@code file_change}). */
  record FileChanged(String toolCallId, String path, FileChangeKind kind, String diff) implements AgentEvent {}

  /** {@code plan.created}, {@code plan.step_started}, {@code plan.step_completed}, {@code plan.revised}. */
  record PlanUpdated(PlanChange change, String planId, List<PlanStep> steps, String explanation)
      implements AgentEvent {}

  record MemoryExtracted(String key, String value, String metadataJson) implements AgentEvent {}

  record SummaryCreated(String summary, List<String> coversTurns) implements AgentEvent {}

  /** {@code sandbox.provisioning}, {@code sandbox.init}, {@code sandbox.removed}: logged, not acted on. */
  record SandboxNotice(String kind, String detailJson) implements AgentEvent {}

  /** Token usage of one message; absent counts are null. */
  record Usage(long inputTokens, long outputTokens, Long cachedInputTokens, Long reasoningTokens) {
    public static final Usage NONE = new Usage(0, 0, null, null);
  }

  record Question(String id, String header, String question, List<String> options) {}

  record PlanStep(String step, String status) {}

  enum Phase { STARTED, PROGRESS, COMPLETED }

  enum PermissionKind { COMMAND, FILE_CHANGE, PERMISSIONS }

  enum FileChangeKind { ADD, UPDATE, DELETE }

  enum PlanChange { CREATED, STEP_STARTED, STEP_COMPLETED, REVISED }
}
