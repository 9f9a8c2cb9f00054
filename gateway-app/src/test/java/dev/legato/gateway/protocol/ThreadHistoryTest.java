package dev.legato.gateway.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import dev.legato.thread.ThreadEvent;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.gateway.protocol.CodexDialect.ThreadFacts;
import dev.legato.gateway.protocol.CodexDialect.TokenUsage;
import dev.legato.podium.AgentCommand.Decision;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A thread's history as Codex turns, the Thread built from it, and the responses that carry them. */
class ThreadHistoryTest {
  static CodexSchema schema;
  final UUID threadId = UUID.randomUUID();
  final ThreadEvents events = new ThreadEvents();

  @BeforeAll
  static void generateTheSchema() {
    schema = CodexSchema.get();
  }

  @Test
  void aResumedHistoryBecomesTurnsWithTheirItemsInOrder() {
    events.persisted(events.created("claude-agent"));
    ThreadEvent.TurnStarted first = events.turnStarted("turn-1", "Fix the build");
    events.persisted(first);
    events.persisted(events.reasoning("turn-1", "think-1", "The pom is wrong"));
    events.persisted(events.window("turn-1", "Let me "));
    events.persisted(events.window("turn-1", "look."));
    events.persisted(events.message("turn-1", "Let me look. Fixed."));
    ThreadEvent.ApprovalRequested approval = events.approval("turn-1", "req-1", "command", "mvn test", null);
    events.persisted(approval);
    events.persisted(events.decided(approval, "accept"));
    events.persisted(events.commandCompleted("turn-1", "call-1", "OK\n", 0));
    events.persisted(events.fileChanged("turn-1", "call-2", "pom.xml", "update", "--- a/pom.xml\n+++ b/pom.xml\n"));
    events.persisted(events.toolCall("turn-1", "call-3", "search", "{\"q\":\"x\"}", "completed", "hit"));
    events.persisted(events.plan("turn-1", "plan-1", "Steps", "Read", "in_progress", "Fix", "pending"));
    events.persisted(events.plan("turn-1", "plan-1", "Steps", "Read", "completed", "Fix", "completed"));
    events.persisted(events.turnEnded(first, "completed", null, 100, 20));
    ThreadEvent.TurnStarted second = events.turnStarted("turn-2", "Now a poem");
    events.persisted(second);
    events.persisted(events.window("turn-2", "Roses are"));
    events.persisted(events.turnEnded(second, "interrupted", "Legato restarted while the turn was running", 0, 0));
    ThreadEvent.TurnStarted third = events.turnStarted("turn-3", "Try again");
    events.persisted(third);
    events.persisted(events.turnEnded(third, "failed", null, 5, 0));

    ThreadHistory history = ThreadHistory.of(events.history());
    List<ObjectNode> turns = trees(history.turns());
    assertEquals(3, turns.size());

    ObjectNode one = turns.get(0);
    assertEquals(List.of("userMessage", "reasoning", "agentMessage", "commandExecution", "fileChange", "dynamicToolCall",
        "plan"), types(one));
    assertEquals("completed", one.get("status").asText());
    assertEquals("full", one.get("itemsView").asText());
    assertEquals("Fix the build", one.at("/items/0/content/0/text").asText());
    assertEquals("Let me look. Fixed.", one.at("/items/2/text").asText(), "the whole message replaces the windows");
    assertEquals("mvn test", one.at("/items/3/command").asText());
    assertEquals("OK\n", one.at("/items/3/aggregatedOutput").asText());
    assertEquals("completed", one.at("/items/3/status").asText());
    assertEquals("pom.xml", one.at("/items/4/changes/0/path").asText());
    assertEquals("- [x] Read", one.at("/items/6/text").asText().lines().skip(2).findFirst().orElseThrow());
    assertEquals(ThreadEvents.T0 / 1000 + 1, one.get("startedAt").asLong());
    assertTrue(one.get("durationMs").asLong() > 0);

    ObjectNode two = turns.get(1);
    assertEquals("interrupted", two.get("status").asText());
    assertEquals("Roses are", two.at("/items/1/text").asText(), "an interrupted turn keeps the windows' text");
    assertEquals("Legato restarted while the turn was running", two.at("/error/message").asText());
    assertEquals("failed", turns.get(2).get("status").asText());
    assertEquals("the turn failed", turns.get(2).at("/error/message").asText());

    assertEquals("Fix the build", history.preview());
    assertEquals("claude-agent", history.agentType());
    assertEquals(ThreadEvents.CWD, history.cwd());
    assertEquals(ThreadEvents.T0, history.createdAtMs());
    assertEquals(events.now(), history.updatedAtMs());
    assertEquals(new TokenUsage(105, 20), history.totalTokenUsage());
    assertEquals(Map.of("turn-1", new TokenUsage(100, 20), "turn-2", TokenUsage.NONE, "turn-3", new TokenUsage(5, 0)),
        history.tokenUsageByTurn());
    assertNull(history.inProgressTurnId());

    CodexThread thread = CodexDialect.thread(history.facts(threadId, "Build fixes", "ready"), history.turns());
    ObjectNode resume = response(7, CodexDialect.threadResumeResponse(thread, null, null));
    schema.assertValidResponse("thread/resume", resume);
    assertEquals(threadId.toString(), resume.at("/result/thread/id").asText());
    assertEquals(threadId.toString(), resume.at("/result/thread/sessionId").asText());
    assertEquals("claude-agent", resume.at("/result/model").asText());
    assertEquals("Build fixes", resume.at("/result/thread/name").asText());
    assertEquals("idle", resume.at("/result/thread/status/type").asText());
    assertEquals(3, resume.at("/result/thread/turns").size());
    schema.assertValidResponse("thread/read", response(8, CodexDialect.threadReadResponse(thread)));
  }

  @Test
  void aThreadWaitingForAnAnswerIsActiveAndItsTurnInProgress() {
    events.persisted(events.created("claude-agent"));
    ThreadEvent.TurnStarted turn = events.turnStarted("turn-w", "Deploy");
    events.persisted(turn);
    events.persisted(events.question("turn-w", "req-q", "Where?"));
    ThreadHistory history = ThreadHistory.of(events.history());
    assertEquals("question", history.pendingKind());
    assertEquals("turn-w", history.inProgressTurnId());
    CodexThread codexThread = CodexDialect.thread(history.facts(threadId, null, "waiting"), history.turns());
    ObjectNode thread = Json.tree(codexThread);
    assertEquals("waitingOnUserInput", thread.at("/status/activeFlags/0").asText());
    assertEquals("inProgress", thread.at("/turns/0/status").asText());
    assertTrue(thread.at("/turns/0/completedAt").isNull());
    schema.assertValidResponse("thread/resume", response(1, CodexDialect.threadResumeResponse(codexThread, null, null)));
  }

  @Test
  void aNewThreadStartsWithEveryRequiredFieldAndItsSettings() {
    ThreadFacts facts = new ThreadFacts(threadId, null, "", "claude-agent", null, ThreadEvents.T0, ThreadEvents.T0,
        "ready", null, false);
    CodexThread codexThread = CodexDialect.thread(facts, List.of());
    ObjectNode thread = Json.tree(codexThread);
    assertEquals("/", thread.get("cwd").asText(), "an unknown cwd is the root: Codex needs an absolute path");
    assertEquals(ThreadEvents.T0 / 1000, thread.get("createdAt").asLong());
    assertEquals(CodexDialect.CLI_VERSION, thread.get("cliVersion").asText());
    ObjectNode start = response(3, CodexDialect.threadStartResponse(codexThread, null, null));
    schema.assertValidResponse("thread/start", start);
    assertEquals("on-request", start.at("/result/approvalPolicy").asText());
    assertEquals("workspaceWrite", start.at("/result/sandbox/type").asText());

    ObjectNode readOnly = CodexSamples.object("{\"type\":\"readOnly\"}");
    ObjectNode never = response(4, CodexDialect.threadStartResponse(codexThread,
        CodexSamples.object("{\"p\":\"never\"}").get("p"), readOnly));
    schema.assertValidResponse("thread/start", never);
    assertEquals("never", never.at("/result/approvalPolicy").asText());
    schema.assertValidNotification(Json.tree(CodexNotifications.threadStarted(codexThread)));

    CodexTurn turn = CodexDialect.turn("turn-1", null, "inProgress", null, ThreadEvents.T0, null);
    ObjectNode turnStart = response("t1", CodexDialect.turnStartResponse(turn));
    schema.assertValidResponse("turn/start", turnStart);
    assertEquals("notLoaded", turnStart.at("/result/turn/itemsView").asText());
  }

  @Test
  void clientDecisionsAndAnswersAreRead() {
    assertEquals(Decision.ACCEPT, decision("{\"decision\":\"accept\"}", "item/commandExecution/requestApproval"));
    assertEquals(Decision.ACCEPT_FOR_SESSION,
        decision("{\"decision\":\"acceptForSession\"}", "item/fileChange/requestApproval"));
    assertEquals(Decision.DECLINE, decision("{\"decision\":\"decline\"}", "item/commandExecution/requestApproval"));
    assertEquals(Decision.CANCEL, decision("{\"decision\":\"cancel\"}", "item/fileChange/requestApproval"));
    assertEquals(Decision.ACCEPT_FOR_SESSION, decision(
        "{\"decision\":{\"acceptWithExecpolicyAmendment\":{\"execpolicy_amendment\":[\"mvn\"]}}}",
        "item/commandExecution/requestApproval"));
    assertEquals(Decision.DECLINE, decision("{\"permissions\":{},\"scope\":\"turn\"}", "item/permissions/requestApproval"));
    assertEquals(Decision.ACCEPT_FOR_SESSION, decision(
        "{\"permissions\":{\"network\":{\"enabled\":true}},\"scope\":\"session\"}", "item/permissions/requestApproval"));
    assertEquals(Decision.ACCEPT, ClientParams.decision(CodexSamples.object("{\"approved\":true}")));
    assertThrows(IllegalArgumentException.class, () -> ClientParams.decision(CodexSamples.object("{\"decision\":\"maybe\"}")));

    JsonNode answer = CodexSamples.object("{\"answers\":{\"q1\":{\"answers\":[\"staging\"]},\"q2\":{\"answers\":[]}}}");
    schema.assertValidClientResponse("item/tool/requestUserInput", envelope(answer));
    assertEquals(Map.of("q1", List.of("staging"), "q2", List.of()), ClientParams.answers(answer));
    assertEquals(Map.of("q1", List.of("prod")), ClientParams.answers(CodexSamples.object("{\"answers\":{\"q1\":[\"prod\"]}}")));
    assertFalse(ClientParams.answers(CodexSamples.object("{}")).containsKey("q1"));
  }

  private Decision decision(String result, String method) {
    ObjectNode answer = CodexSamples.object(result);
    schema.assertValidClientResponse(method, envelope(answer));
    return ClientParams.decision(answer);
  }

  private static ObjectNode envelope(JsonNode result) {
    ObjectNode response = CodexSamples.object("{\"id\": 0}");
    response.set("result", result);
    return response;
  }

  private static ObjectNode response(Object id, Object result) {
    ObjectNode response = CodexSamples.object(id instanceof String ? "{\"id\":\"" + id + "\"}" : "{\"id\":" + id + "}");
    response.set("result", Json.tree(result));
    return response;
  }

  private static List<ObjectNode> trees(List<?> values) {
    return values.stream().map(Json::tree).toList();
  }

  private static List<String> types(ObjectNode turn) {
    return java.util.stream.StreamSupport.stream(turn.get("items").spliterator(), false)
        .map(item -> item.get("type").asText()).toList();
  }
}
