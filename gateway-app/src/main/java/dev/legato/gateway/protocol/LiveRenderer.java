package dev.legato.gateway.protocol;

import dev.legato.gateway.protocol.CodexDialect.TokenUsage;
import dev.legato.thread.ThreadEvent;
import dev.legato.thread.ThreadUpdate;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Turns one thread's updates into what one Codex client is sent, in order: notifications, approval and
 * question requests, and the markers of their resolution. One per (connection, thread), fed every update
 * after the {@link ThreadUpdate.Live} marker ({@link #render}) and, for a client that subscribed after a
 * known point, the replayed events before it ({@link #renderReplayed}). What happens to the running turn's
 * items is {@link TurnItems}'s to decide, as for a thread's history; this tells the client about it, and
 * remembers the request the turn waits for and the token totals. Not thread-safe; no I/O.
 */
public final class LiveRenderer {
  /** Why a turn this client heard start, and the thread no longer knows, ended. */
  static final String LOST = "the node running the turn stopped before the turn was saved";

  private final String threadId;
  private final String cwd;
  private final LongSupplier clock;
  private TokenUsage total;
  /** The running turn's items. */
  private TurnItems items;
  /** The approval or question the running turn waits for, until answered or the turn ends. */
  private String pendingRequestId;
  /** The turn this client heard start and not yet end (null: none), and when it started. */
  private String openTurnId;
  private long openTurnStartedAt;
  /** The last turn the client was answered started, by which entity, when; null once its start or end came. */
  private String acceptedTurnId;
  private Object acceptedBy;
  private long acceptedAt;

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
    TurnItems running = history == null ? null : history.inProgressItems();
    this.items = running == null ? TurnItems.live(cwd) : running.continued(cwd);
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
      items.agentText(delta.turnId(), delta.itemId(), delta.text(), clock.getAsLong(), new Told(out));
    } else if (update instanceof ThreadUpdate.ReasoningDelta delta) {
      items.reasoningText(delta.turnId(), delta.itemId(), delta.text(), clock.getAsLong(), new Told(out));
    } else if (update instanceof ThreadUpdate.CommandOutputDelta delta) {
      items.commandOutput(delta.turnId(), delta.itemId(), delta.text(), clock.getAsLong(), new Told(out));
    } else if (update instanceof ThreadUpdate.ToolStarted started) {
      out.addAll(toolStarted(started.turnId(), started.toolCallId(), started.toolName(), started.argumentsJson(),
          started.command()));
    } else if (update instanceof ThreadUpdate.PendingRequest pending) {
      request(pending.request(), out);
    } else if (update instanceof ThreadUpdate.NameChanged renamed) {
      tell(out, CodexNotifications.nameUpdated(threadId, renamed.name()));
    } else if (update instanceof ThreadUpdate.ReplayFailed failed) {
      // There is no turn to hang an `error` on (Codex requires one): the client is warned instead.
      tell(out, CodexNotifications.warning(threadId, "The thread's history could not be replayed: " + failed.reason()));
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
      items.agentText(delta.turnId(), delta.itemId(), delta.text(), delta.at(), new Told(out));
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
    items.toolStarted(turnId, toolCallId, toolName, argumentsJson, command, clock.getAsLong(), new Told(out));
    return out;
  }

  // ---- persisted events ----------------------------------------------------------------------------------

  private void event(ThreadEvent event, List<Outbound> out) {
    if (event instanceof ThreadEvent.TurnStarted started) {
      if (started.turnId().equals(acceptedTurnId)) {
        acceptedTurnId = null; // its own start tells the rest
      }
      openTurnId = started.turnId();
      openTurnStartedAt = started.at();
      items = TurnItems.live(cwd);
      tell(out, CodexNotifications.turnStarted(threadId,
          CodexDialect.turn(started.turnId(), null, "inProgress", null, started.at(), null)));
      status(out, "running", null);
      items.userMessage(started, new Told(out));
    } else if (event instanceof ThreadEvent.AgentMessage message) {
      items.agentMessage(message, new Told(out));
    } else if (event instanceof ThreadEvent.ReasoningRecorded recorded) {
      items.reasoning(recorded, new Told(out));
    } else if (event instanceof ThreadEvent.CommandCompleted command) {
      items.commandCompleted(command, new Told(out));
    } else if (event instanceof ThreadEvent.ToolCallRecorded call) {
      items.toolCall(call, new Told(out));
    } else if (event instanceof ThreadEvent.FileChanged change) {
      items.fileChanged(change, new Told(out));
    } else if (event instanceof ThreadEvent.PlanUpdated plan) {
      items.plan(plan);
      tell(out, CodexNotifications.planUpdated(threadId, plan.turnId(), plan.explanation(), plan.steps().stream()
          .map(step -> new CodexNotifications.PlanStep(step.step(), CodexDialect.planStepStatus(step.status())))
          .toList()));
    } else if (event instanceof ThreadEvent.ApprovalRequested request) {
      request(request, out);
    } else if (event instanceof ThreadEvent.QuestionAsked question) {
      request(question, out);
    } else if (event instanceof ThreadEvent.ApprovalDecided decided) {
      items.approvalDecided(decided);
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
      tell(out, CodexNotifications.archived(threadId));
    } else if (event instanceof ThreadEvent.Unarchived) {
      tell(out, CodexNotifications.unarchived(threadId));
    }
    // AgentMessageDelta: live, its text already went out as deltas. ThreadCreated, InstanceReplaced,
    // MemoryExtracted, SummaryCreated: nothing a Codex client shows.
  }

  private void request(ThreadEvent.Pending pending, List<Outbound> out) {
    pendingRequestId = pending.requestId();
    if (pending instanceof ThreadEvent.ApprovalRequested approval) {
      items.approvalRequested(approval);
      out.add(CodexRequests.approval(threadId, approval, cwd));
      status(out, "waiting", approval.kind());
    } else if (pending instanceof ThreadEvent.QuestionAsked question) {
      out.add(CodexRequests.question(threadId, question));
      status(out, "waiting", "question");
    }
  }

  private void endTurn(ThreadEvent.TurnEnded ended, List<Outbound> out) {
    if (ended.turnId().equals(acceptedTurnId)) {
      acceptedTurnId = null;
    }
    String status = CodexDialect.turnStatus(ended.outcome());
    if (openTurnId != null && !openTurnId.equals(ended.turnId())) {
      // An older turn's end, told by an entity whose history lost this client's open turn (async replicas): the
      // client hears it, and the open turn stays open until the history's end says what became of it.
      tell(out, CodexNotifications.turnCompleted(threadId, CodexDialect.turn(ended.turnId(), null, status,
          CodexDialect.turnError(ended.outcome(), ended.error()), ended.startedAt(), ended.at())));
      return;
    }
    if (pendingRequestId != null) { // the turn ended without the answer (its agent was lost): nobody waits for it
      out.add(new Outbound.Resolved(pendingRequestId, threadId));
      pendingRequestId = null;
    }
    items.end(ended.turnId(), ended.at(), new Told(out));
    TokenUsage usage = new TokenUsage(ended.inputTokens(), ended.outputTokens());
    if (!usage.isEmpty()) {
      total = total.plus(usage);
      tell(out, CodexNotifications.tokenUsageUpdated(threadId, ended.turnId(), usage, total));
    }
    if ("failed".equals(status) && ended.error() != null) { // the client shows why, as for Codex's own failures
      tell(out, CodexNotifications.turnFailed(threadId, ended.turnId(), ended.error()));
    }
    tell(out, CodexNotifications.turnCompleted(threadId, CodexDialect.turn(ended.turnId(), null, status,
        CodexDialect.turnError(ended.outcome(), ended.error()), ended.startedAt(), ended.at())));
    status(out, "ready", null);
    items = TurnItems.live(cwd);
    openTurnId = null;
  }

  /**
   * The client was answered that entity {@code by} started turn {@code turnId}: if its start never reaches this
   * client (that entity's node died right after, with async replicas), a history told by another entity that does
   * not run it ({@link #historyEnds}) says it ended. Its own start and end, when they come, supersede this.
   */
  public void accepted(String turnId, Object by) {
    acceptedTurnId = turnId;
    acceptedBy = by;
    acceptedAt = clock.getAsLong();
  }

  /**
   * Where the history ends for a subscription ({@link ThreadUpdate.Live}), everything before it rendered: a turn
   * this client heard start (or was answered it started) and not end, which the thread is not running, is no more.
   * Its node died before the turn's start reached the replica (async replicas lose up to the last sync-interval),
   * so no end will ever come: the client is told it ended, interrupted, rather than wait for ever.
   */
  public List<Outbound> historyEnds(ThreadUpdate.Live live) {
    List<Outbound> out = new ArrayList<>();
    if (acceptedTurnId != null && !acceptedTurnId.equals(live.runningTurnId()) && live.thread() != null
        && !live.thread().equals(acceptedBy)) {
      // never heard of here: the entity that started it is gone, and its start with it
      String lost = acceptedTurnId;
      acceptedTurnId = null;
      if (openTurnId == null) {
        endTurn(new ThreadEvent.TurnEnded(lost, "interrupted", LOST, acceptedAt, 0, 0, clock.getAsLong()), out);
        return out;
      }
    }
    if (openTurnId == null || openTurnId.equals(live.runningTurnId())) {
      return out;
    }
    endTurn(new ThreadEvent.TurnEnded(openTurnId, "interrupted", LOST, openTurnStartedAt, 0, 0, clock.getAsLong()), out);
    return out;
  }


  private void status(List<Outbound> out, String phase, String pendingKind) {
    tell(out, CodexNotifications.statusChanged(threadId, CodexDialect.status(phase, pendingKind)));
  }

  private static void tell(List<Outbound> out, JsonRpc.Notification notification) {
    out.add(new Outbound.Notification(notification));
  }

  /** The changes of the running turn's items, told as notifications. */
  private final class Told implements TurnItems.Changes {
    private final List<Outbound> out;

    Told(List<Outbound> out) {
      this.out = out;
    }

    @Override
    public void started(String turnId, CodexItem item) {
      tell(out, CodexNotifications.itemStarted(threadId, turnId, item));
    }

    @Override
    public void completed(String turnId, CodexItem item) {
      tell(out, CodexNotifications.itemCompleted(threadId, turnId, item));
    }

    @Override
    public void agentText(String turnId, String itemId, String delta) {
      tell(out, CodexNotifications.agentMessageDelta(threadId, turnId, itemId, delta));
    }

    @Override
    public void reasoningText(String turnId, String itemId, String delta) {
      tell(out, CodexNotifications.reasoningDelta(threadId, turnId, itemId, delta));
    }

    @Override
    public void commandOutput(String turnId, String itemId, String delta) {
      tell(out, CodexNotifications.commandOutputDelta(threadId, turnId, itemId, delta));
    }

    @Override
    public void diff(String turnId, String diff) {
      tell(out, CodexNotifications.diffUpdated(threadId, turnId, diff));
    }
  }
}
