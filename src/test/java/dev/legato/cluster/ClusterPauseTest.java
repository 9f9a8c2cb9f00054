package dev.legato.cluster;

import static dev.legato.cluster.Client.agentText;
import static dev.legato.cluster.Client.completedText;
import static dev.legato.cluster.Client.thread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.legato.storage.replica.Restorer;
import dev.legato.storage.replica.S3Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node paused (SIGSTOP) past the split-brain resolver's timeout, then resumed (SIGCONT): the others down it and
 * its thread goes on elsewhere; once it runs again it finds itself removed and stops (exit 1, for its supervisor to
 * start it anew), and nothing it wrote counts: the thread's newest replica generation is its successor's, which a
 * restore gives with every turn.
 */
class ClusterPauseTest {
  @RegisterExtension
  static final LegatoCluster.Shared cluster = new LegatoCluster.Shared();
  @TempDir Path scratch;

  @Test
  void aPausedNodeIsDownedStopsWhenItWakesAndItsStaleGenerationNeverWins() throws Exception {
    LegatoCluster legato = cluster.get();
    List<Node> nodes = legato.nodes();
    String threadId;
    String first;
    try (Client starter = Client.of(nodes.get(1))) {
      threadId = starter.startThread("coder");
      starter.startTurn(threadId, "before the pause");
      first = completedText(starter.untilTurnCompleted());
    }
    Node paused = legato.holder(threadId).orElseThrow();
    Node survivor = nodes.stream().filter(n -> n != paused).findFirst().orElseThrow();
    String pausedGeneration = Files.readString(paused.dataDir().resolve("sessions/" + threadId + "/session.db.generation")).trim();

    paused.pause();
    try {
      legato.awaitMembers(2, Duration.ofSeconds(60)); // downed and removed by the two others
      try (Client client = Client.of(survivor)) {
        client.result("thread/resume", thread(threadId));
        client.startTurn(threadId, "while the holder is paused");
        List<JsonNode> second = client.untilTurnCompleted();
        assertEquals("completed", second.get(second.size() - 1).path("params").path("turn").path("status").asText());
      }
    } finally {
      paused.resume();
    }
    assertEquals(1, paused.awaitExit(Duration.ofSeconds(90)), "it stops once it sees it was removed" + paused.logTail());
    assertTrue(paused.logs().contains("removed from its cluster"), paused.logTail());

    S3Target replicas = legato.replicas();
    String root = "sessions/" + threadId + "/session.db";
    List<String> generations = replicas.children(root + "/generations/");
    String newest = generations.stream().max(String::compareTo).orElseThrow();
    assertTrue(newest.compareTo(pausedGeneration) > 0,
        "the successor's generation is the newest (" + generations + "), not the paused node's " + pausedGeneration);
    Restorer.Result restored = Restorer.restoreInto(replicas, root, null, null, scratch.resolve("restored.db"));
    assertEquals(newest, restored.generation());
    assertEquals("ok", restored.integrity());
    try (Client reader = Client.of(survivor)) {
      JsonNode turns = reader.result("thread/read", thread(threadId).put("includeTurns", true)).path("thread").path("turns");
      assertEquals(2, turns.size(), turns.toString());
      assertEquals(first, agentText(turns.get(0)));
      assertEquals("completed", turns.get(1).path("status").asText());
    }
  }
}
