package dev.legato.gateway;

import static dev.legato.gateway.CodexClient.completedText;
import static dev.legato.gateway.CodexClient.method;
import static dev.legato.gateway.CodexClient.thread;
import static dev.legato.gateway.LegatoUnderTest.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.podium.emulator.EmulatorSettings;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Threads outlive their agents: after the instance scaled itself to zero (the thread had let its link go) or
 * was killed, resuming or starting a turn re-spawns the agent, hydrated with the conversation. Timers are
 * short here so that this happens within a test.
 */
class GatewayRecoveryTest {
  @RegisterExtension
  static final LegatoUnderTest legato = LegatoUnderTest.with(
      EmulatorSettings.defaults().withIdleTimeout(Duration.ofSeconds(3)),
      Map.of("legato.thread.close-link-after", "1s", "legato.thread.passivate-after", "2s"));

  static dev.legato.thread.ThreadCommand.ThreadStatus status(String threadId) {
    try {
      return legato.status(threadId);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static String say(CodexClient client, String threadId, String text) {
    client.startTurn(threadId, text);
    List<JsonNode> turn = client.untilTurnCompleted();
    assertEquals("completed", turn.get(turn.size() - 1).path("params").path("turn").path("status").asText(),
        turn.toString());
    return completedText(turn);
  }

  @Test
  void resumeAfterTheInstanceScaledToZeroRespawnsTheAgentWhichRecallsTheConversation() throws Exception {
    String threadId;
    String instance;
    try (CodexClient client = legato.client()) {
      threadId = client.startThread("echo");
      say(client, threadId, "remember the harbour");
      say(client, threadId, "and the lighthouse");
      instance = legato.status(threadId).instanceId();
    }
    eventually(Duration.ofSeconds(60), "instance " + instance + " scales to zero",
        () -> "terminated".equals(legato.emulator.instances().get(instance)));

    try (CodexClient client = legato.client()) {
      JsonNode resumed = client.result("thread/resume", thread(threadId));
      assertEquals(2, resumed.path("thread").path("turns").size(), resumed.toString());
      String recalled = say(client, threadId, "/history");
      assertEquals("you said: remember the harbour | and the lighthouse", recalled);
      String now = legato.status(threadId).instanceId();
      assertNotEquals(instance, now, "a new instance");
      assertNotEquals("terminated", legato.emulator.instances().get(now), "the new instance is alive");
    }
  }

  @Test
  void aTurnAfterTheInstanceWasKilledRespawnsItForTheConnectedClient() throws Exception {
    try (CodexClient client = legato.client()) {
      String threadId = client.startThread("echo");
      say(client, threadId, "the key is under the mat");
      String instance = legato.status(threadId).instanceId();
      legato.emulator.faults().killInstance(instance);
      eventually(Duration.ofSeconds(30), "the thread hears that its agent is gone",
          () -> status(threadId).link().equals("none"));
      String recalled = say(client, threadId, "/history");
      assertEquals("you said: the key is under the mat", recalled);
      assertNotEquals(instance, legato.status(threadId).instanceId());
    }
  }

  @Test
  void aTurnWhoseInstanceIsKilledFailsAndTheThreadGoesOn() throws Exception {
    try (CodexClient client = legato.client()) {
      String threadId = client.startThread("coder");
      client.startTurn(threadId, "/slow /long 60 interrupted by a crash");
      client.next(m -> method(m).equals("item/agentMessage/delta"));
      legato.emulator.faults().killInstance(legato.status(threadId).instanceId());
      List<JsonNode> cut = client.untilTurnCompleted();
      JsonNode turn = cut.get(cut.size() - 1).path("params").path("turn");
      assertEquals("failed", turn.path("status").asText(), turn.toString());
      assertTrue(turn.path("error").path("message").asText().contains("agent"), turn.toString());
      assertEquals("ready", legato.status(threadId).phase(), "not stuck in a turn");
      assertTrue(say(client, threadId, "still here").startsWith("You said: still here."));
    }
  }
}
