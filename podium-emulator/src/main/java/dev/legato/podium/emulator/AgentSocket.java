package dev.legato.podium.emulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.MergeHub;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One native WebSocket of an instance. Incoming frames are handled one at a time in arrival
 * order. Outgoing frames come from a stream the socket pulls: turns run one after another
 * (queued, at most {@value #QUEUED_TURNS} waiting), replies such as pongs and errors join them,
 * and nothing is produced faster than the client reads. Turns belong to the socket: when it
 * closes, a turn in flight is abandoned, as with a Podium that keeps no replay cursor.
 */
final class AgentSocket {
  private static final int QUEUED_TURNS = 16;
  private static final Duration STRICT_TIMEOUT = Duration.ofSeconds(10);
  private static final AtomicInteger MESSAGE_IDS = new AtomicInteger();

  private static final Logger LOG = LoggerFactory.getLogger(AgentSocket.class);

  private final Instance instance;
  private final EmulatorSettings settings;
  private final Materializer materializer;
  private final SharedKillSwitch killSwitch;
  private final Sink<OutboundFrame, NotUsed> outgoing;
  private final Source<OutboundFrame, NotUsed> outgoingSource;
  private final BoundedSourceQueue<Source<OutboundFrame, NotUsed>> turns;
  private final ConcurrentHashMap<String, CompletableFuture<JsonNode>> waiting = new ConcurrentHashMap<>();
  /** Turns accepted and not yet ended, oldest first: the first is running or about to run. */
  private final ConcurrentLinkedDeque<Turn> unfinished = new ConcurrentLinkedDeque<>();

  AgentSocket(Instance instance, EmulatorSettings settings, Materializer materializer) {
    this.instance = instance;
    this.settings = settings;
    this.materializer = materializer;
    this.killSwitch = KillSwitches.shared("agent-socket-" + instance.id());
    Pair<Sink<OutboundFrame, NotUsed>, Source<OutboundFrame, NotUsed>> hub =
        MergeHub.of(OutboundFrame.class, 16).preMaterialize(materializer);
    this.outgoing = hub.first();
    this.outgoingSource = hub.second();
    this.turns = Source.<Source<OutboundFrame, NotUsed>>queue(QUEUED_TURNS)
        .flatMapConcat(turn -> turn)
        .toMat(outgoing, Keep.left())
        .run(materializer);
  }

  /** The flow handed to the WebSocket upgrade; closing either side closes the other. */
  Flow<Message, Message, NotUsed> flow() {
    FrameWriter writer = new FrameWriter(settings.spelling());
    Source<Message, NotUsed> out = outgoingSource
        .mapAsync(1, instance::gate)
        .map(frame -> {
          instance.frameWritten();
          return (Message) TextMessage.create(writer.render(frame));
        })
        .via(killSwitch.flow())
        .watchTermination((m, done) -> {
          done.whenComplete((d, e) -> closed());
          return m;
        });
    Sink<Message, NotUsed> in = Flow.of(Message.class)
        .mapAsync(1, this::strictText)
        .to(Sink.foreach(this::received));
    return Flow.fromSinkAndSourceCoupled(in, out);
  }

  /** Closes the socket normally (a close frame), e.g. when the instance terminates. */
  void close() {
    killSwitch.shutdown();
  }

  /** Fails the socket, as a network drop would. */
  void drop() {
    killSwitch.abort(new IOException("socket dropped by a fault switch"));
  }

  /** Sends frames in the given order, after whatever is already on its way. */
  void send(List<OutboundFrame> frames) {
    Source.from(frames).runWith(outgoing, materializer);
  }

  private void closed() {
    turns.complete();
    waiting.values().forEach(w -> w.cancel(false));
    instance.detach(this);
  }

  private CompletionStage<Optional<String>> strictText(Message message) {
    if (message.isText()) {
      return message.asTextMessage().toStrict(STRICT_TIMEOUT.toMillis(), materializer)
          .thenApply(strict -> Optional.of(strict.getStrictText()));
    }
    return message.asBinaryMessage().getStreamedData().runWith(Sink.ignore(), materializer)
        .thenApply(done -> Optional.empty());
  }

  private void received(Optional<String> text) {
    if (text.isEmpty()) {
      sendError("bad_frame", "binary frames are not part of the protocol; send JSON text frames");
      return;
    }
    JsonNode frame;
    try {
      frame = Json.read(text.get());
    } catch (IllegalArgumentException e) {
      sendError("bad_frame", e.getMessage());
      return;
    }
    if (!frame.isObject() || !frame.path("type").isTextual()) {
      sendError("bad_frame", "a frame is a JSON object with a string \"type\"");
      return;
    }
    JsonNode content = frame.path("content");
    String type = frame.get("type").asText();
    instance.frameReceived(content.path("message_id").isTextual() ? type + " " + content.get("message_id").asText() : type);
    try {
      switch (type) {
        case "ping" -> send(List.of(new OutboundFrame.Raw("{\"type\":\"pong\"}")));
        case "process_message" -> processMessage(content);
        case "steer" -> steer(content);
        case "approval_response", "answer" -> answer(content);
        case "interrupt" -> interrupt(content);
        default -> sendError("unknown_type", "unknown frame type: " + frame.get("type").asText());
      }
    } catch (IllegalArgumentException e) {
      sendError("bad_frame", e.getMessage());
    } catch (RuntimeException e) {
      // whatever goes wrong with one frame, the socket stays up
      LOG.warn("instance {}: could not handle a frame", instance.id(), e);
      sendError("internal", "the emulator could not handle this frame: " + e);
    }
  }

  private void processMessage(JsonNode content) {
    if (!content.path("text").isTextual()) {
      throw new IllegalArgumentException("process_message needs content.text (a string)");
    }
    String messageId = content.path("message_id").isTextual()
        ? content.get("message_id").asText()
        : "msg_emulator_" + MESSAGE_IDS.incrementAndGet();
    List<Turn.HistoryMessage> history = new ArrayList<>();
    for (JsonNode message : content.path("messages")) {
      history.add(new Turn.HistoryMessage(message.path("role").asText("user"), message.path("text").asText("")));
    }
    instance.touch();
    Turn turn = new Turn(messageId, content.get("text").asText(), history, instance.config(),
        settings.streamDelay(), instance.nextTurnNumber(), waiting);
    Agent agent = instance.deployment().behaviour().agent();
    AtomicBoolean started = new AtomicBoolean();
    Source<OutboundFrame, NotUsed> whole = turn.run(agent,
        () -> {
          started.set(true);
          instance.turnStarted();
        },
        () -> {
          unfinished.remove(turn);
          // a turn abandoned in the queue never counted as running
          if (started.get()) {
            instance.turnEnded();
          }
        });
    // registered before it runs, so an interrupt or steer sent right after the message reaches it
    unfinished.addLast(turn);
    if (turns.offer(whole) != QueueOfferResult.enqueued()) {
      unfinished.remove(turn);
      sendError("busy", "too many messages queued on this instance");
    }
  }

  private void steer(JsonNode content) {
    if (!content.path("text").isTextual()) {
      throw new IllegalArgumentException("steer needs content.text (a string)");
    }
    instance.touch();
    Turn turn = unfinished.peekFirst();
    if (turn == null) {
      sendError("no_active_turn", "nothing is running to steer");
      return;
    }
    turn.steer(content.get("text").asText());
  }

  private void answer(JsonNode content) {
    String requestId = content.path("request_id").asText("");
    instance.touch();
    CompletableFuture<JsonNode> waiter = waiting.remove(requestId);
    if (waiter == null) {
      sendError("unknown_request", "no pending request with request_id '" + requestId + "'");
      return;
    }
    waiter.complete(content);
  }

  /** Stops the turn of {@code content.message_id}, or the running one; nothing running is fine. */
  private void interrupt(JsonNode content) {
    String messageId = content.path("message_id").asText("");
    unfinished.stream()
        .filter(turn -> messageId.isEmpty() || turn.messageId().equals(messageId))
        .findFirst()
        .ifPresent(Turn::interrupt);
  }

  private void sendError(String code, String message) {
    ObjectNode fields = Json.object();
    fields.put("message", message);
    fields.put("code", code);
    fields.put("retryable", false);
    send(List.of(new OutboundFrame.Event("error", fields)));
  }
}
