package dev.legato.gateway;

import static dev.legato.gateway.CodexClient.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.storage.SessionStorage;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An operator's restore through the running node: {@code ./legato restore} (its command class, speaking to
 * the admin route) brings a deleted thread back and rolls a live one back to a moment; clients then see an
 * ordinary thread (listed, resumable, its agent answering). Bad requests are refused and change nothing.
 */
class GatewayRestoreTest {
  @RegisterExtension
  static final LegatoUnderTest legato = LegatoUnderTest.with(Map.of());

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @Test
  void aDeletedThreadIsRestoredWithTheCommandAndIsAnOrdinaryThreadAgain() throws Exception {
    try (CodexClient client = legato.client()) {
      String threadId = start(client);
      turn(client, threadId, "remember the lighthouse");
      shipped();
      client.result("thread/delete", params().put("threadId", threadId));
      assertFalse(listed(client, threadId), "deleted");
      shipped();

      assertEquals(0, RestoreCommand.run(new String[] {threadId, "--url", base()}));

      JsonNode entry = entry(client, threadId);
      assertTrue(entry != null, "listed again");
      assertTrue(entry.toString().contains("remember the lighthouse"), "its preview is its first prompt: " + entry);
      JsonNode resumed = client.result("thread/resume", params().put("threadId", threadId));
      assertEquals(1, resumed.path("thread").path("turns").size(), resumed.toString());
      assertTrue(resumed.path("thread").path("turns").get(0).toString().contains("remember the lighthouse"));
      turn(client, threadId, "and the harbour"); // a new agent, told the conversation, answers
    }
  }

  @Test
  void aLiveThreadIsRolledBackToAMomentAndGoesOnFromThere() throws Exception {
    try (CodexClient client = legato.client()) {
      String threadId = start(client);
      turn(client, threadId, "first words");
      shipped();
      Instant between = Instant.now();
      Thread.sleep(5);
      turn(client, threadId, "second words");
      shipped();

      HttpResponse<String> restored = post("/admin/threads/" + threadId + "/restore?at=" + between);
      assertEquals(200, restored.statusCode(), restored.body());
      JsonNode answer = CodexClient.JSON.readTree(restored.body());
      assertTrue(answer.path("complete").asBoolean(), answer.toString());
      assertTrue(answer.path("generation").asText().matches("[0-9a-f]{16}"), answer.toString());
      assertTrue(Instant.parse(answer.path("stateAt").asText()).isBefore(between.plusMillis(1)), answer.toString());

      JsonNode resumed = client.result("thread/resume", params().put("threadId", threadId));
      JsonNode turns = resumed.path("thread").path("turns");
      assertEquals(1, turns.size(), "the second turn is rolled back: " + turns);
      assertTrue(turns.get(0).toString().contains("first words"));
      assertTrue(listed(client, threadId), "still listed");
      turn(client, threadId, "third words");
      JsonNode after = client.result("thread/resume", params().put("threadId", threadId)).path("thread").path("turns");
      assertEquals(2, after.size(), after.toString());
      assertFalse(after.toString().contains("second words"), after.toString());
    }
  }

  @Test
  void aRestoreThatCannotBeIsRefusedClearlyAndChangesNothing() throws Exception {
    UUID never = UUID.randomUUID();
    HttpResponse<String> unknown = post("/admin/threads/" + never + "/restore");
    assertEquals(404, unknown.statusCode(), unknown.body());
    assertTrue(unknown.body().contains("no replica"), unknown.body());
    assertEquals(1, RestoreCommand.run(new String[] {never.toString(), "--url", base()}));
    assertEquals(404, HTTP.send(HttpRequest.newBuilder(URI.create(base() + "/admin/threads/" + never)).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode(), "nothing was created for it");

    try (CodexClient client = legato.client()) {
      String threadId = start(client);
      turn(client, threadId, "kept words");
      shipped();
      assertEquals(400, post("/admin/threads/" + threadId + "/restore?at=yesterday").statusCode());
      assertEquals(400, post("/admin/threads/" + threadId + "/restore?when=2026-01-01T00:00:00Z").statusCode());
      assertEquals(404, post("/admin/threads/" + threadId + "/restore?at=2001-01-01T00:00:00Z").statusCode(),
          "no state that early");
      assertEquals(405, HTTP.send(HttpRequest.newBuilder(URI.create(base() + "/admin/threads/" + threadId + "/restore"))
          .build(), HttpResponse.BodyHandlers.ofString()).statusCode(), "a restore is a POST");
      assertEquals(2, RestoreCommand.run(new String[] {threadId, "--at", "soon"}), "the command checks --at itself");

      // A turn waiting for the client's approval: the thread cannot be restored under it.
      ObjectNode waiting = params().put("threadId", threadId);
      waiting.putArray("input").addObject().put("type", "text").put("text", "/run echo held");
      client.result("turn/start", waiting);
      JsonNode request = client.serverRequest("item/commandExecution/requestApproval");
      HttpResponse<String> busy = post("/admin/threads/" + threadId + "/restore");
      assertEquals(409, busy.statusCode(), busy.body());
      assertTrue(busy.body().contains("turn is running"), busy.body());
      client.answer(request, params().put("decision", "accept"));
      client.until(m -> "turn/completed".equals(m.path("method").asText()));
      JsonNode turns = client.result("thread/resume", params().put("threadId", threadId)).path("thread").path("turns");
      assertEquals(2, turns.size(), "nothing was changed: " + turns);
    }
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  private static String start(CodexClient client) throws Exception {
    return client.result("thread/start", params().put("model", "coder")).path("thread").path("id").asText();
  }

  private static void turn(CodexClient client, String threadId, String text) throws Exception {
    client.result("turn/start", params().put("threadId", threadId).put("text", text));
    List<JsonNode> messages = client.untilTurnCompleted();
    JsonNode completed = messages.get(messages.size() - 1);
    assertEquals("completed", completed.path("params").path("turn").path("status").asText(), completed.toString());
  }

  /** Everything written so far is in the replica. */
  private static void shipped() throws InterruptedException {
    assertTrue(SessionStorage.get(legato.gateway.system()).replication().orElseThrow().drain(Duration.ofSeconds(30)));
  }

  private static boolean listed(CodexClient client, String threadId) throws Exception {
    return entry(client, threadId) != null;
  }

  private static JsonNode entry(CodexClient client, String threadId) throws Exception {
    for (JsonNode thread : client.result("thread/list", params()).path("data")) {
      if (thread.path("id").asText().equals(threadId)) {
        return thread;
      }
    }
    return null;
  }

  private static String base() {
    return "http://127.0.0.1:" + legato.gateway.port();
  }

  private static HttpResponse<String> post(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(base() + path)).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
