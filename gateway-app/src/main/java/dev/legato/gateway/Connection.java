package dev.legato.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.gateway.auth.Identity;
import dev.legato.gateway.protocol.Bootstrap;
import dev.legato.gateway.protocol.ClientParams;
import dev.legato.gateway.protocol.CodexThreads;
import dev.legato.gateway.protocol.JsonRpc;
import dev.legato.gateway.protocol.JsonRpc.Failure;
import dev.legato.registry.Resends;
import dev.legato.thread.ThreadUpdate;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * One client WebSocket: reads its JSON-RPC requests, answers them through the tenant's registry and
 * threads, subscribes to the threads it starts or resumes and renders their updates as Codex
 * notifications and server requests. Bad input gets a JSON-RPC error and changes nothing; a client that
 * reads too slowly for its bounded outbound queue is disconnected, and its threads go on.
 *
 * <p>The actor holds the connection's state in the parts it is made of, each touched only here, on the
 * actor: the JSON-RPC session ({@link JsonRpcSession}), the methods ({@link ThreadMethods},
 * {@link TurnMethods}), the followed threads ({@link Subscriptions}) and the server requests awaiting an
 * answer ({@link ServerRequests}). What a request asks elsewhere ({@link TenantThreads}) comes back as one
 * {@link Answered} message.
 */
public final class Connection extends AbstractBehavior<Connection.Command> {

  public sealed interface Command {}

  /**
   * A text message from the client, or why its message is refused (too large, binary): then the client is
   * told and disconnected with {@code closeCode}. {@code ack} once it is taken in (the socket reads on).
   */
  public record Inbound(String text, String refusal, int closeCode, ActorRef<Done> ack) implements Command {}

  /** The socket is gone. */
  public record Closed() implements Command {}

  // The messages below are the connection's own; its parts (in this package) send them.

  /** An update of a followed thread, from its {@link ThreadFollower}. */
  record FromThread(UUID threadId, ThreadUpdate update) implements Command {}

  /**
   * A followed thread's entity stopped, moved or restarted; its follower had seen everything up to {@code cursor},
   * numbered by {@code numberedBy}. How it ended says when the thread is followed anew, and whether the registry is
   * asked first if it still exists.
   */
  record ThreadLost(UUID threadId, ActorRef<ThreadUpdate> follower, long cursor, ActorRef<?> numberedBy, Ended ended)
      implements Command {
    enum Ended {
      /** It stopped (passivated, or its thread deleted: the registry says which) or restarts after a failed write. */
      STOPPED,
      /** It handed its thread over to another node ({@link ThreadUpdate.Moved}): followed anew at once. */
      MOVED,
      /**
       * Its node left the cluster (it died, or was downed): followed anew a moment later, once sharding has let
       * that node go (a subscription sent before would be lost with it).
       */
      NODE_GONE
    }
  }

  /** Whether the thread lost meanwhile still exists (then it is followed anew from the cursor). */
  record LostThreadLookedUp(ThreadLost lost, CodexThreads.Subscription subscription, Throwable error)
      implements Command {}

  /** The thread refused to be followed (or did not answer) when {@code follower} asked to. */
  record FollowRefused(UUID threadId, ActorRef<ThreadUpdate> follower, Throwable error) implements Command {}

  /** What request {@code requestId} asked has answered ({@code value}) or failed: its {@code next} step runs here. */
  record Answered<T>(JsonNode requestId, T value, Throwable error, Consumer<T> next) implements Command {}

  /** {@code legato.gateway.handshake-timeout} has passed since the socket opened. */
  private record HandshakeTimedOut() implements Command {}

  public static Behavior<Command> create(Identity identity, GatewaySettings settings, GatewayMetrics metrics,
                                         String version, String codexHome, Outbox out) {
    return Behaviors.setup(context -> new Connection(context, identity, settings, metrics, version, codexHome, out));
  }

  private final GatewaySettings settings;
  private final GatewayMetrics metrics;
  private final String version;
  private final String codexHome;
  private final Cancellable handshakeTimer;
  private final JsonRpcSession session;
  private final Subscriptions subscriptions;
  private final ThreadMethods threadMethods;
  private final TurnMethods turnMethods;

  private Connection(ActorContext<Command> context, Identity identity, GatewaySettings settings,
                     GatewayMetrics metrics, String version, String codexHome, Outbox out) {
    super(context);
    this.settings = settings;
    this.metrics = metrics;
    metrics.connectionOpened();
    this.version = version;
    this.codexHome = codexHome;
    TenantThreads threads = new TenantThreads(ClusterSharding.get(context.getSystem()), Resends.get(context.getSystem()),
        identity.tenant(), settings.askTimeout());
    ServerRequests requests = new ServerRequests();
    this.session = new JsonRpcSession(context, identity, settings, metrics, out);
    this.subscriptions = new Subscriptions(context, threads, session, requests);
    this.threadMethods = new ThreadMethods(session, threads, subscriptions, settings);
    this.turnMethods = new TurnMethods(session, threads, subscriptions, requests, context.getLog());
    this.handshakeTimer = context.scheduleOnce(settings.handshakeTimeout(), context.getSelf(), new HandshakeTimedOut());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Inbound.class, this::inbound)
        .onMessage(Answered.class, answered -> {
          session.resume(answered);
          return next();
        })
        .onMessage(FromThread.class, update -> {
          subscriptions.render(update);
          return next();
        })
        .onMessage(ThreadLost.class, lost -> {
          subscriptions.lost(lost);
          return this;
        })
        .onMessage(LostThreadLookedUp.class, lookedUp -> {
          subscriptions.lookedUp(lookedUp);
          return next();
        })
        .onMessage(FollowRefused.class, refused -> {
          subscriptions.refused(refused);
          return next();
        })
        .onMessage(HandshakeTimedOut.class, timedOut -> {
          if (session.initialized()) {
            return this;
          }
          // A socket that never says who it is holds a place for nothing: let it go.
          session.close(Gateway.POLICY_VIOLATION,
              "no initialize within " + settings.handshakeTimeout().toSeconds() + " s");
          return Behaviors.stopped();
        })
        .onMessage(Closed.class, closed -> Behaviors.stopped())
        .onSignal(PostStop.class, stop -> {
          handshakeTimer.cancel();
          metrics.connectionClosed();
          return this;
        })
        .build();
  }

  /** Stops once the socket is closing: the client was cut off for not reading. */
  private Behavior<Command> next() {
    return session.closing() ? Behaviors.stopped() : this;
  }

  private Behavior<Command> inbound(Inbound inbound) {
    inbound.ack().tell(Done.getInstance());
    if (inbound.refusal() != null) {
      session.refuse(inbound.refusal(), inbound.closeCode()); // the socket closes, the threads go on
      return Behaviors.stopped();
    }
    JsonRpcSession.Incoming incoming = session.read(inbound.text());
    if (incoming instanceof JsonRpcSession.Answer answer) {
      turnMethods.answered(answer);
    } else if (incoming instanceof JsonRpcSession.Request request) {
      try {
        serve(request.id(), request.method(), request.params());
      } catch (Failure failure) {
        session.refuse(request.id(), failure);
      }
    }
    return this;
  }

  private void serve(JsonNode id, String method, ObjectNode params) {
    if (method.equals("initialize")) {
      session.initialize();
      session.reply(id, Bootstrap.initialize(version, codexHome));
      return;
    }
    session.requireInitialized();
    switch (method) {
      case "account/read" -> session.reply(id, Bootstrap.account());
      case "config/read" ->
          session.reply(id, Bootstrap.config(settings.defaultAgentType(), ClientParams.text(params, "cwd")));
      case "configRequirements/read" -> session.reply(id, Bootstrap.configRequirements());
      case "model/list" -> session.reply(id, Bootstrap.models(settings.agentTypes(), settings.defaultAgentType()));
      case "collaborationMode/list", "hooks/list", "skills/list" -> session.reply(id, Bootstrap.emptyData());
      case "experimentalFeature/list", "thread/backgroundTerminals/list" -> session.reply(id, Bootstrap.emptyPage());
      case "plugin/installed" -> session.reply(id, Bootstrap.pluginsInstalled());
      case "account/bedrock/checkGovCloudRequirements" -> session.reply(id, Bootstrap.govCloudRequirements());
      case "account/rateLimits/read" -> session.reply(id, Bootstrap.rateLimits());
      case "thread/goal/get" -> session.reply(id, Bootstrap.noGoal());
      case "config/batchWrite", "config/value/write" ->
          session.reply(id, Bootstrap.configWritten(codexHome + "/config.toml"));
      case "thread/loaded/list" -> session.reply(id, Bootstrap.loadedThreads(subscriptions.threads()));
      case "thread/start" -> threadMethods.start(id, params);
      case "thread/resume" -> threadMethods.resume(id, params);
      case "thread/read" -> threadMethods.read(id, params);
      case "thread/fork" -> threadMethods.fork(id, params);
      case "thread/list" -> threadMethods.list(id, params);
      case "thread/turns/list" -> threadMethods.turnsList(id, params);
      case "thread/archive" -> threadMethods.archive(id, params, true);
      case "thread/unarchive" -> threadMethods.archive(id, params, false);
      case "thread/delete" -> threadMethods.delete(id, params);
      case "thread/name/set" -> threadMethods.rename(id, params);
      case "thread/unsubscribe" -> threadMethods.unsubscribe(id, params);
      case "turn/start" -> turnMethods.start(id, params);
      case "turn/steer" -> turnMethods.steer(id, params);
      case "turn/interrupt" -> turnMethods.interrupt(id, params);
      case "item/approve" -> turnMethods.approve(id, params);
      case "item/answer" -> turnMethods.answer(id, params);
      default -> throw new Failure(JsonRpc.METHOD_NOT_FOUND, "Legato does not serve " + method);
    }
  }
}
