package dev.legato.gateway;

import static dev.legato.gateway.CodexClient.params;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** A client that only listens stays connected past the server's idle timeout: Legato pings it. */
class GatewayKeepAliveTest {
  @Test
  void aQuietClientIsPingedInsteadOfCutOff() throws Exception {
    try (LegatoUnderTest legato = LegatoUnderTest.start(Map.of(
            "pekko.http.server.idle-timeout", "2s",
            "pekko.http.server.websocket.periodic-keep-alive-max-idle", "500ms"));
         CodexClient client = legato.client()) {
      String threadId = client.result("thread/start", params().put("model", "echo")).path("thread").path("id").asText();
      Thread.sleep(5000); // quiet for more than twice the idle timeout
      assertFalse(client.closed.isDone(), "still connected");
      client.result("turn/start", params().put("threadId", threadId).put("text", "still here"));
      assertTrue(client.until(m -> "turn/completed".equals(m.path("method").asText())).size() > 1);
    }
  }
}
