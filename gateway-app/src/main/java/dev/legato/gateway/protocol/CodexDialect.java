package dev.legato.gateway.protocol;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * Legato's facts as Codex app-server v2 shapes (Codex 0.169.0): a thread ({@link CodexThread}) and its status,
 * a turn ({@link CodexTurn}), the answers that carry them, and the Codex words for Legato's outcomes and
 * statuses. Items are {@link CodexItem}s, notifications {@link CodexNotifications}, the approvals and questions
 * sent to a client {@link CodexRequests}. Pure: no I/O, no state.
 */
public final class CodexDialect {
  /** Legato's version as the {@code cliVersion} of the threads it creates. */
  public static final String CLI_VERSION = "0.1.0";
  public static final String MODEL_PROVIDER = "legato";

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

  // ---- threads -------------------------------------------------------------------------------------------

  /** A v2 {@code Thread}; {@code turns} only for thread/resume and thread/read, else empty. */
  public static CodexThread thread(ThreadFacts facts, List<CodexTurn> turns) {
    String id = facts.id().toString();
    long updatedAt = seconds(Math.max(facts.updatedAtMs(), facts.createdAtMs()));
    // A started, unarchived thread takes turns; Codex leaves this null for a thread that is not loaded.
    boolean takesTurns = !facts.archived() && !"new".equals(facts.phase());
    return new CodexThread(id, id, null, null, null, null, null, facts.preview() == null ? "" : facts.preview(),
        false, null, null, null, "legacy", MODEL_PROVIDER, facts.agentType(), null, seconds(facts.createdAtMs()),
        updatedAt, updatedAt, status(facts.phase(), facts.pendingKind()), null, absolute(facts.cwd()), CLI_VERSION,
        null, "appServer", takesTurns, null, null, null, null, facts.name(), null, turns == null ? List.of() : turns);
  }

  /** {@code ThreadStatus}: {@code idle}, or {@code active} with what a waiting thread waits for. */
  public static CodexThread.Status status(String phase, String pendingKind) {
    if (!"running".equals(phase) && !"waiting".equals(phase)) {
      return new CodexThread.Status("idle", null);
    }
    return new CodexThread.Status("active", "waiting".equals(phase) && pendingKind != null
        ? List.of("question".equals(pendingKind) ? "waitingOnUserInput" : "waitingOnApproval") : List.of());
  }

  // ---- turns ---------------------------------------------------------------------------------------------

  /**
   * A v2 {@code Turn}.
   *
   * @param items the turn's items for thread/resume and thread/read; null for turn/started, turn/completed
   *     and turn/start, whose turns carry no items (the items travel as item notifications)
   * @param status {@code inProgress}, {@code completed}, {@code interrupted} or {@code failed}
   * @param error why a failed or interrupted turn ended; null for none
   * @param completedAtMs null while the turn runs
   */
  public static CodexTurn turn(String id, List<CodexItem> items, String status, String error, long startedAtMs,
                               Long completedAtMs) {
    return new CodexTurn(id, null, items == null ? List.of() : items, items == null ? "notLoaded" : "full", status,
        error == null ? null : CodexTurn.TurnError.of(error), seconds(startedAtMs),
        completedAtMs == null ? null : seconds(completedAtMs),
        completedAtMs == null ? null : Math.max(0, completedAtMs - startedAtMs));
  }

  /** Legato's turn outcome ({@code completed}, {@code interrupted}, {@code failed}) as a {@code TurnStatus}. */
  public static String turnStatus(String outcome) {
    return switch (outcome == null ? "" : outcome) {
      case "completed", "interrupted", "failed" -> outcome;
      default -> "failed";
    };
  }

  /** Why a turn ended badly ({@code error}, or a default for a failure) as a Codex turn error; none when completed. */
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

  /** How a command ended: a non-zero exit code failed it; no exit code is taken as a normal end. */
  public static String commandStatus(Integer exitCode) {
    return exitCode == null || exitCode == 0 ? "completed" : "failed";
  }

  /** Legato's tool call status ({@code completed} or {@code failed}) as a {@code DynamicToolCallStatus}. */
  public static String toolStatus(String status) {
    return "completed".equals(status) ? "completed" : "failed";
  }

  /** Legato's plan step status ({@code pending}, {@code in_progress}, {@code completed}) as a TurnPlanStepStatus. */
  public static String planStepStatus(String status) {
    String s = status == null ? "" : status.toLowerCase(Locale.ROOT).replace("_", "").replace("-", "");
    return switch (s) {
      case "inprogress", "running", "active", "started" -> "inProgress";
      case "completed", "complete", "done", "finished" -> "completed";
      default -> "pending";
    };
  }

  // ---- answers -------------------------------------------------------------------------------------------

  /** The result of {@code thread/start}: the thread and the settings it runs with. */
  public record ThreadStartResponse(CodexThread thread, String model, String modelProvider, NoValue serviceTier,
                                    List<String> disabledPluginIds, String cwd, List<String> runtimeWorkspaceRoots,
                                    List<String> instructionSources, JsonNode approvalPolicy, String approvalsReviewer,
                                    Object sandbox, NoValue activePermissionProfile, NoValue reasoningEffort,
                                    String multiAgentMode) {}

  /** The result of {@code thread/resume}: as {@code thread/start}'s, and nothing to page. */
  public record ThreadResumeResponse(@JsonUnwrapped ThreadStartResponse start, NoValue collaborationMode,
                                     NoValue initialTurnsPage, NoValue turnsBackwardsCursor,
                                     NoValue itemsBackwardsCursor) {}

  /** The sandbox a thread's agent runs in unless the client says otherwise: writes in its cwd, no network. */
  public record WorkspaceWrite(String type, List<String> writableRoots, boolean networkAccess,
                               boolean excludeTmpdirEnvVar, boolean excludeSlashTmp) {}

  /** {@code {thread}}: the result of {@code thread/read} and {@code thread/unarchive}. */
  public record ThreadResponse(CodexThread thread) {}

  /** {@code {turn}}: the result of {@code turn/start}. */
  public record TurnResponse(CodexTurn turn) {}

  /** A page of {@code thread/list} or {@code thread/turns/list}; {@code nextCursor} null on the last one. */
  public record Page<T>(List<T> data, String nextCursor, NoValue backwardsCursor) {}

  /**
   * The result of {@code thread/start}.
   *
   * @param approvalPolicy an {@code AskForApproval} as the client sent it; null for {@code on-request}
   * @param sandbox a {@code SandboxPolicy} as the client sent it; null for workspace-write in the thread's cwd
   */
  public static ThreadStartResponse threadStartResponse(CodexThread thread, JsonNode approvalPolicy, JsonNode sandbox) {
    String cwd = thread.cwd();
    return new ThreadStartResponse(thread, thread.model() == null ? "" : thread.model(), MODEL_PROVIDER, null,
        List.of(), cwd, List.of(cwd), List.of(),
        approvalPolicy == null || approvalPolicy.isNull() ? TextNode.valueOf("on-request") : approvalPolicy, "user",
        sandbox == null || sandbox.isNull() ? new WorkspaceWrite("workspaceWrite", List.of(cwd), false, false, false)
            : sandbox, null, null, "explicitRequestOnly");
  }

  /** The result of {@code thread/resume}: the thread with its turns, and its settings. */
  public static ThreadResumeResponse threadResumeResponse(CodexThread thread, JsonNode approvalPolicy,
                                                          JsonNode sandbox) {
    return new ThreadResumeResponse(threadStartResponse(thread, approvalPolicy, sandbox), null, null, null, null);
  }

  public static ThreadResponse threadReadResponse(CodexThread thread) {
    return new ThreadResponse(thread);
  }

  /** The result of {@code turn/start}: the turn as it starts, without items. */
  public static TurnResponse turnStartResponse(CodexTurn turn) {
    return new TurnResponse(turn);
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  /** Unix seconds from Legato's epoch milliseconds. */
  public static long seconds(long epochMs) {
    return Math.floorDiv(epochMs, 1000);
  }

  /** Codex requires an absolute cwd; a thread without one (or with a relative one) reports the root. */
  static String absolute(String cwd) {
    return cwd != null && cwd.startsWith("/") ? cwd : "/";
  }
}
