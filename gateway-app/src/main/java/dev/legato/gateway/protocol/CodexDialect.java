package dev.legato.gateway.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.podium.AgentCommand;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * Codex app-server v2 shapes (Codex 0.169.0) built from Legato's facts: threads, turns, items, statuses,
 * notifications and the few responses that carry a thread. Every object carries every member a Codex server
 * serializes, nulls included, because the Codex TUI silently drops what it cannot decode. Pure: no I/O, no
 * state; every call returns a fresh tree.
 */
public final class CodexDialect {
  /** Legato's version as the {@code cliVersion} of the threads it creates. */
  public static final String CLI_VERSION = "0.1.0";
  public static final String MODEL_PROVIDER = "legato";
  /** Answers offered for a command approval; Legato's agents understand these four. */
  static final List<String> DECISIONS = List.of("accept", "acceptForSession", "decline", "cancel");

  static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final ObjectMapper JSON = new ObjectMapper();

  private CodexDialect() {}

  /**
   * What a Codex {@code Thread} says about a Legato thread.
   *
   * @param phase Legato's {@code new}, {@code ready}, {@code running} or {@code waiting}
   * @param pendingKind what a waiting thread waits for: {@code command}, {@code file_change},
   *     {@code permissions} or {@code question}; null otherwise
   */
  public record ThreadFacts(UUID id, String name, String preview, String agentType, String cwd, long createdAtMs,
                            long updatedAtMs, String phase, String pendingKind, boolean archived) {}

  /** Input and output tokens, as Legato's agents report them per turn. */
  public record TokenUsage(long inputTokens, long outputTokens) {
    public static final TokenUsage NONE = new TokenUsage(0, 0);

    public TokenUsage plus(TokenUsage other) {
      return new TokenUsage(inputTokens + other.inputTokens, outputTokens + other.outputTokens);
    }

    public boolean isEmpty() {
      return inputTokens == 0 && outputTokens == 0;
    }
  }

  // ---- thread ------------------------------------------------------------------------------------------

  /** A v2 {@code Thread}; {@code turns} only for thread/resume and thread/read, else empty. */
  public static ObjectNode thread(ThreadFacts facts, List<ObjectNode> turns) {
    String id = facts.id().toString();
    long createdAt = seconds(facts.createdAtMs());
    long updatedAt = seconds(Math.max(facts.updatedAtMs(), facts.createdAtMs()));
    ObjectNode thread = NODES.objectNode();
    thread.put("id", id);
    thread.put("sessionId", id);
    JsonRpc.nulls(thread, "environments", "extra", "forkedFromId", "attachedToThreadId", "parentThreadId");
    thread.put("preview", facts.preview() == null ? "" : facts.preview());
    thread.put("ephemeral", false);
    JsonRpc.nulls(thread, "section", "sectionEnteredAt", "projectId");
    thread.put("historyMode", "legacy");
    thread.put("modelProvider", MODEL_PROVIDER);
    thread.put("model", facts.agentType());
    thread.putNull("reasoningEffort");
    thread.put("createdAt", createdAt);
    thread.put("updatedAt", updatedAt);
    thread.put("recencyAt", updatedAt);
    thread.set("status", status(facts.phase(), facts.pendingKind()));
    thread.putNull("path");
    thread.put("cwd", absolute(facts.cwd()));
    thread.put("cliVersion", CLI_VERSION);
    thread.putNull("originator");
    thread.put("source", "appServer");
    // A started, unarchived thread takes turns; Codex leaves this null for a thread that is not loaded.
    thread.put("canAcceptDirectInput", !facts.archived() && !"new".equals(facts.phase()));
    JsonRpc.nulls(thread, "threadSource", "agentNickname", "agentRole", "gitInfo");
    if (facts.name() == null) {
      thread.putNull("name");
    } else {
      thread.put("name", facts.name());
    }
    thread.putNull("daybreakEnabled");
    ArrayNode turnArray = thread.putArray("turns");
    if (turns != null) {
      turns.forEach(turnArray::add);
    }
    return thread;
  }

  /** {@code ThreadStatus}: {@code idle}, or {@code active} with what a waiting thread waits for. */
  public static ObjectNode status(String phase, String pendingKind) {
    ObjectNode status = NODES.objectNode();
    if (!"running".equals(phase) && !"waiting".equals(phase)) {
      return status.put("type", "idle");
    }
    status.put("type", "active");
    ArrayNode flags = status.putArray("activeFlags");
    if ("waiting".equals(phase) && pendingKind != null) {
      flags.add("question".equals(pendingKind) ? "waitingOnUserInput" : "waitingOnApproval");
    }
    return status;
  }

  // ---- turns -------------------------------------------------------------------------------------------

  /**
   * A v2 {@code Turn}.
   *
   * @param items the turn's items for thread/resume and thread/read; null for turn/started, turn/completed
   *     and turn/start, whose turns carry no items (the items travel as item notifications)
   * @param status {@code inProgress}, {@code completed}, {@code interrupted} or {@code failed}
   * @param error why a failed or interrupted turn ended; null for none
   * @param completedAtMs null while the turn runs
   */
  public static ObjectNode turn(String id, List<ObjectNode> items, String status, String error, long startedAtMs,
                                Long completedAtMs) {
    ObjectNode turn = NODES.objectNode();
    turn.put("id", id);
    turn.putNull("rootTurnId");
    ArrayNode itemArray = turn.putArray("items");
    if (items != null) {
      items.forEach(itemArray::add);
    }
    turn.put("itemsView", items == null ? "notLoaded" : "full");
    turn.put("status", status);
    if (error == null) {
      turn.putNull("error");
    } else {
      turn.set("error", error(error));
    }
    turn.put("startedAt", seconds(startedAtMs));
    if (completedAtMs == null) {
      turn.putNull("completedAt");
      turn.putNull("durationMs");
    } else {
      turn.put("completedAt", seconds(completedAtMs));
      turn.put("durationMs", Math.max(0, completedAtMs - startedAtMs));
    }
    return turn;
  }

  /** Legato's turn outcome ({@code completed}, {@code interrupted}, {@code failed}) as a {@code TurnStatus}. */
  public static String turnStatus(String outcome) {
    return switch (outcome == null ? "" : outcome) {
      case "completed", "interrupted", "failed" -> outcome;
      default -> "failed";
    };
  }

  /** Why a turn ended badly ({@code error}, or a default for a failure), as a Codex turn error; a completed turn has none. */
  public static String turnError(String outcome, String error) {
    String status = turnStatus(outcome);
    if ("completed".equals(status)) {
      return null;
    }
    if (error != null && !error.isBlank()) {
      return error;
    }
    return "failed".equals(status) ? "the turn failed" : null;
  }

  /** A {@code TurnError}. */
  public static ObjectNode error(String message) {
    ObjectNode error = NODES.objectNode();
    error.put("message", message);
    JsonRpc.nulls(error, "codexErrorInfo", "additionalDetails", "misalignment");
    return error;
  }

  // ---- items -------------------------------------------------------------------------------------------

  public static ObjectNode userMessage(String id, String text) {
    ObjectNode item = item("userMessage", id);
    item.putNull("clientId");
    ObjectNode input = item.putArray("content").addObject();
    input.put("type", "text");
    input.put("text", text == null ? "" : text);
    input.putArray("text_elements");
    return item;
  }

  public static ObjectNode agentMessage(String id, String text) {
    ObjectNode item = item("agentMessage", id);
    item.put("text", text == null ? "" : text);
    JsonRpc.nulls(item, "phase", "memoryCitation", "moderation", "delivery", "questions");
    return item;
  }

  /**
   * A {@code reasoning} item. The agent's thinking travels as the summary: the Codex TUI shows summaries and
   * hides raw reasoning content unless configured otherwise.
   */
  public static ObjectNode reasoning(String id, String text) {
    ObjectNode item = item("reasoning", id);
    ArrayNode summary = item.putArray("summary");
    if (text != null && !text.isEmpty()) {
      summary.add(text);
    }
    item.putArray("content");
    return item;
  }

  /**
   * A {@code commandExecution} item.
   *
   * @param status {@code inProgress}, {@code completed}, {@code failed} or {@code declined}
   */
  public static ObjectNode commandExecution(String id, String command, String cwd, String status, String output,
                                            Integer exitCode, Long durationMs) {
    ObjectNode item = item("commandExecution", id);
    String line = command == null ? "" : command;
    item.put("command", line);
    item.put("cwd", absolute(cwd));
    item.putNull("processId");
    item.put("source", "agent");
    item.put("status", status);
    item.set("commandActions", commandActions(line));
    putNullable(item, "aggregatedOutput", output);
    if (exitCode == null) {
      item.putNull("exitCode");
    } else {
      item.put("exitCode", exitCode);
    }
    if (durationMs == null) {
      item.putNull("durationMs");
    } else {
      item.put("durationMs", durationMs);
    }
    item.putNull("pluginId");
    item.putNull("scriptPath");
    return item;
  }

  /** How a command ended: a non-zero exit code failed it; no exit code is taken as a normal end. */
  public static String commandStatus(Integer exitCode) {
    return exitCode == null || exitCode == 0 ? "completed" : "failed";
  }

  /** A {@code fileChange} item with one change; {@code kind} is Legato's {@code add}, {@code update} or {@code delete}. */
  public static ObjectNode fileChange(String id, String path, String kind, String diff, String status) {
    ObjectNode item = item("fileChange", id);
    ObjectNode change = item.putArray("changes").addObject();
    change.put("path", path == null ? "" : path);
    ObjectNode changeKind = change.putObject("kind");
    String type = kind == null ? "update" : kind.toLowerCase(Locale.ROOT);
    switch (type) {
      case "add", "create", "created", "added" -> changeKind.put("type", "add");
      case "delete", "deleted", "remove", "removed" -> changeKind.put("type", "delete");
      default -> changeKind.put("type", "update").putNull("move_path");
    }
    change.put("diff", diff == null ? "" : diff);
    item.put("status", status);
    return item;
  }

  /**
   * A {@code dynamicToolCall} item for a tool call that is neither a command nor a file change.
   *
   * @param status {@code inProgress}, {@code completed} or {@code failed}
   * @param output the tool's result; null while it runs
   */
  public static ObjectNode dynamicToolCall(String id, String tool, String argumentsJson, String status, String output) {
    ObjectNode item = item("dynamicToolCall", id);
    item.putNull("namespace");
    item.put("tool", tool == null ? "tool" : tool);
    item.set("arguments", arguments(argumentsJson));
    item.put("status", status);
    if ("inProgress".equals(status)) {
      item.putNull("contentItems");
      item.putNull("success");
    } else {
      ArrayNode content = item.putArray("contentItems");
      if (output != null && !output.isEmpty()) {
        content.addObject().put("type", "inputText").put("text", output);
      }
      item.put("success", "completed".equals(status));
    }
    item.putNull("durationMs");
    return item;
  }

  /** Legato's tool call status ({@code completed} or {@code failed}) as a {@code DynamicToolCallStatus}. */
  public static String toolStatus(String status) {
    return "completed".equals(status) ? "completed" : "failed";
  }

  /** A {@code plan} item: the plan as a Markdown checklist under its explanation. */
  public static ObjectNode plan(String id, String explanation, List<PlanStepText> steps) {
    StringBuilder text = new StringBuilder();
    if (explanation != null && !explanation.isBlank()) {
      text.append(explanation.strip()).append("\n\n");
    }
    for (PlanStepText step : steps) {
      String box = switch (planStepStatus(step.status())) {
        case "completed" -> "[x]";
        case "inProgress" -> "[~]";
        default -> "[ ]";
      };
      text.append("- ").append(box).append(' ').append(step.step()).append('\n');
    }
    ObjectNode item = item("plan", id);
    item.put("text", text.toString().strip());
    return item;
  }

  /** A plan step as Legato records it. */
  public record PlanStepText(String step, String status) {}

  /** Legato's plan step status ({@code pending}, {@code in_progress}, {@code completed}) as a {@code TurnPlanStepStatus}. */
  public static String planStepStatus(String status) {
    String s = status == null ? "" : status.toLowerCase(Locale.ROOT).replace("_", "").replace("-", "");
    return switch (s) {
      case "inprogress", "running", "active", "started" -> "inProgress";
      case "completed", "complete", "done", "finished" -> "completed";
      default -> "pending";
    };
  }

  // ---- notifications -----------------------------------------------------------------------------------

  /** A notification {@code {method, params}} as it goes on Legato's wire (no {@code "jsonrpc"} member). */
  public static ObjectNode notification(String method, ObjectNode params) {
    return JsonRpc.notification(method, params);
  }

  /** A server request {@code {id, method, params}}; the id is the connection's JSON-RPC id. */
  public static ObjectNode serverRequest(JsonNode id, String method, ObjectNode params) {
    return JsonRpc.request(id, method, params);
  }

  public static ObjectNode threadStarted(ObjectNode thread) {
    ObjectNode params = NODES.objectNode();
    params.set("thread", thread);
    return notification("thread/started", params);
  }

  public static ObjectNode threadStatusChanged(String threadId, ObjectNode status) {
    ObjectNode params = NODES.objectNode();
    params.put("threadId", threadId);
    params.set("status", status);
    return notification("thread/status/changed", params);
  }

  /** {@code serverRequest/resolved}: the client's answer to the request with this JSON-RPC id was taken. */
  public static ObjectNode serverRequestResolved(String threadId, JsonNode requestId) {
    ObjectNode params = NODES.objectNode();
    params.put("threadId", threadId);
    params.set("requestId", requestId);
    return notification("serverRequest/resolved", params);
  }

  public static ObjectNode itemStarted(String threadId, String turnId, ObjectNode item, long startedAtMs) {
    ObjectNode params = NODES.objectNode();
    params.set("item", item);
    params.put("threadId", threadId);
    params.put("turnId", turnId);
    params.put("startedAtMs", startedAtMs);
    return notification("item/started", params);
  }

  public static ObjectNode itemCompleted(String threadId, String turnId, ObjectNode item, long completedAtMs) {
    ObjectNode params = NODES.objectNode();
    params.set("item", item);
    params.put("threadId", threadId);
    params.put("turnId", turnId);
    params.putNull("contentTokenCount");
    params.put("completedAtMs", completedAtMs);
    return notification("item/completed", params);
  }

  /** {@code thread/tokenUsage/updated}: this turn's usage ({@code last}) and the thread's so far ({@code total}). */
  public static ObjectNode tokenUsageUpdated(String threadId, String turnId, TokenUsage last, TokenUsage total) {
    ObjectNode params = NODES.objectNode();
    params.put("threadId", threadId);
    params.put("turnId", turnId);
    ObjectNode usage = params.putObject("tokenUsage");
    usage.set("total", breakdown(total));
    usage.set("last", breakdown(last));
    usage.putNull("modelContextWindow");
    return notification("thread/tokenUsage/updated", params);
  }

  /** {@code thread/name/updated}: the thread's new name. */
  public static ObjectNode nameUpdated(String threadId, String name) {
    ObjectNode params = NODES.objectNode();
    params.put("threadId", threadId);
    params.put("threadName", name);
    return notification("thread/name/updated", params);
  }

  /** A {@code warning} about a thread, for what goes wrong outside any turn. */
  public static ObjectNode warning(String threadId, String message) {
    ObjectNode params = NODES.objectNode();
    params.put("message", message);
    params.put("threadId", threadId);
    return notification("warning", params);
  }

  // ---- responses ---------------------------------------------------------------------------------------

  /**
   * The result of {@code thread/start}: the thread (no turns) and the settings it runs with.
   *
   * @param approvalPolicy an {@code AskForApproval} as the client sent it; null for {@code on-request}
   * @param sandbox a {@code SandboxPolicy} as the client sent it; null for workspace-write in the thread's cwd
   */
  public static ObjectNode threadStartResponse(ObjectNode thread, JsonNode approvalPolicy, JsonNode sandbox) {
    return threadResult(thread, approvalPolicy, sandbox);
  }

  /** The result of {@code thread/resume}: the thread with its turns, and its settings. */
  public static ObjectNode threadResumeResponse(ObjectNode thread, JsonNode approvalPolicy, JsonNode sandbox) {
    ObjectNode result = threadResult(thread, approvalPolicy, sandbox);
    JsonRpc.nulls(result, "collaborationMode", "initialTurnsPage", "turnsBackwardsCursor", "itemsBackwardsCursor");
    return result;
  }

  /** The result of {@code turn/start}: the turn as it starts, without items. */
  public static ObjectNode turnStartResponse(ObjectNode turn) {
    ObjectNode result = NODES.objectNode();
    result.set("turn", turn);
    return result;
  }

  /** The result of {@code thread/read}. */
  public static ObjectNode threadReadResponse(ObjectNode thread) {
    ObjectNode result = NODES.objectNode();
    result.set("thread", thread);
    return result;
  }

  private static ObjectNode threadResult(ObjectNode thread, JsonNode approvalPolicy, JsonNode sandbox) {
    String cwd = thread.path("cwd").asText("/");
    ObjectNode result = NODES.objectNode();
    result.set("thread", thread);
    result.put("model", thread.path("model").asText(""));
    result.put("modelProvider", MODEL_PROVIDER);
    result.putNull("serviceTier");
    result.putArray("disabledPluginIds");
    result.put("cwd", cwd);
    result.putArray("runtimeWorkspaceRoots").add(cwd);
    result.putArray("instructionSources");
    result.set("approvalPolicy", approvalPolicy == null || approvalPolicy.isNull()
        ? NODES.textNode("on-request") : approvalPolicy.deepCopy());
    result.put("approvalsReviewer", "user");
    result.set("sandbox", sandbox == null || sandbox.isNull() ? workspaceWrite(cwd) : sandbox.deepCopy());
    result.putNull("activePermissionProfile");
    result.putNull("reasoningEffort");
    result.put("multiAgentMode", "explicitRequestOnly");
    return result;
  }

  private static ObjectNode workspaceWrite(String cwd) {
    ObjectNode sandbox = NODES.objectNode();
    sandbox.put("type", "workspaceWrite");
    sandbox.putArray("writableRoots").add(cwd);
    sandbox.put("networkAccess", false);
    sandbox.put("excludeTmpdirEnvVar", false);
    sandbox.put("excludeSlashTmp", false);
    return sandbox;
  }

  // ---- what clients answer ------------------------------------------------------------------------------

  /**
   * The decision in a client's answer to an approval request: {@code {"decision": "accept" | "acceptForSession"
   * | "decline" | "cancel"}}, a command approval's object decisions (an exec-policy amendment approves for the
   * session; a network-policy amendment approves or declines as its action says), a permissions approval's
   * {@code {"permissions": {...}, "scope"}} (an empty grant declines), the older {@code approved},
   * {@code approved_for_session}, {@code denied}, {@code abort}, or Legato's {@code {"approved": true|false}}.
   *
   * @throws IllegalArgumentException when the answer holds no decision
   */
  public static AgentCommand.Decision decision(JsonNode clientResult) {
    if (clientResult == null || !clientResult.isObject()) {
      throw new IllegalArgumentException("an approval answer is an object with a decision");
    }
    JsonNode decision = clientResult.path("decision");
    if (decision.isTextual()) {
      return switch (decision.asText()) {
        case "accept", "approved" -> AgentCommand.Decision.ACCEPT;
        case "acceptForSession", "approved_for_session" -> AgentCommand.Decision.ACCEPT_FOR_SESSION;
        case "decline", "denied" -> AgentCommand.Decision.DECLINE;
        case "cancel", "abort" -> AgentCommand.Decision.CANCEL;
        default -> throw new IllegalArgumentException("unknown decision: " + decision.asText());
      };
    }
    if (decision.isObject()) {
      if (decision.has("acceptWithExecpolicyAmendment")) {
        return AgentCommand.Decision.ACCEPT_FOR_SESSION;
      }
      JsonNode network = decision.path("applyNetworkPolicyAmendment").path("network_policy_amendment");
      if (!network.isMissingNode()) {
        return "deny".equals(network.path("action").asText())
            ? AgentCommand.Decision.DECLINE : AgentCommand.Decision.ACCEPT_FOR_SESSION;
      }
      throw new IllegalArgumentException("unknown decision: " + decision);
    }
    JsonNode permissions = clientResult.path("permissions");
    if (permissions.isObject()) {
      boolean granted = granted(permissions.path("fileSystem")) || granted(permissions.path("network"));
      if (!granted) {
        return AgentCommand.Decision.DECLINE;
      }
      return "session".equals(clientResult.path("scope").asText())
          ? AgentCommand.Decision.ACCEPT_FOR_SESSION : AgentCommand.Decision.ACCEPT;
    }
    JsonNode approved = clientResult.path("approved");
    if (approved.isBoolean()) {
      return approved.asBoolean() ? AgentCommand.Decision.ACCEPT : AgentCommand.Decision.DECLINE;
    }
    throw new IllegalArgumentException("an approval answer needs a decision");
  }

  /**
   * The answers in a client's answer to {@code item/tool/requestUserInput}: {@code {"answers": {questionId:
   * {"answers": [..]}}}}; a bare list or string per question is taken too (Legato's {@code item/answer}).
   */
  public static Map<String, List<String>> answers(JsonNode clientResult) {
    Map<String, List<String>> answers = new LinkedHashMap<>();
    JsonNode all = clientResult == null ? null : clientResult.path("answers");
    if (all == null || !all.isObject()) {
      return answers;
    }
    Iterator<Map.Entry<String, JsonNode>> fields = all.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      JsonNode value = field.getValue().isObject() ? field.getValue().path("answers") : field.getValue();
      List<String> chosen = new ArrayList<>();
      if (value.isArray()) {
        value.forEach(answer -> chosen.add(answer.asText()));
      } else if (value.isValueNode() && !value.isNull()) {
        chosen.add(value.asText());
      }
      answers.put(field.getKey(), List.copyOf(chosen));
    }
    return answers;
  }

  /** Whether a granted permission profile part grants anything. */
  private static boolean granted(JsonNode part) {
    if (part == null || part.isNull() || part.isMissingNode()) {
      return false;
    }
    if (part.isObject()) {
      for (JsonNode value : part) {
        if ((value.isArray() && !value.isEmpty()) || (value.isBoolean() && value.asBoolean())) {
          return true;
        }
      }
      return false;
    }
    return true;
  }

  // ---- helpers -----------------------------------------------------------------------------------------

  /** Unix seconds from Legato's epoch milliseconds. */
  public static long seconds(long epochMs) {
    return Math.floorDiv(epochMs, 1000);
  }

  /** Codex requires an absolute cwd; a thread without one (or with a relative one) reports the root. */
  static String absolute(String cwd) {
    return cwd != null && cwd.startsWith("/") ? cwd : "/";
  }

  static ArrayNode commandActions(String command) {
    ArrayNode actions = NODES.arrayNode();
    actions.addObject().put("type", "unknown").put("command", command);
    return actions;
  }

  private static ObjectNode item(String type, String id) {
    ObjectNode item = NODES.objectNode();
    item.put("type", type);
    item.put("id", id);
    return item;
  }

  private static void putNullable(ObjectNode node, String field, String value) {
    if (value == null) {
      node.putNull(field);
    } else {
      node.put(field, value);
    }
  }

  /** A tool's arguments as JSON; arguments that are not JSON travel as a string. */
  private static JsonNode arguments(String argumentsJson) {
    if (argumentsJson == null || argumentsJson.isBlank()) {
      return NODES.objectNode();
    }
    try {
      return JSON.readTree(argumentsJson);
    } catch (JsonProcessingException e) {
      return NODES.textNode(argumentsJson);
    }
  }

  private static ObjectNode breakdown(TokenUsage usage) {
    ObjectNode breakdown = NODES.objectNode();
    breakdown.put("totalTokens", usage.inputTokens() + usage.outputTokens());
    breakdown.put("inputTokens", usage.inputTokens());
    breakdown.put("cachedInputTokens", 0);
    breakdown.put("cacheWriteInputTokens", 0);
    breakdown.put("outputTokens", usage.outputTokens());
    breakdown.put("reasoningOutputTokens", 0);
    return breakdown;
  }
}
