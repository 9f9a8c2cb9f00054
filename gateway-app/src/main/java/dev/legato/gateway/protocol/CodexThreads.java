package dev.legato.gateway.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import dev.legato.gateway.protocol.CodexDialect.Page;
import dev.legato.gateway.protocol.CodexDialect.ThreadResponse;
import dev.legato.registry.ThreadRegistry;
import dev.legato.registry.ThreadSummary;
import dev.legato.thread.ThreadCommand;
import dev.legato.thread.ThreadEvent;
import dev.legato.thread.ThreadUpdate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;

/**
 * Codex views of the registry's summaries and the threads' histories, and one {@link Subscription} per
 * thread a connection follows: it renders history replayed before the {@code Live} marker and live updates
 * after it.
 */
public final class CodexThreads {
  private CodexThreads() {}

  /** A server request a connection sent and waits on, by the thread's own request id. */
  public record PendingRequest(UUID threadId, String requestId, String method) {
    public boolean isQuestion() {
      return method.equals("item/tool/requestUserInput");
    }
  }

  /** A connection following one thread. */
  public static final class Subscription {
    private final ThreadSummary summary;
    private final ThreadHistory history;
    private final LiveRenderer renderer;
    private final String phase;
    private boolean live;
    private UUID forkedFrom;

    private Subscription(ThreadSummary summary, ThreadHistory history, String phase) {
      this.summary = summary;
      this.history = history;
      this.phase = phase;
      this.renderer = new LiveRenderer(summary.threadId().toString(), cwd(summary, history), history);
    }

    /** The client was answered that entity {@code by} started turn {@code turnId} ({@link LiveRenderer#accepted}). */
    public void turnAccepted(String turnId, Object by) {
      renderer.accepted(turnId, by);
    }

    public List<Outbound> render(ThreadUpdate update) {
      if (update instanceof ThreadUpdate.Live marker) {
        live = true;
        return renderer.historyEnds(marker);
      }
      if (!live && update instanceof ThreadUpdate.Persisted persisted) {
        return renderer.renderReplayed(persisted); // news to this client: what it missed since it asked
      }
      return renderer.render(update);
    }

    CodexThread thread(boolean withTurns) {
      CodexThread thread = CodexThreads.thread(summary, history, phase, withTurns);
      return forkedFrom == null ? thread : thread.forkedFrom(forkedFrom.toString());
    }

    public CodexDialect.ThreadStartResponse startResponse() {
      return CodexDialect.threadStartResponse(thread(false), null, null);
    }

    public JsonRpc.Notification startedNotification() {
      return CodexNotifications.threadStarted(thread(false));
    }

    /** @param withTurns false for {@code excludeTurns}: the client pages them with thread/turns/list */
    public CodexDialect.ThreadResumeResponse resumeResponse(boolean withTurns) {
      return CodexDialect.threadResumeResponse(thread(withTurns), null, null);
    }
  }

  public static Subscription started(ThreadSummary summary) {
    return new Subscription(summary, null, "ready");
  }

  /** A fork, followed from its creation; its Thread names the thread it was forked from. */
  public static Subscription forked(ThreadSummary summary, ThreadCommand.Resumed read, UUID forkedFrom) {
    Subscription subscription = resumed(summary, read);
    subscription.forkedFrom = forkedFrom;
    return subscription;
  }

  public static Subscription resumed(ThreadSummary summary, ThreadCommand.Resumed resumed) {
    return new Subscription(summary, ThreadHistory.of(resumed.history()), resumed.status().phase());
  }

  public static ThreadResponse readResponse(ThreadSummary summary, ThreadCommand.Resumed read, boolean includeTurns) {
    return CodexDialect.threadReadResponse(thread(summary, ThreadHistory.of(read.history()), read.status().phase(),
        includeTurns));
  }

  /**
   * One page of a thread's turns for {@code thread/turns/list} (the TUI asks for the latest one of each thread
   * it lists): newest first unless {@code sortDirection} is {@code asc}; the cursor is the position after the
   * page in that order.
   */
  public static Page<CodexTurn> turnsListResponse(ThreadSummary summary, ThreadCommand.Resumed read, JsonNode params) {
    List<CodexTurn> turns = new ArrayList<>(ThreadHistory.of(read.history()).turns());
    if (!"asc".equals(params.path("sortDirection").asText())) {
      Collections.reverse(turns);
    }
    int limit = params.path("limit").asInt(0);
    String cursor = params.path("cursor").isTextual() ? params.path("cursor").asText() : null;
    int from;
    try {
      from = cursor == null ? 0 : Integer.parseInt(cursor);
    } catch (NumberFormatException e) {
      throw JsonRpc.Failure.params("not a cursor of thread/turns/list: " + cursor);
    }
    if (from < 0 || limit < 0) {
      throw JsonRpc.Failure.params("cursor and limit must not be negative");
    }
    from = Math.min(from, turns.size());
    int to = limit == 0 ? turns.size() : Math.min(turns.size(), from + limit);
    return new Page<>(List.copyOf(turns.subList(from, to)), to < turns.size() ? String.valueOf(to) : null, null);
  }

  public static Page<CodexThread> listResponse(ThreadRegistry.ThreadPage page) {
    return new Page<>(page.threads().stream().map(summary -> thread(summary, null, "ready", false)).toList(),
        page.nextCursor(), null);
  }

  public static ThreadResponse unarchiveResponse(ThreadSummary summary) {
    return new ThreadResponse(thread(summary, null, "ready", false));
  }

  public static CodexDialect.TurnResponse turnStartResponse(String turnId) {
    return CodexDialect.turnStartResponse(CodexDialect.turn(turnId, null, "inProgress", null,
        System.currentTimeMillis(), null));
  }

  private static CodexThread thread(ThreadSummary summary, ThreadHistory history, String phase, boolean withTurns) {
    String pendingKind = history == null ? null : history.pendingKind();
    CodexDialect.ThreadFacts facts = new CodexDialect.ThreadFacts(summary.threadId(), summary.name(),
        summary.preview(), summary.agentType(), cwd(summary, history), summary.createdAt(),
        Math.max(summary.updatedAt(), history == null ? 0 : history.updatedAtMs()), phase, pendingKind,
        summary.archived());
    return CodexDialect.thread(facts, withTurns && history != null ? history.turns() : List.of());
  }

  private static String cwd(ThreadSummary summary, ThreadHistory history) {
    String cwd = summary.cwd() != null ? summary.cwd() : history == null ? null : history.cwd();
    return cwd == null || !cwd.startsWith("/") ? "/" : cwd;
  }
}
