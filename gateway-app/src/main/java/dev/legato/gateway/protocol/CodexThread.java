package dev.legato.gateway.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * A Codex {@code Thread} (app-server v2, Codex 0.169.0), as {@code thread/start}, {@code thread/list} and the
 * other thread answers carry it: every member a Codex server writes, in its order and nulls included
 * ({@link NoValue}: a member Legato has no value for). Built from Legato's facts by {@link CodexDialect#thread}.
 *
 * @param canAcceptDirectInput a started, unarchived thread takes turns
 * @param turns the turns with their items for thread/resume and thread/read; else empty
 */
public record CodexThread(String id, String sessionId, NoValue environments, NoValue extra, String forkedFromId,
                          NoValue attachedToThreadId, NoValue parentThreadId, String preview, boolean ephemeral,
                          NoValue section, NoValue sectionEnteredAt, NoValue projectId, String historyMode,
                          String modelProvider, String model, NoValue reasoningEffort, long createdAt, long updatedAt,
                          long recencyAt, Status status, NoValue path, String cwd, String cliVersion,
                          NoValue originator, String source, boolean canAcceptDirectInput, NoValue threadSource,
                          NoValue agentNickname, NoValue agentRole, NoValue gitInfo, String name,
                          NoValue daybreakEnabled, List<CodexTurn> turns) {

  /** {@code ThreadStatus}: {@code idle}, or {@code active} with its flags (an idle thread has none). */
  public record Status(String type, @JsonInclude(JsonInclude.Include.NON_NULL) List<String> activeFlags) {}

  /** This thread as a fork of {@code sourceId}. */
  public CodexThread forkedFrom(String sourceId) {
    return new CodexThread(id, sessionId, environments, extra, sourceId, attachedToThreadId, parentThreadId, preview,
        ephemeral, section, sectionEnteredAt, projectId, historyMode, modelProvider, model, reasoningEffort, createdAt,
        updatedAt, recencyAt, status, path, cwd, cliVersion, originator, source, canAcceptDirectInput, threadSource,
        agentNickname, agentRole, gitInfo, name, daybreakEnabled, turns);
  }
}
