package dev.legato.thread;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.storage.readside.Projection;
import dev.legato.storage.readside.ReadSide;
import dev.legato.storage.readside.Rows;

/**
 * A thread's events as read-side rows (turns, messages, agent-message items, approvals), written in the
 * transaction that stores the events. Registered for entity type {@code Thread} in reference.conf. A pure
 * function of the event.
 */
public final class ThreadProjection implements Projection {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public void project(JournaledEvent journaled, ReadSide rows) {
    Object event = journaled.payload();
    if (event instanceof ThreadEvent.TurnStarted e) {
      rows.upsertTurn(new Rows.Turn(e.turnId(), e.at(), null, "inProgress", null, null, null, null, null));
      rows.upsertMessage(new Rows.Message(e.messageId(), e.turnId(), "user", e.text(), e.at()));
    } else if (event instanceof ThreadEvent.AgentMessageDelta e) {
      rows.appendMessageText(new Rows.Message(e.itemId(), e.turnId(), "assistant", e.text(), e.at()));
    } else if (event instanceof ThreadEvent.AgentMessage e) {
      rows.upsertMessage(new Rows.Message(e.itemId(), e.turnId(), "assistant", e.text(), e.at()));
      ObjectNode item = JSON.createObjectNode().put("text", e.text());
      rows.upsertElement(new Rows.Element(e.itemId(), e.turnId(), "agentMessage", "completed", item.toString(), e.at(), e.at()));
    } else if (event instanceof ThreadEvent.ApprovalRequested e) {
      rows.upsertApproval(new Rows.Approval(e.requestId(), e.turnId(), e.toolCallId(), e.kind(), payload(e), null, e.at(), null));
    } else if (event instanceof ThreadEvent.ApprovalDecided e) {
      ThreadEvent.ApprovalRequested r = e.request();
      rows.upsertApproval(new Rows.Approval(r.requestId(), r.turnId(), r.toolCallId(), r.kind(), payload(r), e.decision(), r.at(), e.at()));
    } else if (event instanceof ThreadEvent.QuestionAsked e) {
      rows.upsertApproval(new Rows.Approval(e.requestId(), e.turnId(), null, "question", JSON.valueToTree(e.questions()).toString(),
          null, e.at(), null));
    } else if (event instanceof ThreadEvent.QuestionAnswered e) {
      ThreadEvent.QuestionAsked q = e.question();
      rows.upsertApproval(new Rows.Approval(q.requestId(), q.turnId(), null, "question", JSON.valueToTree(q.questions()).toString(),
          e.dismissed() ? "dismissed" : JSON.valueToTree(e.answers()).toString(), q.at(), e.at()));
    } else if (event instanceof ThreadEvent.ToolCallRecorded e) {
      ObjectNode item = JSON.createObjectNode().put("tool", e.toolName()).put("arguments", e.argumentsJson()).put("output", e.output());
      rows.upsertElement(new Rows.Element(e.toolCallId(), e.turnId(), "toolCall", e.status(), item.toString(), e.at(), e.at()));
    } else if (event instanceof ThreadEvent.CommandCompleted e) {
      ObjectNode item = JSON.createObjectNode().put("command", e.command()).put("output", e.output());
      if (e.exitCode() != null) {
        item.put("exitCode", e.exitCode());
      }
      if (e.durationMs() != null) {
        item.put("durationMs", e.durationMs());
      }
      String status = e.exitCode() == null || e.exitCode() == 0 ? "completed" : "failed";
      rows.upsertElement(new Rows.Element(e.toolCallId(), e.turnId(), "commandExecution", status, item.toString(), e.at(), e.at()));
    } else if (event instanceof ThreadEvent.FileChanged e) {
      ObjectNode item = JSON.createObjectNode().put("path", e.path()).put("kind", e.kind());
      rows.upsertElement(new Rows.Element(e.toolCallId(), e.turnId(), "fileChange", "completed", item.toString(), e.at(), e.at()));
      rows.upsertDiff(new Rows.Diff(e.turnId(), e.toolCallId(), e.path(), e.kind(), e.diff(), e.at()));
    } else if (event instanceof ThreadEvent.PlanUpdated e) {
      rows.upsertPlan(new Rows.Plan(e.planId(), e.turnId(), JSON.valueToTree(e.steps()).toString(), e.explanation(), e.at()));
    } else if (event instanceof ThreadEvent.ReasoningRecorded e) {
      ObjectNode item = JSON.createObjectNode().put("text", e.text());
      rows.upsertElement(new Rows.Element(e.thinkingId(), e.turnId(), "reasoning", "completed", item.toString(), e.at(), e.at()));
    } else if (event instanceof ThreadEvent.MemoryExtracted e) {
      rows.putMemory(new Rows.Memory(e.key(), e.value(), e.metadataJson(), e.at(), e.at()));
    } else if (event instanceof ThreadEvent.SummaryCreated e) {
      rows.addSummary(new Rows.Summary(e.summary(), JSON.valueToTree(e.coversTurns()).toString(), e.at()));
    } else if (event instanceof ThreadEvent.TurnEnded e) {
      rows.upsertTurn(new Rows.Turn(e.turnId(), e.startedAt(), e.at(), e.outcome(), e.inputTokens(), e.outputTokens(),
          null, null, e.error()));
    }
  }

  private static String payload(ThreadEvent.ApprovalRequested request) {
    ObjectNode payload = JSON.createObjectNode();
    payload.put("command", request.command());
    payload.put("cwd", request.cwd());
    payload.put("reason", request.reason());
    if (request.changesJson() != null) {
      payload.put("changes", request.changesJson());
    }
    return payload.toString();
  }
}
