package dev.legato.podium;

import java.util.List;
import java.util.Map;

/** What Legato tells an agent over its native WebSocket. */
public sealed interface AgentCommand {

  /**
   * Start work on a user message.
   *
   * @param history what the agent should know of the conversation (used after a re-spawn); may be empty
   */
  record ProcessMessage(String messageId, String text, List<HistoryMessage> history) implements AgentCommand {}

  /** Guidance while the agent works. */
  record Steer(String text) implements AgentCommand {}

  /** The answer to a permission request. */
  record ApprovalResponse(String requestId, Decision decision) implements AgentCommand {}

  /** The answer to a question request; {@code dismissed} when the user declined to answer. */
  record Answer(String requestId, Map<String, List<String>> answers, boolean dismissed) implements AgentCommand {}

  /** Stop the current message. */
  record Interrupt(String messageId) implements AgentCommand {}

  record HistoryMessage(Role role, String text) {}

  enum Role { USER, ASSISTANT }

  /** A client's decision on an approval; the first two approve. */
  enum Decision {
    ACCEPT("accept"), ACCEPT_FOR_SESSION("acceptForSession"), DECLINE("decline"), CANCEL("cancel");

    private final String wire;

    Decision(String wire) {
      this.wire = wire;
    }

    public boolean approves() {
      return this == ACCEPT || this == ACCEPT_FOR_SESSION;
    }

    /** As the Codex protocol spells it (and the journal records it). */
    public String wire() {
      return wire;
    }
  }
}
