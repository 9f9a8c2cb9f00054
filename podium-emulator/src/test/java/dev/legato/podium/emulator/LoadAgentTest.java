package dev.legato.podium.emulator;

import static dev.legato.podium.emulator.AgentConnection.kind;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LoadAgentTest {
  private static PodiumEmulator emulator;
  private static TestClient client;

  @BeforeAll
  static void start() {
    emulator = PodiumEmulator.start(EmulatorSettings.defaults());
    client = new TestClient(emulator);
  }

  @AfterAll
  static void stop() {
    emulator.stop();
  }

  @Test
  void loadSendsExactlyCountDeltasOfSizeCharactersThenComplete() {
    try (AgentConnection socket = client.connect(client.createInstance("load:latest"))) {
      socket.processMessage("msg_load", "5000 16");
      assertEquals("stream_start", kind(socket.next()));
      for (int i = 0; i < 5000; i++) {
        JsonNode delta = socket.next();
        assertEquals("text_delta", kind(delta));
        assertEquals(16, delta.get("content").get("text").asText().length());
      }
      JsonNode complete = socket.next();
      assertEquals("complete", kind(complete));
      assertEquals(5000, complete.get("content").get("usage").get("output_tokens").asInt());
    }
  }

  @Test
  void aClientThatDoesNotReadHoldsTheAgentBackInsteadOfFillingMemory() throws Exception {
    String id = client.createInstance("load:latest");
    try (AgentConnection socket = client.connectWithoutReading(id)) {
      // 100,000 deltas of 64 KiB: 6.5 GB if nothing held the agent back
      socket.processMessage("msg_big", "100000 65536");
      Thread.sleep(1500);
      long written = emulator.framesWritten(id);
      Thread.sleep(500);
      long later = emulator.framesWritten(id);
      // what socket buffers hold on loopback, a few hundred frames, and then it stops
      assertTrue(later < 2000, "wrote " + later + " frames to a client that reads nothing");
      assertEquals(written, later, "the agent kept producing for a client that reads nothing");
      assertEquals("running", emulator.instances().get(id));
      socket.read();
      assertEquals("stream_start", kind(socket.next()));
      assertEquals("text_delta", kind(socket.next()));
    }
  }

  @Test
  void timestampModeStartsEachDeltaWithTheNanoTimeItWasSent() {
    try (AgentConnection socket = client.connect(client.createInstance("load:latest"))) {
      long before = System.nanoTime();
      socket.processMessage("msg_stamped", "200 32 t");
      assertEquals("stream_start", kind(socket.next()));
      long previous = before;
      for (int i = 0; i < 200; i++) {
        String text = socket.next().get("content").get("text").asText();
        assertEquals(32, text.length());
        assertEquals("x".repeat(12), text.substring(20));
        long sent = Long.parseLong(text.substring(0, 20));
        assertTrue(sent >= previous, "send times go forward");
        previous = sent;
      }
      assertTrue(previous <= System.nanoTime());
      assertEquals("complete", kind(socket.next()));
    }
  }

  @Test
  void timestampModeNeedsRoomForTheTimestamp() {
    try (AgentConnection socket = client.connect(client.createInstance("load:latest"))) {
      socket.processMessage("msg_small", "10 19 t");
      assertEquals("stream_start", kind(socket.next()));
      JsonNode error = socket.next();
      assertEquals("error", kind(error));
      assertEquals("bad_request", error.get("content").get("code").asText());
    }
  }

  @Test
  void stampedTextIsZeroPaddedLikeFormat() {
    String text = LoadAgent.stamped(24);
    long sent = Long.parseLong(text.substring(0, 20));
    assertEquals(String.format("%020d", sent) + "xxxx", text);
  }

  @Test
  void zeroDeltasIsAnEmptyTurn() {
    try (AgentConnection socket = client.connect(client.createInstance("load:latest"))) {
      socket.processMessage("msg_zero", "0 8");
      assertEquals("stream_start", kind(socket.next()));
      assertEquals("complete", kind(socket.next()));
    }
  }

  @Test
  void aMalformedLoadRequestFailsTheTurn() {
    try (AgentConnection socket = client.connect(client.createInstance("load:latest"))) {
      socket.processMessage("msg_bad", "lots please");
      assertEquals("stream_start", kind(socket.next()));
      JsonNode error = socket.next();
      assertEquals("error", kind(error));
      assertEquals("bad_request", error.get("content").get("code").asText());
    }
  }
}
