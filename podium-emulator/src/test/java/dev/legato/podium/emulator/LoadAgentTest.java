package dev.legato.podium.emulator;

import static dev.legato.podium.emulator.AgentConnection.kind;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
