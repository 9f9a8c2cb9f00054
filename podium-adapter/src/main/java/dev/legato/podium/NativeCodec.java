package dev.legato.podium;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.podium.AgentEvent.FileChangeKind;
import dev.legato.podium.AgentEvent.PermissionKind;
import dev.legato.podium.AgentEvent.Phase;
import dev.legato.podium.AgentEvent.PlanChange;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Podium's native frames to {@link AgentEvent}s and {@link AgentCommand}s to frames. Tolerant as the
 * contract asks: the kind may come from {@code messageType} or {@code content.event_type}, dotted or
 * snake ({@code tool.call_start}, {@code tool_call_start}) or legacy ({@code thinking_update}); unknown
 * extra fields are ignored; unknown kinds and malformed frames are counted and logged, never thrown.
 * Thread-safe.
 */
public final class NativeCodec {
  private static final Logger log = LoggerFactory.getLogger(NativeCodec.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final LongAdder decoded = new LongAdder();
  private final LongAdder malformed = new LongAdder();
  private final Map<String, LongAdder> unknownKinds = new ConcurrentHashMap<>();

  /** One decoded frame. */
  public sealed interface Frame {
    record Event(AgentEvent event) implements Frame {}

    record Pong() implements Frame {}

    /** Nothing to act on: an unknown kind or a malformed frame (already counted and logged). */
    record Skipped(String reason) implements Frame {}
  }

  public Frame decode(String text) {
    AgentEvent.TextDelta delta = textDelta(text);
    if (delta != null) {
      decoded.increment();
      return new Frame.Event(delta);
    }
    return decodeTree(text);
  }

  /** Any frame, through a tree: what {@link #decode} does with every frame that is not a plain delta. */
  Frame decodeTree(String text) {
    JsonNode frame;
    try {
      frame = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      return malformed("not JSON: " + e.getOriginalMessage(), text);
    }
    if (frame == null || !frame.isObject()) {
      return malformed("not a JSON object", text);
    }
    String type = frame.path("type").asText("");
    if (type.equals("pong")) {
      return new Frame.Pong();
    }
    JsonNode content = frame.path("content").isObject() ? frame.get("content") : frame;
    String kind = firstText(frame.path("messageType"), content.path("event_type"), frame.path("event_type"));
    if (kind == null) {
      return malformed("no event kind (neither messageType nor content.event_type)", text);
    }
    try {
      AgentEvent event = event(normalize(kind), kind, content);
      if (event == null) {
        unknownKinds.computeIfAbsent(kind, k -> {
          log.warn("unknown Podium event kind '{}' (ignored; further ones are only counted)", k);
          return new LongAdder();
        }).increment();
        return new Frame.Skipped("unknown kind " + kind);
      }
      decoded.increment();
      return new Frame.Event(event);
    } catch (IllegalArgumentException missing) {
      return malformed(kind + ": " + missing.getMessage(), text);
    }
  }

  /**
   * The frame as a text delta, read in one pass without building a tree; null when it is anything else,
   * or anything less plain than a delta of strings (the general path then decides, with the same result
   * it would have given this frame). Text deltas are nearly every frame of a turn, and building a tree for
   * each was the largest single cost of a busy link.
   */
  private static AgentEvent.TextDelta textDelta(String text) {
    String messageType = null;
    String topEventType = null;
    String contentEventType = null;
    String[] top = new String[2]; // message_id, text
    String[] content = null;
    try (JsonParser parser = JSON.getFactory().createParser(text)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        if (name.equals("content") && value == JsonToken.START_OBJECT) {
          if (content != null) {
            return null; // a second content: rare enough to leave to the general path
          }
          content = new String[2];
          while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            JsonToken inner = parser.nextToken();
            if (field.equals("event_type")) {
              contentEventType = inner == JsonToken.VALUE_STRING ? parser.getText() : null;
            } else if (!plainField(field, inner, parser, content)) {
              return null;
            }
          }
        } else if (name.equals("content")) {
          return null;
        } else if (name.equals("type")) {
          if (value != JsonToken.VALUE_STRING || parser.getText().equals("pong")) {
            return null;
          }
        } else if (name.equals("messageType")) {
          messageType = value == JsonToken.VALUE_STRING ? parser.getText() : null;
        } else if (name.equals("event_type")) {
          topEventType = value == JsonToken.VALUE_STRING ? parser.getText() : null;
        } else if (!plainField(name, value, parser, top)) {
          return null;
        }
      }
    } catch (IOException notJson) {
      return null;
    }
    String[] fields = content != null ? content : top;
    String kind = firstText(messageType, content != null ? contentEventType : topEventType, topEventType);
    if (kind == null || fields[1] == null) {
      return null;
    }
    return switch (normalize(kind)) {
      case "update", "streamupdate", "textdelta" -> new AgentEvent.TextDelta(fields[0], fields[1]);
      default -> null;
    };
  }

  /**
   * Reads {@code message_id} and {@code text} when they are strings into {@code into}; skips any other
   * field. False when one of them is something else (null, a number, a document).
   */
  private static boolean plainField(String name, JsonToken value, JsonParser parser, String[] into) throws IOException {
    int slot = name.equals("message_id") ? 0 : name.equals("text") ? 1 : -1;
    if (slot < 0) {
      parser.skipChildren();
      return true;
    }
    if (value != JsonToken.VALUE_STRING) {
      return false;
    }
    into[slot] = parser.getText();
    return true;
  }

  private static String firstText(String... candidates) {
    for (String candidate : candidates) {
      if (candidate != null && !candidate.isBlank()) {
        return candidate;
      }
    }
    return null;
  }

  /** Frames decoded into events. */
  public long decodedCount() {
    return decoded.sum();
  }

  /** Frames that were not JSON objects or lacked a field their kind needs. */
  public long malformedCount() {
    return malformed.sum();
  }

  /** Frames of kinds this adapter does not know, in all. */
  public long unknownCount() {
    return unknownKinds.values().stream().mapToLong(LongAdder::sum).sum();
  }

  /** {@code tool.call_start}, {@code tool_call_start} and {@code toolCallStart} become {@code toolcallstart}. */
  static String normalize(String kind) {
    StringBuilder out = new StringBuilder(kind.length());
    for (int i = 0; i < kind.length(); i++) {
      char c = kind.charAt(i);
      if (c != '.' && c != '_' && c != '-') {
        out.append(Character.toLowerCase(c));
      }
    }
    return out.toString();
  }

  private static AgentEvent event(String kind, String original, JsonNode c) {
    return switch (kind) {
      case "created", "streamstart" -> new AgentEvent.MessageStarted(text(c, "message_id"));
      case "update", "streamupdate", "textdelta" -> new AgentEvent.TextDelta(text(c, "message_id"), required(c, "text"));
      case "textfinal" -> new AgentEvent.TextFinal(text(c, "message_id"), required(c, "text"));
      case "complete", "streamend", "streamcomplete" ->
          new AgentEvent.MessageCompleted(text(c, "message_id"), usage(c.path("usage")), text(c, "stop_reason"));
      case "error" -> new AgentEvent.Failed(
          orElse(text(c, "message"), "the agent reported an error"), text(c, "code"), c.path("retryable").asBoolean(false));
      case "thinkingstart" -> thinking(c, Phase.STARTED);
      case "thinkingprogress", "thinkingupdate" -> thinking(c, Phase.PROGRESS);
      case "thinkingcomplete" -> thinking(c, Phase.COMPLETED);
      case "toolcallstart" -> new AgentEvent.ToolCallStarted(
          required(c, "tool_call_id"), text(c, "tool_name"), document(c.path("arguments")));
      case "toolcalldelta" -> new AgentEvent.ToolCallDelta(required(c, "tool_call_id"), orElse(text(c, "delta"), ""));
      case "toolcall" -> new AgentEvent.ToolCall(
          required(c, "tool_call_id"), text(c, "tool_name"), document(c.path("arguments")));
      case "toolresult" -> new AgentEvent.ToolResult(
          required(c, "tool_call_id"), orElse(text(c, "output"), ""), c.path("is_error").asBoolean(false));
      case "toolerror" -> new AgentEvent.ToolResult(
          required(c, "tool_call_id"), orElse(text(c, "message"), orElse(text(c, "output"), "")), true);
      case "toolpermissionrequested" -> new AgentEvent.PermissionRequested(
          required(c, "request_id"), text(c, "tool_call_id"), permissionKind(text(c, "kind")), text(c, "command"),
          text(c, "cwd"), text(c, "reason"), document(c.path("changes")));
      case "toolquestionrequested" -> new AgentEvent.QuestionRequested(required(c, "request_id"), questions(c.path("questions")));
      case "toolapprovalresolved" -> new AgentEvent.ApprovalResolved(required(c, "request_id"), c.path("approved").asBoolean(false));
      case "terminalstream" -> new AgentEvent.TerminalOutput(required(c, "tool_call_id"), orElse(text(c, "output"), ""));
      case "terminalcomplete" -> new AgentEvent.TerminalCompleted(required(c, "tool_call_id"),
          c.hasNonNull("exit_code") ? c.get("exit_code").asInt() : null,
          c.hasNonNull("duration_ms") ? c.get("duration_ms").asLong() : null);
      case "filechange" -> new AgentEvent.FileChanged(
          text(c, "tool_call_id"), required(c, "path"), fileChangeKind(text(c, "kind")), orElse(text(c, "diff"), ""));
      case "plancreated" -> plan(c, PlanChange.CREATED);
      case "planstepstarted" -> plan(c, PlanChange.STEP_STARTED);
      case "planstepcompleted" -> plan(c, PlanChange.STEP_COMPLETED);
      case "planrevised" -> plan(c, PlanChange.REVISED);
      case "memoryextracted" -> new AgentEvent.MemoryExtracted(required(c, "key"), orElse(text(c, "value"), ""), document(c.path("metadata")));
      case "summarycreated" -> new AgentEvent.SummaryCreated(required(c, "summary"), strings(c.path("covers_turns")));
      case "sandboxprovisioning", "sandboxinit", "sandboxremoved" -> new AgentEvent.SandboxNotice(original, c.toString());
      default -> null;
    };
  }

  private static AgentEvent.Thinking thinking(JsonNode c, Phase phase) {
    return new AgentEvent.Thinking(text(c, "thinking_id"), phase, orElse(text(c, "text"), ""));
  }

  private static AgentEvent.PlanUpdated plan(JsonNode c, PlanChange change) {
    List<AgentEvent.PlanStep> steps = new ArrayList<>();
    for (JsonNode step : c.path("steps")) {
      steps.add(new AgentEvent.PlanStep(orElse(text(step, "step"), ""), orElse(text(step, "status"), "pending")));
    }
    return new AgentEvent.PlanUpdated(change, text(c, "plan_id"), List.copyOf(steps), text(c, "explanation"));
  }

  private static AgentEvent.Usage usage(JsonNode usage) {
    if (!usage.isObject()) {
      return AgentEvent.Usage.NONE;
    }
    return new AgentEvent.Usage(usage.path("input_tokens").asLong(0), usage.path("output_tokens").asLong(0),
        usage.hasNonNull("cached_input_tokens") ? usage.get("cached_input_tokens").asLong() : null,
        usage.hasNonNull("reasoning_tokens") ? usage.get("reasoning_tokens").asLong() : null);
  }

  private static List<AgentEvent.Question> questions(JsonNode questions) {
    if (!questions.isArray() || questions.isEmpty()) {
      throw new IllegalArgumentException("questions must be a non-empty array");
    }
    List<AgentEvent.Question> out = new ArrayList<>();
    for (JsonNode q : questions) {
      out.add(new AgentEvent.Question(text(q, "id"), text(q, "header"), orElse(text(q, "question"), ""), strings(q.path("options"))));
    }
    return List.copyOf(out);
  }

  private static PermissionKind permissionKind(String kind) {
    if (kind == null) {
      return PermissionKind.PERMISSIONS;
    }
    return switch (normalize(kind)) {
      case "command", "exec", "shell" -> PermissionKind.COMMAND;
      case "filechange", "patch", "edit" -> PermissionKind.FILE_CHANGE;
      default -> PermissionKind.PERMISSIONS;
    };
  }

  private static FileChangeKind fileChangeKind(String kind) {
    if (kind == null) {
      return FileChangeKind.UPDATE;
    }
    return switch (normalize(kind)) {
      case "add", "create", "added" -> FileChangeKind.ADD;
      case "delete", "remove", "deleted" -> FileChangeKind.DELETE;
      default -> FileChangeKind.UPDATE;
    };
  }

  private static List<String> strings(JsonNode array) {
    if (!array.isArray()) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (JsonNode item : array) {
      out.add(item.isTextual() ? item.asText() : item.toString());
    }
    return List.copyOf(out);
  }

  /** A field that is a document (object, array, or text holding one) as JSON text; null when absent. */
  private static String document(JsonNode node) {
    if (node.isMissingNode() || node.isNull()) {
      return null;
    }
    return node.isTextual() ? node.asText() : node.toString();
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    return value.isValueNode() ? value.asText() : value.toString();
  }

  private static String required(JsonNode node, String field) {
    String value = text(node, field);
    if (value == null) {
      throw new IllegalArgumentException("missing '" + field + "'");
    }
    return value;
  }

  private static String firstText(JsonNode... candidates) {
    for (JsonNode candidate : candidates) {
      if (candidate.isTextual() && !candidate.asText().isBlank()) {
        return candidate.asText();
      }
    }
    return null;
  }

  private static String orElse(String value, String fallback) {
    return value != null ? value : fallback;
  }

  /** Counts a frame the link could not even read as text (too large, broken stream) as malformed. */
  void skipped(String reason) {
    malformed.increment();
    log.warn("skipped a Podium frame: {}", reason);
  }

  private Frame malformed(String reason, String frame) {
    malformed.increment();
    log.warn("malformed Podium frame ({}): {}", reason, frame.length() > 200 ? frame.substring(0, 200) + "…" : frame);
    return new Frame.Skipped("malformed: " + reason);
  }

  // ---- outgoing -----------------------------------------------------------------------------------------

  public String encode(AgentCommand command) {
    ObjectNode frame = JSON.createObjectNode();
    ObjectNode content = JSON.createObjectNode();
    if (command instanceof AgentCommand.ProcessMessage m) {
      frame.put("type", "process_message");
      content.put("message_id", m.messageId());
      content.put("text", m.text());
      ArrayNode messages = content.putArray("messages");
      for (AgentCommand.HistoryMessage h : m.history()) {
        messages.addObject().put("role", h.role().name().toLowerCase(Locale.ROOT)).put("text", h.text());
      }
      content.putArray("attachments");
    } else if (command instanceof AgentCommand.Steer s) {
      frame.put("type", "steer");
      content.put("text", s.text());
    } else if (command instanceof AgentCommand.ApprovalResponse a) {
      frame.put("type", "approval_response");
      content.put("request_id", a.requestId());
      content.put("approved", a.decision().approves());
      content.put("decision", a.decision().wire());
    } else if (command instanceof AgentCommand.Answer a) {
      frame.put("type", "answer");
      content.put("request_id", a.requestId());
      ObjectNode answers = content.putObject("answers");
      a.answers().forEach((question, values) -> {
        ArrayNode list = answers.putArray(question);
        values.forEach(list::add);
      });
      content.put("dismissed", a.dismissed());
    } else if (command instanceof AgentCommand.Interrupt i) {
      frame.put("type", "interrupt");
      content.put("message_id", i.messageId());
    }
    frame.set("content", content);
    return frame.toString();
  }

  /** The liveness frame; Podium answers {@code {"type":"pong"}}. */
  public static String ping() {
    return "{\"type\":\"ping\"}";
  }
}
