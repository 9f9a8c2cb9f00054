package dev.legato.cluster;

import static dev.legato.cluster.Client.agentText;
import static dev.legato.cluster.Client.completedText;
import static dev.legato.cluster.Client.method;
import static dev.legato.cluster.Client.thread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.legato.storage.replica.Restorer;
import dev.legato.storage.replica.S3Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node killed (SIGKILL) while one of its threads runs a turn: the split-brain resolver downs it, the thread
 * starts on a survivor from its replica and records the turn interrupted, a client that watched it from another
 * node sees that, and a client of the dead node reconnects to a survivor and resumes. With sync replicas every turn
 * a client was told completed is there with the same text, and every database file (the dead node's, and each
 * thread's restored from S3) passes {@code PRAGMA integrity_check}. {@code -Dlegato.cluster.kills=N} (default 10)
 * kills N nodes in turn, each started again before the next.
 */
class ClusterCrashTest {
  @RegisterExtension
  static final LegatoCluster.Shared cluster = new LegatoCluster.Shared();
  @TempDir Path scratch;

  @Test
  void aKilledNodesThreadsGoOnElsewhereWithEveryCompletedTurnAndIntactFiles() throws Exception {
    LegatoCluster legato = cluster.get();
    int kills = Integer.getInteger("legato.cluster.kills", 10);
    Map<String, List<String>> completed = new LinkedHashMap<>(); // thread -> texts of the turns seen completed
    List<Long> failovers = new ArrayList<>();
    for (int round = 0; round < kills; round++) {
      legato.allUp();
      List<Node> nodes = legato.nodes();
      String threadId;
      try (Client starter = Client.of(nodes.get(round % nodes.size()))) {
        threadId = starter.startThread("coder");
        starter.startTurn(threadId, "first turn of round " + round);
        completed.computeIfAbsent(threadId, t -> new ArrayList<>()).add(completedText(starter.untilTurnCompleted()));
      }
      Node holder = legato.holder(threadId).orElseThrow();
      Node survivor = nodes.stream().filter(n -> n != holder).findFirst().orElseThrow();
      Client watcher = Client.of(survivor);
      Client onHolder = Client.of(holder);
      watcher.result("thread/resume", thread(threadId));
      onHolder.result("thread/resume", thread(threadId));
      String running = watcher.startTurn(threadId, "/slow killed mid-turn /long 60");
      watcher.next(m -> method(m).equals("item/agentMessage/delta"));
      long kill = System.nanoTime();
      holder.kill();

      List<JsonNode> ending = watcher.untilTurnCompleted();
      long failover = (System.nanoTime() - kill) / 1_000_000;
      failovers.add(failover);
      JsonNode ended = ending.get(ending.size() - 1).path("params").path("turn");
      assertEquals(running, ended.path("id").asText());
      assertTrue(Set.of("interrupted", "failed").contains(ended.path("status").asText()),
          "the turn the kill cut short is recorded so, never left running: " + ended);
      assertTrue(onHolder.closed.isDone(), "the dead node's client lost its socket");

      try (Client back = Client.of(survivor)) { // the dead node's client comes back on a survivor
        JsonNode turns = back.result("thread/resume", thread(threadId)).path("thread").path("turns");
        assertEquals(2, turns.size(), turns.toString());
        assertEquals(completed.get(threadId).get(0), agentText(turns.get(0)), "the completed turn, word for word");
        assertNotEquals("inProgress", turns.get(1).path("status").asText());
        back.startTurn(threadId, "after the kill of " + holder.name);
        List<JsonNode> after = back.untilTurnCompleted();
        assertEquals("completed", after.get(after.size() - 1).path("params").path("turn").path("status").asText());
        completed.get(threadId).add(completedText(after));
      }
      watcher.close();
      onHolder.close();
      assertIntact(holder.dataDir());
      System.out.printf("kill %d of %d: %s held %s; the turn ended interrupted for a client on %s after %d ms%n",
          round + 1, kills, holder.name, threadId, survivor.name, failover);
    }
    legato.allUp();

    // every turn a client saw completed, on any node, and in the replica
    S3Target replicas = legato.replicas();
    try (Client reader = Client.of(legato.nodes().get(2))) {
      for (Map.Entry<String, List<String>> thread : completed.entrySet()) {
        JsonNode turns = reader.result("thread/read", thread(thread.getKey()).put("includeTurns", true)).path("thread").path("turns");
        List<String> texts = new ArrayList<>();
        turns.forEach(turn -> {
          if (turn.path("status").asText().equals("completed")) {
            texts.add(agentText(turn));
          }
        });
        assertEquals(thread.getValue(), texts, "thread " + thread.getKey());
        Path restored = scratch.resolve(thread.getKey() + ".db");
        Restorer.Result result = Restorer.restoreInto(replicas, "sessions/" + thread.getKey() + "/session.db", null, null, restored);
        assertTrue(result.complete(), String.valueOf(result.problem()));
        assertEquals("ok", result.integrity());
      }
    }
    failovers.sort(Long::compare);
    System.out.printf("failover (SIGKILL to the interrupted turn seen on another node): %s ms%n", failovers);
  }

  /** Every SQLite file a dead node left passes integrity_check. */
  static void assertIntact(Path dataDir) throws Exception {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(dataDir)) {
      files = walk.filter(p -> p.toString().endsWith(".db") && !p.toString().contains("/replicas/")).toList();
    }
    assertTrue(!files.isEmpty(), "the node wrote databases in " + dataDir);
    for (Path file : files) {
      try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file);
           Statement statement = connection.createStatement();
           ResultSet check = statement.executeQuery("PRAGMA integrity_check")) {
        check.next();
        assertEquals("ok", check.getString(1), file.toString());
      }
    }
  }
}
