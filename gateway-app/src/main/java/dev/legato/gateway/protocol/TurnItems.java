package dev.legato.gateway.protocol;

import dev.legato.thread.ThreadEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The items of one turn, folded from its events and live updates: which event starts, streams into and
 * completes which item, under which id, in what final shape. One fold for both views of a turn:
 * {@link ThreadHistory} replays the persisted events into a turn's items ({@link #kept}), and
 * {@link LiveRenderer} feeds each update as it comes and tells the client what changed ({@link Changes}).
 * Not thread-safe; no I/O.
 */
final class TurnItems {

  /** What a client following the turn is told as its items change. */
  interface Changes {
    /** A history tells nobody. */
    Changes NONE = new Changes() {};

    /** {@code item/started}, with the item as it starts. */
    default void started(String turnId, CodexItem item) {}

    /** {@code item/completed}, with the item's final shape. */
    default void completed(String turnId, CodexItem item) {}

    default void agentText(String turnId, String itemId, String delta) {}

    default void reasoningText(String turnId, String itemId, String delta) {}

    default void commandOutput(String turnId, String itemId, String delta) {}

    /** The turn's changes so far as one unified diff. */
    default void diff(String turnId, String diff) {}
  }

  private final String threadCwd;
  /** Every item of the turn in the order they started (a history keeps them); null for a live client. */
  private final List<Item> kept;
  private final Set<String> ids = new HashSet<>();
  /** The agent message whose text streams in. */
  private Item agent;
  /** Thinking id → its open reasoning item. */
  private final Map<String, Item> reasoning = new LinkedHashMap<>();
  /** Tool call id → its open command or tool item. */
  private final Map<String, Item> tools = new LinkedHashMap<>();
  /** Tool call id → its shell command, when known before it completes. */
  private final Map<String, String> commands = new HashMap<>();
  /** Plan id → its item: the latest revision of a plan is the plan. */
  private final Map<String, Item> plans = new HashMap<>();
  /** The command of the last command approval: events do not link a command to its approval, the next one is it. */
  private String approvedCommand;
  private String approvedCwd;
  private final List<String> diffs = new ArrayList<>();

  private TurnItems(String threadCwd, boolean keep) {
    this.threadCwd = threadCwd;
    this.kept = keep ? new ArrayList<>() : null;
  }

  /** A turn whose items are kept, for its place in a thread's history. */
  static TurnItems kept(String threadCwd) {
    return new TurnItems(threadCwd, true);
  }

  /** A turn a client follows live: items are told as they change, and forgotten once completed. */
  static TurnItems live(String threadCwd) {
    return new TurnItems(threadCwd, false);
  }

  /** This turn as a client that resumed it mid-way follows it on: what is open stays open, with the ids taken. */
  TurnItems continued(String threadCwd) {
    TurnItems live = live(threadCwd);
    live.ids.addAll(ids);
    live.agent = agent == null ? null : agent.copy();
    reasoning.forEach((thinkingId, item) -> live.reasoning.put(thinkingId, item.copy()));
    tools.forEach((toolCallId, item) -> live.tools.put(toolCallId, item.copy()));
    live.commands.putAll(commands);
    plans.forEach((planId, item) -> live.plans.put(planId, item.copy()));
    live.approvedCommand = approvedCommand;
    live.approvedCwd = approvedCwd;
    live.diffs.addAll(diffs);
    return live;
  }

  /** The turn's items as they stand; only for a turn that keeps them. */
  List<CodexItem> items() {
    return kept.stream().map(Item::shape).toList();
  }

  // ---- the user's message and the agent's text -----------------------------------------------------------

  /** The user's message that starts the turn: whole as it starts. */
  void userMessage(ThreadEvent.TurnStarted started, Changes changes) {
    Item item = open(Kind.USER_MESSAGE, started.messageId(), started.at());
    CodexItem message = CodexItem.userMessage(item.id, started.text(), item.startedAt, started.at());
    changes.started(started.turnId(), message);
    complete(item, message, started.turnId(), changes);
  }

  /** A piece of the agent's answer text: a streamed delta, or a persisted window of them. */
  void agentText(String turnId, String messageId, String text, long at, Changes changes) {
    if (agent == null || !messageId.equals(agent.messageId)) {
      openAgentMessage(turnId, messageId, at, changes);
    }
    agent.text.append(text);
    changes.agentText(turnId, agent.id, text);
  }

  /** The agent's whole message: it replaces what streamed. */
  void agentMessage(ThreadEvent.AgentMessage message, Changes changes) {
    if (agent == null || !message.itemId().equals(agent.messageId)) {
      openAgentMessage(message.turnId(), message.itemId(), message.at(), changes);
    }
    completeAgentMessage(message.turnId(), message.text(), message.at(), changes);
  }

  private void openAgentMessage(String turnId, String messageId, long at, Changes changes) {
    if (agent != null) {
      completeAgentMessage(turnId, agent.text.toString(), at, changes); // a new message ends the one before
    }
    agent = open(Kind.AGENT_MESSAGE, fresh(messageId), at);
    agent.messageId = messageId;
    changes.started(turnId, agent.shape());
  }

  private void completeAgentMessage(String turnId, String text, long at, Changes changes) {
    complete(agent, CodexItem.agentMessage(agent.id, text, agent.startedAt, at), turnId, changes);
    agent = null;
  }

  // ---- reasoning -----------------------------------------------------------------------------------------

  /** A piece of the agent's thinking as it streams. */
  void reasoningText(String turnId, String thinkingId, String text, long at, Changes changes) {
    Item item = reasoning.get(thinkingId);
    if (item == null) {
      item = openReasoning(turnId, thinkingId, at, changes);
      reasoning.put(thinkingId, item);
    }
    item.text.append(text);
    changes.reasoningText(turnId, item.id, text);
  }

  /** One thinking block, whole. */
  void reasoning(ThreadEvent.ReasoningRecorded recorded, Changes changes) {
    Item item = reasoning.remove(recorded.thinkingId());
    if (item == null) {
      item = openReasoning(recorded.turnId(), recorded.thinkingId(), recorded.at(), changes);
    }
    complete(item, CodexItem.reasoning(item.id, recorded.text(), item.startedAt, recorded.at()), recorded.turnId(),
        changes);
  }

  private Item openReasoning(String turnId, String thinkingId, long at, Changes changes) {
    Item item = open(Kind.REASONING, fresh(thinkingId), at);
    changes.started(turnId, item.shape());
    return item;
  }

  // ---- tool calls ----------------------------------------------------------------------------------------

  /** The agent started a tool call: a shell command (when {@code command} says which) or another tool. */
  void toolStarted(String turnId, String toolCallId, String toolName, String argumentsJson, String command, long at,
                   Changes changes) {
    if (command != null) {
      commands.put(toolCallId, command);
    }
    openTool(turnId, toolCallId, command == null, toolName, argumentsJson, at, changes);
  }

  /** Output of a running command. */
  void commandOutput(String turnId, String toolCallId, String text, long at, Changes changes) {
    Item item = openTool(turnId, toolCallId, false, null, null, at, changes);
    changes.commandOutput(turnId, item.id, text);
  }

  /** A command ended: what it was and where it ran, as recorded or else as known while it ran. */
  void commandCompleted(ThreadEvent.CommandCompleted command, Changes changes) {
    long startedAt = command.durationMs() == null ? command.at() : command.at() - command.durationMs();
    Item item = openTool(command.turnId(), command.toolCallId(), false, null, null, startedAt, changes);
    tools.remove(command.toolCallId());
    commands.remove(command.toolCallId());
    approvedCommand = null; // that approval was this command's
    approvedCwd = null;
    complete(item, CodexItem.commandExecution(item.id, command.command() != null ? command.command() : item.command,
        item.cwd, CodexDialect.commandStatus(command.exitCode()), command.output(), command.exitCode(),
        command.durationMs(), item.startedAt, command.at()), command.turnId(), changes);
  }

  /** A tool call (not a command, not a file change) ended. */
  void toolCall(ThreadEvent.ToolCallRecorded call, Changes changes) {
    Item item = openTool(call.turnId(), call.toolCallId(), true, call.toolName(), call.argumentsJson(), call.at(),
        changes);
    tools.remove(call.toolCallId());
    String tool = call.toolName() != null ? call.toolName() : item.toolName;
    String arguments = call.argumentsJson() != null ? call.argumentsJson() : item.argumentsJson;
    complete(item, CodexItem.dynamicToolCall(item.id, tool, arguments, CodexDialect.toolStatus(call.status()),
        call.output(), item.startedAt, call.at()), call.turnId(), changes);
  }

  /** A file the agent changed: the tool call that changed it is done, the change is an item of its own. */
  void fileChanged(ThreadEvent.FileChanged change, Changes changes) {
    String turnId = change.turnId();
    Item tool = tools.remove(change.toolCallId());
    if (tool != null) {
      complete(tool, tool.tool("completed", change.at()), turnId, changes);
    }
    Item item = open(Kind.FILE_CHANGE, fresh(change.toolCallId()), change.at());
    changes.started(turnId, CodexItem.fileChange(item.id, change.path(), change.kind(), change.diff(), "inProgress",
        change.at(), null));
    complete(item, CodexItem.fileChange(item.id, change.path(), change.kind(), change.diff(), "completed", change.at(),
        change.at()), turnId, changes);
    if (change.diff() != null && !change.diff().isEmpty()) {
      diffs.add(change.diff());
    }
    changes.diff(turnId, turnDiff());
  }

  /**
   * The open item of a tool call, started now if it was not: a {@code dynamicToolCall} for a {@code tool}, else
   * a {@code commandExecution}, with the command known for it or approved last, run where that approval said.
   */
  private Item openTool(String turnId, String toolCallId, boolean tool, String toolName, String argumentsJson, long at,
                        Changes changes) {
    Item item = tools.get(toolCallId);
    if (item != null) {
      return item;
    }
    item = open(tool ? Kind.TOOL_CALL : Kind.COMMAND, fresh(toolCallId), at);
    item.toolName = toolName == null ? "tool" : toolName;
    item.argumentsJson = argumentsJson;
    String command = commands.get(toolCallId);
    item.command = command != null ? command : approvedCommand;
    item.cwd = approvedCwd != null ? approvedCwd : threadCwd;
    tools.put(toolCallId, item);
    changes.started(turnId, item.shape());
    return item;
  }

  // ---- plans and approvals -------------------------------------------------------------------------------

  /** A plan's new revision: the plan item (its id the plan's) becomes it. */
  void plan(ThreadEvent.PlanUpdated plan) {
    Item item = plans.get(plan.planId());
    if (item == null) {
      ids.add(plan.planId());
      item = new Item(Kind.PLAN, plan.planId(), plan.at());
      plans.put(plan.planId(), item);
      keep(item);
    }
    item.done = CodexItem.plan(item.id, plan.explanation(), plan.steps().stream()
        .map(step -> new CodexItem.PlanStepText(step.step(), step.status())).toList(), item.startedAt, plan.at());
  }

  void approvalRequested(ThreadEvent.ApprovalRequested request) {
    if ("command".equals(request.kind())) {
      approvedCommand = request.command();
      approvedCwd = request.cwd();
    }
  }

  void approvalDecided(ThreadEvent.ApprovalDecided decided) {
    if (!approves(decided.decision())) {
      approvedCommand = null; // a declined command does not run
      approvedCwd = null;
    }
  }

  /** The turn ended: what is still open completes now; a tool call still running did not finish. */
  void end(String turnId, long at, Changes changes) {
    if (agent != null) { // a turn cut short keeps the text that streamed
      completeAgentMessage(turnId, agent.text.toString(), at, changes);
    }
    for (Item item : reasoning.values()) {
      complete(item, CodexItem.reasoning(item.id, item.text.toString(), item.startedAt, at), turnId, changes);
    }
    for (Item item : tools.values()) {
      complete(item, item.tool("failed", at), turnId, changes);
    }
    reasoning.clear();
    tools.clear();
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  /** Whether Legato's recorded decision ({@code accept}, {@code acceptForSession}, ...) approves. */
  static boolean approves(String decision) {
    return "accept".equals(decision) || "acceptForSession".equals(decision);
  }

  /** The turn's changes so far as one unified diff. */
  private String turnDiff() {
    StringBuilder all = new StringBuilder();
    for (String diff : diffs) {
      all.append(diff);
      if (!diff.endsWith("\n")) {
        all.append('\n');
      }
    }
    return all.toString();
  }

  /** {@code base}, or {@code base-2}, {@code base-3}... when the turn already has an item with that id. */
  private String fresh(String base) {
    String id = base == null || base.isEmpty() ? "item" : base;
    for (int n = 2; ids.contains(id); n++) {
      id = base + "-" + n;
    }
    return id;
  }

  private Item open(Kind kind, String id, long at) {
    ids.add(id);
    Item item = new Item(kind, id, at);
    keep(item);
    return item;
  }

  private void keep(Item item) {
    if (kept != null) {
      kept.add(item);
    }
  }

  private void complete(Item item, CodexItem shape, String turnId, Changes changes) {
    item.done = shape;
    changes.completed(turnId, shape);
  }

  private enum Kind { USER_MESSAGE, AGENT_MESSAGE, REASONING, COMMAND, TOOL_CALL, FILE_CHANGE, PLAN }

  /** One item of the turn: what it is while open, and its final shape once completed. */
  private static final class Item {
    final Kind kind;
    final String id;
    final long startedAt;
    /** An agent message's own id (its item id may have a suffix); its text, or a reasoning's, so far. */
    String messageId;
    final StringBuilder text = new StringBuilder();
    /** A tool call's: the tool, or the command and where it runs. */
    String toolName;
    String argumentsJson;
    String command;
    String cwd;
    CodexItem done;

    Item(Kind kind, String id, long startedAt) {
      this.kind = kind;
      this.id = id;
      this.startedAt = startedAt;
    }

    Item copy() {
      Item copy = new Item(kind, id, startedAt);
      copy.messageId = messageId;
      copy.text.append(text);
      copy.toolName = toolName;
      copy.argumentsJson = argumentsJson;
      copy.command = command;
      copy.cwd = cwd;
      copy.done = done;
      return copy;
    }

    /** The item as it stands: its final shape once completed, else as it runs. */
    CodexItem shape() {
      if (done != null) {
        return done;
      }
      return switch (kind) {
        case AGENT_MESSAGE -> CodexItem.agentMessage(id, text.toString(), startedAt, null);
        case REASONING -> CodexItem.reasoning(id, text.toString(), startedAt, null);
        case COMMAND, TOOL_CALL -> tool("inProgress", null);
        default -> throw new IllegalStateException(kind + " items complete as they start");
      };
    }

    /** This command or tool call with {@code status} and no result, completed at {@code completedAt} (or not). */
    CodexItem tool(String status, Long completedAt) {
      return kind == Kind.TOOL_CALL
          ? CodexItem.dynamicToolCall(id, toolName, argumentsJson, status, null, startedAt, completedAt)
          : CodexItem.commandExecution(id, command, cwd, status, null, null, null, startedAt, completedAt);
    }
  }
}
