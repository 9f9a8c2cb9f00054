package dev.legato.podium.emulator;

import static dev.legato.podium.emulator.AgentConnection.kind;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CoderAgentTest {
  private static PodiumEmulator emulator;
  private static TestClient client;

  @BeforeAll
  static void start() {
    emulator = PodiumEmulator.start(EmulatorSettings.defaults());
    client = new TestClient(emulator);
  }

  @AfterAll
  static void stop() {
    emulator.stop();
  }

  private static AgentConnection coder() {
    return client.connect(client.createInstance("coder:latest"));
  }

  private static String approval(String requestId, boolean approved, String decision) {
    return "{\"type\":\"approval_response\",\"content\":{\"request_id\":\"" + requestId + "\",\"approved\":"
        + approved + ",\"decision\":\"" + decision + "\"}}";
  }

  private static String text(JsonNode frame, String field) {
    return frame.get("content").get(field).asText();
  }

  @Test
  void runAsksForApprovalWaitsAndOnAcceptStreamsTerminalOutput() throws Exception {
    try (AgentConnection socket = coder()) {
      socket.processMessage("msg_run", "/run echo hello");
      JsonNode start = socket.nextOf("tool.call_start");
      JsonNode request = socket.next();
      assertEquals("tool.permission_requested", kind(request));
      assertEquals("command", text(request, "kind"));
      assertEquals("echo hello", text(request, "command"));
      assertEquals(text(start, "tool_call_id"), text(request, "tool_call_id"));
      assertTrue(socket.quietFor(300), "the agent must wait for the approval");

      socket.send(approval(text(request, "request_id"), true, "accept"));
      JsonNode resolved = socket.next();
      assertEquals("tool.approval_resolved", kind(resolved));
      assertEquals(text(request, "request_id"), text(resolved, "request_id"));
      assertTrue(resolved.get("content").get("approved").asBoolean());
      List<JsonNode> rest = socket.until("terminal.complete");
      assertEquals("terminal.stream", kind(rest.get(0)));
      assertEquals("hello\n", text(rest.get(0), "output"));
      JsonNode complete = rest.get(rest.size() - 1);
      assertEquals(0, complete.get("content").get("exit_code").asInt());
      assertTrue(complete.get("content").has("duration_ms"));
      assertEquals("tool.result", kind(socket.next()));
      assertTrue(text(socket.nextOf("text_final"), "text").contains("exited with 0"));
      assertEquals("end_turn", text(socket.next(), "stop_reason"));
    }
  }

  @Test
  void runDeclinedReportsTheDeclineAndRunsNothing() {
    try (AgentConnection socket = coder()) {
      socket.processMessage("msg_decline", "/run rm -rf build");
      JsonNode request = socket.nextOf("tool.permission_requested");
      socket.send(approval(text(request, "request_id"), false, "decline"));
      JsonNode resolved = socket.next();
      assertEquals("tool.approval_resolved", kind(resolved));
      assertFalse(resolved.get("content").get("approved").asBoolean());
      List<JsonNode> rest = socket.until("complete");
      assertTrue(rest.stream().noneMatch(f -> kind(f).startsWith("terminal.")));
      assertEquals("tool.error", kind(rest.get(0)));
      assertTrue(rest.get(0).get("content").get("is_error").asBoolean());
      assertTrue(text(rest.get(rest.size() - 2), "text").contains("was declined"));
    }
  }

  @Test
  void editAsksWithTheDiffAndOnApprovalEmitsAFileChangeWithAUnifiedDiff() {
    try (AgentConnection socket = coder()) {
      socket.processMessage("msg_edit", "/edit src/App.java");
      JsonNode request = socket.nextOf("tool.permission_requested");
      assertEquals("file_change", text(request, "kind"));
      JsonNode change = request.get("content").get("changes").get(0);
      assertEquals("src/App.java", change.get("path").asText());
      socket.send(approval(text(request, "request_id"), true, "acceptForSession"));
      JsonNode fileChange = socket.nextOf("file_change");
      assertEquals("src/App.java", text(fileChange, "path"));
      assertEquals("update", text(fileChange, "kind"));
      assertEquals("""
          --- a/src/App.java
          +++ b/src/App.java
          @@ -1,4 +1,5 @@
           // src/App.java
           line 1
          -line 2
          +line 2, edited by the coder agent
           line 3
          +line 4
          """, text(fileChange, "diff"));
      assertEquals(change.get("diff").asText(), text(fileChange, "diff"));
      socket.nextOf("complete");
    }
  }

  @Test
  void createAndDeleteProduceAddAndDeleteDiffs() {
    try (AgentConnection socket = coder()) {
      socket.processMessage("msg_cd", "/create docs/new.md /delete docs/old.md");
      socket.send(approval(text(socket.nextOf("tool.permission_requested"), "request_id"), true, "accept"));
      JsonNode added = socket.nextOf("file_change");
      assertEquals("add", text(added, "kind"));
      assertTrue(text(added, "diff").startsWith("--- /dev/null\n+++ b/docs/new.md\n@@ -0,0 +1,5 @@\n+"));
      socket.send(approval(text(socket.nextOf("tool.permission_requested"), "request_id"), true, "accept"));
      JsonNode deleted = socket.nextOf("file_change");
      assertEquals("delete", text(deleted, "kind"));
      assertTrue(text(deleted, "diff").startsWith("--- a/docs/old.md\n+++ /dev/null\n@@ -1,4 +0,0 @@\n-"));
      socket.nextOf("complete");
    }
  }

  @Test
  void askWaitsForTheAnswerAndReportsIt() throws Exception {
    try (AgentConnection socket = coder()) {
      socket.processMessage("msg_ask", "/ask Tabs or spaces?");
      JsonNode question = socket.nextOf("tool.question_requested");
      JsonNode q = question.get("content").get("questions").get(0);
      assertEquals("Tabs or spaces?", q.get("question").asText());
      assertTrue(q.has("id") && q.has("header") && q.get("options").isArray());
      assertTrue(socket.quietFor(200));
      socket.send("{\"type\":\"answer\",\"content\":{\"request_id\":\"" + text(question, "request_id")
          + "\",\"answers\":{\"" + q.get("id").asText() + "\":{\"answers\":[\"spaces\"]}},\"dismissed\":false}}");
      JsonNode resolved = socket.next();
      assertEquals("tool.approval_resolved", kind(resolved));
      assertTrue(text(socket.nextOf("text_final"), "text").contains("You answered: q1=spaces."));
    }
  }

  @Test
  void interruptStopsTheTurnWhichCompletesAsInterrupted() throws Exception {
    try (AgentConnection socket = coder()) {
      socket.processMessage("msg_int", "/run make");
      socket.nextOf("tool.permission_requested");
      socket.send("{\"type\":\"interrupt\",\"content\":{\"message_id\":\"msg_int\"}}");
      List<JsonNode> ending = socket.until("complete");
      JsonNode complete = ending.get(ending.size() - 1);
      assertEquals("interrupted", text(complete, "stop_reason"));
      assertTrue(complete.get("content").get("interrupted").asBoolean());
      assertTrue(ending.stream().noneMatch(f -> kind(f).startsWith("terminal.")));
      assertTrue(socket.quietFor(200));
      // the instance takes the next message normally
      socket.processMessage("msg_after", "again");
      assertEquals("end_turn", text(socket.nextOf("complete"), "stop_reason"));
    }
  }

  @Test
  void anInterruptSentRightAfterTheMessageStillStopsIt() {
    try (AgentConnection socket = coder()) {
      socket.processMessage("msg_quick", "/slow /long 100");
      socket.send("{\"type\":\"interrupt\",\"content\":{\"message_id\":\"msg_quick\"}}");
      assertEquals("interrupted", text(socket.nextOf("complete"), "stop_reason"));
    }
  }

  @Test
  void aMalformedFrameDuringATurnAnswersAnErrorWithoutMessageIdAndTheTurnGoesOn() {
    try (AgentConnection socket = coder()) {
      socket.processMessage("msg_g", "/ask");
      JsonNode question = socket.nextOf("tool.question_requested");
      socket.send("garbage");
      JsonNode error = socket.next();
      assertEquals("error", kind(error));
      assertFalse(error.get("content").has("message_id"));
      socket.send("{\"type\":\"answer\",\"content\":{\"request_id\":\"" + text(question, "request_id")
          + "\",\"answers\":{\"q1\":\"A\"},\"dismissed\":false}}");
      assertEquals("end_turn", text(socket.nextOf("complete"), "stop_reason"));
    }
  }

  @Test
  void interruptStopsSlowStreamingMidway() {
    try (AgentConnection socket = coder()) {
      socket.processMessage("msg_slow", "/slow /long 200");
      socket.nextOf("text_delta");
      socket.send("{\"type\":\"interrupt\",\"content\":{}}");
      List<JsonNode> rest = socket.until("complete");
      long deltas = rest.stream().filter(f -> kind(f).equals("text_delta")).count();
      assertTrue(deltas < 20, "streamed " + deltas + " more deltas after the interrupt");
      JsonNode fin = rest.get(rest.size() - 2);
      assertEquals("text_final", kind(fin));
      assertEquals("interrupted", text(rest.get(rest.size() - 1), "stop_reason"));
    }
  }

  @Test
  void steeringIsAcknowledgedInTheAnswer() {
    try (AgentConnection socket = coder()) {
      socket.processMessage("msg_steer", "fix the bug /ask");
      JsonNode question = socket.nextOf("tool.question_requested");
      socket.send("{\"type\":\"steer\",\"content\":{\"text\":\"use the new API\"}}");
      socket.send("{\"type\":\"answer\",\"content\":{\"request_id\":\"" + text(question, "request_id")
          + "\",\"answers\":{},\"dismissed\":true}}");
      String answer = text(socket.nextOf("text_final"), "text");
      assertTrue(answer.startsWith("You said: fix the bug."), answer);
      assertTrue(answer.contains("(steered: use the new API)"), answer);
    }
  }

  @Test
  void everyRemainingKindCanBeTriggeredFromThePrompt() {
    try (AgentConnection socket = coder()) {
      socket.send("""
          {"type":"process_message","content":{"message_id":"msg_all","text":
           "/plan Read; Write /tool-error grep /remember lang=java /summarize /sandbox /long 5",
           "messages":[{"role":"user","text":"earlier"},{"role":"assistant","text":"ok"}]}}""");
      List<JsonNode> frames = socket.until("complete");
      Set<String> kinds = new HashSet<>();
      frames.forEach(f -> kinds.add(kind(f)));
      assertTrue(kinds.containsAll(Set.of("plan.created", "plan.step_started", "plan.step_completed",
          "plan.revised", "tool.error", "memory.extracted", "summary.created", "sandbox.provisioning",
          "sandbox.init", "sandbox.removed")), kinds.toString());
      JsonNode plan = frames.stream().filter(f -> kind(f).equals("plan.revised")).findFirst().orElseThrow();
      assertEquals(3, plan.get("content").get("steps").size());
      assertTrue(plan.get("content").has("explanation"));
      JsonNode memory = frames.stream().filter(f -> kind(f).equals("memory.extracted")).findFirst().orElseThrow();
      assertEquals("lang", text(memory, "key"));
      assertEquals("java", text(memory, "value"));
      JsonNode summary = frames.stream().filter(f -> kind(f).equals("summary.created")).findFirst().orElseThrow();
      assertEquals(2, summary.get("content").get("covers_turns").asInt());
      assertTrue(text(frames.get(frames.size() - 2), "text").endsWith("lorem ipsum dolor sit amet"));
    }
  }

  @Test
  void errorFailsTheTurnWithAnErrorEventAndNoComplete() throws Exception {
    try (AgentConnection socket = coder()) {
      socket.processMessage("msg_err", "/think /error boom /run never");
      JsonNode error = socket.nextOf("error");
      assertEquals("boom", text(error, "message"));
      assertEquals("agent_error", text(error, "code"));
      assertFalse(error.get("content").get("retryable").asBoolean());
      assertTrue(socket.quietFor(300));
    }
  }

  @Test
  void claudeAgentBehavesLikeCoder() {
    try (AgentConnection socket = client.connect(client.createInstance("claude-agent:1.0.0@"
        + client.deploymentId("claude-agent", "1.0.0").split("@")[1]))) {
      socket.processMessage("msg_c", "/remember a=b");
      assertEquals("a", text(socket.nextOf("memory.extracted"), "key"));
    }
  }
}
