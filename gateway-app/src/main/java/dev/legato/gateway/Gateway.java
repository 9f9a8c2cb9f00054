package dev.legato.gateway;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.extractUpgradeToWebSocket;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathSingleSlash;

import com.typesafe.config.Config;
import dev.legato.gateway.auth.AuthDirectives;
import dev.legato.gateway.auth.GatewayAuth;
import dev.legato.gateway.auth.Identity;
import dev.legato.registry.ThreadRegistry;
import dev.legato.thread.ThreadEntity;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A running Legato node: the actor system (one-node cluster: threads and registries under Cluster
 * Sharding), and the HTTP server with the JSON-RPC WebSocket at {@code /} and {@code /ws} plus
 * {@code /healthz} and {@code /readyz}. Stopping it stops accepting, reports not ready, lets threads
 * reach a durable point and closes their links.
 */
public final class Gateway implements AutoCloseable {
  public static final String VERSION = "0.1.0";

  private final ActorSystem<Void> system;
  private final GatewaySettings settings;
  private final ServerBinding binding;
  private final AtomicBoolean ready = new AtomicBoolean(false);

  private Gateway(ActorSystem<Void> system, GatewaySettings settings, ServerBinding binding) {
    this.system = system;
    this.settings = settings;
    this.binding = binding;
  }

  /** Starts a node with this configuration (see reference.conf); returns once it accepts connections. */
  public static Gateway start(Config config) throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "legato", config);
    try {
      Cluster cluster = Cluster.get(system);
      if (config.getStringList("pekko.cluster.seed-nodes").isEmpty()) {
        cluster.manager().tell(Join.create(cluster.selfMember().address())); // a node of its own
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (cluster.selfMember().status() != MemberStatus.up()) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("this node did not join its cluster within 30 s");
        }
        Thread.sleep(20);
      }
      ThreadEntity.init(system);
      ThreadRegistry.init(system);
      GatewaySettings settings = GatewaySettings.from(config);
      GatewayAuth auth = GatewayAuth.fromConfig(config.getConfig("legato.gateway.auth"));
      String codexHome = Path.of(config.getString("legato.storage.data-dir")).toAbsolutePath().normalize().toString();
      Gateway[] self = new Gateway[1];
      Route routes = routes(system, settings, auth, codexHome, () -> self[0] != null && self[0].ready.get());
      ServerBinding binding = Http.get(system).newServerAt(settings.host(), settings.port())
          .withSettings(ServerSettings.create(system.classicSystem()).withRemoteAddressAttribute(true))
          .bind(routes).toCompletableFuture().get(30, TimeUnit.SECONDS);
      Gateway gateway = new Gateway(system, settings, binding);
      self[0] = gateway;
      gateway.ready.set(true);
      CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "legato-not-ready", () -> {
        gateway.ready.set(false);
        return binding.unbind().thenApply(done -> Done.getInstance());
      });
      CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "legato-drain", () ->
          binding.terminate(settings.drainTimeout()).thenApply(terminated -> Done.getInstance()));
      return gateway;
    } catch (Exception | Error e) {
      system.terminate();
      throw e;
    }
  }

  public int port() {
    return binding.localAddress().getPort();
  }

  public String host() {
    return settings.host();
  }

  public ActorSystem<Void> system() {
    return system;
  }

  /** Accepting connections: false while starting and once shutdown has begun. */
  public boolean ready() {
    return ready.get();
  }

  @Override
  public void close() throws Exception {
    ready.set(false);
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  private static Route routes(ActorSystem<Void> system, GatewaySettings settings, GatewayAuth auth, String codexHome,
                              java.util.function.BooleanSupplier ready) {
    Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    Route socket = AuthDirectives.authenticated(auth, blocking, identity -> extractUpgradeToWebSocket(upgrade ->
        complete(upgrade.handleMessagesWith(connection(system, settings, identity, codexHome)))));
    Route notASocket = complete(StatusCodes.BAD_REQUEST,
        "Legato speaks the Codex app-server protocol over WebSocket here; connect with a WebSocket client");
    return concat(
        path("healthz", () -> get(() -> complete("ok"))),
        path("readyz", () -> get(() -> ready.getAsBoolean() ? complete("ready")
            : complete(StatusCodes.SERVICE_UNAVAILABLE, "not ready"))),
        pathSingleSlash(() -> concat(socket, notASocket)),
        path("ws", () -> pathEndOrSingleSlash(() -> concat(socket, notASocket))),
        pathEndOrSingleSlash(() -> concat(socket, notASocket)));
  }

  /** One client: text messages in (each at most max-message-size) to its Connection, its output queued out. */
  private static Flow<Message, Message, NotUsed> connection(ActorSystem<Void> system, GatewaySettings settings,
                                                             Identity identity, String codexHome) {
    Materializer materializer = Materializer.matFromSystem(system);
    var queued = Source.<Message>queue(settings.outboundQueue()).preMaterialize(materializer);
    BoundedSourceQueue<Message> out = queued.first();
    ActorRef<Connection.Command> connection = system.systemActorOf(
        Connection.create(identity, settings, VERSION, codexHome, out), "connection-" + UUID.randomUUID(),
        org.apache.pekko.actor.typed.Props.empty());
    Duration timeout = settings.askTimeout();
    Sink<Message, CompletionStage<Done>> in = Flow.<Message>create()
        .mapAsync(1, message -> text(message, settings.maxMessageSize(), materializer))
        .mapAsync(1, received -> AskPattern.<Connection.Command, Done>ask(connection,
            ack -> new Connection.Inbound(received.text(), received.refusal(), ack), timeout, system.scheduler()))
        .toMat(Sink.ignore(), org.apache.pekko.stream.javadsl.Keep.right());
    return Flow.fromSinkAndSourceCoupledMat(in, queued.second(), (inDone, notUsed) -> {
      inDone.whenComplete((done, error) -> connection.tell(new Connection.Closed()));
      return NotUsed.getInstance();
    });
  }

  /** A client message as text, or why it is refused (the connection then closes). */
  private record Received(String text, String refusal) {}

  private static CompletionStage<Received> text(Message message, int limit, Materializer materializer) {
    if (!message.isText()) {
      message.asBinaryMessage().getStreamedData().runWith(Sink.ignore(), materializer);
      return CompletableFuture.completedFuture(new Received(null, "Legato reads JSON-RPC in text messages only"));
    }
    TextMessage text = message.asTextMessage();
    String tooLarge = "message too large: the limit is " + limit + " characters (legato.gateway.max-message-size)";
    if (text.isStrict()) {
      String strict = text.getStrictText();
      return CompletableFuture.completedFuture(strict.length() > limit ? new Received(null, tooLarge)
          : new Received(strict, null));
    }
    return text.getStreamedText().runFold(new StringBuilder(), (all, part) -> {
      if (all.length() <= limit) { // past the limit the rest is read and dropped
        all.append(part);
      }
      return all;
    }, materializer).thenApply(all -> all.length() > limit ? new Received(null, tooLarge)
        : new Received(all.toString(), null));
  }
}
