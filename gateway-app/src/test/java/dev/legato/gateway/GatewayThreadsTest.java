package dev.legato.gateway;

import static dev.legato.gateway.CodexClient.completedText;
import static dev.legato.gateway.CodexClient.method;
import static dev.legato.gateway.CodexClient.params;
import static dev.legato.gateway.CodexClient.thread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A tenant's threads over the socket: listing, reading, naming, archiving, deleting, unsubscribing. */
class GatewayThreadsTest {
  @RegisterExtension
  static final LegatoUnderTest legato = LegatoUnderTest.with(Map.of());

  static List<String> ids(JsonNode page) {
    List<String> ids = new ArrayList<>();
    page.path("data").forEach(t -> ids.add(t.path("id").asText()));
    return ids;
  }

  static String error(JsonNode response) {
    assertTrue(response.has("error"), "an error, not " + response);
    return response.path("error").path("message").asText();
  }

  @Test
  void threadListPagesThroughEveryMatchingThreadOnceAndSearchesNamesAndPreviews() throws Exception {
    String tag = "pg" + UUID.randomUUID().toString().substring(0, 8);
    try (CodexClient client = legato.client()) {
      Set<String> started = new HashSet<>();
      for (int i = 0; i < 5; i++) {
        started.add(client.result("thread/start", params().put("model", "echo").put("name", tag + " thread " + i))
            .path("thread").path("id").asText());
      }
      String other = client.startThread("echo"); // found by its preview, not its name
      client.startTurn(other, "where is the " + tag + "-needle hidden");
      client.untilTurnCompleted();

      List<String> seen = new ArrayList<>();
      String cursor = null;
      int pages = 0;
      do {
        ObjectNode query = params().put("limit", 2).put("searchTerm", tag + " thread").put("sortKey", "created_at");
        if (cursor != null) {
          query.put("cursor", cursor);
        }
        JsonNode page = client.result("thread/list", query);
        assertTrue(page.path("data").size() <= 2, page.toString());
        seen.addAll(ids(page));
        cursor = page.path("nextCursor").isNull() ? null : page.path("nextCursor").asText();
        pages++;
      } while (cursor != null && pages < 10);
      assertEquals(3, pages, "5 threads in pages of 2");
      assertEquals(5, seen.size(), "each thread once: " + seen);
      assertEquals(started, new HashSet<>(seen));
      assertFalse(seen.contains(other));

      JsonNode byPreview = client.result("thread/list", params().put("searchTerm", tag + "-NEEDLE"));
      assertEquals(List.of(other), ids(byPreview), "search is case-insensitive and reads previews");
      assertTrue(client.result("thread/list", params().put("searchTerm", "no-such-" + tag)).path("data").isEmpty());
      JsonNode all = client.result("thread/list", params().put("limit", 50));
      assertTrue(ids(all).containsAll(started) && ids(all).contains(other));
      assertEquals(-32600, client.call("thread/list", params().put("cursor", "garbage")).path("error").path("code").asInt());
    }
  }

  @Test
  void theResumePickerSeesEachThreadsFirstPrompt() throws Exception {
    String tag = "pv" + UUID.randomUUID().toString().substring(0, 8);
    try (CodexClient client = legato.client()) {
      String threadId = client.startThread("echo");
      client.startTurn(threadId, tag + " plan the harbour");
      client.untilTurnCompleted();
      client.startTurn(threadId, "and now the lighthouse");
      client.untilTurnCompleted();
      String forkId = client.result("thread/fork", thread(threadId)).path("thread").path("id").asText();
      client.startTurn(forkId, "only in the fork");
      client.untilTurnCompleted();

      JsonNode page = client.result("thread/list", params().put("searchTerm", tag));
      Map<String, JsonNode> listed = new java.util.HashMap<>();
      page.path("data").forEach(t -> listed.put(t.path("id").asText(), t));
      assertEquals(Set.of(threadId, forkId), listed.keySet(), page.toString());
      JsonNode original = listed.get(threadId);
      assertEquals(tag + " plan the harbour", original.path("preview").asText(), "the first prompt, not the latest");
      assertEquals(tag + " plan the harbour", listed.get(forkId).path("preview").asText(),
          "a fork's first message is the first of the conversation it continues");
      assertEquals(tag + " plan the harbour",
          client.result("thread/read", thread(threadId)).path("thread").path("preview").asText());
    }
  }

  @Test
  void operatorsSeeSpareThreadsAsSparesWithoutEmptyFields() throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    java.net.URI admin = java.net.URI.create("http://127.0.0.1:" + legato.gateway.port() + "/admin/threads");
    try (CodexClient client = legato.client()) {
      client.startThread("echo"); // the registry prepares its spares right after
      long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
      while (true) {
        JsonNode listing = CodexClient.JSON.readTree(http.send(java.net.http.HttpRequest.newBuilder(admin).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString()).body());
        List<JsonNode> spares = new ArrayList<>();
        for (JsonNode thread : listing.path("threads")) {
          if (thread.path("agentType").isNull()) {
            assertEquals("spare", thread.path("state").asText(), "a thread without agent type is a spare: " + thread);
          }
          if ("spare".equals(thread.path("state").asText())) {
            spares.add(thread);
          }
        }
        if (!spares.isEmpty()) {
          for (JsonNode spare : spares) {
            spare.fields().forEachRemaining(field ->
                assertFalse(field.getValue().isNull(), "a spare has no empty fields: " + spare));
            assertTrue(spare.has("threadId"), spare.toString());
          }
          break;
        }
        assertTrue(System.nanoTime() < deadline, "no spare listed: " + listing);
        Thread.sleep(50);
      }
    }
  }

  @Test
  void threadReadReturnsTheThreadWithOrWithoutItsTurns() throws Exception {
    try (CodexClient client = legato.client()) {
      String threadId = client.startThread("echo");
      client.startTurn(threadId, "read me back");
      client.untilTurnCompleted();
      JsonNode bare = client.result("thread/read", thread(threadId));
      assertEquals(threadId, bare.path("thread").path("id").asText());
      assertTrue(bare.path("thread").path("turns").isEmpty(), bare.toString());
      assertEquals("read me back", bare.path("thread").path("preview").asText());
      JsonNode full = client.result("thread/read", thread(threadId).put("includeTurns", true));
      JsonNode turns = full.path("thread").path("turns");
      assertEquals(1, turns.size());
      assertEquals("completed", turns.get(0).path("status").asText());
      String items = turns.get(0).path("items").toString();
      assertTrue(items.contains("userMessage") && items.contains("agentMessage") && items.contains("read me back"), items);
    }
  }

  @Test
  void renamingAThreadIsAnnouncedToEveryClientFollowingItAndRemembered() throws Exception {
    try (CodexClient client = legato.client(); CodexClient watcher = legato.client();
         CodexClient bystander = legato.client()) {
      String threadId = client.startThread("echo");
      watcher.result("thread/resume", thread(threadId));
      client.result("thread/name/set", thread(threadId).put("name", "Harbour plans"));
      for (CodexClient following : List.of(client, watcher)) {
        JsonNode updated = following.notification("thread/name/updated");
        assertEquals(threadId, updated.path("params").path("threadId").asText());
        assertEquals("Harbour plans", updated.path("params").path("threadName").asText());
      }
      // Once each: the next announcement is the next name. A client not following it renames it too.
      bystander.result("thread/name/set", thread(threadId).put("name", "Harbour plans, v2"));
      for (CodexClient following : List.of(client, watcher, bystander)) {
        assertEquals("Harbour plans, v2",
            following.notification("thread/name/updated").path("params").path("threadName").asText());
      }
      client.result("thread/name/set", thread(threadId).put("name", "Harbour plans"));
      assertEquals("Harbour plans", client.result("thread/read", thread(threadId)).path("thread").path("name").asText());
      assertTrue(ids(client.result("thread/list", params().put("searchTerm", "harbour plans"))).contains(threadId));
      assertEquals(-32602, client.call("thread/name/set", thread(threadId)).path("error").path("code").asInt());
      error(client.call("thread/name/set", thread(threadId).put("name", "   ")));
    }
  }

  @Test
  void anArchivedThreadIsListedApartRefusesTurnsAndComesBackWhenUnarchived() throws Exception {
    try (CodexClient client = legato.client(); CodexClient watcher = legato.client()) {
      String threadId = client.startThread("coder"); // a coder turn can be slow enough to be busy
      client.startTurn(threadId, "before the archive");
      client.untilTurnCompleted();
      watcher.result("thread/resume", thread(threadId));

      client.startTurn(threadId, "/slow /long 20 busy");
      String busy = error(client.call("thread/archive", thread(threadId)));
      assertTrue(busy.contains("turn is running"), busy);
      client.untilTurnCompleted();
      watcher.untilTurnCompleted();

      client.result("thread/archive", thread(threadId));
      assertEquals(threadId, client.notification("thread/archived").path("params").path("threadId").asText(),
          "the client that archived it hears it");
      assertEquals(threadId, watcher.notification("thread/archived").path("params").path("threadId").asText(),
          "a client following the thread hears it");
      assertFalse(ids(client.result("thread/list", params().put("limit", 200))).contains(threadId));
      assertTrue(ids(client.result("thread/list", params().put("archived", true))).contains(threadId));
      String refused = error(client.call("turn/start", thread(threadId).put("text", "while archived")));
      assertTrue(refused.contains("archived"), refused);
      assertEquals(2, client.result("thread/read", thread(threadId).put("includeTurns", true))
          .path("thread").path("turns").size(), "no turn was added");

      JsonNode unarchived = client.result("thread/unarchive", thread(threadId));
      assertEquals(threadId, unarchived.path("thread").path("id").asText());
      client.notification("thread/unarchived");
      watcher.notification("thread/unarchived");
      assertTrue(ids(client.result("thread/list", params().put("limit", 200))).contains(threadId));
      assertFalse(ids(client.result("thread/list", params().put("archived", true))).contains(threadId));
      client.startTurn(threadId, "after the archive");
      assertEquals("You said: after the archive.", completedText(client.untilTurnCompleted()));
    }
  }

  @Test
  void aDeletedThreadIsGoneAndAsksForItFailCleanly() throws Exception {
    try (CodexClient client = legato.client()) {
      String threadId = client.startThread("echo");
      client.startTurn(threadId, "soon forgotten");
      client.untilTurnCompleted();
      client.result("thread/delete", thread(threadId));
      assertEquals(threadId, client.notification("thread/deleted").path("params").path("threadId").asText());

      assertTrue(error(client.call("thread/read", thread(threadId))).contains("unknown thread"));
      assertTrue(error(client.call("thread/resume", thread(threadId))).contains("unknown thread"));
      assertTrue(error(client.call("turn/start", thread(threadId).put("text", "hello?"))).contains("unknown thread"));
      assertTrue(error(client.call("thread/delete", thread(threadId))).contains("unknown thread"));
      assertFalse(ids(client.result("thread/list", params().put("limit", 200))).contains(threadId));
      assertFalse(ids(client.result("thread/list", params().put("archived", true).put("limit", 200))).contains(threadId));
      assertNotNull(client.result("account/read", params()), "the connection still serves");
    }
  }

  @Test
  void anUnsubscribedClientHearsNothingMoreOfTheThread() throws Exception {
    try (CodexClient client = legato.client(); CodexClient leaving = legato.client()) {
      String threadId = client.startThread("echo");
      leaving.result("thread/resume", thread(threadId));
      client.startTurn(threadId, "heard by both");
      client.untilTurnCompleted();
      leaving.untilTurnCompleted();

      assertEquals("unsubscribed", leaving.result("thread/unsubscribe", thread(threadId)).path("status").asText());
      assertEquals("notSubscribed", leaving.result("thread/unsubscribe", thread(threadId)).path("status").asText());
      leaving.drainFor(Duration.ofMillis(200)); // what was already on its way
      client.startTurn(threadId, "heard by one");
      assertEquals("heard by one", completedText(client.untilTurnCompleted()));
      List<JsonNode> after = leaving.drainFor(Duration.ofSeconds(1));
      assertTrue(after.isEmpty(), "nothing after unsubscribing: " + after);
      assertFalse(leaving.result("thread/loaded/list", params()).path("data").toString().contains(threadId));
    }
  }
}
