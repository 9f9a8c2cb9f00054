package dev.legato.podium.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The spelling setting changes only how a kind is named and where; the fields stay the contract's. */
class SpellingTest {

  /** Frames of one coder turn that thinks and calls a tool, in the given spelling. */
  private static List<JsonNode> turn(Spelling spelling, String endKind) {
    try (PodiumEmulator emulator = PodiumEmulator.start(EmulatorSettings.defaults().withSpelling(spelling))) {
      TestClient client = new TestClient(emulator);
      try (AgentConnection socket = client.connect(client.createInstance("coder:latest"))) {
        socket.processMessage("msg_s", "/think a b /tool grep");
        return socket.until(endKind);
      }
    }
  }

  @Test
  void dottedSpellingPutsTheDottedKindInBothFields() {
    List<JsonNode> frames = turn(Spelling.DOTTED, "complete");
    for (JsonNode frame : frames) {
      assertEquals("update", frame.get("type").asText());
      assertEquals(frame.get("messageType").asText(), frame.get("content").get("event_type").asText());
    }
    Set<String> kinds = kinds(frames);
    assertTrue(kinds.containsAll(Set.of("stream_start", "thinking.start", "thinking.progress",
        "thinking.complete", "tool.call_start", "tool.call_delta", "tool.call", "tool.result", "text_delta",
        "text_final", "complete")), kinds.toString());
    JsonNode start = frames.stream().filter(f -> f.get("messageType").asText().equals("tool.call_start")).findFirst().orElseThrow();
    assertEquals("grep", start.get("content").get("tool_name").asText());
    assertTrue(start.get("content").has("tool_call_id"));
  }

  @Test
  void snakeSpellingUsesUnderscoresAndThinkingUpdate() {
    List<JsonNode> frames = turn(Spelling.SNAKE, "complete");
    Set<String> kinds = kinds(frames);
    assertTrue(kinds.containsAll(Set.of("thinking_start", "thinking_update", "thinking_complete",
        "tool_call_start", "tool_call_delta", "tool_call", "tool_result")), kinds.toString());
    assertTrue(kinds.stream().noneMatch(k -> k.contains(".")), kinds.toString());
    frames.forEach(f -> assertEquals(f.get("messageType").asText(), f.get("content").get("event_type").asText()));
  }

  @Test
  void messageTypeOnlySpellingLeavesOutContentEventType() {
    for (JsonNode frame : turn(Spelling.MESSAGE_TYPE_ONLY, "complete")) {
      assertTrue(frame.hasNonNull("messageType"));
      assertFalse(frame.get("content").has("event_type"));
    }
  }

  @Test
  void eventTypeOnlySpellingLeavesOutMessageType() {
    List<JsonNode> frames = turn(Spelling.EVENT_TYPE_ONLY, "complete");
    for (JsonNode frame : frames) {
      assertFalse(frame.has("messageType"));
      assertTrue(frame.get("content").hasNonNull("event_type"));
    }
    assertTrue(kinds(frames).contains("tool.call_start"));
  }

  @Test
  void mixedSpellingVariesLayoutAndAliasesDeterministically() {
    List<String> first = turn(Spelling.MIXED, "text_final").stream().map(SpellingTest::layout).toList();
    List<String> second = turn(Spelling.MIXED, "text_final").stream().map(SpellingTest::layout).toList();
    assertEquals(first, second);
    Set<String> layouts = new HashSet<>();
    first.forEach(l -> layouts.add(l.substring(0, l.indexOf(' '))));
    assertEquals(Set.of("both", "messageType", "event_type"), layouts);
    assertTrue(first.stream().anyMatch(l -> l.contains("_call")), first.toString());
    assertTrue(first.stream().anyMatch(l -> l.contains(".call")), first.toString());
    // the delta aliases all occur
    Set<String> deltaKinds = new HashSet<>();
    first.forEach(l -> {
      String kind = l.substring(l.indexOf(' ') + 1);
      if (Set.of("text_delta", "update", "stream_update").contains(kind)) {
        deltaKinds.add(kind);
      }
    });
    assertTrue(deltaKinds.size() >= 2, first.toString());
  }

  private static String layout(JsonNode frame) {
    boolean messageType = frame.has("messageType");
    boolean eventType = frame.get("content").has("event_type");
    String layout = messageType && eventType ? "both" : messageType ? "messageType" : "event_type";
    return layout + " " + AgentConnection.kind(frame);
  }

  private static Set<String> kinds(List<JsonNode> frames) {
    Set<String> kinds = new HashSet<>();
    frames.forEach(f -> kinds.add(AgentConnection.kind(f)));
    return kinds;
  }
}
