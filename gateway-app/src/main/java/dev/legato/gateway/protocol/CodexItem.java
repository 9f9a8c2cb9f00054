package dev.legato.gateway.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.annotation.JsonTypeName;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.List;
import java.util.Locale;

/**
 * A Codex {@code ThreadItem} (app-server v2, Codex 0.169.0): one thing a turn is made of, as the item
 * notifications and a turn's {@code items} carry it. Each record holds every member a Codex server writes, in
 * its order and nulls included ({@link NoValue}: a member Legato has no value for), because the Codex TUI silently
 * drops what it cannot decode. Every item ends with when it started and when it completed (null while it runs).
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
public sealed interface CodexItem {
  String id();

  long startedAtMs();

  Long completedAtMs();

  @JsonTypeName("userMessage")
  record UserMessage(String id, NoValue clientId, List<UserInput> content, long startedAtMs, Long completedAtMs)
      implements CodexItem {}

  /** Text the user typed; Legato keeps no text elements. */
  record UserInput(String type, String text, @JsonProperty("text_elements") List<NoValue> textElements) {}

  @JsonTypeName("agentMessage")
  record AgentMessage(String id, String text, NoValue phase, NoValue memoryCitation, NoValue moderation,
                      NoValue delivery, NoValue questions, long startedAtMs, Long completedAtMs) implements CodexItem {}

  /** The agent's thinking travels as the summary: the Codex TUI shows summaries and hides raw reasoning content. */
  @JsonTypeName("reasoning")
  record Reasoning(String id, List<String> summary, List<String> content, long startedAtMs, Long completedAtMs)
      implements CodexItem {}

  /** @param status {@code inProgress}, {@code completed}, {@code failed} or {@code declined} */
  @JsonTypeName("commandExecution")
  record CommandExecution(String id, String command, String cwd, NoValue processId, String source, String status,
                          List<CommandAction> commandActions, String aggregatedOutput, Integer exitCode,
                          Long durationMs, NoValue pluginId, NoValue scriptPath, long startedAtMs, Long completedAtMs)
      implements CodexItem {}

  /** What a command does; Legato does not parse commands, so each is one {@code unknown} action. */
  record CommandAction(String type, String command) {
    public static List<CommandAction> of(String command) {
      return List.of(new CommandAction("unknown", command));
    }
  }

  @JsonTypeName("fileChange")
  record FileChange(String id, List<FileUpdateChange> changes, String status, long startedAtMs, Long completedAtMs)
      implements CodexItem {}

  record FileUpdateChange(String path, ChangeKind kind, String diff) {}

  /** {@code add} and {@code delete} say no more; {@code update} names where the file moved (never, in Legato). */
  sealed interface ChangeKind {}

  record AddOrDelete(String type) implements ChangeKind {}

  record Update(String type, @JsonProperty("move_path") NoValue movePath) implements ChangeKind {}

  /**
   * @param status {@code inProgress}, {@code completed} or {@code failed}
   * @param contentItems the tool's result; null while it runs
   */
  @JsonTypeName("dynamicToolCall")
  record DynamicToolCall(String id, NoValue namespace, String tool, JsonNode arguments, String status,
                         List<ContentItem> contentItems, Boolean success, NoValue durationMs, long startedAtMs,
                         Long completedAtMs) implements CodexItem {}

  record ContentItem(String type, String text) {}

  /** A plan as a Markdown checklist under its explanation. */
  @JsonTypeName("plan")
  record Plan(String id, String text, long startedAtMs, Long completedAtMs) implements CodexItem {}

  // ---- from Legato's facts -------------------------------------------------------------------------------

  static UserMessage userMessage(String id, String text, long startedAtMs, Long completedAtMs) {
    return new UserMessage(id, null, List.of(new UserInput("text", text == null ? "" : text, List.of())),
        startedAtMs, completedAtMs);
  }

  static AgentMessage agentMessage(String id, String text, long startedAtMs, Long completedAtMs) {
    return new AgentMessage(id, text == null ? "" : text, null, null, null, null, null, startedAtMs, completedAtMs);
  }

  static Reasoning reasoning(String id, String text, long startedAtMs, Long completedAtMs) {
    return new Reasoning(id, text == null || text.isEmpty() ? List.of() : List.of(text), List.of(), startedAtMs,
        completedAtMs);
  }

  static CommandExecution commandExecution(String id, String command, String cwd, String status, String output,
                                           Integer exitCode, Long durationMs, long startedAtMs, Long completedAtMs) {
    String line = command == null ? "" : command;
    return new CommandExecution(id, line, CodexDialect.absolute(cwd), null, "agent", status, CommandAction.of(line),
        output, exitCode, durationMs, null, null, startedAtMs, completedAtMs);
  }

  /** A file change with one change; {@code kind} is Legato's {@code add}, {@code update} or {@code delete}. */
  static FileChange fileChange(String id, String path, String kind, String diff, String status, long startedAtMs,
                               Long completedAtMs) {
    ChangeKind changeKind = switch (kind == null ? "update" : kind.toLowerCase(Locale.ROOT)) {
      case "add", "create", "created", "added" -> new AddOrDelete("add");
      case "delete", "deleted", "remove", "removed" -> new AddOrDelete("delete");
      default -> new Update("update", null);
    };
    FileUpdateChange change = new FileUpdateChange(path == null ? "" : path, changeKind, diff == null ? "" : diff);
    return new FileChange(id, List.of(change), status, startedAtMs, completedAtMs);
  }

  /** A tool call that is neither a command nor a file change; its output once it is no longer in progress. */
  static DynamicToolCall dynamicToolCall(String id, String tool, String argumentsJson, String status, String output,
                                         long startedAtMs, Long completedAtMs) {
    boolean running = "inProgress".equals(status);
    List<ContentItem> content = running ? null
        : output == null || output.isEmpty() ? List.of() : List.of(new ContentItem("inputText", output));
    return new DynamicToolCall(id, null, tool == null ? "tool" : tool, arguments(argumentsJson), status, content,
        running ? null : "completed".equals(status), null, startedAtMs, completedAtMs);
  }

  /** The plan as a Markdown checklist under its explanation. */
  static Plan plan(String id, String explanation, List<PlanStepText> steps, long startedAtMs, Long completedAtMs) {
    StringBuilder text = new StringBuilder();
    if (explanation != null && !explanation.isBlank()) {
      text.append(explanation.strip()).append("\n\n");
    }
    for (PlanStepText step : steps) {
      String box = switch (CodexDialect.planStepStatus(step.status())) {
        case "completed" -> "[x]";
        case "inProgress" -> "[~]";
        default -> "[ ]";
      };
      text.append("- ").append(box).append(' ').append(step.step()).append('\n');
    }
    return new Plan(id, text.toString().strip(), startedAtMs, completedAtMs);
  }

  /** A plan step as Legato records it. */
  record PlanStepText(String step, String status) {}

  /** A tool's arguments as JSON; arguments that are not JSON travel as a string. */
  private static JsonNode arguments(String argumentsJson) {
    if (argumentsJson == null || argumentsJson.isBlank()) {
      return Json.object();
    }
    try {
      return Json.read(argumentsJson);
    } catch (JsonProcessingException e) {
      return TextNode.valueOf(argumentsJson);
    }
  }
}
