package dev.legato.gateway;

import static dev.legato.gateway.CodexClient.completedText;
import static dev.legato.gateway.CodexClient.method;
import static dev.legato.gateway.CodexClient.params;
import static dev.legato.gateway.CodexClient.streamedText;
import static dev.legato.gateway.CodexClient.thread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Several clients on one thread, over real WebSockets: they see one stream, an approval is asked of all of
 * them, the first answer decides and the agent hears exactly one; questions are answered and used.
 */
class GatewaySharedThreadTest {
  @RegisterExtension
  static final LegatoUnderTest legato = LegatoUnderTest.with(Map.of());

  /** The deltas and the end of a turn as one client saw them: what two clients must agree on. */
  static List<String> stream(List<JsonNode> messages) {
    return messages.stream()
        .filter(m -> method(m).equals("item/agentMessage/delta") || method(m).equals("turn/completed")
            || method(m).equals("turn/started"))
        .map(m -> method(m) + " " + (method(m).equals("item/agentMessage/delta")
            ? m.path("params").path("itemId").asText() + " " + m.path("params").path("delta").asText()
            : m.path("params").toString()))
        .toList();
  }

  @Test
  void twoClientsOfOneThreadSeeTheSameStreamInTheSameOrder() throws Exception {
    try (CodexClient first = legato.client(); CodexClient second = legato.client()) {
      String threadId = first.startThread("coder");
      second.result("thread/resume", thread(threadId));
      String turnId = first.startTurn(threadId, "tell both /long 60");

      List<JsonNode> seenByFirst = first.untilTurnCompleted();
      List<JsonNode> seenBySecond = second.untilTurnCompleted();
      List<String> firstStream = stream(seenByFirst);
      // the agent sends 60 words one by one; those that reach a thread together travel as one delta
      assertTrue(firstStream.stream().filter(s -> s.startsWith("item/agentMessage/delta")).count() > 1,
          "the answer streamed in parts: " + firstStream);
      assertEquals(firstStream, stream(seenBySecond), "both clients saw the same deltas in the same order");
      JsonNode completed = seenBySecond.get(seenBySecond.size() - 1).path("params").path("turn");
      assertEquals(turnId, completed.path("id").asText());
      assertEquals("completed", completed.path("status").asText());
      String text = completedText(seenByFirst);
      assertTrue(text.startsWith("You said: tell both. lorem ipsum"), text);
      assertEquals(text, completedText(seenBySecond));
      assertEquals(text, streamedText(seenBySecond), "the deltas add up to the completed message");
    }
  }

  @Test
  void anApprovalIsAskedOfEveryClientAndTheFirstAnswerWins() throws Exception {
    try (CodexClient first = legato.client(); CodexClient second = legato.client()) {
      String threadId = first.startThread("coder");
      second.result("thread/resume", thread(threadId));
      first.startTurn(threadId, "/run echo decided-once");

      JsonNode askedFirst = first.serverRequest("item/commandExecution/requestApproval");
      JsonNode askedSecond = second.serverRequest("item/commandExecution/requestApproval");
      assertEquals("echo decided-once", askedFirst.path("params").path("command").asText());
      assertEquals(askedFirst.path("params"), askedSecond.path("params"), "both are asked the same question");

      first.answer(askedFirst, params().put("decision", "accept"));
      JsonNode resolvedForSecond = second.notification("serverRequest/resolved");
      assertEquals(askedSecond.path("id"), resolvedForSecond.path("params").path("requestId"),
          "the other client is told its request was answered");
      assertEquals(threadId, resolvedForSecond.path("params").path("threadId").asText());
      second.answer(askedSecond, params().put("decision", "decline")); // too late: changes nothing

      List<JsonNode> firstRest = first.untilTurnCompleted();
      List<JsonNode> secondRest = second.untilTurnCompleted();
      for (List<JsonNode> rest : List.of(firstRest, secondRest)) {
        JsonNode turn = rest.get(rest.size() - 1).path("params").path("turn");
        assertEquals("completed", turn.path("status").asText(), rest.toString());
        String text = completedText(rest);
        assertTrue(text.contains("Command `echo decided-once` exited with 0."), text);
        assertFalse(text.contains("declined"), text);
        assertTrue(rest.stream().anyMatch(m -> method(m).equals("item/commandExecution/outputDelta")
            && m.path("params").path("delta").asText().contains("decided-once")), "the command ran");
      }
      assertEquals(1, firstRest.stream().filter(m -> method(m).equals("serverRequest/resolved")).count());
      assertTrue(secondRest.stream().noneMatch(m -> method(m).equals("serverRequest/resolved")),
          "the late answer is not resolved a second time");

      // the thread (and the agent) took exactly one decision: one command ran, and the thread moves on
      JsonNode read = first.result("thread/read", thread(threadId).put("includeTurns", true));
      JsonNode items = read.path("thread").path("turns").get(0).path("items");
      long commands = 0;
      for (JsonNode item : items) {
        if (item.path("type").asText().equals("commandExecution")) {
          commands++;
          assertEquals("completed", item.path("status").asText(), item.toString());
        }
      }
      assertEquals(1, commands, items.toString());
      List<JsonNode> later = second.drainFor(Duration.ofMillis(500));
      assertTrue(later.stream().allMatch(m -> method(m).equals("thread/status/changed")),
          "nothing more: no second decision played out: " + later);
      first.startTurn(threadId, "after the approval");
      assertEquals("completed", first.untilTurnCompleted().stream().filter(m -> method(m).equals("turn/completed"))
          .findFirst().orElseThrow().path("params").path("turn").path("status").asText());
    }
  }

  @Test
  void answersRacingFromTwoClientsDecideOnceAndBothHearTheSameOutcome() throws Exception {
    try (CodexClient first = legato.client(); CodexClient second = legato.client()) {
      String threadId = first.startThread("coder");
      second.result("thread/resume", thread(threadId));
      first.startTurn(threadId, "/run echo raced");
      JsonNode askedFirst = first.serverRequest("item/commandExecution/requestApproval");
      JsonNode askedSecond = second.serverRequest("item/commandExecution/requestApproval");
      first.answer(askedFirst, params().put("decision", "accept"));
      second.answer(askedSecond, params().put("decision", "decline"));
      String firstText = completedText(first.untilTurnCompleted());
      String secondText = completedText(second.untilTurnCompleted());
      assertEquals(firstText, secondText);
      assertNotEquals(firstText.contains("exited with 0"), firstText.contains("was declined"),
          "exactly one decision was carried out: " + firstText);
    }
  }

  @Test
  void theSeedFormItemApproveDeclines() throws Exception {
    try (CodexClient first = legato.client(); CodexClient second = legato.client()) {
      String threadId = first.startThread("coder");
      second.result("thread/resume", thread(threadId));
      first.startTurn(threadId, "/run rm -rf build");
      JsonNode asked = first.serverRequest("item/commandExecution/requestApproval");
      second.serverRequest("item/commandExecution/requestApproval");
      JsonNode declined = first.call("item/approve", params().put("threadId", threadId)
          .put("requestId", asked.path("id").asText()).put("approved", false));
      assertFalse(declined.has("error"), declined.toString());
      assertEquals(asked.path("id"), first.notification("serverRequest/resolved").path("params").path("requestId"));
      second.notification("serverRequest/resolved");
      List<JsonNode> rest = first.untilTurnCompleted();
      String text = completedText(rest);
      assertTrue(text.contains("Command `rm -rf build` was declined."), text);
      assertTrue(rest.stream().noneMatch(m -> method(m).equals("item/commandExecution/outputDelta")),
          "a declined command does not run");
      assertTrue(completedText(second.untilTurnCompleted()).contains("was declined"));

      JsonNode again = first.call("item/approve", params().put("threadId", threadId)
          .put("requestId", asked.path("id").asText()).put("approved", true));
      assertTrue(again.has("error"), "nothing is pending any more: " + again);
    }
  }

  @Test
  void aQuestionIsAnsweredByTheClientAndTheAgentUsesTheAnswer() throws Exception {
    try (CodexClient client = legato.client()) {
      String threadId = client.startThread("coder");
      client.startTurn(threadId, "/ask Which colour should the button be?");
      JsonNode asked = client.serverRequest("item/tool/requestUserInput");
      JsonNode question = asked.path("params").path("questions").get(0);
      assertEquals("Which colour should the button be?", question.path("question").asText());
      assertEquals("q1", question.path("id").asText());
      ObjectNode answer = params();
      answer.putObject("answers").putObject("q1").putArray("answers").add("B");
      client.answer(asked, answer);
      List<JsonNode> rest = client.untilTurnCompleted();
      assertTrue(rest.stream().anyMatch(m -> method(m).equals("serverRequest/resolved")
          && m.path("params").path("requestId").equals(asked.path("id"))));
      assertTrue(completedText(rest).contains("You answered: q1=B."), completedText(rest));

      // and in the seed form, item/answer
      client.startTurn(threadId, "/ask Which one?");
      JsonNode second = client.serverRequest("item/tool/requestUserInput");
      ObjectNode seed = params().put("requestId", second.path("id").asText()).put("dismissed", false);
      seed.putObject("answers").putArray("q1").add("A");
      assertFalse(client.call("item/answer", seed).has("error"));
      assertTrue(completedText(client.untilTurnCompleted()).contains("You answered: q1=A."));

      // and dismissed in the seed form
      client.startTurn(threadId, "/ask Any preference?");
      JsonNode third = client.serverRequest("item/tool/requestUserInput");
      assertFalse(client.call("item/answer", params().put("requestId", third.path("id").asText())
          .put("dismissed", true)).has("error"));
      assertTrue(completedText(client.untilTurnCompleted()).contains("The question was dismissed."));
    }
  }
}
