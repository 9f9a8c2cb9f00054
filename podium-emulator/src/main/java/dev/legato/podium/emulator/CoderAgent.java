package dev.legato.podium.emulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A demo coding agent driven by its prompt, so that a person or a test can trigger every event
 * kind of the contract. Directives are words starting with a slash; each takes the words up to the
 * next directive as its argument and they run in order. Text before the first directive is the
 * plain prompt. The turn ends with an answer that reports what happened (and any steering).
 * The syntax is listed in the module README.
 */
final class CoderAgent implements Agent {
  static final Set<String> DIRECTIVES = Set.of(
      "/think", "/plan", "/tool", "/tool-error", "/run", "/edit", "/create", "/delete", "/ask",
      "/remember", "/recall", "/summarize", "/sandbox", "/error", "/slow", "/long");
  private static final Duration SLOW = Duration.ofMillis(150);
  private static final String[] LOREM = {
    "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do"};

  record Directive(String name, String argument) {}

  @Override
  public Source<OutboundFrame, NotUsed> body(Turn turn) {
    List<String> plain = new ArrayList<>();
    List<Directive> directives = parse(turn.text(), plain);
    Report report = new Report(String.join(" ", plain));
    Source<OutboundFrame, NotUsed> body = Source.empty();
    for (Directive directive : directives) {
      body = body.concatLazy(Turn.later(() -> step(turn, directive, report)));
      if (directive.name().equals("/error")) {
        // the turn fails here; later directives never run
        return body;
      }
    }
    return body.concatLazy(Turn.later(() -> report.slow
        ? turn.say(report.answer(), SLOW)
        : turn.say(report.answer())));
  }

  static List<Directive> parse(String text, List<String> plain) {
    List<Directive> directives = new ArrayList<>();
    String name = null;
    List<String> argument = new ArrayList<>();
    for (String word : text.trim().split("\\s+")) {
      if (DIRECTIVES.contains(word)) {
        if (name != null) {
          directives.add(new Directive(name, String.join(" ", argument)));
        }
        name = word;
        argument = new ArrayList<>();
      } else if (name == null) {
        if (!word.isEmpty()) {
          plain.add(word);
        }
      } else {
        argument.add(word);
      }
    }
    if (name != null) {
      directives.add(new Directive(name, String.join(" ", argument)));
    }
    return directives;
  }

  /** What the final answer will say; filled in as the directives run. */
  private static final class Report {
    private final String prompt;
    private final List<String> notes = new ArrayList<>();
    private volatile boolean slow;
    private final StringBuilder extra = new StringBuilder();

    Report(String prompt) {
      this.prompt = prompt;
    }

    synchronized void note(String note) {
      notes.add(note);
    }

    synchronized String answer() {
      StringBuilder out = new StringBuilder(prompt.isEmpty() ? "Done." : "You said: " + prompt + ".");
      for (String note : notes) {
        out.append(' ').append(note);
      }
      if (extra.length() > 0) {
        out.append(' ').append(extra);
      }
      return out.toString();
    }
  }

  private Source<OutboundFrame, NotUsed> step(Turn turn, Directive d, Report report) {
    String arg = d.argument();
    return switch (d.name()) {
      case "/think" -> think(turn, arg.isEmpty() ? "Let me think about this step by step." : arg);
      case "/plan" -> plan(turn, arg, report);
      case "/tool" -> tool(turn, arg.isEmpty() ? "read_file" : arg, false, report);
      case "/tool-error" -> tool(turn, arg.isEmpty() ? "read_file" : arg, true, report);
      case "/run" -> run(turn, arg.isEmpty() ? "ls" : arg, report);
      case "/edit" -> fileChange(turn, arg.isEmpty() ? "src/Main.java" : arg, "update", report);
      case "/create" -> fileChange(turn, arg.isEmpty() ? "src/New.java" : arg, "add", report);
      case "/delete" -> fileChange(turn, arg.isEmpty() ? "src/Old.java" : arg, "delete", report);
      case "/ask" -> ask(turn, arg.isEmpty() ? "Which approach should I take?" : arg, report);
      case "/remember" -> remember(turn, arg, report);
      case "/summarize" -> summarize(turn, report);
      case "/recall" -> {
        report.note(EchoAgent.recall(turn.config())); // what a re-spawned instance was hydrated with
        yield Source.empty();
      }
      case "/sandbox" -> sandbox(turn);
      case "/error" -> error(turn, arg.isEmpty() ? "the agent failed on purpose (/error)" : arg);
      case "/slow" -> {
        report.slow = true;
        if (!arg.isEmpty()) {
          synchronized (report) {
            report.extra.append(arg);
          }
        }
        yield Source.empty();
      }
      case "/long" -> {
        int words = parseCount(arg);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < words; i++) {
          text.append(i == 0 ? "" : " ").append(LOREM[i % LOREM.length]);
        }
        synchronized (report) {
          report.extra.append(text);
        }
        yield Source.empty();
      }
      default -> Source.empty();
    };
  }

  private static int parseCount(String arg) {
    try {
      return Math.max(0, Math.min(1_000_000, Integer.parseInt(arg.trim().split("\\s+")[0])));
    } catch (NumberFormatException e) {
      return 100;
    }
  }

  private Source<OutboundFrame, NotUsed> think(Turn turn, String text) {
    String id = turn.newId("think");
    List<OutboundFrame> frames = new ArrayList<>();
    frames.add(turn.event("thinking.start", fields(turn, "thinking_id", id, "text", "")));
    for (String word : text.split("\\s+")) {
      frames.add(turn.event("thinking.progress", fields(turn, "thinking_id", id, "text", word + " ")));
    }
    frames.add(turn.event("thinking.complete", fields(turn, "thinking_id", id, "text", text)));
    return Source.from(frames);
  }

  private Source<OutboundFrame, NotUsed> plan(Turn turn, String arg, Report report) {
    List<String> steps = new ArrayList<>();
    for (String step : (arg.isEmpty() ? "Read the code; Make the change; Run the tests" : arg).split(";")) {
      if (!step.isBlank()) {
        steps.add(step.trim());
      }
    }
    String id = turn.newId("plan");
    List<OutboundFrame> frames = new ArrayList<>();
    String[] status = new String[steps.size()];
    java.util.Arrays.fill(status, "pending");
    frames.add(turn.event("plan.created", planFields(turn, id, steps, status, null)));
    for (int i = 0; i < steps.size(); i++) {
      status[i] = "in_progress";
      frames.add(turn.event("plan.step_started", planFields(turn, id, steps, status, null)));
      status[i] = "completed";
      frames.add(turn.event("plan.step_completed", planFields(turn, id, steps, status, null)));
      if (i == 0) {
        // revise once, after the first step, so plan.revised is exercised by every /plan
        steps.add("Review the result");
        status = java.util.Arrays.copyOf(status, steps.size());
        status[steps.size() - 1] = "pending";
        frames.add(turn.event("plan.revised",
            planFields(turn, id, steps, status, "Added a review step after the first step.")));
      }
    }
    report.note("Plan finished (" + steps.size() + " steps).");
    return Source.from(frames);
  }

  private ObjectNode planFields(Turn turn, String id, List<String> steps, String[] status, String explanation) {
    ObjectNode fields = turn.withMessageId();
    fields.put("plan_id", id);
    ArrayNode array = fields.putArray("steps");
    for (int i = 0; i < steps.size(); i++) {
      array.addObject().put("step", steps.get(i)).put("status", status[i]);
    }
    if (explanation != null) {
      fields.put("explanation", explanation);
    }
    return fields;
  }

  private Source<OutboundFrame, NotUsed> tool(Turn turn, String name, boolean fails, Report report) {
    String id = turn.newId("call");
    ObjectNode arguments = Json.object().put("path", "README.md");
    String argumentText = Json.write(arguments);
    int half = argumentText.length() / 2;
    List<OutboundFrame> frames = new ArrayList<>();
    frames.add(turn.event("tool.call_start", fields(turn, "tool_call_id", id, "tool_name", name)));
    frames.add(turn.event("tool.call_delta", fields(turn, "tool_call_id", id, "delta", argumentText.substring(0, half))));
    frames.add(turn.event("tool.call_delta", fields(turn, "tool_call_id", id, "delta", argumentText.substring(half))));
    ObjectNode call = fields(turn, "tool_call_id", id, "tool_name", name);
    call.set("arguments", arguments);
    frames.add(turn.event("tool.call", call));
    if (fails) {
      ObjectNode error = fields(turn, "tool_call_id", id, "message", "tool " + name + " failed on purpose");
      error.put("is_error", true);
      frames.add(turn.event("tool.error", error));
      report.note("Tool " + name + " failed.");
    } else {
      ObjectNode result = fields(turn, "tool_call_id", id, "output", "# README\nemulated content\n");
      result.put("is_error", false);
      frames.add(turn.event("tool.result", result));
      report.note("Tool " + name + " succeeded.");
    }
    return Source.from(frames);
  }

  private Source<OutboundFrame, NotUsed> run(Turn turn, String command, Report report) {
    String callId = turn.newId("call");
    String requestId = turn.newId("req");
    ObjectNode start = fields(turn, "tool_call_id", callId, "tool_name", "shell");
    start.putObject("arguments").put("command", command);
    ObjectNode request = fields(turn, "request_id", requestId, "tool_call_id", callId);
    request.put("kind", "command");
    request.put("command", command);
    request.put("cwd", "/workspace");
    request.put("reason", "The agent wants to run a shell command.");
    return Source.<OutboundFrame>single(turn.event("tool.call_start", start))
        .concatLazy(turn.ask(requestId, turn.event("tool.permission_requested", request), answer -> {
          boolean approved = approved(answer);
          OutboundFrame resolved = resolved(turn, requestId, approved, answer);
          if (!approved) {
            report.note("Command `" + command + "` was declined.");
            return Source.from(List.of(resolved, declined(turn, callId)));
          }
          List<String> chunks = output(command);
          int exitCode = exitCode(command);
          List<OutboundFrame> frames = new ArrayList<>();
          frames.add(resolved);
          for (String chunk : chunks) {
            frames.add(turn.event("terminal.stream", fields(turn, "tool_call_id", callId, "output", chunk)));
          }
          ObjectNode complete = fields(turn, "tool_call_id", callId, null, null);
          complete.put("exit_code", exitCode);
          complete.put("duration_ms", 7 * chunks.size());
          frames.add(turn.event("terminal.complete", complete));
          ObjectNode result = fields(turn, "tool_call_id", callId, "output", String.join("", chunks));
          result.put("is_error", exitCode != 0);
          frames.add(turn.event("tool.result", result));
          report.note("Command `" + command + "` exited with " + exitCode + ".");
          return Source.from(frames);
        }));
  }

  /** Deterministic output: {@code echo X} prints X, anything else two lines naming the command. */
  private static List<String> output(String command) {
    if (command.startsWith("echo ")) {
      return List.of(command.substring(5) + "\n");
    }
    return List.of("$ " + command + "\n", "emulated output of " + command + "\n");
  }

  /** {@code false} exits 1 and {@code exit N} exits N, so failing commands can be scripted. */
  private static int exitCode(String command) {
    if (command.equals("false")) {
      return 1;
    }
    if (command.matches("exit \\d{1,3}")) {
      return Integer.parseInt(command.substring(5));
    }
    return 0;
  }

  private Source<OutboundFrame, NotUsed> fileChange(Turn turn, String path, String kind, Report report) {
    String callId = turn.newId("call");
    String requestId = turn.newId("req");
    List<String> before = List.of("// " + path, "line 1", "line 2", "line 3");
    List<String> after = List.of("// " + path, "line 1", "line 2, edited by the coder agent", "line 3", "line 4");
    String diff = switch (kind) {
      case "add" -> UnifiedDiff.of(path, null, after);
      case "delete" -> UnifiedDiff.of(path, before, null);
      default -> UnifiedDiff.of(path, before, after);
    };
    ObjectNode start = fields(turn, "tool_call_id", callId, "tool_name", "apply_patch");
    start.putObject("arguments").put("path", path);
    ObjectNode request = fields(turn, "request_id", requestId, "tool_call_id", callId);
    request.put("kind", "file_change");
    request.put("reason", "The agent wants to change " + path + ".");
    request.putArray("changes").addObject().put("path", path).put("kind", kind).put("diff", diff);
    return Source.<OutboundFrame>single(turn.event("tool.call_start", start))
        .concatLazy(turn.ask(requestId, turn.event("tool.permission_requested", request), answer -> {
          boolean approved = approved(answer);
          OutboundFrame resolved = resolved(turn, requestId, approved, answer);
          if (!approved) {
            report.note("The change to " + path + " was declined.");
            return Source.from(List.of(resolved, declined(turn, callId)));
          }
          ObjectNode change = fields(turn, "tool_call_id", callId, "path", path);
          change.put("kind", kind);
          change.put("diff", diff);
          ObjectNode result = fields(turn, "tool_call_id", callId, "output", "applied " + kind + " to " + path);
          result.put("is_error", false);
          report.note("Changed " + path + " (" + kind + ").");
          return Source.from(List.of(resolved, turn.event("file_change", change), turn.event("tool.result", result)));
        }));
  }

  private Source<OutboundFrame, NotUsed> ask(Turn turn, String question, Report report) {
    String requestId = turn.newId("req");
    ObjectNode request = fields(turn, "request_id", requestId, "tool_call_id", turn.newId("call"));
    ObjectNode q = request.putArray("questions").addObject();
    q.put("id", "q1");
    q.put("header", "Question");
    q.put("question", question);
    ArrayNode options = q.putArray("options");
    options.addObject().put("label", "A").put("description", "the first option");
    options.addObject().put("label", "B").put("description", "the second option");
    return turn.ask(requestId, turn.event("tool.question_requested", request), answer -> {
      boolean dismissed = answer.path("dismissed").asBoolean(false);
      if (dismissed) {
        report.note("The question was dismissed.");
      } else {
        List<String> parts = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = answer.path("answers").properties().iterator();
        while (it.hasNext()) {
          Map.Entry<String, JsonNode> entry = it.next();
          parts.add(entry.getKey() + "=" + answerText(entry.getValue()));
        }
        report.note("You answered: " + String.join(", ", parts) + ".");
      }
      // a resolved question returns the turn to running, as an approval does
      return Source.single(resolved(turn, requestId, !dismissed, answer));
    });
  }

  /** Answers may be a string, a list, or Codex's {"answers":[...]} shape; all read as text. */
  private static String answerText(JsonNode value) {
    if (value.isObject() && value.has("answers")) {
      return answerText(value.get("answers"));
    }
    if (value.isArray()) {
      List<String> items = new ArrayList<>();
      value.forEach(v -> items.add(answerText(v)));
      return String.join("|", items);
    }
    return value.asText();
  }

  private Source<OutboundFrame, NotUsed> remember(Turn turn, String arg, Report report) {
    int eq = arg.indexOf('=');
    String key = eq > 0 ? arg.substring(0, eq).trim() : (arg.isBlank() ? "note" : arg.trim());
    String value = eq > 0 ? arg.substring(eq + 1).trim() : "remembered";
    ObjectNode fields = fields(turn, "key", key, "value", value);
    fields.putObject("metadata").put("source", "coder");
    report.note("Remembered " + key + ".");
    return Source.single(turn.event("memory.extracted", fields));
  }

  private Source<OutboundFrame, NotUsed> summarize(Turn turn, Report report) {
    long userTurns = turn.history().stream().filter(m -> m.role().equals("user")).count() + 1;
    ObjectNode fields = fields(turn, "summary",
        "The user and the agent exchanged " + (turn.history().size() + 1) + " messages.", null, null);
    fields.put("covers_turns", userTurns);
    report.note("Summarized.");
    return Source.single(turn.event("summary.created", fields));
  }

  private Source<OutboundFrame, NotUsed> sandbox(Turn turn) {
    return Source.from(List.of(
        turn.event("sandbox.provisioning", fields(turn, "sandbox_id", "sbx_1", "image", "podium/sandbox:emulated")),
        turn.event("sandbox.init", fields(turn, "sandbox_id", "sbx_1", "status", "ready")),
        turn.event("sandbox.removed", fields(turn, "sandbox_id", "sbx_1", null, null))));
  }

  private Source<OutboundFrame, NotUsed> error(Turn turn, String message) {
    turn.fail();
    ObjectNode fields = fields(turn, "message", message, "code", "agent_error");
    fields.put("retryable", false);
    return Source.single(turn.event("error", fields));
  }

  private static boolean approved(JsonNode answer) {
    JsonNode approved = answer.get("approved");
    if (approved != null && approved.isBoolean()) {
      return approved.asBoolean();
    }
    String decision = answer.path("decision").asText("");
    return decision.equals("accept") || decision.equals("acceptForSession");
  }

  private static OutboundFrame resolved(Turn turn, String requestId, boolean approved, JsonNode answer) {
    ObjectNode fields = fields(turn, "request_id", requestId, null, null);
    fields.put("approved", approved);
    if (answer.hasNonNull("decision")) {
      fields.put("decision", answer.get("decision").asText());
    }
    return turn.event("tool.approval_resolved", fields);
  }

  private static OutboundFrame declined(Turn turn, String callId) {
    ObjectNode fields = fields(turn, "tool_call_id", callId, "message", "declined by the user");
    fields.put("is_error", true);
    return turn.event("tool.error", fields);
  }

  /** message_id plus up to two string fields (a null name is skipped). */
  private static ObjectNode fields(Turn turn, String k1, String v1, String k2, String v2) {
    ObjectNode fields = turn.withMessageId();
    if (k1 != null) {
      fields.put(k1, v1);
    }
    if (k2 != null) {
      fields.put(k2, v2);
    }
    return fields;
  }
}
