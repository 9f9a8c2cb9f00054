package dev.legato.cluster;

import static dev.legato.cluster.Client.agentText;
import static dev.legato.cluster.Client.completedText;
import static dev.legato.cluster.Client.method;
import static dev.legato.cluster.Client.params;
import static dev.legato.cluster.Client.streamedText;
import static dev.legato.cluster.Client.thread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Any node serves any thread: a thread started on one node is resumed, run and read on another and listed on the
 * third; two clients of one thread on different nodes see one stream, gapless and without duplicates; and the
 * operators' routes of any node say where the thread lives and what the cluster holds.
 */
class ClusterLifecycleTest {
  @RegisterExtension
  static final LegatoCluster.Shared cluster = new LegatoCluster.Shared();

  @Test
  void aThreadStartedOnOneNodeIsResumedRunAndReadOnAnotherAndListedOnTheThird() throws Exception {
    List<Node> nodes = cluster.get().nodes();
    String threadId;
    String firstText;
    try (Client one = Client.of(nodes.get(0))) {
      threadId = one.startThread("echo");
      one.startTurn(threadId, "hello from the first node");
      firstText = completedText(one.untilTurnCompleted());
      assertNotNull(firstText);
    }
    String secondText;
    try (Client two = Client.of(nodes.get(1))) {
      JsonNode resumed = two.result("thread/resume", thread(threadId));
      JsonNode turns = resumed.path("thread").path("turns");
      assertEquals(1, turns.size(), resumed.toString());
      assertEquals(firstText, agentText(turns.get(0)));
      two.startTurn(threadId, "and hello from the second");
      List<JsonNode> messages = two.untilTurnCompleted();
      secondText = completedText(messages);
      assertEquals("completed", messages.get(messages.size() - 1).path("params").path("turn").path("status").asText());
    }
    try (Client three = Client.of(nodes.get(2))) {
      JsonNode listed = three.result("thread/list", params());
      List<String> ids = new ArrayList<>();
      listed.path("data").forEach(t -> ids.add(t.path("id").asText()));
      assertTrue(ids.contains(threadId), "listed on the third node: " + listed);
      JsonNode read = three.result("thread/read", thread(threadId).put("includeTurns", true));
      JsonNode turns = read.path("thread").path("turns");
      assertEquals(2, turns.size(), read.toString());
      assertEquals(firstText, agentText(turns.get(0)));
      assertEquals(secondText, agentText(turns.get(1)));
    }

    Node holder = cluster.get().holder(threadId).orElseThrow();
    for (Node node : nodes) {
      JsonNode seen = node.get("/admin/threads/" + threadId);
      assertEquals(holder.address(), seen.path("node").asText(), node.name + " says where the thread lives: " + seen);
      JsonNode members = node.get("/admin/cluster");
      assertEquals(3, members.path("members").size(), members.toString());
      int threads = 0;
      for (JsonNode region : members.path("sharding").path("threads")) {
        threads += region.path("entities").asInt();
      }
      assertTrue(threads >= 1, "the thread's entity is counted: " + members);
    }
  }

  @Test
  void aThreadWhoseHistoryOutgrowsTheRemotingFramesIsFollowedReadAndResumedOnEveryNode() throws Exception {
    // three turns of ~400 KB: each prompt is one event over Artery's default 256 KiB frame, and the history
    // (prompts and answers, ~2.4 MB) is over the 2 MiB frame, and over the 1 MiB these nodes allow a reply: a
    // resume or read on another node gets it in pages (LegatoCluster: 256 KiB each)
    List<Node> nodes = cluster.get().nodes();
    List<String> texts = new ArrayList<>();
    String threadId;
    try (Client one = Client.of(nodes.get(0)); Client watcher = Client.of(nodes.get(1))) {
      threadId = one.startThread("echo");
      watcher.result("thread/resume", thread(threadId));
      for (int turn = 0; turn < 3; turn++) {
        String text = String.join(" ", java.util.Collections.nCopies(80, String.valueOf((char) ('a' + turn)).repeat(5_000)));
        texts.add(text);
        one.startTurn(threadId, text);
        assertEquals(text, completedText(one.untilTurnCompleted()));
        assertEquals(text, completedText(watcher.untilTurnCompleted()), "the follower on another node heard it all");
      }
    }
    for (Node node : nodes) {
      try (Client client = Client.of(node)) {
        JsonNode turns = client.result("thread/read", thread(threadId).put("includeTurns", true)).path("thread")
            .path("turns");
        assertEquals(3, turns.size(), node.name);
        for (int turn = 0; turn < 3; turn++) {
          assertEquals(texts.get(turn), agentText(turns.get(turn)), node.name + ", turn " + turn);
        }
        assertEquals(3, client.result("thread/resume", thread(threadId)).path("thread").path("turns").size(), node.name);
      }
    }
  }

  @Test
  void twoClientsOfOneThreadOnDifferentNodesSeeOneStreamGaplessWithoutDuplicates() throws Exception {
    List<Node> nodes = cluster.get().nodes();
    try (Client starter = Client.of(nodes.get(0)); Client watcher = Client.of(nodes.get(2))) {
      String threadId = starter.startThread("coder");
      watcher.result("thread/resume", thread(threadId));
      String turnId = starter.startTurn(threadId, "/slow across the cluster /long 30");
      List<JsonNode> started = starter.untilTurnCompleted();
      List<JsonNode> watched = watcher.untilTurnCompleted();
      String whole = completedText(started);
      assertTrue(whole.contains("across the cluster"), whole);
      assertEquals(whole, streamedText(started), "the starter's deltas add up to the answer");
      assertEquals(whole, streamedText(watched), "so do the watcher's, on another node");
      assertEquals(items(started), items(watched), "the same items in the same order");
      for (List<JsonNode> stream : List.of(started, watched)) {
        assertEquals(1, stream.stream().filter(m -> method(m).equals("turn/completed")).count());
        assertEquals(turnId, stream.get(stream.size() - 1).path("params").path("turn").path("id").asText());
        Set<String> completed = new HashSet<>();
        for (JsonNode m : stream) {
          if (method(m).equals("item/completed")) {
            assertTrue(completed.add(m.path("params").path("item").path("id").asText()), "no item completes twice: " + m);
          }
        }
      }
    }
  }

  @Test
  void aFollowerOnAnotherNodeHearsAtOnceThatItsThreadsEntityStopped() throws Exception {
    // The node of an entity that stops flushes its lanes to each node that watches it, then tells them. A reply to
    // an ask (a thread/read from another node) opens the large-message lane to that node; a flush over it never
    // completed with several inbound lanes, and the notice waited for the flush timeout (3 s, a warning).
    List<Node> nodes = cluster.get().nodes();
    String threadId;
    try (Client starter = Client.of(nodes.get(0))) {
      threadId = starter.startThread("echo");
      starter.startTurn(threadId, "a turn to read from another node");
      starter.untilTurnCompleted();
    }
    Node holder = cluster.get().holder(threadId).orElseThrow();
    Node other = nodes.stream().filter(node -> node != holder).findFirst().orElseThrow();
    // only what the holder logs from now on: the cluster is shared, and a node paused by an earlier test (nothing
    // can reach it) times a flush out legitimately
    int before = holder.logs().length();
    try (Client follower = Client.of(other)) {
      follower.result("thread/resume", thread(threadId));
      follower.result("thread/read", thread(threadId).put("includeTurns", true));
      follower.result("thread/delete", thread(threadId)); // its entity stops; the follower here watches it
      Thread.sleep(4_000); // past the flush timeout
    }
    String logged = holder.logs().substring(before);
    assertFalse(logged.contains("Flush timeout"), holder.name + " waited for a flush that never completed: " + logged);
  }

  /** The items started and completed in a stream, in order. */
  private static List<String> items(List<JsonNode> stream) {
    List<String> items = new ArrayList<>();
    for (JsonNode m : stream) {
      if (method(m).equals("item/started") || method(m).equals("item/completed")) {
        items.add(method(m) + " " + m.path("params").path("item").path("id").asText());
      }
    }
    return items;
  }
}
