package dev.legato.gateway.protocol;

import java.util.List;

/**
 * A Codex {@code Turn} (app-server v2, Codex 0.169.0), every member a Codex server writes, in its order and nulls
 * included. Built from Legato's facts by {@link CodexDialect#turn}.
 *
 * @param itemsView {@code full} when the turn carries its items (thread/resume, thread/read), else
 *     {@code notLoaded}: the items travel as item notifications
 * @param status {@code inProgress}, {@code completed}, {@code interrupted} or {@code failed}
 * @param completedAt null while the turn runs, as its duration
 */
public record CodexTurn(String id, NoValue rootTurnId, List<CodexItem> items, String itemsView, String status,
                        TurnError error, long startedAt, Long completedAt, Long durationMs) {

  /** A {@code TurnError}: why a turn failed or was interrupted. */
  public record TurnError(String message, NoValue codexErrorInfo, NoValue additionalDetails, NoValue misalignment) {
    public static TurnError of(String message) {
      return new TurnError(message, null, null, null);
    }
  }
}
