package dev.legato.gateway;

import static dev.legato.gateway.CodexClient.method;
import static dev.legato.gateway.CodexClient.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.legato.gateway.protocol.JsonRpc;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a client is told when Podium fails: errors that are not its fault carry a server-error code (the
 * -32000 range), and a request the agent can no longer answer is withdrawn at once.
 */
class GatewayFailuresTest {
  @RegisterExtension
  // Refused calls must not open the Podium client's circuit breaker for the tests that follow.
  static final LegatoUnderTest legato = LegatoUnderTest.with(Map.of("legato.podium.circuit-breaker.max-failures", "1000"));

  @Test
  void podiumUnavailableIsAServerErrorNotAnInvalidRequest() throws Exception {
    try (CodexClient client = legato.client()) {
      legato.emulator.faults().failRestCalls(1.0);
      try {
        // The agent type was never resolved on this node: the start itself needs Podium.
        JsonNode refused = client.call("thread/start", params().put("model", "claude-agent"));
        assertEquals(JsonRpc.PODIUM_UNAVAILABLE, refused.path("error").path("code").asInt(), refused.toString());
        assertTrue(refused.path("error").path("message").asText().startsWith("podium: "), refused.toString());
      } finally {
        legato.emulator.faults().reset();
      }
      // The client's own mistakes keep their codes.
      JsonNode badParams = client.call("turn/start", params().put("threadId", "not-a-uuid"));
      assertEquals(JsonRpc.INVALID_PARAMS, badParams.path("error").path("code").asInt(), badParams.toString());
      String threadId = client.startThread("coder");
      client.startTurn(threadId, "/slow /long 100");
      JsonNode busy = client.call("turn/start", CodexClient.turn(threadId, "another"));
      assertEquals(JsonRpc.INVALID_REQUEST, busy.path("error").path("code").asInt(), busy.toString());
    }
  }

  @Test
  void anApprovalPendingWhenTheAgentsSocketDropsIsWithdrawnAtOnce() throws Exception {
    try (CodexClient client = legato.client()) {
      String threadId = client.startThread("coder");
      client.startTurn(threadId, "/run ls");
      JsonNode asked = client.serverRequest("item/commandExecution/requestApproval");
      legato.emulator.faults().restLatency(Duration.ofSeconds(5)); // Podium answers slowly whether it lives
      try {
        long dropped = System.nanoTime();
        legato.emulator.faults().dropSocket(legato.status(threadId).instanceId());
        List<JsonNode> until = client.untilTurnCompleted();
        long tookMs = (System.nanoTime() - dropped) / 1_000_000;
        assertTrue(tookMs < 4_000, "the client hears it before Podium answers: " + tookMs + " ms");
        assertTrue(until.stream().anyMatch(m -> "serverRequest/resolved".equals(method(m))
            && m.path("params").path("requestId").asText().equals(asked.get("id").asText())),
            "the request is withdrawn: " + until);
        JsonNode completed = until.get(until.size() - 1);
        assertEquals("failed", completed.path("params").path("turn").path("status").asText(), completed.toString());
      } finally {
        legato.emulator.faults().reset();
      }
    }
  }
}
