package dev.legato.gateway.protocol;

import dev.legato.gateway.protocol.CodexItem.CommandAction;
import dev.legato.thread.ThreadEvent;
import java.util.List;

/**
 * The requests Legato sends a Codex client (app-server v2, Codex 0.169.0): an approval a turn waits for, of a
 * command, a file change or permissions, and the agent's questions. Each is its method and its params, a
 * record with every member a Codex server writes, in its order and nulls included.
 */
public final class CodexRequests {
  /** Answers offered for a command approval; Legato's agents understand these four. */
  static final List<String> DECISIONS = List.of("accept", "acceptForSession", "decline", "cancel");

  private CodexRequests() {}

  record CommandApproval(String threadId, String turnId, String itemId, long startedAtMs, String kind,
                         NoValue environmentId, String reason, String command, String cwd,
                         List<CommandAction> commandActions, List<String> availableDecisions) {}

  record FileChangeApproval(String threadId, String turnId, String itemId, long startedAtMs, String reason,
                            NoValue grantRoot) {}

  /** Legato's agents name no particular grant: the client approves or declines the request as a whole. */
  record PermissionsApproval(String threadId, String turnId, String itemId, long startedAtMs, NoValue environmentId,
                             String cwd, String reason, Permissions permissions) {}

  record Permissions(NoValue fileSystem, NoValue network) {}

  record UserInputRequest(String threadId, String turnId, String itemId, List<Question> questions, boolean isBlocking,
                          NoValue autoResolutionMs) {}

  /** @param isOther with choices the user may still type an answer of their own */
  record Question(String id, String header, String question, boolean isOther, boolean isSecret, List<Option> options) {}

  record Option(String label, String description) {}

  /**
   * The approval a turn waits for, as the request for its kind ({@code command}, {@code file_change},
   * {@code permissions}); anything else is asked as a command.
   *
   * @param cwd the thread's working directory, where a command runs unless the approval says otherwise
   */
  static Outbound.ServerRequest approval(String threadId, ThreadEvent.ApprovalRequested approval, String cwd) {
    String itemId = approval.toolCallId() != null ? approval.toolCallId() : approval.requestId();
    String where = CodexDialect.absolute(approval.cwd() != null ? approval.cwd() : cwd);
    return switch (approval.kind() == null ? "" : approval.kind()) {
      case "file_change" -> new Outbound.ServerRequest(approval.requestId(), threadId,
          "item/fileChange/requestApproval",
          new FileChangeApproval(threadId, approval.turnId(), itemId, approval.at(), approval.reason(), null));
      case "permissions" -> new Outbound.ServerRequest(approval.requestId(), threadId,
          "item/permissions/requestApproval", new PermissionsApproval(threadId, approval.turnId(), itemId,
          approval.at(), null, where, approval.reason(), new Permissions(null, null)));
      default -> {
        String command = approval.command() == null ? "" : approval.command();
        yield new Outbound.ServerRequest(approval.requestId(), threadId, "item/commandExecution/requestApproval",
            new CommandApproval(threadId, approval.turnId(), itemId, approval.at(), "command", null,
                approval.reason(), command, where, CommandAction.of(command), DECISIONS));
      }
    };
  }

  /** The agent's questions, as {@code item/tool/requestUserInput}. */
  static Outbound.ServerRequest question(String threadId, ThreadEvent.QuestionAsked asked) {
    List<Question> questions = asked.questions().stream().map(q -> {
      boolean choices = q.options() != null && !q.options().isEmpty();
      return new Question(q.id(), q.header() == null ? "" : q.header(), q.question() == null ? "" : q.question(),
          choices, false, choices ? q.options().stream().map(option -> new Option(option, "")).toList() : null);
    }).toList();
    return new Outbound.ServerRequest(asked.requestId(), threadId, "item/tool/requestUserInput",
        new UserInputRequest(threadId, asked.turnId(), asked.requestId(), questions, true, null));
  }
}
