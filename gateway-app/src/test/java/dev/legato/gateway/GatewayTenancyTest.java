package dev.legato.gateway;

import static dev.legato.gateway.CodexClient.params;
import static dev.legato.gateway.CodexClient.thread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Tenants over the socket, with API keys and no loopback trust: who may connect at all, and that a tenant can
 * neither see nor touch another tenant's threads.
 */
class GatewayTenancyTest {
  static final Map<String, String> ALPHA = Map.of("Authorization", "Bearer k1");
  static final Map<String, String> BETA = Map.of("Authorization", "Bearer k2");
  @RegisterExtension
  static final LegatoUnderTest legato = LegatoUnderTest.with(Map.of(
      "legato.gateway.auth.api-keys", "k1=alpha,k2=beta",
      "legato.gateway.auth.loopback-anonymous", "off",
      "legato.gateway.auth.allowed-origins", "https://console.example.com"));

  @Test
  void onlyAKeyOpensTheSocketAndOnlyFromAnAllowedOrigin() throws Exception {
    assertEquals(401, CodexClient.upgradeStatus(legato.url, Map.of()), "no key, even from loopback");
    assertEquals(401, CodexClient.upgradeStatus(legato.url, Map.of("Authorization", "Bearer k3")), "an unknown key");
    assertEquals(101, CodexClient.upgradeStatus(legato.url, ALPHA));
    assertEquals(101, CodexClient.upgradeStatus(legato.url + "/ws", BETA));
    assertEquals(403, CodexClient.upgradeStatus(legato.url,
        Map.of("Authorization", "Bearer k1", "Origin", "https://evil.example.com")), "an origin not allowed");
    assertEquals(101, CodexClient.upgradeStatus(legato.url,
        Map.of("Authorization", "Bearer k1", "Origin", "https://console.example.com")));
  }

  @Test
  void aTenantCanNeitherSeeNorTouchAnotherTenantsThread() throws Exception {
    try (CodexClient alpha = legato.client(ALPHA); CodexClient beta = legato.client(BETA)) {
      String theirs = alpha.result("thread/start", params().put("model", "echo").put("name", "alpha secret"))
          .path("thread").path("id").asText();
      alpha.startTurn(theirs, "alpha's private words");
      alpha.untilTurnCompleted();
      alpha.drainFor(Duration.ofMillis(300)); // the turn's last status
      String own = beta.startThread("echo");

      JsonNode listed = beta.result("thread/list", params().put("limit", 200));
      assertTrue(listed.toString().contains(own));
      assertFalse(listed.toString().contains(theirs), "beta's listing holds only beta's threads: " + listed);
      assertTrue(beta.result("thread/list", params().put("searchTerm", "alpha")).path("data").isEmpty());
      assertTrue(beta.result("thread/list", params().put("archived", true)).path("data").isEmpty());

      String unknown = UUID.randomUUID().toString();
      List<ObjectNode> attempts = List.of(
          params().put("method", "thread/read").set("params", thread(theirs).put("includeTurns", true)),
          params().put("method", "thread/resume").set("params", thread(theirs)),
          params().put("method", "turn/start").set("params", thread(theirs).put("text", "beta was here")),
          params().put("method", "turn/steer").set("params", thread(theirs).put("content", "go left")),
          params().put("method", "turn/interrupt").set("params", thread(theirs)),
          params().put("method", "thread/name/set").set("params", thread(theirs).put("name", "beta's now")),
          params().put("method", "thread/archive").set("params", thread(theirs)),
          params().put("method", "thread/unarchive").set("params", thread(theirs)),
          params().put("method", "thread/delete").set("params", thread(theirs)));
      for (ObjectNode attempt : attempts) {
        String name = attempt.path("method").asText();
        JsonNode refused = beta.call(name, (ObjectNode) attempt.get("params"));
        assertTrue(refused.has("error"), name + " on another tenant's thread must fail: " + refused);
        JsonNode missing = beta.call(name, ((ObjectNode) attempt.get("params").deepCopy()).put("threadId", unknown));
        assertEquals(missing.path("error").path("message").asText().replace(unknown, theirs),
            refused.path("error").path("message").asText(),
            name + ": another tenant's thread looks exactly like one that does not exist");
      }
      assertFalse(beta.result("thread/loaded/list", params()).toString().contains(theirs));

      // nothing changed for alpha: no turn started, no rename, not archived, not deleted, no notification
      List<JsonNode> heard = alpha.drainFor(Duration.ofMillis(500));
      assertTrue(heard.isEmpty(), "alpha heard nothing of beta's attempts: " + heard);
      JsonNode read = alpha.result("thread/read", thread(theirs).put("includeTurns", true)).path("thread");
      assertEquals(1, read.path("turns").size(), read.toString());
      assertEquals("alpha secret", read.path("name").asText());
      assertTrue(alpha.result("thread/list", params()).toString().contains(theirs), "still listed, not archived");
      assertFalse(alpha.result("thread/list", params()).toString().contains(own), "and alpha cannot see beta's");
      alpha.startTurn(theirs, "still mine");
      alpha.untilTurnCompleted();
    }
  }
}
