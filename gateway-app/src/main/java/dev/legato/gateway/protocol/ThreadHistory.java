package dev.legato.gateway.protocol;

import static dev.legato.gateway.protocol.TurnItems.Changes.NONE;

import dev.legato.gateway.protocol.CodexDialect.ThreadFacts;
import dev.legato.gateway.protocol.CodexDialect.TokenUsage;
import dev.legato.thread.ThreadCommand;
import dev.legato.thread.ThreadEvent;
import dev.legato.thread.ThreadUpdate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A thread's persisted history folded into Codex {@code Turn}s with their items, in the order they happened,
 * and the facts a Codex {@code Thread} needs (created, last activity, cwd, agent type, preview, archived,
 * token usage). A turn's items are folded by {@link TurnItems}, as for a client that watched them live: streamed
 * text windows become one {@code agentMessage} per message, the whole message replaces them, and a turn that
 * ended without it keeps their text. Not thread-safe; pure.
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
      TurnRecord turn = new TurnRecord(started.turnId(), started.at(), cwd);
      turns.add(turn);
      turnsById.put(turn.id, turn);
      if (preview == null) {
        preview = started.text();
      }
      turn.items.userMessage(started, NONE);
    } else if (event instanceof ThreadEvent.AgentMessageDelta delta) {
      items(delta.turnId()).agentText(delta.turnId(), delta.itemId(), delta.text(), delta.at(), NONE);
    } else if (event instanceof ThreadEvent.AgentMessage message) {
      items(message.turnId()).agentMessage(message, NONE);
    } else if (event instanceof ThreadEvent.ReasoningRecorded reasoning) {
      items(reasoning.turnId()).reasoning(reasoning, NONE);
    } else if (event instanceof ThreadEvent.ApprovalRequested request) {
      pending = request;
      items(request.turnId()).approvalRequested(request);
    } else if (event instanceof ThreadEvent.QuestionAsked question) {
      pending = question;
    } else if (event instanceof ThreadEvent.ApprovalDecided decided) {
      pending = null;
      items(decided.request().turnId()).approvalDecided(decided);
    } else if (event instanceof ThreadEvent.QuestionAnswered) {
      pending = null;
    } else if (event instanceof ThreadEvent.CommandCompleted command) {
      items(command.turnId()).commandCompleted(command, NONE);
    } else if (event instanceof ThreadEvent.FileChanged change) {
      items(change.turnId()).fileChanged(change, NONE);
    } else if (event instanceof ThreadEvent.ToolCallRecorded call) {
      items(call.turnId()).toolCall(call, NONE);
    } else if (event instanceof ThreadEvent.PlanUpdated plan) {
      items(plan.turnId()).plan(plan);
    } else if (event instanceof ThreadEvent.TurnEnded ended) {
      TurnRecord turn = turnsById.get(ended.turnId());
      if (turn != null) {
        turn.items.end(ended.turnId(), ended.at(), NONE);
        turn.status = CodexDialect.turnStatus(ended.outcome());
        turn.error = CodexDialect.turnError(ended.outcome(), ended.error());
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

  /** The turns with their items. */
  public List<CodexTurn> turns() {
    return turns.stream().map(TurnRecord::toTurn).toList();
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

  /** The items of the turn with this id; a turn the history does not know (it started elsewhere) folds nothing. */
  private TurnItems items(String turnId) {
    TurnRecord turn = turnsById.get(turnId);
    return turn == null ? TurnItems.live(cwd) : turn.items;
  }

  /** The items of the turn still in progress at the end of the history, for a client that follows it on; or null. */
  TurnItems inProgressItems() {
    TurnRecord turn = turnsById.get(inProgressTurnId());
    return turn == null ? null : turn.items;
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
    final TurnItems items;
    String status = "inProgress";
    String error;
    Long completedAtMs;
    TokenUsage usage = TokenUsage.NONE;

    TurnRecord(String id, long startedAtMs, String threadCwd) {
      this.id = id;
      this.startedAtMs = startedAtMs;
      this.items = TurnItems.kept(threadCwd);
    }

    CodexTurn toTurn() {
      return CodexDialect.turn(id, items.items(), status, error, startedAtMs, completedAtMs);
    }
  }
}
