package dev.legato.podium.emulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Source;

/**
 * One user message being worked on: what the agent was given, what it has said so far, steering
 * that arrived meanwhile, and the requests (approvals, questions) it waits for. It also wraps an
 * agent's body into the whole turn so that interrupts and endings behave the same for every agent.
 */
final class Turn {
  private final String messageId;
  private final String text;
  private final List<HistoryMessage> history;
  private final JsonNode config;
  private final Duration streamDelay;
  private final int number;
  private final StringBuilder answer = new StringBuilder();
  private final List<String> steering = new ArrayList<>();
  private final ConcurrentHashMap<String, CompletableFuture<JsonNode>> waiting;
  private int outputWords;
  private int ids;
  private boolean textFinal = true;
  private boolean failed;
  private boolean interrupted;
  private boolean bodyDone;
  private UniqueKillSwitch killSwitch;

  record HistoryMessage(String role, String text) {}

  Turn(String messageId, String text, List<HistoryMessage> history, JsonNode config,
      Duration streamDelay, int number, ConcurrentHashMap<String, CompletableFuture<JsonNode>> waiting) {
    this.messageId = messageId;
    this.text = text;
    this.history = List.copyOf(history);
    this.config = config;
    this.streamDelay = streamDelay;
    this.number = number;
    this.waiting = waiting;
  }

  String messageId() {
    return messageId;
  }

  String text() {
    return text;
  }

  List<HistoryMessage> history() {
    return history;
  }

  JsonNode config() {
    return config;
  }

  /** A fresh id for something this turn creates, e.g. {@code call_3_1}: turn 3, first of the turn. */
  synchronized String newId(String prefix) {
    return prefix + "_" + number + "_" + (++ids);
  }

  /** Used by agents whose answers are too large to repeat as one frame (the load agent). */
  synchronized void skipTextFinal() {
    textFinal = false;
  }

  /** The turn ends with the error event the body emitted: no text_final, no complete. */
  synchronized void fail() {
    failed = true;
  }

  synchronized void steer(String guidance) {
    steering.add(guidance);
  }

  private synchronized List<String> takeSteering() {
    List<String> taken = List.copyOf(steering);
    steering.clear();
    return taken;
  }

  private synchronized void said(String delta, int words) {
    if (textFinal) {
      answer.append(delta);
    }
    outputWords += words;
  }

  // ---- building blocks for agents ------------------------------------------------------------

  OutboundFrame.Event event(String kind, ObjectNode fields) {
    return new OutboundFrame.Event(kind, fields);
  }

  /** Streams text word by word as text deltas, pausing by the stream delay between them. */
  Source<OutboundFrame, NotUsed> say(String words) {
    return say(words, streamDelay);
  }

  Source<OutboundFrame, NotUsed> say(String words, Duration delay) {
    String[] parts = words.trim().isEmpty() ? new String[0] : words.trim().split("\\s+");
    List<String> deltas = new ArrayList<>(parts.length);
    boolean continuing = answerLength() > 0;
    for (String part : parts) {
      deltas.add(continuing ? " " + part : part);
      continuing = true;
    }
    Source<String, NotUsed> source = Source.from(deltas);
    if (!delay.isZero()) {
      source = source.throttle(1, delay);
    }
    return source.map(delta -> {
      said(delta, 1);
      return (OutboundFrame) textDelta(delta);
    });
  }

  /** A text delta whose words count as output but are not kept for text_final. */
  OutboundFrame.Event bulkDelta(String delta) {
    said(delta, 1);
    return textDelta(delta);
  }

  private OutboundFrame.Event textDelta(String delta) {
    ObjectNode fields = withMessageId();
    fields.put("text", delta);
    return event("text_delta", fields);
  }

  private synchronized int answerLength() {
    return answer.length();
  }

  /** A source built only when the stream reaches it, so it sees what happened before it. */
  static Source<OutboundFrame, NotUsed> later(Supplier<Source<OutboundFrame, NotUsed>> build) {
    return Source.lazySource(build::get).mapMaterializedValue(ignored -> NotUsed.getInstance());
  }

  /**
   * Emits a request (approval or question) and then waits for its answer without holding a
   * thread; the answer's content is handed to {@code then}. The wait is registered before the
   * request is sent, so an immediate answer cannot be missed.
   */
  Source<OutboundFrame, NotUsed> ask(String requestId, OutboundFrame.Event request,
      Function<JsonNode, Source<OutboundFrame, NotUsed>> then) {
    return later(() -> {
      CompletableFuture<JsonNode> answer = new CompletableFuture<>();
      waiting.put(requestId, answer);
      return Source.<OutboundFrame>single(request)
          .concatLazy(Source.completionStage(answer).flatMapConcat(then::apply))
          .watchTermination((m, done) -> {
            done.whenComplete((d, e) -> waiting.remove(requestId, answer));
            return m;
          });
    });
  }

  // ---- the whole turn ------------------------------------------------------------------------

  /**
   * The turn as sent: stream_start, the agent's body (stoppable by {@link #interrupt}), then the
   * ending — steering acknowledged, text_final and complete; or, when interrupted, the partial
   * text_final and a complete with {@code stop_reason: "interrupted"}; or nothing after an error.
   */
  Source<OutboundFrame, NotUsed> run(Agent agent, Runnable started, Runnable ended) {
    Source<OutboundFrame, NotUsed> body = later(() -> agent.body(this))
        .viaMat(KillSwitches.single(), Keep.right())
        .mapMaterializedValue(ks -> {
          attach(ks);
          started.run();
          return NotUsed.getInstance();
        });
    ObjectNode start = withMessageId();
    return Source.<OutboundFrame>single(event("stream_start", start))
        .concatLazy(body)
        .concatLazy(later(this::ending))
        // a bug in an agent fails its turn with an error event instead of taking the socket down
        .recover(RuntimeException.class, () -> internalError())
        .watchTermination((NotUsed m, java.util.concurrent.CompletionStage<Done> done) -> {
          done.whenComplete((d, e) -> ended.run());
          return m;
        });
  }

  private OutboundFrame internalError() {
    ObjectNode fields = withMessageId();
    fields.put("message", "the emulated agent failed");
    fields.put("code", "internal");
    fields.put("retryable", true);
    return event("error", fields);
  }

  private synchronized void attach(UniqueKillSwitch ks) {
    killSwitch = ks;
    if (interrupted) {
      ks.shutdown();
    }
  }

  /** Stops the body where it is; true when the turn was still producing its body. */
  synchronized boolean interrupt() {
    if (bodyDone || interrupted) {
      return false;
    }
    interrupted = true;
    if (killSwitch != null) {
      killSwitch.shutdown();
    }
    return true;
  }

  private Source<OutboundFrame, NotUsed> ending() {
    boolean wasInterrupted;
    synchronized (this) {
      bodyDone = true;
      if (failed) {
        return Source.empty();
      }
      wasInterrupted = interrupted;
    }
    if (wasInterrupted) {
      return Source.from(closing("interrupted"));
    }
    List<String> guidance = takeSteering();
    Source<OutboundFrame, NotUsed> acknowledged = guidance.isEmpty()
        ? Source.empty()
        : say("(steered: " + String.join("; ", guidance) + ")");
    return acknowledged.concatLazy(later(() -> Source.from(closing("end_turn"))));
  }

  private synchronized List<OutboundFrame> closing(String stopReason) {
    List<OutboundFrame> frames = new ArrayList<>();
    if (textFinal) {
      ObjectNode fin = withMessageId();
      fin.put("text", answer.toString());
      frames.add(event("text_final", fin));
    }
    ObjectNode complete = withMessageId();
    ObjectNode usage = complete.putObject("usage");
    usage.put("input_tokens", inputWords());
    usage.put("output_tokens", outputWords);
    complete.put("stop_reason", stopReason);
    if (stopReason.equals("interrupted")) {
      complete.put("interrupted", true);
    }
    frames.add(event("complete", complete));
    return frames;
  }

  /** Token counts are word counts: deterministic and good enough to test usage bookkeeping. */
  private int inputWords() {
    int words = countWords(text);
    for (HistoryMessage message : history) {
      words += countWords(message.text());
    }
    return words;
  }

  private static int countWords(String s) {
    String trimmed = s.trim();
    return trimmed.isEmpty() ? 0 : trimmed.split("\\s+").length;
  }

  ObjectNode withMessageId() {
    ObjectNode fields = Json.object();
    fields.put("message_id", messageId);
    return fields;
  }
}
