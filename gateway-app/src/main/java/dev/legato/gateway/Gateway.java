package dev.legato.gateway;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.extractUpgradeToWebSocket;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.parameterList;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.pathSingleSlash;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.typesafe.config.Config;
import dev.legato.gateway.auth.AuthDirectives;
import dev.legato.gateway.auth.GatewayAuth;
import dev.legato.gateway.auth.Identity;
import dev.legato.gateway.protocol.Bootstrap;
import dev.legato.registry.ThreadRegistry;
import dev.legato.thread.ThreadEntity;
import dev.legato.thread.ThreadMeters;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
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
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;

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
  private final AtomicBoolean ready;
  private final int managementPort;
  private final GatewayAuth auth;

  private Gateway(ActorSystem<Void> system, GatewaySettings settings, ServerBinding binding, int managementPort,
                  GatewayAuth auth) {
    this.system = system;
    this.settings = settings;
    this.binding = binding;
    this.ready = ReadinessCheck.Accepting.of(system.classicSystem());
    this.managementPort = managementPort;
    this.auth = auth;
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
      String codexHome = Bootstrap.CODEX_HOME; // never the data directory: clients need not know where it is
      AtomicBoolean accepting = ReadinessCheck.Accepting.of(system.classicSystem());
      GatewayMetrics metrics = new GatewayMetrics(ThreadMeters.get(system));
      Route routes = routes(system, settings, auth, metrics, codexHome, accepting::get);
      ServerBinding binding = Http.get(system).newServerAt(settings.host(), settings.port())
          .withSettings(ServerSettings.create(system.classicSystem()).withRemoteAddressAttribute(true))
          .bind(routes).toCompletableFuture().get(30, TimeUnit.SECONDS);
      int managementPort = PekkoManagement.get(system.classicSystem()).start().toCompletableFuture()
          .get(30, TimeUnit.SECONDS).port();
      Gateway gateway = new Gateway(system, settings, binding, managementPort, auth);
      accepting.set(true);
      CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "legato-not-ready", () -> {
        gateway.ready.set(false);
        return binding.unbind().thenApply(done -> Done.getInstance());
      });
      CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "legato-drain", () ->
          runningTurnsEnded(system, settings.drainTimeout())
              .thenCompose(drained -> binding.terminate(Duration.ofSeconds(2)))
              .thenApply(terminated -> Done.getInstance()));
      return gateway;
    } catch (Exception | Error e) {
      system.terminate();
      throw e;
    }
  }

  /**
   * Completes when no turn runs on this node (clients still connected see them end), or after
   * {@code timeout}: a turn still running then is recorded interrupted when its thread recovers.
   */
  private static CompletionStage<Done> runningTurnsEnded(ActorSystem<?> system, Duration timeout) {
    ThreadMeters meters = ThreadMeters.get(system);
    CompletableFuture<Done> drained = new CompletableFuture<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    Runnable[] check = new Runnable[1];
    check[0] = () -> {
      if (meters.threads("running") == 0 || System.nanoTime() > deadline) {
        drained.complete(Done.getInstance());
      } else {
        system.scheduler().scheduleOnce(Duration.ofMillis(50), check[0], system.executionContext());
      }
    };
    check[0].run();
    return drained;
  }

  public int port() {
    return binding.localAddress().getPort();
  }

  public String host() {
    return settings.host();
  }

  /** Pekko Management's port ({@code /alive}, {@code /ready}). */
  public int managementPort() {
    return managementPort;
  }

  /** Who may connect: {@link GatewayAuth#describe()} says it in one line. */
  public GatewayAuth auth() {
    return auth;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  /** Accepting connections: false while starting and once shutdown has begun. */
  public boolean ready() {
    return ready.get();
  }

  /** Stops the node gracefully (see the class comment); returns once it has stopped. */
  @Override
  public void close() throws java.util.concurrent.ExecutionException, java.util.concurrent.TimeoutException {
    ready.set(false);
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while stopping", e);
    }
  }

  private static Route routes(ActorSystem<Void> system, GatewaySettings settings, GatewayAuth auth,
                              GatewayMetrics metrics, String codexHome, java.util.function.BooleanSupplier ready) {
    Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    Route socket = AuthDirectives.authenticated(auth, blocking, identity -> extractUpgradeToWebSocket(upgrade ->
        complete(upgrade.handleMessagesWith(connection(system, settings, metrics, identity, codexHome)))));
    Operations operations = new Operations(system, settings.askTimeout());
    Route admin = pathPrefix("admin", () -> AuthDirectives.authenticated(auth, blocking, identity -> concat(
        path("threads", () -> get(() -> operator(identity, () -> parameterList(query -> {
          int limit;
          try {
            limit = Operations.limit(query);
          } catch (IllegalArgumentException e) {
            return complete(StatusCodes.BAD_REQUEST, e.getMessage());
          }
          return onSuccess(operations.threads(limit), threads -> json(threads));
        })))),
        path(segment("threads").slash(segment()), id -> get(() -> operator(identity, () -> parameterList(query -> {
          UUID threadId;
          try {
            Operations.noParameters(query);
            threadId = Operations.threadId(id);
          } catch (IllegalArgumentException e) {
            return complete(StatusCodes.BAD_REQUEST, e.getMessage());
          }
          return onSuccess(operations.thread(threadId), thread -> thread.map(Gateway::json)
              .orElseGet(() -> complete(StatusCodes.NOT_FOUND, "no thread " + threadId)));
        })))))));
    Route notASocket = complete(StatusCodes.BAD_REQUEST,
        "Legato speaks the Codex app-server protocol over WebSocket here; connect with a WebSocket client");
    return concat(
        path("healthz", () -> get(() -> complete("ok"))),
        path("readyz", () -> get(() -> ready.getAsBoolean() ? complete("ready")
            : complete(StatusCodes.SERVICE_UNAVAILABLE, "not ready"))),
        path("metrics", () -> get(() -> AuthDirectives.authenticated(auth, blocking, identity ->
            operator(identity, () -> complete(HttpResponse.create().withEntity(
                ContentTypes.create(MediaTypes.TEXT_PLAIN, HttpCharsets.UTF_8), metrics.scrape())))))),
        admin,
        pathSingleSlash(() -> concat(socket, notASocket)),
        path("ws", () -> pathEndOrSingleSlash(() -> concat(socket, notASocket))),
        pathEndOrSingleSlash(() -> concat(socket, notASocket)));
  }

  /**
   * The operations routes show every tenant's threads and the node's totals: operators only. A tenant has
   * its own threads through the protocol ({@code thread/list}, {@code thread/read}).
   */
  private static Route operator(Identity identity, java.util.function.Supplier<Route> inner) {
    return identity.admin() ? inner.get() : complete(StatusCodes.FORBIDDEN,
        "this route is for operators: send an admin key (legato.gateway.auth.admin-keys) or a token with the"
            + " admin claim (legato.gateway.auth.jwt.admin-claim)");
  }

  private static Route json(com.fasterxml.jackson.databind.JsonNode body) {
    return complete(HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, body.toString()));
  }

  /**
   * One client: text messages in (each at most max-message-size) to its Connection, its output queued out.
   * Built when the socket's stream materializes, so that the outbox's queue is part of that stream: no
   * stream (and actor) of its own per socket, and no asynchronous boundary between the queue and the socket.
   */
  private static Flow<Message, Message, NotUsed> connection(ActorSystem<Void> system, GatewaySettings settings,
                                                             GatewayMetrics metrics, Identity identity,
                                                             String codexHome) {
    return Flow.<Message, Message, NotUsed>fromMaterializer((materializer, attributes) -> {
      Outbox out = new Outbox(settings.outboundQueue(), settings.outboundQueueCharacters());
      ActorRef<Connection.Command> connection = system.systemActorOf(
          Connection.create(identity, settings, metrics, VERSION, codexHome, out), "connection-" + UUID.randomUUID(),
          org.apache.pekko.actor.typed.Props.empty());
      Duration timeout = settings.askTimeout();
      Sink<Message, CompletionStage<Done>> in = Flow.<Message>create()
          .mapAsync(1, message -> text(message, settings.maxMessageSize(), materializer))
          .mapAsync(1, received -> AskPattern.<Connection.Command, Done>ask(connection,
              ack -> new Connection.Inbound(received.text(), received.refusal(), ack), timeout, system.scheduler()))
          .toMat(Sink.ignore(), org.apache.pekko.stream.javadsl.Keep.right());
      return Flow.fromSinkAndSourceCoupledMat(in, out.source(), (inDone, notUsed) -> {
        inDone.whenComplete((done, error) -> connection.tell(new Connection.Closed()));
        return NotUsed.getInstance();
      });
    }).mapMaterializedValue(flow -> NotUsed.getInstance());
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
