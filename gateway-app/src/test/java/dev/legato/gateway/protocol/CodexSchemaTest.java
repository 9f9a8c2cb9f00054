package dev.legato.gateway.protocol;

import static dev.legato.gateway.protocol.CodexSamples.object;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The contract validator itself: what a correct Codex server sends passes, and each kind of breakage fails. */
class CodexSchemaTest {
  static CodexSchema schema;

  @BeforeAll
  static void generateTheSchema() {
    schema = CodexSchema.get();
  }

  @Test
  void aThreadStartedNotificationWithAFullThreadConforms() {
    schema.assertValidNotification(CodexSamples.threadStarted());
  }

  @Test
  void anAgentMessageDeltaConforms() {
    schema.assertValidNotification(CodexSamples.agentMessageDelta("Hello"));
  }

  @Test
  void theInitializeResponseConforms() {
    schema.assertValidResponse("initialize", CodexSamples.initializeResponse());
  }

  @Test
  void theThreadStartResponseConforms() {
    schema.assertValidResponse("thread/start", CodexSamples.threadStartResponse());
  }

  @Test
  void aCommandApprovalRequestConforms() {
    schema.assertValidServerRequest(CodexSamples.commandExecutionApprovalRequest());
  }

  @Test
  void anErrorResponseConformsToAnyRequest() {
    schema.assertValidResponse("thread/start", CodexSamples.errorResponse(3, -32600, "Not initialized"));
    schema.assertValidResponse("initialize", CodexSamples.errorResponse("initialize", -32600, "Already initialized"));
  }

  @Test
  void aThreadWithoutCwdIsRejected() {
    ObjectNode message = CodexSamples.threadStarted();
    ((ObjectNode) message.get("params").get("thread")).remove("cwd");
    assertMentions(schema.validateNotification(message), "/params/thread:", "cwd");
  }

  @Test
  void anUpdatedAtGivenAsAStringIsRejected() {
    ObjectNode message = CodexSamples.threadStarted();
    ((ObjectNode) message.get("params").get("thread")).put("updatedAt", "2026-11-24T10:00:00Z");
    assertMentions(schema.validateNotification(message), "/params/thread/updatedAt", "integer");
  }

  @Test
  void aThreadWithoutCwdIsRejectedInsideAResponseToo() {
    ObjectNode message = CodexSamples.threadStartResponse();
    ((ObjectNode) message.get("result").get("thread")).remove("cwd");
    assertMentions(schema.validateResponse("thread/start", message), "/result/thread:", "cwd");
  }

  @Test
  void anUnknownNotificationMethodIsRejected() {
    ObjectNode message = CodexSamples.agentMessageDelta("Hello");
    message.put("method", "item/agentMessage/deltas");
    assertMentions(schema.validateNotification(message), "/method", "item/agentMessage/deltas");
  }

  @Test
  void aDeltaWithoutItsTurnIdIsRejected() {
    ObjectNode message = CodexSamples.agentMessageDelta("Hello");
    ((ObjectNode) message.get("params")).remove("turnId");
    assertMentions(schema.validateNotification(message), "/params:", "turnId");
  }

  @Test
  void anApprovalRequestWithAnUnknownDecisionIsRejected() {
    ObjectNode message = CodexSamples.commandExecutionApprovalRequest();
    ((ObjectNode) message.get("params")).putArray("availableDecisions").add("approve");
    assertFalse(schema.validateServerRequest(message).isEmpty());
  }

  @Test
  void anApprovalRequestWithoutAnIdIsRejected() {
    ObjectNode message = CodexSamples.commandExecutionApprovalRequest();
    message.remove("id");
    assertMentions(schema.validateServerRequest(message), "/:", "id");
  }

  @Test
  void theEnvelopeIsCheckedWhereTheSchemaIsOpen() {
    ObjectNode withJsonrpc = CodexSamples.agentMessageDelta("Hello");
    withJsonrpc.put("jsonrpc", "2.0");
    assertMentions(schema.validateNotification(withJsonrpc), "/jsonrpc", "omits");

    ObjectNode notificationWithId = CodexSamples.agentMessageDelta("Hello");
    notificationWithId.put("id", 4);
    assertMentions(schema.validateNotification(notificationWithId), "/id", "not a member");

    ObjectNode both = CodexSamples.initializeResponse();
    both.set("error", CodexSamples.errorResponse("initialize", -32600, "Already initialized").get("error"));
    assertFalse(schema.validateResponse("initialize", both).isEmpty());

    ObjectNode errorWithoutMessage = CodexSamples.errorResponse(3, -32600, "Not initialized");
    ((ObjectNode) errorWithoutMessage.get("error")).remove("message");
    assertMentions(schema.validateResponse("thread/start", errorWithoutMessage), "/error:", "message");
  }

  @Test
  void aResponseIsCheckedAgainstItsOwnMethod() {
    assertFalse(schema.validateResponse("thread/start", CodexSamples.initializeResponse()).isEmpty());
    assertMentions(schema.validateResponse("thread/started", CodexSamples.initializeResponse()),
        "no response", "thread/started");
  }

  @Test
  void clientMessagesMayCarryJsonrpcAndAreChecked() {
    schema.assertValidClientRequest(object("""
        {"jsonrpc": "2.0", "id": 1, "method": "turn/start",
         "params": {"threadId": "t", "input": [{"type": "text", "text": "hi", "text_elements": []}]}}
        """));
    assertMentions(schema.validateClientRequest(object("""
        {"id": 1, "method": "turn/start", "params": {"threadId": "t"}}
        """)), "/params:", "input");
    assertTrue(schema.validateClientNotification(object("{\"method\": \"initialized\"}")).isEmpty());
    schema.assertValidClientResponse("item/commandExecution/requestApproval",
        object("{\"id\": 0, \"result\": {\"decision\": \"accept\"}}"));
    assertFalse(schema.validateClientResponse("item/commandExecution/requestApproval",
        object("{\"id\": 0, \"result\": {\"decision\": \"yes\"}}")).isEmpty());
  }

  @Test
  void assertionsNameTheViolations() {
    ObjectNode message = CodexSamples.threadStarted();
    ((ObjectNode) message.get("params").get("thread")).remove("cwd");
    AssertionError error = assertThrows(AssertionError.class, () -> schema.assertValidNotification(message));
    assertTrue(error.getMessage().contains("cwd"), error.getMessage());
    assertTrue(error.getMessage().contains("thread/started"), error.getMessage());
  }

  @Test
  void theSchemaListsTheMethodsTheGatewayServes() {
    assertTrue(schema.notificationMethods().containsAll(Set.of("thread/started", "thread/status/changed",
        "turn/started", "turn/completed", "item/started", "item/completed", "item/agentMessage/delta",
        "serverRequest/resolved", "thread/tokenUsage/updated")));
    assertTrue(schema.clientRequestMethods().containsAll(Set.of("initialize", "thread/start", "thread/resume",
        "turn/start", "turn/interrupt", "thread/list", "thread/read", "config/read", "model/list")));
    assertTrue(schema.serverRequestMethods().containsAll(Set.of("item/commandExecution/requestApproval",
        "item/fileChange/requestApproval", "item/permissions/requestApproval", "item/tool/requestUserInput")));
  }

  @Test
  void everyClientRequestHasAResponseDefinition() {
    Set<String> missing = new TreeSet<>(schema.clientRequestMethods());
    missing.removeAll(schema.clientRequestMethodsWithResponse());
    assertEquals(Set.of(), missing, "client requests whose response type CodexSchema cannot find");
  }

  private static void assertMentions(List<String> errors, String... fragments) {
    assertFalse(errors.isEmpty(), "expected violations");
    for (String fragment : fragments) {
      assertTrue(errors.stream().anyMatch(e -> e.contains(fragment)), () -> "no violation mentions '"
          + fragment + "': " + errors);
    }
  }
}
