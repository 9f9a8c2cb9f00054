package dev.legato.podium.emulator;

import static dev.legato.podium.emulator.AgentConnection.kind;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class EchoAgentTest {
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
  void echoStreamsTheTextBackWordByWordThenTextFinalAndCompleteWithUsage() {
    String id = client.createInstance("echo:latest");
    try (AgentConnection socket = client.connect(id)) {
      socket.processMessage("msg_1", "hello big world");
      List<JsonNode> frames = socket.until("complete");
      List<String> kinds = frames.stream().map(AgentConnection::kind).toList();
      assertEquals(List.of("stream_start", "text_delta", "text_delta", "text_delta", "text_final", "complete"), kinds);
      StringBuilder text = new StringBuilder();
      for (JsonNode frame : frames) {
        assertEquals("update", frame.get("type").asText());
        assertEquals(kind(frame), frame.get("content").get("event_type").asText());
        assertEquals("msg_1", frame.get("content").get("message_id").asText());
        if (kind(frame).equals("text_delta")) {
          text.append(frame.get("content").get("text").asText());
        }
      }
      assertEquals("hello big world", text.toString());
      assertEquals("hello big world", frames.get(4).get("content").get("text").asText());
      JsonNode usage = frames.get(5).get("content").get("usage");
      assertEquals(3, usage.get("input_tokens").asInt());
      assertEquals(3, usage.get("output_tokens").asInt());
    }
  }

  @Test
  void historyCommandSummarisesTheMessagesItWasGiven() {
    String id = client.createInstance("echo:latest");
    try (AgentConnection socket = client.connect(id)) {
      socket.send("""
          {"type":"process_message","content":{"message_id":"msg_h","text":"/history","messages":[
            {"role":"user","text":"a"},{"role":"assistant","text":"a"},{"role":"user","text":"b"}]}}""");
      assertEquals("you said: a | b", socket.nextOf("text_final").get("content").get("text").asText());
    }
  }

  @Test
  void recallCommandListsTheMemoriesOfTheInstanceConfig() {
    String id = client.createInstance("echo:latest",
        "{\"memories\":[{\"key\":\"lang\",\"value\":\"java\"},{\"key\":\"editor\",\"value\":\"vim\"}]}");
    try (AgentConnection socket = client.connect(id)) {
      socket.processMessage("msg_r", "/recall");
      assertEquals("I remember: lang=java; editor=vim",
          socket.nextOf("text_final").get("content").get("text").asText());
    }
  }

  @Test
  void pingIsAnsweredWithPong() {
    String id = client.createInstance("echo:latest");
    try (AgentConnection socket = client.connect(id)) {
      socket.send("{\"type\":\"ping\"}");
      assertEquals("{\"type\":\"pong\"}", socket.nextText());
    }
  }

  @Test
  void malformedIncomingFramesAnswerAnErrorEventAndTheSocketLivesOn() {
    String id = client.createInstance("echo:latest");
    try (AgentConnection socket = client.connect(id)) {
      socket.send("{not json");
      JsonNode error = socket.next();
      assertEquals("error", kind(error));
      assertEquals("bad_frame", error.get("content").get("code").asText());
      socket.send("[1,2]");
      assertEquals("bad_frame", socket.nextOf("error").get("content").get("code").asText());
      socket.send("{\"type\":\"process_message\",\"content\":{}}");
      assertEquals("bad_frame", socket.nextOf("error").get("content").get("code").asText());
      socket.send("{\"type\":\"dance\"}");
      assertEquals("unknown_type", socket.nextOf("error").get("content").get("code").asText());
      socket.send("{\"type\":\"approval_response\",\"content\":{\"request_id\":\"nope\",\"approved\":true}}");
      assertEquals("unknown_request", socket.nextOf("error").get("content").get("code").asText());
      socket.processMessage("msg_ok", "still here");
      assertEquals("still here", socket.nextOf("text_final").get("content").get("text").asText());
    }
  }

  @Test
  void aSecondConnectionReplacesTheFirstWhichIsClosed() {
    String id = client.createInstance("echo:latest");
    try (AgentConnection first = client.connect(id); AgentConnection second = client.connect(id)) {
      first.awaitClose();
      second.processMessage("msg_2", "on the new socket");
      assertEquals("on the new socket", second.nextOf("text_final").get("content").get("text").asText());
    }
  }

  @Test
  void messagesSentBackToBackAreAnsweredInOrderOneTurnAfterTheOther() {
    String id = client.createInstance("echo:latest");
    try (AgentConnection socket = client.connect(id)) {
      socket.processMessage("msg_a", "first");
      socket.processMessage("msg_b", "second");
      List<JsonNode> frames = socket.until("complete");
      assertTrue(frames.stream().allMatch(f -> f.get("content").get("message_id").asText().equals("msg_a")));
      JsonNode next = socket.next();
      assertEquals("stream_start", kind(next));
      assertEquals("msg_b", next.get("content").get("message_id").asText());
      assertEquals("second", socket.nextOf("text_final").get("content").get("text").asText());
    }
  }
}
