package dev.legato.thread;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.legato.podium.AgentEvent;
import dev.legato.thread.ThreadEvent.AgentMessage;
import dev.legato.thread.ThreadEvent.AgentMessageDelta;
import dev.legato.thread.ThreadEvent.ApprovalRequested;
import dev.legato.thread.ThreadEvent.CommandCompleted;
import dev.legato.thread.ThreadEvent.FileChanged;
import dev.legato.thread.ThreadEvent.MemoryExtracted;
import dev.legato.thread.ThreadEvent.PlanStep;
import dev.legato.thread.ThreadEvent.PlanUpdated;
import dev.legato.thread.ThreadEvent.Question;
import dev.legato.thread.ThreadEvent.QuestionAsked;
import dev.legato.thread.ThreadEvent.ReasoningRecorded;
import dev.legato.thread.ThreadEvent.SummaryCreated;
import dev.legato.thread.ThreadEvent.ToolCallRecorded;
import dev.legato.thread.ThreadEvent.TurnEnded;
import dev.legato.thread.ThreadState.Turn;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What the running turn's agent does, turned into what the thread keeps and what its followers see: each
 * batch of agent events becomes the thread events to persist and the live updates to publish now. It owns
 * the text window: streamed text is published at once and persisted as {@link AgentMessageDelta}s at most
 * every {@code text-window} (or {@code text-window-bytes}), then as the whole {@link AgentMessage}.
 * Reasoning and command output are kept until their item completes, so that a follower who joins mid-turn
 * catches up ({@link #catchUp}). A plain object: the thread calls it on its own thread, one batch at a time.
 */
final class TurnRecorder {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Messages remembered as abandoned: enough for the few turns an agent may still be finishing. */
  private static final int ABANDONED_KEPT = 8;

  /** A batch's outcome: thread events to persist (in order), live updates to publish now, text deltas seen. */
  record Recorded(List<ThreadEvent> events, List<ThreadUpdate> live, int deltas) {}

  private final long windowNanos;
  private final int windowBytes;
  /** The current message's streamed text, kept until it is persisted whole. */
  private final StringBuilder streamed = new StringBuilder();
  /** The tail of {@link #streamed} not yet persisted in a window, and when its window opened (nanos). */
  private final StringBuilder unsaved = new StringBuilder();
  private long windowOpenedAt;
  private boolean flushScheduled;
  private boolean messagePersisted;
  /** Reasoning and command output streamed so far, by item, until persisted whole. */
  private final Map<String, StringBuilder> reasoning = new HashMap<>();
  private final Map<String, StringBuilder> commandOutput = new HashMap<>();
  private final Map<String, AgentEvent.ToolCallStarted> toolCalls = new HashMap<>();
  /** The shell command of a tool call, by tool call id, from its arguments or its approval request. */
  private final Map<String, String> commands = new HashMap<>();
  /** Tool calls that became a command execution or a file change: that item already tells their story. */
  private final Set<String> specializedToolCalls = new HashSet<>();
  /**
   * Messages whose turns ended without their agent (failed, interrupted, silenced), newest last: what the agent
   * still sends for one of them is stale and must not end or feed a later turn.
   */
  private final ArrayDeque<String> abandonedMessages = new ArrayDeque<>();

  TurnRecorder(Duration textWindow, int textWindowBytes) {
    this.windowNanos = textWindow.toNanos();
    this.windowBytes = textWindowBytes;
  }

  /** The item id of a turn's answer. */
  static String itemId(Turn turn) {
    return turn.messageId() + "-answer";
  }

  /** A new turn starts: nothing of the last one is carried over (but its abandoned message stays abandoned). */
  void turnStarted() {
    streamed.setLength(0);
    unsaved.setLength(0);
    messagePersisted = false;
    reasoning.clear();
    commandOutput.clear();
    toolCalls.clear();
    commands.clear();
    specializedToolCalls.clear();
  }

  /**
   * Records one batch of the agent's events for {@code turn}. Text deltas reach followers as one update per
   * batch (or per run of text between other updates), and only when {@code live} (someone follows). Events
   * after the turn's end in the same batch belong to no turn and are dropped; so are those of abandoned
   * messages. A second request while one is pending is not recorded ({@code waiting}).
   */
  Recorded record(Turn turn, boolean waiting, List<AgentEvent> batch, boolean live, long nowMillis, long nowNanos) {
    Batch out = new Batch(turn, nowMillis, live);
    for (AgentEvent agentEvent : batch) {
      if (abandoned(agentEvent)) {
        continue;
      }
      if (agentEvent instanceof AgentEvent.MessageStarted) {
        streamed.setLength(0);
        unsaved.setLength(0);
        messagePersisted = false;
      } else if (agentEvent instanceof AgentEvent.TextDelta delta) {
        if (unsaved.length() == 0) {
          windowOpenedAt = nowNanos;
        }
        streamed.append(delta.text());
        unsaved.append(delta.text());
        out.text(delta.text());
      } else if (agentEvent instanceof AgentEvent.TextFinal text && !messagePersisted) {
        out.events.add(new AgentMessage(turn.turnId(), itemId(turn), text.text(), nowMillis));
        unsaved.setLength(0);
        messagePersisted = true;
      } else if (agentEvent instanceof AgentEvent.PermissionRequested request && !waiting) {
        out.record(new ApprovalRequested(turn.turnId(), request.requestId(), kind(request.kind()), request.command(),
            request.cwd(), request.reason(), nowMillis, request.toolCallId(), request.changesJson()));
        if (request.toolCallId() != null && request.command() != null) {
          commands.put(request.toolCallId(), request.command());
        }
        waiting = true;
      } else if (agentEvent instanceof AgentEvent.Thinking thinking) {
        thinking(out, thinking);
      } else if (agentEvent instanceof AgentEvent.ToolCallStarted started) {
        toolStarted(out, started);
      } else if (agentEvent instanceof AgentEvent.ToolCall call) {
        toolStarted(out, new AgentEvent.ToolCallStarted(call.toolCallId(), call.toolName(), call.argumentsJson()));
      } else if (agentEvent instanceof AgentEvent.ToolResult result) {
        AgentEvent.ToolCallStarted call = toolCalls.remove(result.toolCallId());
        if (!specializedToolCalls.contains(result.toolCallId())) {
          out.record(new ToolCallRecorded(turn.turnId(), result.toolCallId(), call == null ? null : call.toolName(),
              call == null ? null : call.argumentsJson(), result.isError() ? "failed" : "completed", result.output(),
              nowMillis));
        }
      } else if (agentEvent instanceof AgentEvent.TerminalOutput output) {
        commandOutput.computeIfAbsent(output.toolCallId(), k -> new StringBuilder()).append(output.output());
        out.update(new ThreadUpdate.CommandOutputDelta(turn.turnId(), output.toolCallId(), output.output()));
      } else if (agentEvent instanceof AgentEvent.TerminalCompleted done) {
        StringBuilder output = commandOutput.remove(done.toolCallId());
        specializedToolCalls.add(done.toolCallId());
        out.record(new CommandCompleted(turn.turnId(), done.toolCallId(), output == null ? "" : output.toString(),
            done.exitCode(), done.durationMs(), nowMillis, commands.remove(done.toolCallId())));
      } else if (agentEvent instanceof AgentEvent.FileChanged change) {
        if (change.toolCallId() != null) {
          specializedToolCalls.add(change.toolCallId());
        }
        out.record(new FileChanged(turn.turnId(), change.toolCallId() == null ? change.path() : change.toolCallId(),
            change.path(), change.kind().name().toLowerCase(Locale.ROOT), change.diff(), nowMillis));
      } else if (agentEvent instanceof AgentEvent.PlanUpdated plan) {
        out.record(new PlanUpdated(turn.turnId(), plan.planId() == null ? turn.turnId() + "-plan" : plan.planId(),
            plan.steps().stream().map(step -> new PlanStep(step.step(), step.status())).toList(), plan.explanation(),
            nowMillis));
      } else if (agentEvent instanceof AgentEvent.MemoryExtracted memory) {
        out.record(new MemoryExtracted(memory.key(), memory.value(), memory.metadataJson(), nowMillis));
      } else if (agentEvent instanceof AgentEvent.SummaryCreated summary) {
        out.record(new SummaryCreated(summary.summary(), summary.coversTurns(), nowMillis));
      } else if (agentEvent instanceof AgentEvent.QuestionRequested asked && !waiting) {
        out.record(new QuestionAsked(turn.turnId(), asked.requestId(), asked.questions().stream()
            .map(q -> new Question(q.id(), q.header(), q.question(), q.options())).toList(), nowMillis));
        waiting = true;
      } else if (agentEvent instanceof AgentEvent.MessageCompleted completed) {
        if (!messagePersisted && streamed.length() > 0) {
          out.events.add(new AgentMessage(turn.turnId(), itemId(turn), streamed.toString(), nowMillis));
          messagePersisted = true;
        }
        unsaved.setLength(0);
        boolean interrupted = "interrupted".equals(completed.stopReason());
        out.record(new TurnEnded(turn.turnId(), interrupted ? "interrupted" : "completed", null, turn.startedAt(),
            completed.usage().inputTokens(), completed.usage().outputTokens(), nowMillis));
        break; // the turn is over: later frames belong to no turn
      } else if (agentEvent instanceof AgentEvent.Failed failed) {
        out.record(new TurnEnded(turn.turnId(), "failed", failed.message(), turn.startedAt(), 0, 0, nowMillis));
        break;
      }
    }
    out.flushText();
    if (unsaved.length() >= windowBytes || (unsaved.length() > 0 && nowNanos - windowOpenedAt >= windowNanos)) {
      saveText(turn, out.events, nowMillis);
    }
    return new Recorded(out.events, out.live, out.deltas);
  }

  /**
   * Whether streamed text waits for its window to close and no timer is armed for it yet; true arms it (the
   * caller schedules {@link #flush} after {@code text-window}), so that an agent that pauses is saved on time.
   */
  boolean armFlush() {
    if (unsaved.length() == 0 || flushScheduled) {
      return false;
    }
    flushScheduled = true;
    return true;
  }

  /** The text window is over: what streamed since it opened, as an event to persist (none if nothing did). */
  List<ThreadEvent> flush(Turn turn, long nowMillis) {
    flushScheduled = false;
    List<ThreadEvent> events = new ArrayList<>();
    if (turn != null) {
      saveText(turn, events, nowMillis);
    }
    return events;
  }

  /**
   * Ends the turn without its agent (it failed, was interrupted or went silent): what streamed before the end
   * stays part of the record, and whatever the agent still sends for its message is dropped.
   */
  List<ThreadEvent> endWithoutAgent(Turn turn, String outcome, String error, long nowMillis) {
    if (abandonedMessages.size() >= ABANDONED_KEPT) {
      abandonedMessages.removeFirst();
    }
    abandonedMessages.addLast(turn.messageId());
    List<ThreadEvent> events = new ArrayList<>();
    saveText(turn, events, nowMillis);
    events.add(new TurnEnded(turn.turnId(), outcome, error, turn.startedAt(), 0, 0, nowMillis));
    return events;
  }

  /** What the running turn streamed that no persisted event holds yet, as deltas for a joining follower. */
  List<ThreadUpdate> catchUp(Turn turn) {
    List<ThreadUpdate> updates = new ArrayList<>();
    if (turn == null) {
      return updates;
    }
    if (unsaved.length() > 0 && !messagePersisted) {
      updates.add(new ThreadUpdate.TextDelta(turn.turnId(), itemId(turn), unsaved.toString()));
    }
    reasoning.forEach((id, text) -> updates.add(new ThreadUpdate.ReasoningDelta(turn.turnId(), id, text.toString())));
    commandOutput.forEach((id, text) ->
        updates.add(new ThreadUpdate.CommandOutputDelta(turn.turnId(), id, text.toString())));
    return updates;
  }

  private void thinking(Batch out, AgentEvent.Thinking thinking) {
    Turn turn = out.turn;
    String id = thinking.thinkingId() == null ? turn.turnId() + "-thinking" : thinking.thinkingId();
    StringBuilder text = reasoning.computeIfAbsent(id, k -> new StringBuilder());
    if (thinking.phase() == AgentEvent.Phase.COMPLETED) {
      String whole = thinking.text().isEmpty() ? text.toString() : thinking.text();
      reasoning.remove(id);
      out.record(new ReasoningRecorded(turn.turnId(), id, whole, out.nowMillis));
    } else if (!thinking.text().isEmpty()) {
      text.append(thinking.text());
      out.update(new ThreadUpdate.ReasoningDelta(turn.turnId(), id, thinking.text()));
    }
  }

  private void toolStarted(Batch out, AgentEvent.ToolCallStarted started) {
    toolCalls.put(started.toolCallId(), started);
    String command = commandOf(started.argumentsJson());
    if (command != null) {
      commands.put(started.toolCallId(), command);
    }
    out.update(new ThreadUpdate.ToolStarted(out.turn.turnId(), started.toolCallId(), started.toolName(),
        started.argumentsJson(), command));
  }

  private void saveText(Turn turn, List<ThreadEvent> events, long nowMillis) {
    if (unsaved.length() > 0 && !messagePersisted) {
      events.add(new AgentMessageDelta(turn.turnId(), itemId(turn), unsaved.toString(), nowMillis));
    }
    unsaved.setLength(0);
  }

  /** Whether the event belongs to a message whose turn already ended without its agent. */
  private boolean abandoned(AgentEvent event) {
    String messageId = event instanceof AgentEvent.MessageStarted e ? e.messageId()
        : event instanceof AgentEvent.TextDelta e ? e.messageId()
        : event instanceof AgentEvent.TextFinal e ? e.messageId()
        : event instanceof AgentEvent.MessageCompleted e ? e.messageId() : null;
    return messageId != null && abandonedMessages.contains(messageId);
  }

  /** One batch in the making: the events to persist, the live updates, and the text not yet published. */
  private final class Batch {
    final Turn turn;
    final long nowMillis;
    /** Whether anyone follows the thread: text is gathered for publishing only then. */
    final boolean following;
    final List<ThreadEvent> events = new ArrayList<>();
    final List<ThreadUpdate> live = new ArrayList<>();
    StringBuilder text;
    int deltas;

    Batch(Turn turn, long nowMillis, boolean following) {
      this.turn = turn;
      this.nowMillis = nowMillis;
      this.following = following;
    }

    void text(String delta) {
      deltas++;
      if (following) {
        if (text == null) {
          text = new StringBuilder();
        }
        text.append(delta);
      }
    }

    /** A live update, after the text streamed before it. */
    void update(ThreadUpdate update) {
      flushText();
      live.add(update);
    }

    /** An event to persist, after the text streamed before it, so that the journal keeps the order followers saw. */
    void record(ThreadEvent event) {
      saveText(turn, events, nowMillis);
      events.add(event);
    }

    void flushText() {
      if (text != null) {
        live.add(new ThreadUpdate.TextDelta(turn.turnId(), itemId(turn), text.toString()));
        text = null;
      }
    }
  }

  /** The {@code command} argument of a tool call (a string, or a list of words), if it has one. */
  static String commandOf(String argumentsJson) {
    if (argumentsJson == null || !argumentsJson.contains("command")) {
      return null;
    }
    try {
      JsonNode command = JSON.readTree(argumentsJson).path("command");
      if (command.isTextual()) {
        return command.asText();
      }
      if (command.isArray()) {
        List<String> words = new ArrayList<>();
        command.forEach(word -> words.add(word.asText()));
        return String.join(" ", words);
      }
    } catch (JsonProcessingException e) {
      return null; // arguments that are not JSON name no command
    }
    return null;
  }

  private static String kind(AgentEvent.PermissionKind kind) {
    return switch (kind) {
      case COMMAND -> "command";
      case FILE_CHANGE -> "file_change";
      case PERMISSIONS -> "permissions";
    };
  }
}
