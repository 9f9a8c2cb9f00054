package dev.legato.cluster;

import static dev.legato.cluster.Client.agentText;
import static dev.legato.cluster.Client.completedText;
import static dev.legato.cluster.Client.thread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A node that leaves gracefully (SIGTERM): a turn running on it ends (completed, or interrupted once the drain
 * is over), never stuck; its clients are closed with 1001 and resume on another node; its threads are handed over
 * with everything they wrote (their files shipped to the replica before the hand-off), and the process exits 0. A
 * turn a client on another node starts during the drain is not started there, but on the thread's next node.
 */
class ClusterGracefulLeaveTest {
  @RegisterExtension
  static final LegatoCluster.Shared cluster = new LegatoCluster.Shared();

  @Test
  void aNodeThatLeavesHandsItsThreadsOverWithNothingLostAndItsClientsResumeElsewhere() throws Exception {
    LegatoCluster legato = cluster.get();
    List<Node> nodes = legato.nodes();
    Map<String, String> texts = new LinkedHashMap<>(); // thread -> the text of its one completed turn
    try (Client starter = Client.of(nodes.get(0))) {
      for (int i = 0; i < 6; i++) {
        String threadId = starter.startThread("echo");
        starter.startTurn(threadId, "thread " + i + " before the leave");
        texts.put(threadId, completedText(starter.untilTurnCompleted()));
      }
    }
    // the node holding most of them leaves
    Map<Node, List<String>> held = new HashMap<>();
    for (String threadId : texts.keySet()) {
      legato.holder(threadId).ifPresent(node -> held.computeIfAbsent(node, n -> new ArrayList<>()).add(threadId));
    }
    Node leaving = held.keySet().stream().max(Comparator.comparing(n -> held.get(n).size())).orElseThrow();
    String running = held.get(leaving).get(0);
    Node staying = nodes.stream().filter(n -> n != leaving).findFirst().orElseThrow();

    Client onLeaving = Client.of(leaving);
    onLeaving.result("thread/resume", thread(running));
    String other = held.get(leaving).get(1);
    Client onStaying = Client.of(staying);
    onStaying.result("thread/resume", thread(other));
    String turnId = onLeaving.startTurn(running, "/slow while the node leaves /long 12");
    onLeaving.next(m -> Client.method(m).equals("item/agentMessage/delta"));
    long sigterm = System.nanoTime();
    leaving.terminate();

    // A turn started from another node while the leaving node drains: that node does not start it (the hand-off
    // would cut it, to be recorded interrupted); it starts once its thread has moved, and completes there
    long drainDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (leaving.status("/readyz") != 503 && System.nanoTime() < drainDeadline) {
      Thread.sleep(20);
    }
    String lateTurnId = onStaying.startTurn(other, "/slow started during the drain /long 40");
    List<JsonNode> late = onStaying.untilTurnCompleted();
    JsonNode lateEnd = late.get(late.size() - 1);
    assertEquals(lateTurnId, lateEnd.path("params").path("turn").path("id").asText(), lateEnd.toString());
    assertEquals("completed", lateEnd.path("params").path("turn").path("status").asText(),
        "a turn started during the drain runs on the thread's next node, whole: " + lateEnd);
    assertTrue(legato.holder(other).filter(node -> node != leaving).isPresent(), "it ran where the thread moved");
    onStaying.close();

    List<JsonNode> rest = onLeaving.untilOrClosed(m -> Client.method(m).equals("turn/completed"));
    int code = onLeaving.closed.get(60, TimeUnit.SECONDS);
    assertEquals(1001, code, "clients of a leaving node are told it goes away");
    // the JVM ends a SIGTERM with 143 (128 + 15) once its shutdown hooks have run; the log says it stopped
    assertEquals(143, leaving.awaitExit(Duration.ofSeconds(90)), "a graceful leave" + leaving.logTail());
    assertTrue(leaving.logs().contains("Legato stopped"), leaving.logTail());
    long handoffMillis = (System.nanoTime() - sigterm) / 1_000_000;
    System.out.printf("graceful leave of %s: SIGTERM to exit %d ms (threads held: %d)%n", leaving.name, handoffMillis,
        held.get(leaving).size());
    JsonNode ended = rest.get(rest.size() - 1);
    assertEquals("turn/completed", Client.method(ended), "the running turn ended while its client watched: " + rest);
    assertTrue(Set.of("completed", "interrupted").contains(ended.path("params").path("turn").path("status").asText()), ended.toString());

    try (Client resumed = Client.of(staying)) {
      JsonNode history = resumed.result("thread/resume", thread(running)).path("thread").path("turns");
      assertEquals(2, history.size(), history.toString());
      JsonNode last = history.get(1);
      assertEquals(turnId, last.path("id").asText());
      assertNotEquals("inProgress", last.path("status").asText(), "never stuck: " + last);
      assertEquals(texts.get(running), agentText(history.get(0)));
      resumed.startTurn(running, "after the leave");
      List<JsonNode> after = resumed.untilTurnCompleted();
      assertEquals("completed", after.get(after.size() - 1).path("params").path("turn").path("status").asText());
      for (Map.Entry<String, String> thread : texts.entrySet()) {
        JsonNode read = resumed.result("thread/read", thread(thread.getKey()).put("includeTurns", true));
        assertEquals(thread.getValue(), agentText(read.path("thread").path("turns").get(0)),
            "every thread handed over holds what it had: " + thread.getKey());
      }
    }
    onLeaving.close();
  }
}
