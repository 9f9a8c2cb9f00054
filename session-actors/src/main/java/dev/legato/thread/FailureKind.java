package dev.legato.thread;

import java.util.Locale;

/**
 * Whose fault a refusal from a thread or registry is, read from its message (a {@code StatusReply} error is
 * a string, also across nodes): a failure that is not the client's starts with a word that says where it
 * happened ({@code "podium: "}, {@code "storage: "}, {@code "timeout: "}); a request that names what does not
 * exist starts with {@code "invalid params: "}; anything else is the request's (not legal in the thread's
 * state, unknown, malformed). The gateway turns this into the JSON-RPC code class.
 */
public enum FailureKind {
  /** The request cannot be done (in this state): retrying it unchanged will not help. */
  REQUEST(""),
  /** The request names something its target does not have (a fork's turn): JSON-RPC's invalid params. */
  PARAMS("invalid params: "),
  /** Podium or the agent could not do it (unavailable, refused, gone): retrying later may help. */
  PODIUM("podium: "),
  /** The thread's storage failed (e.g. disk full); nothing was recorded. */
  STORAGE(FailedWrites.PREFIX),
  /** Part of Legato did not answer in time. */
  TIMEOUT("timeout: ");

  private final String prefix;

  FailureKind(String prefix) {
    this.prefix = prefix;
  }

  /** The message a client reads, tagged with this kind. */
  public String describe(String message) {
    return prefix + message;
  }

  public static FailureKind of(String message) {
    if (message == null) {
      return REQUEST;
    }
    String lower = message.toLowerCase(Locale.ROOT);
    for (FailureKind kind : values()) {
      if (kind != REQUEST && lower.startsWith(kind.prefix)) {
        return kind;
      }
    }
    return REQUEST;
  }
}
