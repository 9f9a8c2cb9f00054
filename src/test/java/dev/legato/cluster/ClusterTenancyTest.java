package dev.legato.cluster;

import static dev.legato.cluster.Client.agentText;
import static dev.legato.cluster.Client.completedText;
import static dev.legato.cluster.Client.params;
import static dev.legato.cluster.Client.thread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Tenants across nodes, with the compose file's keys: a thread is its tenant's wherever its entity lives and
 * wherever the client connects. Another tenant, on the thread's own node or on any other, can neither list, read,
 * resume, run, rename, archive nor delete it (each refusal reads exactly as for a thread that does not exist), while
 * its own tenant reaches it from every node; and the nodes let nobody in without a key, nor a tenant into the
 * operators' routes.
 */
class ClusterTenancyTest {
  @RegisterExtension
  static final LegatoCluster.Shared cluster = new LegatoCluster.Shared();

  @Test
  void aThreadIsItsTenantsOnEveryNodeAndNoOtherTenantReachesItFromAny() throws Exception {
    List<Node> nodes = cluster.get().nodes();
    Node first = nodes.get(0);
    String alpha = first.key("LEGATO_API_KEYS", "alpha");
    String beta = first.key("LEGATO_API_KEYS", "beta");
    assertNotNull(alpha, "docker/compose.yaml gives tenant alpha a key");
    assertNotNull(beta, "docker/compose.yaml gives tenant beta a key");

    String theirs;
    String said;
    try (Client owner = Client.of(first, alpha)) {
      theirs = owner.result("thread/start", params().put("model", "echo").put("name", "alpha secret"))
          .path("thread").path("id").asText();
      owner.startTurn(theirs, "alpha's private words");
      said = completedText(owner.untilTurnCompleted());
    }
    Node holder = cluster.get().holder(theirs).orElseThrow();

    String unknown = UUID.randomUUID().toString();
    for (Node node : nodes) { // the holder and the others alike
      try (Client other = Client.of(node, beta)) {
        String own = other.startThread("echo");
        JsonNode listed = other.result("thread/list", params().put("limit", 200));
        assertTrue(listed.toString().contains(own), listed.toString());
        assertFalse(listed.toString().contains(theirs), "beta's listing on " + node.name + " holds only beta's: " + listed);
        for (ObjectNode attempt : attempts(theirs)) {
          String method = attempt.path("method").asText();
          JsonNode refused = other.call(method, (ObjectNode) attempt.get("params"));
          assertTrue(refused.has("error"), method + " on another tenant's thread from " + node.name + " (the thread is on "
              + holder.name + ") must fail: " + refused);
          JsonNode missing = other.call(method, ((ObjectNode) attempt.get("params").deepCopy()).put("threadId", unknown));
          assertEquals(missing.path("error").path("message").asText().replace(unknown, theirs),
              refused.path("error").path("message").asText(),
              method + " from " + node.name + ": another tenant's thread looks exactly like one that does not exist");
        }
      }
    }

    // the owner, from each node: nothing of beta's attempts happened, and the thread is there to run
    for (Node node : nodes) {
      try (Client owner = Client.of(node, alpha)) {
        JsonNode listed = owner.result("thread/list", params().put("limit", 200));
        assertTrue(listed.toString().contains(theirs), "alpha lists its thread on " + node.name + ": " + listed);
        JsonNode read = owner.result("thread/read", thread(theirs).put("includeTurns", true)).path("thread");
        assertEquals("alpha secret", read.path("name").asText(), "not renamed: " + read);
        assertEquals(1, read.path("turns").size(), "no turn of beta's: " + read);
        assertEquals(said, agentText(read.path("turns").get(0)));
      }
    }
    try (Client owner = Client.of(nodes.get(2), alpha)) {
      owner.result("thread/resume", thread(theirs));
      owner.startTurn(theirs, "still mine");
      assertNotNull(completedText(owner.untilTurnCompleted()));
    }
  }

  @Test
  void everyNodeRefusesAClientWithoutAKeyAndATenantAtTheOperatorsRoutes() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    for (Node node : cluster.get().nodes()) {
      String alpha = node.key("LEGATO_API_KEYS", "alpha");
      assertEquals(401, upgrade(http, node, null), node.name + ": no key, even from loopback");
      assertEquals(401, upgrade(http, node, "not-a-key"), node.name + ": an unknown key");
      assertEquals(101, upgrade(http, node, alpha), node.name + ": a tenant's key");
      HttpResponse<String> admin = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port()
          + "/admin/cluster")).header("Authorization", "Bearer " + alpha).timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(403, admin.statusCode(), node.name + ": a tenant is no operator");
      assertEquals(3, node.get("/admin/cluster").path("members").size(), node.name + ": the admin key is");
    }
  }

  /** What another tenant might try on a thread, as {method, params}. */
  private static List<ObjectNode> attempts(String threadId) {
    return List.of(
        call("thread/read", thread(threadId).put("includeTurns", true)),
        call("thread/resume", thread(threadId)),
        call("turn/start", thread(threadId).put("text", "beta was here")),
        call("turn/interrupt", thread(threadId)),
        call("thread/name/set", thread(threadId).put("name", "beta's now")),
        call("thread/archive", thread(threadId)),
        call("thread/delete", thread(threadId)));
  }

  private static ObjectNode call(String method, ObjectNode params) {
    ObjectNode call = params().put("method", method);
    call.set("params", params);
    return call;
  }

  /** The status of a WebSocket upgrade of {@code node}'s endpoint with {@code key} (none: null): 101 when it opens. */
  private static int upgrade(HttpClient http, Node node, String key) throws Exception {
    WebSocket.Builder builder = http.newWebSocketBuilder();
    if (key != null) {
      builder.header("Authorization", "Bearer " + key);
    }
    try {
      builder.buildAsync(URI.create(node.url()), new WebSocket.Listener() {}).get(30, TimeUnit.SECONDS).abort();
      return 101;
    } catch (ExecutionException e) {
      if (e.getCause() instanceof WebSocketHandshakeException refused) {
        return refused.getResponse().statusCode();
      }
      throw e;
    }
  }
}
