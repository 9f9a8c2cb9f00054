package dev.legato.gateway.protocol;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.thread.ThreadUpdate;
import dev.legato.thread.ThreadEvent;
import dev.legato.thread.ThreadCommand;
import dev.legato.gateway.protocol.CodexDialect.ThreadFacts;
import dev.legato.gateway.protocol.CodexDialect.TokenUsage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * A thread's persisted history folded into Codex {@code Turn}s with their items, in the order they happened,
 * and the facts a Codex {@code Thread} needs (created, last activity, cwd, agent type, preview, archived,
 * token usage). Streamed text windows become one {@code agentMessage} per message: the whole message replaces
 * them, and a turn that ended without it keeps their text. Not thread-safe; pure.
 */
public final class ThreadHistory {
  private final List<TurnRecord> turns = new ArrayList<>();
  private final Map<String, TurnRecord> turnsById = new HashMap<>();
  private long createdAtMs;
  private long updatedAtMs;
  private String cwd;
  private String agentType;
  private String preview;
  private boolean archived;
  private ThreadEvent.Pending pending;
  private TokenUsage total = TokenUsage.NONE;

  /** Folds {@code history} (as {@link ThreadCommand.Resumed#history()} returns it). */
  public static ThreadHistory of(List<ThreadUpdate.Persisted> history) {
    ThreadHistory folded = new ThreadHistory();
    history.forEach(persisted -> folded.apply(persisted.event()));
    return folded;
  }

  /** Adds one more event, e.g. a live one, so that the history stays current. */
  public void apply(ThreadEvent event) {
    long at = at(event);
    if (at > updatedAtMs) {
      updatedAtMs = at;
    }
    if (event instanceof ThreadEvent.ThreadCreated created) {
      createdAtMs = created.at();
      cwd = created.cwd();
      agentType = created.agentType();
    } else if (event instanceof ThreadEvent.TurnStarted started) {
      TurnRecord turn = new TurnRecord(started.turnId(), started.at());
      turns.add(turn);
      turnsById.put(turn.id, turn);
      if (preview == null) {
        preview = started.text();
      }
      turn.add(started.messageId(), CodexDialect.userMessage(started.messageId(), started.text()), started.at(), started.at());
    } else if (event instanceof ThreadEvent.AgentMessageDelta delta) {
      TurnRecord turn = turnsById.get(delta.turnId());
      if (turn != null) {
        turn.agentText(delta.itemId(), delta.at()).append(delta.text());
        turn.agentItem.put("text", turn.agentText.toString());
      }
    } else if (event instanceof ThreadEvent.AgentMessage message) {
      TurnRecord turn = turnsById.get(message.turnId());
      if (turn != null) {
        turn.agentText(message.itemId(), message.at());
        turn.agentItem.put("text", message.text() == null ? "" : message.text());
        turn.closeAgentMessage(message.at());
      }
    } else if (event instanceof ThreadEvent.ReasoningRecorded reasoning) {
      TurnRecord turn = turnsById.get(reasoning.turnId());
      if (turn != null) {
        String id = turn.fresh(reasoning.thinkingId());
        turn.add(id, CodexDialect.reasoning(id, reasoning.text()), reasoning.at(), reasoning.at());
      }
    } else if (event instanceof ThreadEvent.ApprovalRequested request) {
      pending = request;
      TurnRecord turn = turnsById.get(request.turnId());
      if (turn != null && "command".equals(request.kind())) {
        turn.approvedCommand = request.command();
        turn.approvedCwd = request.cwd();
      }
    } else if (event instanceof ThreadEvent.QuestionAsked question) {
      pending = question;
    } else if (event instanceof ThreadEvent.ApprovalDecided decided) {
      pending = null;
      TurnRecord turn = turnsById.get(decided.request().turnId());
      if (turn != null && !LiveRenderer.approves(decided.decision())) {
        turn.approvedCommand = null; // a declined command does not run
        turn.approvedCwd = null;
      }
    } else if (event instanceof ThreadEvent.QuestionAnswered) {
      pending = null;
    } else if (event instanceof ThreadEvent.CommandCompleted command) {
      TurnRecord turn = turnsById.get(command.turnId());
      if (turn != null) {
        String id = turn.fresh(command.toolCallId());
        turn.add(id, CodexDialect.commandExecution(id, command.command() != null ? command.command() : turn.approvedCommand,
            commandCwd(turn.approvedCwd),
            CodexDialect.commandStatus(command.exitCode()), command.output(), command.exitCode(), command.durationMs()),
            command.durationMs() == null ? command.at() : command.at() - command.durationMs(), command.at());
        turn.approvedCommand = null;
        turn.approvedCwd = null;
      }
    } else if (event instanceof ThreadEvent.FileChanged change) {
      TurnRecord turn = turnsById.get(change.turnId());
      if (turn != null) {
        String id = turn.fresh(change.toolCallId());
        turn.add(id, CodexDialect.fileChange(id, change.path(), change.kind(), change.diff(), "completed"),
            change.at(), change.at());
        turn.diff.add(change.diff());
      }
    } else if (event instanceof ThreadEvent.ToolCallRecorded call) {
      TurnRecord turn = turnsById.get(call.turnId());
      if (turn != null) {
        String id = turn.fresh(call.toolCallId());
        turn.add(id, CodexDialect.dynamicToolCall(id, call.toolName(), call.argumentsJson(),
            CodexDialect.toolStatus(call.status()), call.output()), call.at(), call.at());
      }
    } else if (event instanceof ThreadEvent.PlanUpdated plan) {
      TurnRecord turn = turnsById.get(plan.turnId());
      if (turn != null) {
        ObjectNode item = planItem(plan.planId(), plan);
        ObjectNode existing = turn.plans.get(plan.planId());
        if (existing == null) {
          turn.add(plan.planId(), item, plan.at(), plan.at());
          turn.plans.put(plan.planId(), item);
          turn.ids.add(plan.planId());
        } else {
          existing.put("text", item.path("text").asText()); // the latest revision of a plan is the plan
          existing.put("completedAtMs", plan.at());
        }
      }
    } else if (event instanceof ThreadEvent.TurnEnded ended) {
      TurnRecord turn = turnsById.get(ended.turnId());
      if (turn != null) {
        turn.closeAgentMessage(ended.at());
        turn.status = CodexDialect.turnStatus(ended.outcome());
        turn.error = turnError(ended);
        turn.completedAtMs = ended.at();
        turn.usage = new TokenUsage(ended.inputTokens(), ended.outputTokens());
        total = total.plus(turn.usage);
      }
      pending = null;
    } else if (event instanceof ThreadEvent.Archived) {
      archived = true;
    } else if (event instanceof ThreadEvent.Unarchived) {
      archived = false;
    }
    // InstanceReplaced, MemoryExtracted, SummaryCreated: nothing a Codex client shows
  }

  /** The turns with their items (copies: the caller may change them). */
  public List<ObjectNode> turns() {
    List<ObjectNode> result = new ArrayList<>(turns.size());
    for (TurnRecord turn : turns) {
      result.add(turn.toTurn());
    }
    return result;
  }

  /** The Codex facts of this thread; {@code phase} is the thread's own ({@link ThreadCommand.ThreadStatus#phase()}). */
  public ThreadFacts facts(UUID id, String name, String phase) {
    return new ThreadFacts(id, name, preview(), agentType, cwd, createdAtMs, updatedAtMs, phase,
        "waiting".equals(phase) ? pendingKind() : null, archived);
  }

  public long createdAtMs() {
    return createdAtMs;
  }

  /** When anything last happened in the thread. */
  public long updatedAtMs() {
    return updatedAtMs;
  }

  public String cwd() {
    return cwd;
  }

  public String agentType() {
    return agentType;
  }

  /** The first user message, or the empty string. */
  public String preview() {
    return preview == null ? "" : preview;
  }

  public boolean archived() {
    return archived;
  }

  /** What the thread waits for, if its last turn is waiting. */
  public ThreadEvent.Pending pending() {
    return pending;
  }

  /** {@code command}, {@code file_change}, {@code permissions}, {@code question}, or null when nothing waits. */
  public String pendingKind() {
    if (pending instanceof ThreadEvent.ApprovalRequested approval) {
      return approval.kind();
    }
    return pending instanceof ThreadEvent.QuestionAsked ? "question" : null;
  }

  /** Each ended turn's token usage, by turn id, in order. */
  public Map<String, TokenUsage> tokenUsageByTurn() {
    Map<String, TokenUsage> usage = new LinkedHashMap<>();
    turns.stream().filter(turn -> turn.completedAtMs != null).forEach(turn -> usage.put(turn.id, turn.usage));
    return usage;
  }

  public TokenUsage totalTokenUsage() {
    return total;
  }

  /** The id of the turn still in progress at the end of the history, or null. */
  public String inProgressTurnId() {
    TurnRecord last = turns.isEmpty() ? null : turns.get(turns.size() - 1);
    return last != null && last.completedAtMs == null ? last.id : null;
  }

  // ---- for LiveRenderer: where the running turn stands ---------------------------------------------------

  long inProgressTurnStartedAtMs() {
    return turns.get(turns.size() - 1).startedAtMs;
  }

  /** The running turn's streamed message without its whole text yet: {base item id, wire item id, text}. */
  String[] openAgentMessage() {
    TurnRecord turn = turnsById.get(inProgressTurnId());
    return turn == null || turn.agentItem == null ? null
        : new String[] {turn.agentBase, turn.agentItem.path("id").asText(), turn.agentText.toString()};
  }

  Set<String> inProgressItemIds() {
    TurnRecord turn = turnsById.get(inProgressTurnId());
    return turn == null ? Set.of() : Set.copyOf(turn.ids);
  }

  List<String> inProgressDiffs() {
    TurnRecord turn = turnsById.get(inProgressTurnId());
    return turn == null ? List.of() : List.copyOf(turn.diff);
  }

  String inProgressApprovedCommand() {
    TurnRecord turn = turnsById.get(inProgressTurnId());
    return turn == null ? null : turn.approvedCommand;
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  String commandCwd(String approvalCwd) {
    return approvalCwd != null ? approvalCwd : cwd;
  }

  static ObjectNode planItem(String id, ThreadEvent.PlanUpdated plan) {
    return CodexDialect.plan(id, plan.explanation(),
        plan.steps().stream().map(step -> new CodexDialect.PlanStepText(step.step(), step.status())).toList());
  }

  /** Why a turn ended badly, as a Codex turn error; a completed turn has none. */
  static String turnError(ThreadEvent.TurnEnded ended) {
    String status = CodexDialect.turnStatus(ended.outcome());
    if ("completed".equals(status)) {
      return null;
    }
    if (ended.error() != null && !ended.error().isBlank()) {
      return ended.error();
    }
    return "failed".equals(status) ? "the turn failed" : null;
  }

  /** {@code base}, or {@code base-2}, {@code base-3}... when the turn already has an item with that id. */
  static String fresh(Set<String> used, String base) {
    String id = base == null || base.isEmpty() ? "item" : base;
    for (int n = 2; used.contains(id); n++) {
      id = base + "-" + n;
    }
    used.add(id);
    return id;
  }

  private static long at(ThreadEvent event) {
    if (event instanceof ThreadEvent.ThreadCreated e) return e.at();
    if (event instanceof ThreadEvent.TurnStarted e) return e.at();
    if (event instanceof ThreadEvent.InstanceReplaced e) return e.at();
    if (event instanceof ThreadEvent.AgentMessage e) return e.at();
    if (event instanceof ThreadEvent.AgentMessageDelta e) return e.at();
    if (event instanceof ThreadEvent.ApprovalRequested e) return e.at();
    if (event instanceof ThreadEvent.QuestionAsked e) return e.at();
    if (event instanceof ThreadEvent.QuestionAnswered e) return e.at();
    if (event instanceof ThreadEvent.ToolCallRecorded e) return e.at();
    if (event instanceof ThreadEvent.CommandCompleted e) return e.at();
    if (event instanceof ThreadEvent.FileChanged e) return e.at();
    if (event instanceof ThreadEvent.PlanUpdated e) return e.at();
    if (event instanceof ThreadEvent.ReasoningRecorded e) return e.at();
    if (event instanceof ThreadEvent.MemoryExtracted e) return e.at();
    if (event instanceof ThreadEvent.SummaryCreated e) return e.at();
    if (event instanceof ThreadEvent.Archived e) return e.at();
    if (event instanceof ThreadEvent.Unarchived e) return e.at();
    if (event instanceof ThreadEvent.ApprovalDecided e) return e.at();
    if (event instanceof ThreadEvent.TurnEnded e) return e.at();
    return 0;
  }

  /** One turn as it is being folded. */
  private static final class TurnRecord {
    final String id;
    final long startedAtMs;
    final List<ObjectNode> items = new ArrayList<>();
    final Set<String> ids = new HashSet<>();
    final Map<String, ObjectNode> plans = new HashMap<>();
    final List<String> diff = new ArrayList<>();
    /** The message whose windows are streaming in: its own item id, its item, its text so far. */
    String agentBase;
    ObjectNode agentItem;
    StringBuilder agentText;
    /** The command of the last command approval, for the command that runs next (events do not link them). */
    String approvedCommand;
    String approvedCwd;
    String status = "inProgress";
    String error;
    Long completedAtMs;
    TokenUsage usage = TokenUsage.NONE;

    TurnRecord(String id, long startedAtMs) {
      this.id = id;
      this.startedAtMs = startedAtMs;
    }

    String fresh(String base) {
      return ThreadHistory.fresh(ids, base);
    }

    void add(String itemId, ObjectNode item, long startedAt, long completedAt) {
      ids.add(itemId);
      item.put("startedAtMs", startedAt);
      item.put("completedAtMs", completedAt);
      items.add(item);
    }

    /** The text of the streaming message {@code base}, opening its item if it is a new message. */
    StringBuilder agentText(String base, long at) {
      if (agentItem == null || !base.equals(agentBase)) {
        closeAgentMessage(at);
        String itemId = fresh(base);
        agentBase = base;
        agentItem = CodexDialect.agentMessage(itemId, "");
        agentItem.put("startedAtMs", at);
        agentItem.putNull("completedAtMs");
        items.add(agentItem);
        agentText = new StringBuilder();
      }
      return agentText;
    }

    void closeAgentMessage(long at) {
      if (agentItem != null) {
        agentItem.put("completedAtMs", at);
        agentItem = null;
        agentBase = null;
        agentText = null;
      }
    }

    ObjectNode toTurn() {
      List<ObjectNode> copies = new ArrayList<>(items.size());
      items.forEach(item -> copies.add(item.deepCopy()));
      return CodexDialect.turn(id, copies, status, error, startedAtMs, completedAtMs);
    }
  }
}
