package dev.legato.gateway;

import static dev.legato.gateway.CodexClient.completedText;
import static dev.legato.gateway.CodexClient.method;
import static dev.legato.gateway.CodexClient.streamedText;
import static dev.legato.gateway.CodexClient.thread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A client that loses its socket in the middle of a turn and comes back on a new one: thread/resume gives it
 * the history, then the rest of the turn live, with nothing missing and nothing twice; what the turn waits
 * for is asked of it again.
 */
class GatewayReconnectTest {
  @RegisterExtension
  static final LegatoUnderTest legato = LegatoUnderTest.with(Map.of());

  /** The agent's text in a turn of a Codex thread (its agentMessage items). */
  static String agentText(JsonNode turn) {
    StringBuilder text = new StringBuilder();
    for (JsonNode item : turn.path("items")) {
      if (item.path("type").asText().equals("agentMessage")) {
        text.append(item.path("text").asText());
      }
    }
    return text.toString();
  }

  @Test
  void aClientThatReconnectsMidTurnGetsTheHistoryThenTheRestOfTheTurnWithoutGapOrDuplicate() throws Exception {
    String threadId;
    String turnId;
    CodexClient first = legato.client();
    threadId = first.startThread("coder");
    turnId = first.startTurn(threadId, "/slow through the storm /long 40");
    for (int i = 0; i < 6; i++) {
      first.next(m -> method(m).equals("item/agentMessage/delta"));
    }
    first.abort(); // gone without a goodbye, mid-message

    try (CodexClient second = legato.client()) {
      JsonNode resumed = second.result("thread/resume", thread(threadId));
      JsonNode turns = resumed.path("thread").path("turns");
      JsonNode running = turns.get(turns.size() - 1);
      assertEquals(turnId, running.path("id").asText());
      assertEquals("inProgress", running.path("status").asText(), "the turn still runs: " + running);
      String before = agentText(running);
      assertTrue(before.startsWith("Done. through the storm"), "the history holds what streamed so far: " + before);

      List<JsonNode> rest = second.untilTurnCompleted();
      String after = streamedText(rest);
      String whole = completedText(rest);
      assertTrue(!after.isEmpty(), "the rest of the turn streamed live");
      assertEquals(whole, before + after, "history + live deltas = the whole answer, no gap, no duplicate");
      assertTrue(whole.startsWith("Done. through the stormlorem ipsum") && whole.endsWith("sed do"), whole);
      assertTrue(rest.stream().noneMatch(m -> method(m).equals("turn/started")), "the turn is not started twice");
      JsonNode completed = rest.get(rest.size() - 1).path("params").path("turn");
      assertEquals(turnId, completed.path("id").asText());
      assertEquals("completed", completed.path("status").asText());

      JsonNode read = second.result("thread/read", thread(threadId).put("includeTurns", true));
      assertEquals(whole, agentText(read.path("thread").path("turns").get(0)), "and the record agrees");
    }
  }

  @Test
  void aReconnectingClientGetsEverythingAfterWhatItSawWhenItResumesAgain() throws Exception {
    try (CodexClient watcher = legato.client(); CodexClient client = legato.client()) {
      String threadId = client.startThread("coder");
      watcher.result("thread/resume", thread(threadId));
      client.startTurn(threadId, "/slow /long 30 twice over");
      for (int i = 0; i < 4; i++) {
        client.next(m -> method(m).equals("item/agentMessage/delta"));
      }
      // the same connection resumes again: the stream continues once, from the history it is given
      String resume = client.send("thread/resume", thread(threadId));
      List<JsonNode> upToResume = client.until(m -> !m.has("method") && m.path("id").asText().equals(resume));
      JsonNode turns = upToResume.get(upToResume.size() - 1).path("result").path("thread").path("turns");
      String before = agentText(turns.get(turns.size() - 1));
      List<JsonNode> afterResume = client.untilTurnCompleted();
      String whole = completedText(watcher.untilTurnCompleted());
      assertEquals(whole, before + streamedText(afterResume));
      assertEquals(whole, completedText(afterResume));
      assertTrue(afterResume.stream().noneMatch(m -> method(m).equals("turn/started")));
    }
  }

  @Test
  void aPendingApprovalIsAskedAgainOfTheClientThatReconnects() throws Exception {
    CodexClient first = legato.client();
    String threadId = first.startThread("coder");
    first.startTurn(threadId, "/run echo asked-again");
    JsonNode asked = first.serverRequest("item/commandExecution/requestApproval");
    assertEquals("echo asked-again", asked.path("params").path("command").asText());
    first.abort(); // it never answers

    try (CodexClient second = legato.client()) {
      JsonNode resumed = second.result("thread/resume", thread(threadId));
      JsonNode status = resumed.path("thread").path("status");
      assertEquals("active", status.path("type").asText(), status.toString());
      assertTrue(status.path("activeFlags").toString().contains("waitingOnApproval"), status.toString());
      JsonNode again = second.serverRequest("item/commandExecution/requestApproval");
      assertEquals("echo asked-again", again.path("params").path("command").asText());
      assertEquals(asked.path("params").path("itemId"), again.path("params").path("itemId"));
      second.answer(again, CodexClient.JSON.createObjectNode().put("decision", "accept"));
      List<JsonNode> rest = second.untilTurnCompleted();
      assertEquals(1, rest.stream().filter(m -> method(m).equals("serverRequest/resolved")).count());
      assertEquals(1, rest.stream().filter(m -> method(m).equals("item/commandExecution/requestApproval")).count()
          + 1, "asked once on this connection");
      assertTrue(completedText(rest).contains("Command `echo asked-again` exited with 0."), completedText(rest));
      assertEquals("completed", rest.get(rest.size() - 1).path("params").path("turn").path("status").asText());
      assertFalse(rest.stream().anyMatch(m -> method(m).equals("error")));
    }
  }
}
