package dev.legato.podium;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.WebSocketRequest;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgradeResponse;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSink;

/**
 * The native WebSocket to one Podium instance, as an actor its owner (a thread) spawns. Incoming frames
 * are decoded into {@link AgentEvent}s and handed to the owner in batches with stream backpressure: the
 * owner acknowledges each {@link Events} and until then at most one batch is in flight and the socket is
 * not read further (bounded memory however slow the owner). Outgoing commands wait in a bounded buffer.
 * When the socket drops, the link asks Podium whether the instance still lives: if so it reconnects with
 * exponential backoff and jitter, if not it reports {@link LinkState.InstanceGone} and stops trying. Every
 * state change reaches the owner as a {@link StateChanged}, in order with the events.
 */
public final class PodiumLink {
  private PodiumLink() {}

  // ---- what the owner receives --------------------------------------------------------------------------

  public sealed interface Output {}

  /** Decoded events in arrival order; the owner must answer {@link Ack} to {@code ackTo} to get more. */
  public record Events(List<AgentEvent> events, ActorRef<Ack> ackTo) implements Output {}

  public record StateChanged(LinkState state) implements Output {}

  public enum Ack { INSTANCE }

  public sealed interface LinkState {
    record Connected() implements LinkState {}

    /** The socket dropped; attempt {@code attempt} follows after a backoff. */
    record Reconnecting(int attempt, String reason) implements LinkState {}

    /** The instance no longer exists or was terminated (e.g. scaled to zero): re-spawn it. Final. */
    record InstanceGone(String reason) implements LinkState {}

    /** Reconnecting failed too often, or Podium refused the key. Final. */
    record GaveUp(String reason) implements LinkState {}

    /** Closed on request. Final. */
    record Closed() implements LinkState {}
  }

  // ---- what the link accepts ------------------------------------------------------------------------------

  public sealed interface Command {}

  /** Sends a command to the agent; the reply says whether it was queued for sending. */
  public record Send(AgentCommand command, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /** Closes the socket and stops the link (the instance itself is left alone). */
  public record Close() implements Command {}

  private record Upgraded(int epoch, WebSocketUpgradeResponse response) implements Command {}

  private record UpgradeFailed(int epoch, Throwable cause) implements Command {}

  private record Batch(int epoch, List<AgentEvent> events, ActorRef<Ack> ackTo) implements Command {}

  private record StreamStarted(int epoch, ActorRef<Ack> ackTo) implements Command {}

  private record StreamEnded(int epoch, Optional<Throwable> failure) implements Command {}

  private record InstanceChecked(int epoch, Optional<InstanceStatus> status, Throwable error) implements Command {}

  private record Reconnect(int epoch) implements Command {}

  public static Behavior<Command> create(PodiumClient client, PodiumSettings settings, NativeCodec codec,
                                         String instanceId, ActorRef<Output> owner) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new Link(context, timers, client, settings, codec, instanceId, owner).connect()));
  }

  private static final class Link {
    private final ActorContext<Command> context;
    private final TimerScheduler<Command> timers;
    private final PodiumClient client;
    private final PodiumSettings settings;
    private final NativeCodec codec;
    private final String instanceId;
    private final ActorRef<Output> owner;
    private final Materializer materializer;
    private int epoch;
    private int failedAttempts;
    private BoundedSourceQueue<Message> outgoing;
    private String lastDrop = "";

    Link(ActorContext<Command> context, TimerScheduler<Command> timers, PodiumClient client, PodiumSettings settings,
         NativeCodec codec, String instanceId, ActorRef<Output> owner) {
      this.context = context;
      this.timers = timers;
      this.client = client;
      this.settings = settings;
      this.codec = codec;
      this.instanceId = instanceId;
      this.owner = owner;
      this.materializer = Materializer.matFromSystem(context.getSystem());
    }

    /** Opens a new socket; messages of older sockets (lower epoch) are ignored from now on. */
    Behavior<Command> connect() {
      int current = ++epoch;
      Flow<Message, Message, BoundedSourceQueue<Message>> flow = Flow.fromSinkAndSourceMat(
          incoming(current), Source.<Message>queue(settings.outgoingBuffer()), Keep.right());
      WebSocketRequest request = WebSocketRequest.create(client.agentSocketUrl(instanceId));
      if (client.apiKey().isPresent()) {
        request = request.addHeader(Authorization.oauth2(client.apiKey().get()));
      }
      ClientConnectionSettings connection = ClientConnectionSettings.create(context.getSystem().classicSystem());
      connection = connection.withWebsocketSettings(connection.getWebsocketSettings()
          .withPeriodicKeepAliveMode("ping")
          .withPeriodicKeepAliveMaxIdle(settings.keepAlive()));
      Http http = Http.get(context.getSystem());
      Pair<CompletionStage<WebSocketUpgradeResponse>, BoundedSourceQueue<Message>> started = http.singleWebSocketRequest(
          request, flow, http.defaultClientHttpsContext(), Optional.empty(), connection,
          context.getSystem().classicSystem().log(), materializer);
      outgoing = started.second();
      context.pipeToSelf(started.first(), (response, error) ->
          error == null ? new Upgraded(current, response) : new UpgradeFailed(current, error));
      return connecting();
    }

    private Sink<Message, NotUsed> incoming(int current) {
      int maxFrame = settings.maxFrameSize();
      return Flow.<Message>create()
          .mapAsync(1, message -> text(message, maxFrame))
          .mapConcat(text -> {
            if (text.isEmpty()) {
              return List.<AgentEvent>of();
            }
            NativeCodec.Frame frame = codec.decode(text.get());
            return frame instanceof NativeCodec.Frame.Event event ? List.of(event.event()) : List.<AgentEvent>of();
          })
          .batch(256, first -> {
            List<AgentEvent> batch = new ArrayList<>();
            batch.add(first);
            return batch;
          }, (batch, next) -> {
            batch.add(next);
            return batch;
          })
          .to(ActorSink.actorRefWithBackpressure(context.getSelf(),
              (ActorRef<Ack> ackTo, List<AgentEvent> batch) -> new Batch(current, List.copyOf(batch), ackTo),
              ackTo -> new StreamStarted(current, ackTo),
              Ack.INSTANCE,
              new StreamEnded(current, Optional.empty()),
              failure -> new StreamEnded(current, Optional.of(failure))));
    }

    /** A text frame's text (binary frames are not part of the contract and are skipped). */
    private CompletionStage<Optional<String>> text(Message message, int maxFrame) {
      if (!message.isText()) {
        message.asBinaryMessage().getStreamedData().runWith(Sink.ignore(), materializer);
        return java.util.concurrent.CompletableFuture.completedFuture(Optional.empty());
      }
      TextMessage text = message.asTextMessage();
      if (text.isStrict()) {
        if (text.getStrictText().length() > maxFrame) {
          codec.skipped("a frame of " + text.getStrictText().length() + " characters exceeds max-frame-size");
          return java.util.concurrent.CompletableFuture.completedFuture(Optional.empty());
        }
        return java.util.concurrent.CompletableFuture.completedFuture(Optional.of(text.getStrictText()));
      }
      return text.getStreamedText()
          .limitWeighted(maxFrame, text0 -> (long) text0.length())
          .runFold(new StringBuilder(), StringBuilder::append, materializer)
          .thenApply(builder -> Optional.of(builder.toString()))
          .exceptionally(failure -> {
            codec.skipped("a streamed text frame could not be read (" + failure + ")");
            return Optional.empty();
          });
    }

    private Behavior<Command> connecting() {
      return Behaviors.receive(Command.class)
          .onMessage(Upgraded.class, m -> m.epoch() == epoch, this::onUpgraded)
          .onMessage(UpgradeFailed.class, m -> m.epoch() == epoch, m -> dropped(describe(m.cause())))
          .onMessage(Send.class, this::refuseSend)
          .onMessage(Close.class, m -> close())
          .onMessage(StreamStarted.class, m -> {
            m.ackTo().tell(Ack.INSTANCE);
            return Behaviors.same();
          })
          .onMessage(StreamEnded.class, m -> m.epoch() == epoch, m -> dropped(describeEnd(m.failure())))
          .onSignal(PostStop.class, s -> stopped())
          .onAnyMessage(m -> Behaviors.same())
          .build();
    }

    private Behavior<Command> onUpgraded(Upgraded m) {
      int status = m.response().response().status().intValue();
      if (status == 101) {
        failedAttempts = 0;
        owner.tell(new StateChanged(new LinkState.Connected()));
        return connected();
      }
      completeOutgoing();
      if (status == 404 || status == 410) {
        return gone("Podium has no instance " + instanceId + " (WebSocket upgrade answered " + status + ")");
      }
      if (status == 401 || status == 403) {
        return giveUp("Podium refused the API key (WebSocket upgrade answered " + status + ")");
      }
      return dropped("WebSocket upgrade answered " + status);
    }

    private Behavior<Command> connected() {
      return Behaviors.receive(Command.class)
          .onMessage(Send.class, this::send)
          .onMessage(Close.class, m -> close())
          .onMessage(StreamStarted.class, m -> {
            m.ackTo().tell(Ack.INSTANCE);
            return Behaviors.same();
          })
          .onMessage(Batch.class, m -> m.epoch() == epoch, m -> {
            owner.tell(new Events(m.events(), m.ackTo()));
            return Behaviors.same();
          })
          .onMessage(StreamEnded.class, m -> m.epoch() == epoch, m -> dropped(describeEnd(m.failure())))
          .onSignal(PostStop.class, s -> stopped())
          .onAnyMessage(m -> Behaviors.same())
          .build();
    }

    private Behavior<Command> send(Send m) {
      if (outgoing == null) {
        return refuseSend(m);
      }
      QueueOfferResult result = outgoing.offer(TextMessage.create(codec.encode(m.command())));
      if (result == QueueOfferResult.enqueued()) {
        m.replyTo().tell(StatusReply.ack());
      } else if (result == QueueOfferResult.dropped()) {
        m.replyTo().tell(StatusReply.error("the link's outgoing buffer is full (" + settings.outgoingBuffer() + " commands)"));
      } else {
        m.replyTo().tell(StatusReply.error("the link to " + instanceId + " is not connected"));
      }
      return Behaviors.same();
    }

    private Behavior<Command> refuseSend(Send m) {
      m.replyTo().tell(StatusReply.error("the link to " + instanceId + " is not connected (" + lastDrop + ")"));
      return Behaviors.same();
    }

    /** The socket is gone: find out whether the instance is, too. */
    private Behavior<Command> dropped(String reason) {
      lastDrop = reason;
      int current = ++epoch; // ignore whatever the old socket still sends
      completeOutgoing();
      context.pipeToSelf(client.instance(instanceId), (instance, error) -> {
        Throwable cause = error == null ? null : PodiumClient.unwrap(error);
        return new InstanceChecked(current, instance == null ? Optional.empty() : Optional.of(instance.status()), cause);
      });
      return Behaviors.receive(Command.class)
          .onMessage(InstanceChecked.class, m -> m.epoch() == epoch, this::afterCheck)
          .onMessage(Send.class, this::refuseSend)
          .onMessage(Close.class, m -> close())
          .onMessage(StreamStarted.class, m -> {
            m.ackTo().tell(Ack.INSTANCE);
            return Behaviors.same();
          })
          .onSignal(PostStop.class, s -> stopped())
          .onAnyMessage(m -> Behaviors.same())
          .build();
    }

    private Behavior<Command> afterCheck(InstanceChecked m) {
      if (m.error() instanceof PodiumException.InstanceNotFound) {
        return gone("the instance is gone (" + lastDrop + ")");
      }
      if (m.error() instanceof PodiumException.Unauthorized unauthorized) {
        return giveUp(unauthorized.getMessage());
      }
      if (m.status().isPresent() && !m.status().get().live() && m.status().get() != InstanceStatus.UNKNOWN) {
        return gone("the instance is " + m.status().get().name().toLowerCase() + " (" + lastDrop + ")");
      }
      // Alive, or Podium could not say: try again after a backoff.
      failedAttempts++;
      if (failedAttempts > settings.reconnectMaxAttempts()) {
        return giveUp("no connection after " + settings.reconnectMaxAttempts() + " attempts (" + lastDrop + ")");
      }
      owner.tell(new StateChanged(new LinkState.Reconnecting(failedAttempts, lastDrop)));
      timers.startSingleTimer(new Reconnect(epoch), backoff(failedAttempts));
      return Behaviors.receive(Command.class)
          .onMessage(Reconnect.class, r -> r.epoch() == epoch, r -> connect())
          .onMessage(Send.class, this::refuseSend)
          .onMessage(Close.class, c -> close())
          .onSignal(PostStop.class, s -> stopped())
          .onAnyMessage(x -> Behaviors.same())
          .build();
    }

    private Duration backoff(int attempt) {
      double base = settings.reconnectMinBackoff().toMillis() * Math.pow(2, Math.min(attempt - 1, 20));
      double capped = Math.min(base, settings.reconnectMaxBackoff().toMillis());
      double jitter = 1 + ThreadLocalRandom.current().nextDouble() * settings.reconnectRandomFactor();
      return Duration.ofMillis((long) (capped * jitter));
    }

    private Behavior<Command> gone(String reason) {
      owner.tell(new StateChanged(new LinkState.InstanceGone(reason)));
      return Behaviors.stopped();
    }

    private Behavior<Command> giveUp(String reason) {
      owner.tell(new StateChanged(new LinkState.GaveUp(reason)));
      return Behaviors.stopped();
    }

    private Behavior<Command> close() {
      owner.tell(new StateChanged(new LinkState.Closed()));
      return Behaviors.stopped();
    }

    private Behavior<Command> stopped() {
      completeOutgoing();
      return Behaviors.same();
    }

    /** Closes the current socket's outgoing side (which closes the socket); once per socket. */
    private void completeOutgoing() {
      if (outgoing != null) {
        outgoing.complete();
        outgoing = null;
      }
    }

    private static String describe(Throwable error) {
      Throwable cause = PodiumClient.unwrap(error);
      return "cannot connect: " + cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : " " + cause.getMessage());
    }

    private static String describeEnd(Optional<Throwable> failure) {
      return failure.map(f -> "the socket failed: " + f.getMessage()).orElse("Podium closed the socket");
    }
  }
}
