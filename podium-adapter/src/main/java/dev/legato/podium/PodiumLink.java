package dev.legato.podium;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
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
import org.apache.pekko.actor.typed.javadsl.BehaviorBuilder;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.typed.javadsl.ActorSink;

/**
 * The native WebSocket to one Podium instance, as an actor its owner (a thread) spawns. Incoming frames
 * are decoded into {@link AgentEvent}s and handed to the owner in batches with stream backpressure: the
 * owner acknowledges each {@link Events} and until then at most one batch is in flight and the socket is
 * not read further (bounded memory however slow the owner). Outgoing commands wait in a bounded buffer;
 * while the link is (re)connecting they are held, in order, and go out once it is up (or are refused when
 * it gives up). When the socket drops, the owner hears it at once ({@link LinkState.Dropped}) and the link
 * asks Podium whether the instance still lives: if so it reconnects with exponential backoff and jitter, if
 * not it reports {@link LinkState.InstanceGone} and stops trying. Every state change reaches the owner as a
 * {@link StateChanged}, in order with the events. One link holds at most one socket at a time.
 */
public final class PodiumLink {

  private PodiumLink() {}

  // ---- what the owner receives --------------------------------------------------------------------------

  public sealed interface Output {}

  /** Decoded events in arrival order; the owner must answer {@link Ack} to {@code ackTo} to get more. */
  public record Events(List<AgentEvent> events, ActorRef<Ack> ackTo) implements Output {}

  public record StateChanged(LinkState state) implements Output {}

  /**
   * What became of a {@link Deliver}: queued on a live socket ({@code error} null), or refused. It reaches the
   * owner in order with the events and state changes, so the owner knows whether the command went out
   * before a {@link LinkState.Dropped} it hears of next (and may then be lost with that socket).
   */
  public record Delivered(AgentCommand command, String error) implements Output {
    public boolean sent() {
      return error == null;
    }
  }

  public enum Ack { INSTANCE }

  public sealed interface LinkState {
    record Connected() implements LinkState {}

    /**
     * The socket dropped just now: whatever the agent sent after it is lost (Podium keeps no replay cursor).
     * The link finds out whether the instance lives, then reports {@link Reconnecting} or a final state.
     */
    record Dropped(String reason) implements LinkState {}

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

  /**
   * Sends a command to the agent; the reply says whether it was queued on a live socket. While the link is
   * (re)connecting the command is held and goes out once it is up; it is refused if the link gives up.
   */
  public record Send(AgentCommand command, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /** Like {@link Send}, with the outcome told to the owner as {@link Delivered}, in order with the rest. */
  public record Deliver(AgentCommand command) implements Command {}

  /** Closes the socket and stops the link (the instance itself is left alone). */
  public record Close() implements Command {}

  private record Opened(int epoch, NativeSocket socket) implements Command {}

  private record OpenFailed(int epoch, Throwable cause) implements Command {}

  private record Batch(int epoch, List<AgentEvent> events, ActorRef<Ack> ackTo) implements Command {}

  private record StreamStarted(int epoch, ActorRef<Ack> ackTo) implements Command {}

  private record StreamEnded(int epoch, Optional<Throwable> failure) implements Command {}

  private record InstanceChecked(int epoch, Optional<InstanceStatus> status, Throwable error) implements Command {}

  private record Reconnect(int epoch) implements Command {}

  /** A command on its way out; its outcome goes to {@code replyTo}, or (null) to the owner as {@link Delivered}. */
  private record Outgoing(AgentCommand command, ActorRef<StatusReply<Done>> replyTo) {}

  public static Behavior<Command> create(PodiumClient client, PodiumSettings settings, NativeCodec codec,
                                         String instanceId, ActorRef<Output> owner) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> Behaviors.withStash(EARLY_MESSAGES, stash ->
        new Link(context, timers, stash, client, settings, codec, instanceId, owner).connect())));
  }

  /**
   * A socket's stream can report its first batch (or its end) before the link hears that it opened; those
   * wait. Backpressure lets at most one batch be in flight, so a few places are plenty.
   */
  private static final int EARLY_MESSAGES = 16;

  private static final class Link {
    private final ActorContext<Command> context;
    private final TimerScheduler<Command> timers;
    private final StashBuffer<Command> early;
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
    /** Commands sent while no socket was up, in order: they go out once one is. */
    private final ArrayDeque<Outgoing> held = new ArrayDeque<>();

    Link(ActorContext<Command> context, TimerScheduler<Command> timers, StashBuffer<Command> early,
         PodiumClient client, PodiumSettings settings, NativeCodec codec, String instanceId, ActorRef<Output> owner) {
      this.context = context;
      this.timers = timers;
      this.early = early;
      this.client = client;
      this.settings = settings;
      this.codec = codec;
      this.instanceId = instanceId;
      this.owner = owner;
      this.materializer = Materializer.matFromSystem(context.getSystem());
    }

    /**
     * Opens a new socket, its frames' path to this actor already running; messages of older sockets (lower
     * epoch) are ignored from now on.
     */
    Behavior<Command> connect() {
      int current = ++epoch;
      opening = NativeSocket.connect(client.socketClient(),
          URI.create(client.agentSocketUrl(instanceId)), client.apiKey(), settings.readAhead(), settings.outgoingBuffer(),
          settings.maxFrameSize(), settings.keepAlive(), materializer, codec, reader(current));
      context.pipeToSelf(opening, (socket, error) ->
          error == null ? new Opened(current, socket) : new OpenFailed(current, PodiumClient.unwrap(error)));
      return connecting();
    }

    /** Decoded events, in batches that grow while the owner is busy, to the owner through this actor. */
    private Sink<String, NotUsed> reader(int current) {
      return Flow.of(String.class)
          .mapConcat(text -> {
            NativeCodec.Frame frame = codec.decode(text);
            return frame instanceof NativeCodec.Frame.Event event ? List.of(event.event()) : List.<AgentEvent>of();
          })
          .batch(settings.readAhead(), first -> {
            List<AgentEvent> batch = new ArrayList<>();
            batch.add(first);
            return batch;
          }, (batch, next) -> {
            batch.add(next);
            return batch;
          })
          .to(ActorSink.actorRefWithBackpressure(context.getSelf(),
              (ActorRef<Ack> ackTo, List<AgentEvent> batch) -> new Batch(current, Collections.unmodifiableList(batch), ackTo),
              ackTo -> new StreamStarted(current, ackTo),
              Ack.INSTANCE,
              new StreamEnded(current, Optional.empty()),
              failure -> new StreamEnded(current, Optional.of(failure))));
    }

    private Behavior<Command> connecting() {
      return withSharedHandlers(Behaviors.receive(Command.class)
          .onMessage(Opened.class, m -> m.epoch() == epoch, this::onOpened)
          .onMessage(OpenFailed.class, m -> m.epoch() == epoch, this::onOpenFailed)
          .onMessage(Batch.class, m -> m.epoch() == epoch, this::early)
          .onMessage(StreamEnded.class, m -> m.epoch() == epoch, this::early));
    }

    /** The new socket's stream spoke before the link heard it opened: after that, in order. */
    private Behavior<Command> early(Command message) {
      early.stash(message);
      return Behaviors.same();
    }

    /** What every state does besides its own handlers (which come first). */
    private Behavior<Command> withSharedHandlers(BehaviorBuilder<Command> own) {
      return own
          .onMessage(Deliver.class, m -> hold(new Outgoing(m.command(), null)))
          .onMessage(Send.class, m -> hold(new Outgoing(m.command(), m.replyTo())))
          .onMessage(Close.class, m -> close())
          .onMessage(StreamStarted.class, m -> {
            m.ackTo().tell(Ack.INSTANCE);
            return Behaviors.same();
          })
          .onMessage(Batch.class, m -> {
            m.ackTo().tell(Ack.INSTANCE); // an earlier socket's frames: nobody reads them, but its stream ends
            return Behaviors.same();
          })
          .onSignal(PostStop.class, s -> stopped())
          .onAnyMessage(m -> Behaviors.same()) // what an earlier socket still sends
          .build();
    }

    private Behavior<Command> onOpened(Opened m) {
      socket = m.socket();
      if (failedAttempts > 0) {
        context.getLog().info("link to {} reconnected after {} attempts", instanceId, failedAttempts);
      }
      failedAttempts = 0;
      owner.tell(new StateChanged(new LinkState.Connected()));
      while (!held.isEmpty()) {
        send(held.poll());
      }
      return early.unstashAll(connected());
    }

    private Behavior<Command> onOpenFailed(OpenFailed m) {
      Optional<Integer> status = m.cause() instanceof NativeSocket.ConnectFailed failed ? failed.status : Optional.empty();
      if (status.isPresent() && (status.get() == 404 || status.get() == 410)) {
        return gone("Podium has no instance " + instanceId + " (WebSocket upgrade answered " + status.get() + ")");
      }
      if (status.isPresent() && (status.get() == 401 || status.get() == 403)) {
        return giveUp("Podium refused the API key (WebSocket upgrade answered " + status.get() + ")");
      }
      return dropped(m.cause().getMessage(), false);
    }

    private Behavior<Command> connected() {
      return withSharedHandlers(Behaviors.receive(Command.class)
          .onMessage(Deliver.class, m -> send(new Outgoing(m.command(), null)))
          .onMessage(Send.class, m -> send(new Outgoing(m.command(), m.replyTo())))
          .onMessage(Batch.class, m -> m.epoch() == epoch, m -> {
            owner.tell(new Events(m.events(), m.ackTo()));
            return Behaviors.same();
          })
          .onMessage(StreamEnded.class, m -> m.epoch() == epoch, m -> dropped(describeEnd(m.failure()), true)));
    }

    private Behavior<Command> send(Outgoing m) {
      if (socket == null) {
        return hold(m);
      }
      answer(m, socket.offer(codec.encode(m.command())) ? null : "the link to " + instanceId
          + " cannot take the command: its outgoing buffer (" + settings.outgoingBuffer()
          + " commands) is full or the socket is closing");
      return Behaviors.same();
    }

    /** Tells whoever asks what became of the command: its sender ({@link Send}) or the owner ({@link Deliver}). */
    private void answer(Outgoing m, String error) {
      if (m.replyTo() == null) {
        owner.tell(new Delivered(m.command(), error));
      } else {
        m.replyTo().tell(error == null ? StatusReply.ack() : StatusReply.error(error));
      }
    }

    /** No socket is up: the command waits for the next one (bounded, like the socket's own buffer). */
    private Behavior<Command> hold(Outgoing m) {
      if (held.size() >= settings.outgoingBuffer()) {
        answer(m, "the link to " + instanceId + " is reconnecting and already holds " + held.size() + " commands ("
            + lastDrop + ")");
      } else {
        held.add(m);
      }
      return Behaviors.same();
    }

    /** The link ends: the commands it held never reach the agent, and their senders hear why. */
    private void refuseHeld(String reason) {
      while (!held.isEmpty()) {
        answer(held.poll(), "the link to " + instanceId + " is closed: " + reason);
      }
    }

    /**
     * The socket is gone (or could not be opened): the owner hears at once that a socket which was up
     * dropped; then find out whether the instance is gone too.
     */
    private Behavior<Command> dropped(String reason, boolean wasUp) {
      lastDrop = reason;
      int current = ++epoch; // ignore whatever the old socket still sends
      completeOutgoing();
      early.forEach(m -> {
        if (m instanceof Batch b) {
          b.ackTo().tell(Ack.INSTANCE); // so that the dead socket's stream can end
        }
      });
      early.clear();
      if (wasUp) {
        owner.tell(new StateChanged(new LinkState.Dropped(reason)));
      }
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

    // The owner hears the verdict before the refusals of what the link held, which follow from it.
    private Behavior<Command> gone(String reason) {
      context.getLog().warn("link to {} ended: {}", instanceId, reason);
      owner.tell(new StateChanged(new LinkState.InstanceGone(reason)));
      refuseHeld(reason);
      return Behaviors.stopped();
    }

    private Behavior<Command> giveUp(String reason) {
      context.getLog().warn("link to {} gave up: {}", instanceId, reason);
      owner.tell(new StateChanged(new LinkState.GaveUp(reason)));
      refuseHeld(reason);
      return Behaviors.stopped();
    }

    private Behavior<Command> close() {
      owner.tell(new StateChanged(new LinkState.Closed()));
      refuseHeld("closed on request");
      return Behaviors.stopped();
    }

    private Behavior<Command> stopped() {
      refuseHeld("the link stopped");
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
