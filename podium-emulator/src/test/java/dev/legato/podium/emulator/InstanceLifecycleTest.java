package dev.legato.podium.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class InstanceLifecycleTest {
  private static final Duration IDLE = Duration.ofMillis(600);
  private static PodiumEmulator emulator;
  private static TestClient client;

  @BeforeAll
  static void start() {
    emulator = PodiumEmulator.start(EmulatorSettings.defaults().withIdleTimeout(IDLE));
    client = new TestClient(emulator);
  }

  @AfterAll
  static void stop() {
    emulator.stop();
  }

  private static String status(String id) {
    return TestClient.json(client.get("/api/v1/instances/" + id)).get("status").asText();
  }

  private static void awaitStatus(String id, String expected, Duration within) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (!status(id).equals(expected)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("status stayed " + status(id) + ", expected " + expected);
      }
      Thread.sleep(20);
    }
  }

  @Test
  void aNewInstanceInitializesThenBecomesReady() throws Exception {
    String id = client.createInstance("echo:latest");
    awaitStatus(id, "ready", Duration.ofSeconds(2));
    assertEquals("ready", emulator.instances().get(id));
  }

  @Test
  void anInstanceIsRunningWhileItWorksAndReadyAfterwards() throws Exception {
    String id = client.createInstance("coder:latest");
    try (AgentConnection socket = client.connect(id)) {
      socket.processMessage("msg_1", "/ask");
      String requestId = socket.nextOf("tool.question_requested").get("content").get("request_id").asText();
      assertEquals("running", status(id));
      socket.send("{\"type\":\"answer\",\"content\":{\"request_id\":\"" + requestId + "\",\"answers\":{},\"dismissed\":true}}");
      socket.nextOf("complete");
      awaitStatus(id, "ready", Duration.ofSeconds(2));
    }
  }

  @Test
  void anIdleInstanceScalesToZeroClosingItsSocketAndRefusingNewOnes() throws Exception {
    String id = client.createInstance("echo:latest");
    AgentConnection socket = client.connect(id);
    socket.processMessage("msg_1", "hi");
    socket.nextOf("complete");
    long start = System.nanoTime();
    socket.awaitClose();
    assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(IDLE.dividedBy(2)) > 0, "closed too early");
    assertEquals("terminated", status(id));
    assertEquals("terminated", emulator.instances().get(id));
    var refused = assertThrows(AgentConnection.ConnectFailed.class, () -> client.connect(id));
    assertEquals(404, refused.status());
  }

  @Test
  void aTurnThatWaitsLongerThanTheIdleTimeoutKeepsTheInstanceAlive() throws Exception {
    String id = client.createInstance("coder:latest");
    try (AgentConnection socket = client.connect(id)) {
      socket.processMessage("msg_1", "/ask");
      socket.nextOf("tool.question_requested");
      Thread.sleep(IDLE.multipliedBy(2).toMillis());
      assertEquals("running", status(id));
    }
  }

  @Test
  void deletingAnInstanceClosesItsSocket() {
    String id = client.createInstance("echo:latest");
    AgentConnection socket = client.connect(id);
    assertEquals(204, client.delete("/api/v1/instances/" + id).statusCode());
    socket.awaitClose();
    var refused = assertThrows(AgentConnection.ConnectFailed.class, () -> client.connect(id));
    assertEquals(404, refused.status());
  }

  @Test
  void connectingToAnUnknownInstanceIs404() {
    var refused = assertThrows(AgentConnection.ConnectFailed.class, () -> client.connect("inst_unknown"));
    assertEquals(404, refused.status());
  }
}
