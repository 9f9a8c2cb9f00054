package dev.legato.gateway.protocol;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.gateway.protocol.CodexDialect.TokenUsage;
import dev.legato.thread.ThreadEntity;
import dev.legato.thread.ThreadEvent;
import dev.legato.thread.ThreadUpdate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Turns one thread's updates into what one Codex client is sent, in order: notifications, approval and
 * question requests, and the markers of their resolution. One per (connection, thread), fed every update
 * after the {@link ThreadUpdate.Live} marker ({@link #render}) and, for a client that subscribed after a
 * known point, the replayed events before it ({@link #renderReplayed}). It remembers only what the running
 * turn needs (which items are open, the text and diff so far, the token totals). Not thread-safe; no I/O.
 */
public final class LiveRenderer {
  private final String threadId;
  private final String cwd;
  private final LongSupplier clock;
  private TokenUsage total;

  // the running turn
  private final Set<String> itemIds = new HashSet<>();
  private String agentBase;
  private String agentItemId;
  private StringBuilder agentText;
  private long agentStartedAt;
  /** Thinking id → its open item (id, text so far, start). */
  private final Map<String, OpenItem> reasoning = new LinkedHashMap<>();
  /** Tool call id → its open command or tool item. */
  private final Map<String, OpenItem> tools = new LinkedHashMap<>();
  /** Tool call id → its shell command, when known before it completes. */
  private final Map<String, String> commands = new HashMap<>();
  /** The command of the last command approval: the next command without one of its own is that one. */
  private String approvedCommand;
  private String approvedCwd;
  /** The approval or question the running turn waits for, until answered or the turn ends. */
  private String pendingRequestId;
  private final List<String> diffs = new ArrayList<>();

  /**
   * @param cwd the thread's working directory (commands run there unless their approval says otherwise)
   * @param history the thread's history so far, when the client saw it (thread/resume): a turn still running
   *     in it continues here; null for a thread the client starts with
   * @param clock the time given to items of updates that carry none (deltas)
   */
  public LiveRenderer(String threadId, String cwd, ThreadHistory history, LongSupplier clock) {
    this.threadId = threadId;
    this.cwd = cwd;
    this.clock = clock;
    this.total = history == null ? TokenUsage.NONE : history.totalTokenUsage();
    if (history != null && history.inProgressTurnId() != null) {
      itemIds.addAll(history.inProgressItemIds());
      diffs.addAll(history.inProgressDiffs());
      approvedCommand = history.inProgressApprovedCommand();
      String[] open = history.openAgentMessage();
      if (open != null) {
        agentBase = open[0];
        agentItemId = open[1];
        agentText = new StringBuilder(open[2]);
        agentStartedAt = clock.getAsLong();
      }
    }
  }

  public LiveRenderer(String threadId, String cwd, ThreadHistory history) {
    this(threadId, cwd, history, System::currentTimeMillis);
  }

  /** A live update (after {@link ThreadUpdate.Live}). */
  public List<Outbound> render(ThreadUpdate update) {
    List<Outbound> out = new ArrayList<>();
    if (update instanceof ThreadUpdate.Persisted persisted) {
      event(persisted.event(), out);
    } else if (update instanceof ThreadUpdate.TextDelta delta) {
      textDelta(delta.turnId(), delta.itemId(), delta.text(), clock.getAsLong(), out);
    } else if (update instanceof ThreadUpdate.ReasoningDelta delta) {
      reasoningDelta(delta, out);
    } else if (update instanceof ThreadUpdate.CommandOutputDelta delta) {
      OpenItem item = openTool(delta.turnId(), delta.itemId(), null, clock.getAsLong(), out);
      ObjectNode params = params(delta.turnId());
      params.put("itemId", item.id);
      params.put("delta", delta.text());
      notify(out, "item/commandExecution/outputDelta", params);
    } else if (update instanceof ThreadUpdate.ToolStarted started) {
      out.addAll(toolStarted(started.turnId(), started.toolCallId(), started.toolName(), started.argumentsJson(),
          started.command()));
    } else if (update instanceof ThreadUpdate.PendingRequest pending) {
      request(pending.request(), out);
    } else if (update instanceof ThreadUpdate.NameChanged renamed) {
      out.add(new Outbound.Notification(CodexDialect.nameUpdated(threadId, renamed.name())));
    } else if (update instanceof ThreadUpdate.ReplayFailed failed) {
      // There is no turn to hang an `error` on (Codex requires one): the client is warned instead.
      out.add(new Outbound.Notification(CodexDialect.warning(threadId,
          "The thread's history could not be replayed: " + failed.reason())));
    }
    // Live: nothing to send
    return out;
  }

  /**
   * A persisted update replayed before the {@link ThreadUpdate.Live} marker to a client that had seen the
   * history up to some point: as {@link #render}, except that a window of streamed text is news here.
   */
  public List<Outbound> renderReplayed(ThreadUpdate.Persisted persisted) {
    if (persisted.event() instanceof ThreadEvent.AgentMessageDelta delta) {
      List<Outbound> out = new ArrayList<>();
      textDelta(delta.turnId(), delta.itemId(), delta.text(), delta.at(), out);
      return out;
    }
    return render(persisted);
  }

  /**
   * The agent started a tool call: a command shows as a running {@code commandExecution}, anything else as a
   * running {@code dynamicToolCall}. (For {@code ThreadUpdate.ToolStarted}, which not every ThreadEntity has.)
   *
   * @param command the shell command, when the tool call is one; else null
   */
  public List<Outbound> toolStarted(String turnId, String toolCallId, String toolName, String argumentsJson,
                                    String command) {
    List<Outbound> out = new ArrayList<>();
    if (command != null) {
      commands.put(toolCallId, command);
    }
    openTool(turnId, toolCallId, command == null ? OpenItem.tool(toolName, argumentsJson) : null, clock.getAsLong(), out);
    return out;
  }

  // ---- persisted events ----------------------------------------------------------------------------------

  private void event(ThreadEvent event, List<Outbound> out) {
    if (event instanceof ThreadEvent.TurnStarted started) {
      startTurn();
      ObjectNode params = params(started.turnId());
      params.remove("turnId");
      params.set("turn", CodexDialect.turn(started.turnId(), null, "inProgress", null, started.at(), null));
      notify(out, "turn/started", params);
      status(out, "running", null);
      itemIds.add(started.messageId());
      ObjectNode item = CodexDialect.userMessage(started.messageId(), started.text());
      started(out, started.turnId(), item, started.at());
      completed(out, started.turnId(), item, started.at(), started.at());
    } else if (event instanceof ThreadEvent.AgentMessage message) {
      if (agentItemId == null || !message.itemId().equals(agentBase)) {
        openAgentMessage(message.turnId(), message.itemId(), message.at(), out);
      }
      completeAgentMessage(message.turnId(), message.text(), message.at(), out);
    } else if (event instanceof ThreadEvent.ReasoningRecorded recorded) {
      OpenItem item = reasoning.remove(recorded.thinkingId());
      if (item == null) {
        item = new OpenItem(ThreadHistory.fresh(itemIds, recorded.thinkingId()), recorded.at());
        started(out, recorded.turnId(), CodexDialect.reasoning(item.id, ""), item.startedAt);
      }
      completed(out, recorded.turnId(), CodexDialect.reasoning(item.id, recorded.text()), item.startedAt, recorded.at());
    } else if (event instanceof ThreadEvent.CommandCompleted command) {
      long startedAt = command.durationMs() == null ? command.at() : command.at() - command.durationMs();
      OpenItem item = openTool(command.turnId(), command.toolCallId(), null, startedAt, out);
      tools.remove(command.toolCallId());
      commands.remove(command.toolCallId());
      approvedCommand = null; // that approval was this command's
      approvedCwd = null;
      completed(out, command.turnId(), CodexDialect.commandExecution(item.id,
          item.command != null && !item.command.isEmpty() ? item.command : command.command(), item.cwd,
          CodexDialect.commandStatus(command.exitCode()), command.output(), command.exitCode(), command.durationMs()),
          item.startedAt, command.at());
    } else if (event instanceof ThreadEvent.ToolCallRecorded call) {
      OpenItem item = openTool(call.turnId(), call.toolCallId(), OpenItem.tool(call.toolName(), call.argumentsJson()),
          call.at(), out);
      tools.remove(call.toolCallId());
      completed(out, call.turnId(), CodexDialect.dynamicToolCall(item.id, item.toolName, item.argumentsJson,
          CodexDialect.toolStatus(call.status()), call.output()), item.startedAt, call.at());
    } else if (event instanceof ThreadEvent.FileChanged change) {
      fileChanged(change, out);
    } else if (event instanceof ThreadEvent.PlanUpdated plan) {
      ObjectNode params = params(plan.turnId());
      if (plan.explanation() == null) {
        params.putNull("explanation");
      } else {
        params.put("explanation", plan.explanation());
      }
      ArrayNode steps = params.putArray("plan");
      plan.steps().forEach(step -> steps.addObject()
          .put("step", step.step())
          .put("status", CodexDialect.planStepStatus(step.status())));
      notify(out, "turn/plan/updated", params);
    } else if (event instanceof ThreadEvent.ApprovalRequested request) {
      request(request, out);
    } else if (event instanceof ThreadEvent.QuestionAsked question) {
      request(question, out);
    } else if (event instanceof ThreadEvent.ApprovalDecided decided) {
      if (!approves(decided.decision())) {
        approvedCommand = null; // a declined command does not run
        approvedCwd = null;
      }
      pendingRequestId = null;
      out.add(new Outbound.Resolved(decided.request().requestId(), threadId));
      status(out, "running", null);
    } else if (event instanceof ThreadEvent.QuestionAnswered answered) {
      pendingRequestId = null;
      out.add(new Outbound.Resolved(answered.question().requestId(), threadId));
      status(out, "running", null);
    } else if (event instanceof ThreadEvent.TurnEnded ended) {
      endTurn(ended, out);
    } else if (event instanceof ThreadEvent.Archived) {
      notify(out, "thread/archived", threadParams());
    } else if (event instanceof ThreadEvent.Unarchived) {
      notify(out, "thread/unarchived", threadParams());
    }
    // AgentMessageDelta: live, its text already went out as deltas. ThreadCreated, InstanceReplaced,
    // MemoryExtracted, SummaryCreated: nothing a Codex client shows.
  }

  private void startTurn() {
    itemIds.clear();
    agentBase = null;
    agentItemId = null;
    agentText = null;
    reasoning.clear();
    tools.clear();
    commands.clear();
    approvedCommand = null;
    approvedCwd = null;
    diffs.clear();
  }

  private void textDelta(String turn, String itemId, String text, long at, List<Outbound> out) {
    if (agentItemId == null || !itemId.equals(agentBase)) {
      openAgentMessage(turn, itemId, at, out);
    }
    agentText.append(text);
    ObjectNode params = params(turn);
    params.put("itemId", agentItemId);
    params.put("delta", text);
    notify(out, "item/agentMessage/delta", params);
  }

  private void openAgentMessage(String turn, String base, long at, List<Outbound> out) {
    if (agentItemId != null) {
      completeAgentMessage(turn, agentText.toString(), at, out); // a new message ends the one before
    }
    agentBase = base;
    agentItemId = ThreadHistory.fresh(itemIds, base);
    agentText = new StringBuilder();
    agentStartedAt = at;
    started(out, turn, CodexDialect.agentMessage(agentItemId, ""), at);
  }

  private void completeAgentMessage(String turn, String text, long at, List<Outbound> out) {
    completed(out, turn, CodexDialect.agentMessage(agentItemId, text), agentStartedAt, at);
    agentBase = null;
    agentItemId = null;
    agentText = null;
  }

  private void reasoningDelta(ThreadUpdate.ReasoningDelta delta, List<Outbound> out) {
    OpenItem item = reasoning.get(delta.itemId());
    if (item == null) {
      item = new OpenItem(ThreadHistory.fresh(itemIds, delta.itemId()), clock.getAsLong());
      reasoning.put(delta.itemId(), item);
      started(out, delta.turnId(), CodexDialect.reasoning(item.id, ""), item.startedAt);
    }
    item.text.append(delta.text());
    ObjectNode params = params(delta.turnId());
    params.put("itemId", item.id);
    params.put("delta", delta.text());
    params.put("summaryIndex", 0);
    notify(out, "item/reasoning/summaryTextDelta", params);
  }

  /**
   * The open item of a tool call, started now if it was not: a {@code commandExecution} unless {@code tool}
   * (a tool's name and arguments) says it is another tool.
   */
  private OpenItem openTool(String turn, String toolCallId, OpenItem tool, long at, List<Outbound> out) {
    OpenItem item = tools.get(toolCallId);
    if (item != null) {
      return item;
    }
    String id = ThreadHistory.fresh(itemIds, toolCallId);
    if (tool != null) {
      item = new OpenItem(id, at, tool.toolName, tool.argumentsJson, null, null);
    } else {
      String command = commands.get(toolCallId);
      item = new OpenItem(id, at, null, null, command != null ? command : approvedCommand,
          approvedCwd != null ? approvedCwd : cwd);
    }
    tools.put(toolCallId, item);
    started(out, turn, item.asItem("inProgress"), at);
    return item;
  }

  private void fileChanged(ThreadEvent.FileChanged change, List<Outbound> out) {
    OpenItem tool = tools.remove(change.toolCallId());
    if (tool != null) { // the tool call that made the change: the fileChange item tells the rest
      completed(out, change.turnId(), tool.asItem("completed"), tool.startedAt, change.at());
    }
    String id = ThreadHistory.fresh(itemIds, change.toolCallId());
    started(out, change.turnId(), CodexDialect.fileChange(id, change.path(), change.kind(), change.diff(), "inProgress"),
        change.at());
    completed(out, change.turnId(), CodexDialect.fileChange(id, change.path(), change.kind(), change.diff(), "completed"),
        change.at(), change.at());
    if (change.diff() != null && !change.diff().isEmpty()) {
      diffs.add(change.diff());
    }
    ObjectNode params = params(change.turnId());
    params.put("diff", turnDiff(diffs));
    notify(out, "turn/diff/updated", params);
  }

  /** The turn's changes so far as one unified diff. */
  static String turnDiff(List<String> diffs) {
    StringBuilder all = new StringBuilder();
    for (String diff : diffs) {
      all.append(diff);
      if (!diff.endsWith("\n")) {
        all.append('\n');
      }
    }
    return all.toString();
  }

  private void request(ThreadEvent.Pending pending, List<Outbound> out) {
    pendingRequestId = pending.requestId();
    if (pending instanceof ThreadEvent.ApprovalRequested approval) {
      if ("command".equals(approval.kind())) { // events do not link a command to its approval: the next one is it
        approvedCommand = approval.command();
        approvedCwd = approval.cwd();
      }
      out.add(approvalRequest(approval));
      status(out, "waiting", approval.kind());
    } else if (pending instanceof ThreadEvent.QuestionAsked question) {
      out.add(questionRequest(question));
      status(out, "waiting", "question");
    }
  }

  private Outbound.ServerRequest approvalRequest(ThreadEvent.ApprovalRequested approval) {
    ObjectNode params = params(approval.turnId());
    params.put("itemId", approval.toolCallId() != null ? approval.toolCallId() : approval.requestId());
    params.put("startedAtMs", approval.at());
    String method;
    switch (approval.kind() == null ? "" : approval.kind()) {
      case "file_change" -> {
        method = "item/fileChange/requestApproval";
        nullable(params, "reason", approval.reason());
        params.putNull("grantRoot");
      }
      case "permissions" -> {
        method = "item/permissions/requestApproval";
        params.putNull("environmentId");
        params.put("cwd", CodexDialect.absolute(approval.cwd() != null ? approval.cwd() : cwd));
        nullable(params, "reason", approval.reason());
        // Legato's agents name no particular grant: the client approves or declines the request as a whole.
        params.putObject("permissions").putNull("fileSystem").putNull("network");
      }
      default -> {
        method = "item/commandExecution/requestApproval";
        String command = approval.command() == null ? "" : approval.command();
        params.put("kind", "command");
        params.putNull("environmentId");
        nullable(params, "reason", approval.reason());
        params.put("command", command);
        params.put("cwd", CodexDialect.absolute(approval.cwd() != null ? approval.cwd() : cwd));
        params.set("commandActions", CodexDialect.commandActions(command));
        ArrayNode decisions = params.putArray("availableDecisions");
        CodexDialect.DECISIONS.forEach(decisions::add);
      }
    }
    return new Outbound.ServerRequest(approval.requestId(), threadId, method, params);
  }

  private Outbound.ServerRequest questionRequest(ThreadEvent.QuestionAsked asked) {
    ObjectNode params = params(asked.turnId());
    params.put("itemId", asked.requestId());
    ArrayNode questions = params.putArray("questions");
    for (ThreadEvent.Question q : asked.questions()) {
      ObjectNode question = questions.addObject();
      question.put("id", q.id());
      question.put("header", q.header() == null ? "" : q.header());
      question.put("question", q.question() == null ? "" : q.question());
      boolean choices = q.options() != null && !q.options().isEmpty();
      question.put("isOther", choices); // with choices the user may still type an answer of their own
      question.put("isSecret", false);
      if (choices) {
        ArrayNode options = question.putArray("options");
        q.options().forEach(option -> options.addObject().put("label", option).put("description", ""));
      } else {
        question.putNull("options");
      }
    }
    params.put("isBlocking", true);
    params.putNull("autoResolutionMs");
    return new Outbound.ServerRequest(asked.requestId(), threadId, "item/tool/requestUserInput", params);
  }

  private void endTurn(ThreadEvent.TurnEnded ended, List<Outbound> out) {
    if (pendingRequestId != null) { // the turn ended without the answer (its agent was lost): nobody waits for it
      out.add(new Outbound.Resolved(pendingRequestId, threadId));
      pendingRequestId = null;
    }
    String status = CodexDialect.turnStatus(ended.outcome());
    if (agentItemId != null) { // a turn cut short keeps the text that streamed
      completeAgentMessage(ended.turnId(), agentText.toString(), ended.at(), out);
    }
    for (OpenItem item : reasoning.values()) {
      completed(out, ended.turnId(), CodexDialect.reasoning(item.id, item.text.toString()), item.startedAt, ended.at());
    }
    for (OpenItem item : tools.values()) { // a tool still running when the turn ended did not finish
      completed(out, ended.turnId(), item.asItem("failed"), item.startedAt, ended.at());
    }
    TokenUsage usage = new TokenUsage(ended.inputTokens(), ended.outputTokens());
    if (!usage.isEmpty()) {
      total = total.plus(usage);
      out.add(new Outbound.Notification(CodexDialect.tokenUsageUpdated(threadId, ended.turnId(), usage, total)));
    }
    if ("failed".equals(status) && ended.error() != null) { // the client shows why, as for Codex's own failures
      ObjectNode error = params(ended.turnId());
      error.set("error", CodexDialect.error(ended.error()));
      error.put("willRetry", false);
      notify(out, "error", error);
    }
    ObjectNode params = threadParams();
    params.set("turn", CodexDialect.turn(ended.turnId(), null, status, ThreadHistory.turnError(ended), ended.startedAt(),
        ended.at()));
    notify(out, "turn/completed", params);
    status(out, "ready", null);
    startTurn();
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  private void status(List<Outbound> out, String phase, String pendingKind) {
    out.add(new Outbound.Notification(CodexDialect.threadStatusChanged(threadId, CodexDialect.status(phase, pendingKind))));
  }

  private void started(List<Outbound> out, String turn, ObjectNode item, long at) {
    item.put("startedAtMs", at);
    item.putNull("completedAtMs");
    out.add(new Outbound.Notification(CodexDialect.itemStarted(threadId, turn, item, at)));
  }

  private void completed(List<Outbound> out, String turn, ObjectNode item, long startedAt, long at) {
    item.put("startedAtMs", startedAt);
    item.put("completedAtMs", at);
    out.add(new Outbound.Notification(CodexDialect.itemCompleted(threadId, turn, item, at)));
  }

  private static void notify(List<Outbound> out, String method, ObjectNode params) {
    out.add(new Outbound.Notification(CodexDialect.notification(method, params)));
  }

  private ObjectNode threadParams() {
    ObjectNode params = CodexDialect.NODES.objectNode();
    params.put("threadId", threadId);
    return params;
  }

  private ObjectNode params(String turn) {
    ObjectNode params = threadParams();
    params.put("turnId", turn);
    return params;
  }

  /** Whether Legato's recorded decision ({@code accept}, {@code acceptForSession}, ...) approves. */
  static boolean approves(String decision) {
    return "accept".equals(decision) || "acceptForSession".equals(decision);
  }

  private static void nullable(ObjectNode node, String field, String value) {
    if (value == null) {
      node.putNull(field);
    } else {
      node.put(field, value);
    }
  }

  /** An item that started and has not completed: reasoning, a command ({@code command}) or another tool. */
  private static final class OpenItem {
    final String id;
    final long startedAt;
    final String toolName;
    final String argumentsJson;
    final String command;
    final String cwd;
    final StringBuilder text = new StringBuilder();

    OpenItem(String id, long startedAt) {
      this(id, startedAt, null, null, null, null);
    }

    OpenItem(String id, long startedAt, String toolName, String argumentsJson, String command, String cwd) {
      this.id = id;
      this.startedAt = startedAt;
      this.toolName = toolName;
      this.argumentsJson = argumentsJson;
      this.command = command;
      this.cwd = cwd;
    }

    /** What a tool call that is not a command is, before it has an item id. */
    static OpenItem tool(String toolName, String argumentsJson) {
      return new OpenItem(null, 0, toolName == null ? "tool" : toolName, argumentsJson, null, null);
    }

    /** This command or tool as an item with {@code status} and no result. */
    ObjectNode asItem(String status) {
      if (toolName == null) {
        return CodexDialect.commandExecution(id, command, cwd, status, null, null, null);
      }
      return CodexDialect.dynamicToolCall(id, toolName, argumentsJson, status, null);
    }
  }
}
