package dev.legato.cluster;

import static dev.legato.cluster.Client.agentText;
import static dev.legato.cluster.Client.completedText;
import static dev.legato.cluster.Client.thread;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every node restarted in turn (SIGTERM, start again, rejoin) while clients stay connected: a client of the node
 * restarting is closed with 1001 and resumes on another, every thread takes a turn between restarts, and at the end
 * every thread holds every turn its client saw completed, word for word.
 */
class ClusterRollingRestartTest {
  @RegisterExtension
  static final LegatoCluster.Shared cluster = new LegatoCluster.Shared();

  @Test
  void aRollingRestartOfEveryNodeWithClientsConnectedLosesNoTurn() throws Exception {
    LegatoCluster legato = cluster.get();
    List<Node> nodes = legato.nodes();
    Map<String, List<String>> texts = new LinkedHashMap<>();
    Map<String, Client> clients = new LinkedHashMap<>();
    Map<String, Node> on = new LinkedHashMap<>();
    try {
      for (Node node : nodes) {
        Client client = Client.of(node);
        String threadId = client.startThread("echo");
        clients.put(threadId, client);
        on.put(threadId, node);
        texts.put(threadId, new ArrayList<>());
        turn(client, threadId, "on " + node.name + " before the restarts", texts);
      }
      for (Node restarting : nodes) {
        long began = System.nanoTime();
        restarting.terminate();
        restarting.awaitExit(Duration.ofSeconds(90));
        Node other = nodes.get((nodes.indexOf(restarting) + 1) % nodes.size());
        for (String threadId : texts.keySet()) {
          if (on.get(threadId) == restarting) {
            Client gone = clients.get(threadId);
            assertEquals(1001, gone.closed.get(30, TimeUnit.SECONDS), "its node went away");
            Client moved = Client.of(other);
            moved.result("thread/resume", thread(threadId));
            clients.put(threadId, moved);
            on.put(threadId, other);
          }
          turn(clients.get(threadId), threadId, "while " + restarting.name + " restarts", texts);
        }
        restarting.start();
        restarting.awaitReady(Duration.ofSeconds(150));
        legato.awaitMembers(nodes.size(), Duration.ofSeconds(90));
        System.out.printf("rolling restart: %s left and was back in %d ms%n", restarting.name, (System.nanoTime() - began) / 1_000_000);
      }
      try (Client reader = Client.of(nodes.get(0))) {
        for (Map.Entry<String, List<String>> thread : texts.entrySet()) {
          JsonNode turns = reader.result("thread/read", thread(thread.getKey()).put("includeTurns", true)).path("thread").path("turns");
          List<String> read = new ArrayList<>();
          turns.forEach(turn -> read.add(turn.path("status").asText() + ": " + agentText(turn)));
          List<String> expected = thread.getValue().stream().map(text -> "completed: " + text).toList();
          assertEquals(expected, read, "thread " + thread.getKey());
        }
      }
    } finally {
      clients.values().forEach(Client::close);
    }
  }

  private static void turn(Client client, String threadId, String text, Map<String, List<String>> texts) {
    client.startTurn(threadId, text);
    List<JsonNode> messages = client.untilTurnCompleted();
    assertEquals("completed", messages.get(messages.size() - 1).path("params").path("turn").path("status").asText());
    texts.get(threadId).add(completedText(messages));
  }
}
