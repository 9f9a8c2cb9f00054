package dev.legato.thread;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonSubTypes.Type;
import dev.legato.serialization.CborSerializable;
import java.util.List;
import java.util.Map;

/**
 * What a thread's journal holds: the contract between the thread, its read side ({@link ThreadProjection})
 * and whoever replays its history. Events are stored by class name (Jackson CBOR): a rename needs a
 * migration ({@link RenamedEvents}), a new field must tolerate its absence in older events.
 *
 * <p>Followers on other nodes receive the same events ({@link ThreadUpdate.Persisted}), named by the
 * logical names below instead of their classes, so that a class may move or be renamed without breaking
 * them. A name never changes once used; a new event needs one (ThreadEventNamesTest checks). The journal's
 * bytes carry no name: these names are only read where a field asks for them ({@code @JsonTypeInfo(use = NAME)}).
 */
@JsonSubTypes({
    @Type(value = ThreadEvent.ThreadCreated.class, name = "ThreadCreated"),
    @Type(value = ThreadEvent.TurnStarted.class, name = "TurnStarted"),
    @Type(value = ThreadEvent.InstanceReplaced.class, name = "InstanceReplaced"),
    @Type(value = ThreadEvent.AgentMessage.class, name = "AgentMessage"),
    @Type(value = ThreadEvent.AgentMessageDelta.class, name = "AgentMessageDelta"),
    @Type(value = ThreadEvent.ApprovalRequested.class, name = "ApprovalRequested"),
    @Type(value = ThreadEvent.QuestionAsked.class, name = "QuestionAsked"),
    @Type(value = ThreadEvent.QuestionAnswered.class, name = "QuestionAnswered"),
    @Type(value = ThreadEvent.ToolCallRecorded.class, name = "ToolCallRecorded"),
    @Type(value = ThreadEvent.CommandCompleted.class, name = "CommandCompleted"),
    @Type(value = ThreadEvent.FileChanged.class, name = "FileChanged"),
    @Type(value = ThreadEvent.PlanUpdated.class, name = "PlanUpdated"),
    @Type(value = ThreadEvent.ReasoningRecorded.class, name = "ReasoningRecorded"),
    @Type(value = ThreadEvent.MemoryExtracted.class, name = "MemoryExtracted"),
    @Type(value = ThreadEvent.SummaryCreated.class, name = "SummaryCreated"),
    @Type(value = ThreadEvent.Archived.class, name = "Archived"),
    @Type(value = ThreadEvent.Unarchived.class, name = "Unarchived"),
    @Type(value = ThreadEvent.ApprovalDecided.class, name = "ApprovalDecided"),
    @Type(value = ThreadEvent.TurnEnded.class, name = "TurnEnded")
})
public sealed interface ThreadEvent extends CborSerializable {
  /** @param instanceId null when the thread was started without waiting for its agent (see {@link ThreadCommand.Create}) */
  public record ThreadCreated(String agentType, String deploymentId, String instanceId, String cwd, String tenant, long at)
      implements ThreadEvent {}

  public record TurnStarted(String turnId, String messageId, String text, long at) implements ThreadEvent {}

  /** A new instance runs the thread's agent: its first, or one started because the last was gone. */
  public record InstanceReplaced(String deploymentId, String instanceId, long at) implements ThreadEvent {}

  /** The agent's whole answer text of one message (deltas coalesced). */
  public record AgentMessage(String turnId, String itemId, String text, long at) implements ThreadEvent {}

  /**
   * A window of the agent's answer text as it streams ({@code legato.thread.text-window}): a crash loses at
   * most one window, and a client joining mid-message gets the text so far. The whole message follows.
   */
  public record AgentMessageDelta(String turnId, String itemId, String text, long at) implements ThreadEvent {}

  /** What a waiting turn waits for; named on the wire as the events they are. */
  @JsonSubTypes({
      @Type(value = ApprovalRequested.class, name = "ApprovalRequested"),
      @Type(value = QuestionAsked.class, name = "QuestionAsked")
  })
  public sealed interface Pending extends CborSerializable {
    String turnId();

    String requestId();
  }

  /**
   * @param toolCallId the tool call (item) asking, when the agent says
   * @param changesJson for a file change: the changes as the agent sent them (JSON), else null
   */
  public record ApprovalRequested(String turnId, String requestId, String kind, String command, String cwd,
                                  String reason, long at, String toolCallId, String changesJson)
      implements ThreadEvent, Pending {}

  public record QuestionAsked(String turnId, String requestId, List<Question> questions, long at)
      implements ThreadEvent, Pending {}

  public record Question(String id, String header, String question, List<String> options) implements CborSerializable {}

  /** @param answers question id → chosen answers; empty when dismissed */
  public record QuestionAnswered(QuestionAsked question, Map<String, List<String>> answers, boolean dismissed, long at)
      implements ThreadEvent {}

  /** A tool call as it ended ({@code status} completed or failed). */
  public record ToolCallRecorded(String turnId, String toolCallId, String toolName, String argumentsJson,
                                 String status, String output, long at) implements ThreadEvent {}

  /** A shell command's whole output (streamed live as it came) and how it ended; {@code command} when known. */
  public record CommandCompleted(String turnId, String toolCallId, String output, Integer exitCode, Long durationMs,
                                 long at, String command) implements ThreadEvent {}

  public record FileChanged(String turnId, String toolCallId, String path, String kind, String diff, long at)
      implements ThreadEvent {}

  public record PlanUpdated(String turnId, String planId, List<PlanStep> steps, String explanation, long at)
      implements ThreadEvent {}

  public record PlanStep(String step, String status) implements CborSerializable {}

  /** The agent's reasoning for one thinking block, whole. */
  public record ReasoningRecorded(String turnId, String thinkingId, String text, long at) implements ThreadEvent {}

  public record MemoryExtracted(String key, String value, String metadataJson, long at) implements ThreadEvent {}

  public record SummaryCreated(String summary, List<String> coversTurns, long at) implements ThreadEvent {}

  public record Archived(long at) implements ThreadEvent {}

  public record Unarchived(long at) implements ThreadEvent {}

  public record ApprovalDecided(ApprovalRequested request, String decision, long at) implements ThreadEvent {}

  /** @param outcome {@code completed}, {@code interrupted} or {@code failed} */
  public record TurnEnded(String turnId, String outcome, String error, long startedAt, long inputTokens,
                          long outputTokens, long at) implements ThreadEvent {}
}
