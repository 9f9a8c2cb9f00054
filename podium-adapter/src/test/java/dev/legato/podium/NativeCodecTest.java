package dev.legato.podium;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.podium.AgentEvent.FileChangeKind;
import dev.legato.podium.AgentEvent.PermissionKind;
import dev.legato.podium.AgentEvent.Phase;
import dev.legato.podium.AgentEvent.PlanChange;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class NativeCodecTest {
  static final ObjectMapper JSON = new ObjectMapper();
  final NativeCodec codec = new NativeCodec();

  /** Every kind of the contract (dotted spelling), a content, and the event it must become. */
  static List<Object[]> kinds() {
    return List.of(
        k("created", "{\"message_id\":\"m1\"}", new AgentEvent.MessageStarted("m1")),
        k("stream_start", "{\"message_id\":\"m1\"}", new AgentEvent.MessageStarted("m1")),
        k("update", "{\"message_id\":\"m1\",\"text\":\"Hel\"}", new AgentEvent.TextDelta("m1", "Hel")),
        k("stream_update", "{\"message_id\":\"m1\",\"text\":\"lo\"}", new AgentEvent.TextDelta("m1", "lo")),
        k("text_delta", "{\"message_id\":\"m1\",\"text\":\" \"}", new AgentEvent.TextDelta("m1", " ")),
        k("text_final", "{\"message_id\":\"m1\",\"text\":\"Hello\"}", new AgentEvent.TextFinal("m1", "Hello")),
        k("complete", "{\"message_id\":\"m1\",\"usage\":{\"input_tokens\":3,\"output_tokens\":5,\"cached_input_tokens\":1,\"reasoning_tokens\":2}}",
            new AgentEvent.MessageCompleted("m1", new AgentEvent.Usage(3, 5, 1L, 2L), null)),
        k("stream_end", "{\"message_id\":\"m1\",\"usage\":{\"input_tokens\":3,\"output_tokens\":5}}",
            new AgentEvent.MessageCompleted("m1", new AgentEvent.Usage(3, 5, null, null), null)),
        k("stream_complete", "{\"message_id\":\"m1\",\"stop_reason\":\"interrupted\"}",
            new AgentEvent.MessageCompleted("m1", AgentEvent.Usage.NONE, "interrupted")),
        k("error", "{\"message\":\"rate limited\",\"code\":\"429\",\"retryable\":true}",
            new AgentEvent.Failed("rate limited", "429", true)),
        k("thinking.start", "{\"thinking_id\":\"t1\",\"text\":\"\"}", new AgentEvent.Thinking("t1", Phase.STARTED, "")),
        k("thinking.progress", "{\"thinking_id\":\"t1\",\"text\":\"hmm\"}", new AgentEvent.Thinking("t1", Phase.PROGRESS, "hmm")),
        k("thinking.complete", "{\"thinking_id\":\"t1\",\"text\":\"done\"}", new AgentEvent.Thinking("t1", Phase.COMPLETED, "done")),
        k("tool.call_start", "{\"tool_call_id\":\"c1\",\"tool_name\":\"shell\",\"arguments\":{\"cmd\":\"ls\"}}",
            new AgentEvent.ToolCallStarted("c1", "shell", "{\"cmd\":\"ls\"}")),
        k("tool.call_delta", "{\"tool_call_id\":\"c1\",\"delta\":\"{\\\"cm\"}", new AgentEvent.ToolCallDelta("c1", "{\"cm")),
        k("tool.call", "{\"tool_call_id\":\"c1\",\"tool_name\":\"shell\",\"arguments\":\"{\\\"cmd\\\":\\\"ls\\\"}\"}",
            new AgentEvent.ToolCall("c1", "shell", "{\"cmd\":\"ls\"}")),
        k("tool.result", "{\"tool_call_id\":\"c1\",\"output\":\"a.txt\",\"is_error\":false}", new AgentEvent.ToolResult("c1", "a.txt", false)),
        k("tool.error", "{\"tool_call_id\":\"c1\",\"message\":\"boom\",\"is_error\":true}", new AgentEvent.ToolResult("c1", "boom", true)),
        k("tool.permission_requested", "{\"request_id\":\"r1\",\"tool_call_id\":\"c1\",\"kind\":\"command\",\"command\":\"rm -rf build\",\"cwd\":\"/w\",\"reason\":\"clean\"}",
            new AgentEvent.PermissionRequested("r1", "c1", PermissionKind.COMMAND, "rm -rf build", "/w", "clean", null)),
        k("tool.question_requested", "{\"request_id\":\"r2\",\"questions\":[{\"id\":\"q1\",\"header\":\"Lang\",\"question\":\"Which?\",\"options\":[\"java\",\"go\"]}]}",
            new AgentEvent.QuestionRequested("r2", List.of(new AgentEvent.Question("q1", "Lang", "Which?", List.of("java", "go"))))),
        k("tool.approval_resolved", "{\"request_id\":\"r1\",\"approved\":true}", new AgentEvent.ApprovalResolved("r1", true)),
        k("terminal.stream", "{\"tool_call_id\":\"c1\",\"output\":\"line\\n\"}", new AgentEvent.TerminalOutput("c1", "line\n")),
        k("terminal.complete", "{\"tool_call_id\":\"c1\",\"exit_code\":0,\"duration_ms\":12}", new AgentEvent.TerminalCompleted("c1", 0, 12L)),
        k("file_change", "{\"tool_call_id\":\"c2\",\"path\":\"src/A.java\",\"kind\":\"update\",\"diff\":\"@@ -1 +1 @@\"}",
            new AgentEvent.FileChanged("c2", "src/A.java", FileChangeKind.UPDATE, "@@ -1 +1 @@")),
        k("plan.created", "{\"plan_id\":\"p1\",\"steps\":[{\"step\":\"read\",\"status\":\"pending\"}],\"explanation\":\"why\"}",
            new AgentEvent.PlanUpdated(PlanChange.CREATED, "p1", List.of(new AgentEvent.PlanStep("read", "pending")), "why")),
        k("plan.step_started", "{\"plan_id\":\"p1\",\"steps\":[{\"step\":\"read\",\"status\":\"in_progress\"}]}",
            new AgentEvent.PlanUpdated(PlanChange.STEP_STARTED, "p1", List.of(new AgentEvent.PlanStep("read", "in_progress")), null)),
        k("plan.step_completed", "{\"plan_id\":\"p1\",\"steps\":[{\"step\":\"read\",\"status\":\"completed\"}]}",
            new AgentEvent.PlanUpdated(PlanChange.STEP_COMPLETED, "p1", List.of(new AgentEvent.PlanStep("read", "completed")), null)),
        k("plan.revised", "{\"plan_id\":\"p1\",\"steps\":[]}", new AgentEvent.PlanUpdated(PlanChange.REVISED, "p1", List.of(), null)),
        k("memory.extracted", "{\"key\":\"lang\",\"value\":\"java\",\"metadata\":{\"source\":\"user\"}}",
            new AgentEvent.MemoryExtracted("lang", "java", "{\"source\":\"user\"}")),
        k("summary.created", "{\"summary\":\"did things\",\"covers_turns\":[\"t1\",\"t2\"]}",
            new AgentEvent.SummaryCreated("did things", List.of("t1", "t2"))),
        k("sandbox.init", "{\"image\":\"x\"}", null));
  }

  static Object[] k(String kind, String content, AgentEvent expected) {
    return new Object[] {kind, content, expected};
  }

  enum Spelling { DOTTED, SNAKE, MESSAGE_TYPE_ONLY, EVENT_TYPE_ONLY, TOP_LEVEL_FIELDS }

  static Stream<Arguments> everyKindInEverySpelling() {
    List<Arguments> cases = new ArrayList<>();
    for (Spelling spelling : Spelling.values()) {
      for (Object[] kind : kinds()) {
        cases.add(Arguments.of(spelling, kind[0], kind[1], kind[2]));
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("everyKindInEverySpelling")
  void everyKindDecodesInEverySpelling(Spelling spelling, String kind, String content, AgentEvent expected) throws Exception {
    String spelled = spelling == Spelling.SNAKE ? kind.replace('.', '_') : kind;
    ObjectNode frame = JSON.createObjectNode().put("type", "update");
    ObjectNode body = (ObjectNode) JSON.readTree(content);
    body.put("unknown_extra_field", "ignored");
    switch (spelling) {
      case DOTTED, SNAKE -> {
        frame.put("messageType", spelled);
        body.put("event_type", spelled);
        frame.set("content", body);
      }
      case MESSAGE_TYPE_ONLY -> {
        frame.put("messageType", spelled);
        frame.set("content", body);
      }
      case EVENT_TYPE_ONLY -> {
        body.put("event_type", spelled);
        frame.set("content", body);
      }
      case TOP_LEVEL_FIELDS -> {
        frame.put("messageType", spelled);
        frame.setAll(body);
      }
    }
    NativeCodec.Frame decoded = codec.decode(frame.toString());
    if (expected == null) {
      assertEquals("sandbox.init", kind);
      AgentEvent.SandboxNotice notice = assertInstanceOf(AgentEvent.SandboxNotice.class,
          assertInstanceOf(NativeCodec.Frame.Event.class, decoded).event());
      assertEquals(spelled, notice.kind());
      return;
    }
    assertEquals(new NativeCodec.Frame.Event(expected), decoded);
  }

  @Test
  void theLegacyThinkingUpdateIsThinkingProgress() {
    assertEquals(new NativeCodec.Frame.Event(new AgentEvent.Thinking("t", Phase.PROGRESS, "x")),
        codec.decode("{\"type\":\"update\",\"messageType\":\"thinking_update\",\"content\":{\"thinking_id\":\"t\",\"text\":\"x\"}}"));
  }

  @Test
  void unknownKindsAndMalformedFramesAreCountedNotThrown() {
    assertInstanceOf(NativeCodec.Frame.Skipped.class, codec.decode("{\"type\":\"update\",\"messageType\":\"brand.new_kind\",\"content\":{}}"));
    assertInstanceOf(NativeCodec.Frame.Skipped.class, codec.decode("{\"type\":\"update\",\"messageType\":\"brand.new_kind\"}"));
    assertEquals(2, codec.unknownCount());
    for (String bad : List.of("not json", "[1,2]", "42", "{\"type\":\"update\"}",
        "{\"type\":\"update\",\"messageType\":\"text_delta\",\"content\":{\"message_id\":\"m\"}}",
        "{\"type\":\"update\",\"messageType\":\"tool.question_requested\",\"content\":{\"request_id\":\"r\",\"questions\":[]}}")) {
      assertInstanceOf(NativeCodec.Frame.Skipped.class, codec.decode(bad), bad);
    }
    assertEquals(6, codec.malformedCount());
    assertInstanceOf(NativeCodec.Frame.Event.class,
        codec.decode("{\"type\":\"update\",\"messageType\":\"text_delta\",\"content\":{\"message_id\":\"m\",\"text\":\"ok\"}}"));
    assertEquals(1, codec.decodedCount());
    assertInstanceOf(NativeCodec.Frame.Pong.class, codec.decode("{\"type\":\"pong\"}"));
  }

  @Test
  void commandsEncodeAsTheContractSays() throws Exception {
    JsonNode process = JSON.readTree(codec.encode(new AgentCommand.ProcessMessage("msg_1", "hi",
        List.of(new AgentCommand.HistoryMessage(AgentCommand.Role.USER, "before"),
            new AgentCommand.HistoryMessage(AgentCommand.Role.ASSISTANT, "reply")))));
    assertEquals(JSON.readTree("""
        {"type":"process_message","content":{"message_id":"msg_1","text":"hi",
         "messages":[{"role":"user","text":"before"},{"role":"assistant","text":"reply"}],"attachments":[]}}"""), process);
    assertEquals(JSON.readTree("{\"type\":\"steer\",\"content\":{\"text\":\"use tabs\"}}"),
        JSON.readTree(codec.encode(new AgentCommand.Steer("use tabs"))));
    assertEquals(JSON.readTree("{\"type\":\"approval_response\",\"content\":{\"request_id\":\"r1\",\"approved\":true,\"decision\":\"acceptForSession\"}}"),
        JSON.readTree(codec.encode(new AgentCommand.ApprovalResponse("r1", AgentCommand.Decision.ACCEPT_FOR_SESSION))));
    assertEquals(JSON.readTree("{\"type\":\"approval_response\",\"content\":{\"request_id\":\"r1\",\"approved\":false,\"decision\":\"cancel\"}}"),
        JSON.readTree(codec.encode(new AgentCommand.ApprovalResponse("r1", AgentCommand.Decision.CANCEL))));
    assertEquals(JSON.readTree("{\"type\":\"answer\",\"content\":{\"request_id\":\"r2\",\"answers\":{\"q1\":[\"java\"]},\"dismissed\":false}}"),
        JSON.readTree(codec.encode(new AgentCommand.Answer("r2", Map.of("q1", List.of("java")), false))));
    assertEquals(JSON.readTree("{\"type\":\"interrupt\",\"content\":{\"message_id\":\"msg_1\"}}"),
        JSON.readTree(codec.encode(new AgentCommand.Interrupt("msg_1"))));
    assertEquals(JSON.readTree("{\"type\":\"ping\"}"), JSON.readTree(NativeCodec.ping()));
  }

  /** Text deltas are read in one pass, without a tree; every frame must decode as the tree would have it. */
  @ParameterizedTest
  @MethodSource("deltaLikeFrames")
  void theOnePassReadingOfDeltasAgreesWithTheTree(String frame) {
    assertEquals(codec.decodeTree(frame), codec.decode(frame), frame);
  }

  static List<String> deltaLikeFrames() {
    return List.of(
        "{\"type\":\"event\",\"messageType\":\"text_delta\",\"content\":{\"message_id\":\"m1\",\"text\":\"Hi \\u00e9\\n\"}}",
        "{\"type\":\"event\",\"content\":{\"event_type\":\"stream.update\",\"message_id\":\"m1\",\"text\":\"a\",\"extra\":{\"x\":[1,{\"text\":2}]}}}",
        "{\"event_type\":\"update\",\"message_id\":\"m1\",\"text\":\"top level\"}",
        "{\"messageType\":\"textDelta\",\"content\":{\"text\":\"no id\"}}",
        "{\"messageType\":\" \",\"content\":{\"event_type\":\"text_delta\",\"text\":\"blank messageType\"}}",
        "{\"messageType\":\"text_delta\",\"content\":{\"message_id\":\"m1\",\"text\":null}}",
        "{\"messageType\":\"text_delta\",\"content\":{\"message_id\":\"m1\",\"text\":12}}",
        "{\"messageType\":\"text_delta\",\"content\":{\"message_id\":7,\"text\":\"x\"}}",
        "{\"messageType\":\"text_delta\",\"content\":{\"message_id\":\"m1\",\"text\":{\"a\":1}}}",
        "{\"messageType\":\"text_delta\",\"content\":\"not an object\",\"text\":\"x\"}",
        "{\"messageType\":\"text_delta\",\"content\":{\"text\":\"a\"},\"content\":{\"text\":\"b\"}}",
        "{\"messageType\":\"text_delta\",\"content\":{\"message_id\":\"m1\",\"text\":\"a\",\"text\":\"b\"}}",
        "{\"type\":\"pong\",\"messageType\":\"text_delta\",\"text\":\"x\"}",
        "{\"messageType\":\"text_final\",\"content\":{\"message_id\":\"m1\",\"text\":\"whole\"}}",
        "{\"messageType\":\"text_delta\",\"content\":{\"message_id\":\"m1\",\"text\":\"cut",
        "[\"text_delta\"]",
        "{\"messageType\":\"text_delta\",\"content\":{\"message_id\":\"m1\",\"text\":\"x\"}} trailing");
  }

  @Test
  void aPlainDeltaIsReadWithoutTheTree() {
    // the one-pass reading is what the link does with nearly every frame: prove it is taken, not skipped
    assertEquals(new NativeCodec.Frame.Event(new AgentEvent.TextDelta("m1", "Hi")),
        codec.decode("{\"type\":\"event\",\"messageType\":\"text_delta\",\"content\":{\"message_id\":\"m1\",\"text\":\"Hi\"}}"));
    assertEquals(1, codec.decodedCount());
  }
}
