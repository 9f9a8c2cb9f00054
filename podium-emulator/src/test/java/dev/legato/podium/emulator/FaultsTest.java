package dev.legato.podium.emulator;

import static dev.legato.podium.emulator.AgentConnection.kind;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class FaultsTest {
  private static final String ADMIN = "pod_admin_faults";
  private static PodiumEmulator emulator;
  private static TestClient client;
  private static TestClient admin;

  @BeforeAll
  static void start() {
    emulator = PodiumEmulator.start(EmulatorSettings.defaults().withAdminKeys(Set.of(ADMIN)));
    client = new TestClient(emulator);
    admin = client.withKey(ADMIN);
  }

  @AfterEach
  void reset() {
    emulator.faults().reset();
  }

  @AfterAll
  static void stop() {
    emulator.stop();
  }

  @Test
  void droppingASocketClosesItAndTheInstanceAcceptsANewOne() {
    String id = client.createInstance("echo:latest");
    AgentConnection socket = client.connect(id);
    assertTrue(emulator.faults().dropSocket(id));
    socket.awaitClose();
    assertTrue(Set.of("initializing", "ready").contains(emulator.instances().get(id)));
    try (AgentConnection again = client.connect(id)) {
      again.processMessage("msg_1", "back");
      assertEquals("back", again.nextOf("text_final").get("content").get("text").asText());
    }
    assertFalse(emulator.faults().dropSocket("inst_unknown"));
  }

  @Test
  void killingAnInstanceTerminatesItClosesItsSocketAndRefusesConnects() {
    String id = client.createInstance("echo:latest");
    AgentConnection socket = client.connect(id);
    assertTrue(emulator.faults().killInstance(id));
    socket.awaitClose();
    assertEquals("terminated", TestClient.json(client.get("/api/v1/instances/" + id)).get("status").asText());
    assertEquals(404, assertThrows(AgentConnection.ConnectFailed.class, () -> client.connect(id)).status());
  }

  @Test
  void failingAShareOfRestCallsAnswers503ForExactlyThatShare() {
    emulator.faults().failRestCalls(0.5);
    int failed = 0;
    for (int i = 0; i < 10; i++) {
      int status = client.get("/api/v1/deployments").statusCode();
      assertTrue(status == 200 || status == 503, "status " + status);
      failed += status == 503 ? 1 : 0;
    }
    assertEquals(5, failed);
    assertEquals(200, client.get("/health").statusCode());
    emulator.faults().failRestCalls(1.0);
    var response = client.get("/api/v1/deployments");
    assertEquals(503, response.statusCode());
    assertEquals("unavailable", TestClient.json(response).get("error").get("code").asText());
  }

  @Test
  void latencyDelaysRestCalls() {
    emulator.faults().restLatency(Duration.ofMillis(300));
    long start = System.nanoTime();
    assertEquals(200, client.get("/api/v1/deployments").statusCode());
    assertTrue(System.nanoTime() - start >= Duration.ofMillis(300).toNanos());
  }

  @Test
  void malformedAndUnknownKindFramesArriveOnTheSocket() {
    String id = client.createInstance("echo:latest");
    try (AgentConnection socket = client.connect(id)) {
      assertTrue(emulator.faults().sendMalformedFrame(id));
      String malformed = socket.nextText();
      assertThrows(Exception.class, () -> TestClient.JSON.readTree(malformed));
      assertTrue(emulator.faults().sendUnknownKindFrame(id));
      JsonNode unknown = socket.next();
      assertEquals("emulator.unknown_kind", kind(unknown));
      socket.processMessage("msg_1", "fine");
      assertEquals("fine", socket.nextOf("text_final").get("content").get("text").asText());
    }
  }

  @Test
  void stallingHoldsFramesBackThenDeliversThemInOrder() throws Exception {
    String id = client.createInstance("echo:latest");
    try (AgentConnection socket = client.connect(id)) {
      assertTrue(emulator.faults().stall(id, Duration.ofMillis(600)));
      socket.processMessage("msg_1", "one two three");
      assertTrue(socket.quietFor(400), "frames arrived during the stall");
      assertEquals("stream_start", kind(socket.next()));
      StringBuilder text = new StringBuilder();
      socket.until("text_final").stream().filter(f -> kind(f).equals("text_delta"))
          .forEach(f -> text.append(f.get("content").get("text").asText()));
      assertEquals("one two three", text.toString());
    }
  }

  @Test
  void resetTurnsEverySwitchOff() {
    emulator.faults().failRestCalls(1.0);
    emulator.faults().restLatency(Duration.ofSeconds(5));
    emulator.faults().reset();
    assertEquals(0.0, emulator.faults().failShare());
    assertEquals(Duration.ZERO, emulator.faults().restLatency());
    assertEquals(200, client.get("/api/v1/deployments").statusCode());
  }

  @Test
  void theAdminEndpointDrivesTheSameSwitches() {
    String id = client.createInstance("echo:latest");
    AgentConnection socket = client.connect(id);
    assertEquals(401, client.post("/admin/faults", "{\"action\":\"reset\"}").statusCode());

    assertEquals(200, admin.post("/admin/faults", "{\"action\":\"unknown_kind_frame\",\"instance_id\":\"" + id + "\"}").statusCode());
    assertEquals("emulator.unknown_kind", kind(socket.next()));
    assertEquals(200, admin.post("/admin/faults", "{\"action\":\"malformed_frame\",\"instance_id\":\"" + id + "\"}").statusCode());
    socket.nextText();
    assertEquals(200, admin.post("/admin/faults", "{\"action\":\"stall\",\"instance_id\":\"" + id + "\",\"millis\":10}").statusCode());
    assertEquals(200, admin.post("/admin/faults", "{\"action\":\"drop_socket\",\"instance_id\":\"" + id + "\"}").statusCode());
    socket.awaitClose();

    var latency = admin.post("/admin/faults", "{\"action\":\"rest_latency\",\"millis\":5}");
    assertEquals(5, TestClient.json(latency).get("rest_latency_ms").asInt());
    var share = admin.post("/admin/faults", "{\"action\":\"fail_rest\",\"share\":0.25}");
    assertEquals(0.25, TestClient.json(share).get("fail_share").asDouble());
    assertEquals(0.25, TestClient.json(admin.get("/admin/faults")).get("fail_share").asDouble());
    assertEquals(200, admin.post("/admin/faults", "{\"action\":\"reset\"}").statusCode());
    assertEquals(0.0, emulator.faults().failShare());

    assertEquals(200, admin.post("/admin/faults", "{\"action\":\"kill_instance\",\"instance_id\":\"" + id + "\"}").statusCode());
    assertEquals("terminated", emulator.instances().get(id));
    assertEquals(404, admin.post("/admin/faults", "{\"action\":\"kill_instance\",\"instance_id\":\"inst_nope\"}").statusCode());
    assertEquals(400, admin.post("/admin/faults", "{\"action\":\"explode\"}").statusCode());
    assertEquals(400, admin.post("/admin/faults", "{\"action\":\"fail_rest\",\"share\":2}").statusCode());
    assertEquals(400, admin.post("/admin/faults", "not json").statusCode());
  }
}
