package dev.legato.podium;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.BehaviorBuilder;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.stream.Materializer;
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
  /** Frames read ahead of the owner; beyond it the socket is not read (TCP holds the rest). */
  private static final int INCOMING_BUFFER = 256;

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

  private record Opened(int epoch, NativeSocket socket) implements Command {}

  private record OpenFailed(int epoch, Throwable cause) implements Command {}

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
    private NativeSocket socket;
    /** The latest connection attempt, so that a link stopped while connecting still closes its socket. */
    private CompletionStage<NativeSocket> opening;
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
      opening = NativeSocket.connect(client.socketClient(),
          URI.create(client.agentSocketUrl(instanceId)), client.apiKey(), INCOMING_BUFFER, settings.outgoingBuffer(),
          settings.maxFrameSize(), settings.keepAlive(), materializer, codec);
      context.pipeToSelf(opening, (socket, error) ->
          error == null ? new Opened(current, socket) : new OpenFailed(current, PodiumClient.unwrap(error)));
      return connecting();
    }

    /** Decoded events, in batches that grow while the owner is busy, to the owner through this actor. */
    private void read(NativeSocket opened, int current) {
      opened.incoming()
          .mapConcat(text -> {
            NativeCodec.Frame frame = codec.decode(text);
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
          .runWith(ActorSink.actorRefWithBackpressure(context.getSelf(),
              (ActorRef<Ack> ackTo, List<AgentEvent> batch) -> new Batch(current, Collections.unmodifiableList(batch), ackTo),
              ackTo -> new StreamStarted(current, ackTo),
              Ack.INSTANCE,
              new StreamEnded(current, Optional.empty()),
              failure -> new StreamEnded(current, Optional.of(failure))), materializer);
    }

    private Behavior<Command> connecting() {
      return withSharedHandlers(Behaviors.receive(Command.class)
          .onMessage(Opened.class, m -> m.epoch() == epoch, this::onOpened)
          .onMessage(OpenFailed.class, m -> m.epoch() == epoch, this::onOpenFailed)
          .onMessage(StreamEnded.class, m -> m.epoch() == epoch, m -> dropped(describeEnd(m.failure()))));
    }

    /** What every state does besides its own handlers (which come first). */
    private Behavior<Command> withSharedHandlers(BehaviorBuilder<Command> own) {
      return own
          .onMessage(Send.class, this::refuseSend)
          .onMessage(Close.class, m -> close())
          .onMessage(StreamStarted.class, m -> {
            m.ackTo().tell(Ack.INSTANCE);
            return Behaviors.same();
          })
          .onSignal(PostStop.class, s -> stopped())
          .onAnyMessage(m -> Behaviors.same()) // what an earlier socket still sends
          .build();
    }

    private Behavior<Command> onOpened(Opened m) {
      socket = m.socket();
      read(socket, m.epoch());
      if (failedAttempts > 0) {
        context.getLog().info("link to {} reconnected after {} attempts", instanceId, failedAttempts);
      }
      failedAttempts = 0;
      owner.tell(new StateChanged(new LinkState.Connected()));
      return connected();
    }

    private Behavior<Command> onOpenFailed(OpenFailed m) {
      Optional<Integer> status = m.cause() instanceof NativeSocket.ConnectFailed failed ? failed.status : Optional.empty();
      if (status.isPresent() && (status.get() == 404 || status.get() == 410)) {
        return gone("Podium has no instance " + instanceId + " (WebSocket upgrade answered " + status.get() + ")");
      }
      if (status.isPresent() && (status.get() == 401 || status.get() == 403)) {
        return giveUp("Podium refused the API key (WebSocket upgrade answered " + status.get() + ")");
      }
      return dropped(m.cause().getMessage());
    }

    private Behavior<Command> connected() {
      return withSharedHandlers(Behaviors.receive(Command.class)
          .onMessage(Send.class, this::send)
          .onMessage(Batch.class, m -> m.epoch() == epoch, m -> {
            owner.tell(new Events(m.events(), m.ackTo()));
            return Behaviors.same();
          })
          .onMessage(StreamEnded.class, m -> m.epoch() == epoch, m -> dropped(describeEnd(m.failure()))));
    }

    private Behavior<Command> send(Send m) {
      if (socket == null) {
        return refuseSend(m);
      }
      if (socket.offer(codec.encode(m.command()))) {
        m.replyTo().tell(StatusReply.ack());
      } else {
        m.replyTo().tell(StatusReply.error("the link to " + instanceId + " cannot take the command: its outgoing buffer ("
            + settings.outgoingBuffer() + " commands) is full or the socket is closing"));
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
      return withSharedHandlers(Behaviors.receive(Command.class)
          .onMessage(InstanceChecked.class, m -> m.epoch() == epoch, this::afterCheck));
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
      if (failedAttempts == 1) { // once per incident; the attempts that follow are not logged
        context.getLog().warn("link to {} lost ({}); reconnecting", instanceId, lastDrop);
      }
      if (failedAttempts > settings.reconnectMaxAttempts()) {
        return giveUp("no connection after " + settings.reconnectMaxAttempts() + " attempts (" + lastDrop + ")");
      }
      owner.tell(new StateChanged(new LinkState.Reconnecting(failedAttempts, lastDrop)));
      timers.startSingleTimer(new Reconnect(epoch), backoff(failedAttempts));
      return withSharedHandlers(Behaviors.receive(Command.class)
          .onMessage(Reconnect.class, r -> r.epoch() == epoch, r -> connect()));
    }

    private Duration backoff(int attempt) {
      double base = settings.reconnectMinBackoff().toMillis() * Math.pow(2, Math.min(attempt - 1, 20));
      double capped = Math.min(base, settings.reconnectMaxBackoff().toMillis());
      double jitter = 1 + ThreadLocalRandom.current().nextDouble() * settings.reconnectRandomFactor();
      return Duration.ofMillis((long) (capped * jitter));
    }

    private Behavior<Command> gone(String reason) {
      context.getLog().warn("link to {} ended: {}", instanceId, reason);
      owner.tell(new StateChanged(new LinkState.InstanceGone(reason)));
      return Behaviors.stopped();
    }

    private Behavior<Command> giveUp(String reason) {
      context.getLog().warn("link to {} gave up: {}", instanceId, reason);
      owner.tell(new StateChanged(new LinkState.GaveUp(reason)));
      return Behaviors.stopped();
    }

    private Behavior<Command> close() {
      owner.tell(new StateChanged(new LinkState.Closed()));
      return Behaviors.stopped();
    }

    private Behavior<Command> stopped() {
      completeOutgoing();
      if (opening != null) {
        opening.thenAccept(NativeSocket::close); // idempotent: closes one that opened after the stop
      }
      return Behaviors.same();
    }

    /** Closes the current socket, once. */
    private void completeOutgoing() {
      if (socket != null) {
        socket.close();
        socket = null;
      }
    }

    private static String describeEnd(Optional<Throwable> failure) {
      return failure.map(f -> "the socket failed: " + f.getMessage()).orElse("Podium closed the socket");
    }
  }
}
